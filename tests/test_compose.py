"""compose.yaml as far as this machine can run it (it has no Docker): every server is
health-checked and sitereg starts only after them, and sitereg started with exactly the
environment compose gives it works against a real PostgreSQL (with the user, password and
database compose's postgres service creates) and a real S3 server standing in for MinIO."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = SPEC["services"]


def substitute(value: str, variables: dict[str, str]) -> str:
    """Compose's interpolation: ${NAME}, ${NAME:?message}, ${NAME:-default}; $$ is a dollar."""
    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if name in variables and variables[name] != "":
            return variables[name]
        if op and op.endswith("?"):
            raise KeyError(f"compose would refuse to start: {arg}")
        return arg if op and op.endswith("-") else ""
    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", one, value).replace("$$", "$")


def test_every_server_is_health_checked_and_sitereg_waits_for_them():
    for name in ("minio", "postgres", "sitereg"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["sitereg"]["depends_on"] == {"minio-init": {"condition": "service_completed_successfully"},
                                                 "postgres": {"condition": "service_healthy"}}
    assert SERVICES["minio-init"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    # Secrets come from the operator's environment: without them compose refuses to start.
    with pytest.raises(KeyError):
        substitute(SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"], {})
    # Published on loopback only.
    assert all(p.startswith("127.0.0.1:") for p in SERVICES["sitereg"]["ports"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sitereg_runs_with_the_environment_compose_gives_it(tmp_path, pg_url, s3_server, project_body):
    import psycopg
    from psycopg import sql

    variables = {"SITEREG_S3_ACCESS_KEY": s3_server.access_key, "SITEREG_S3_SECRET_KEY": s3_server.secret_key,
                 "SITEREG_DB_PASSWORD": "compose-test-password"}
    pg = {k: substitute(v, variables) for k, v in SERVICES["postgres"]["environment"].items()}
    env_compose = {k: substitute(str(v), variables) for k, v in SERVICES["sitereg"]["environment"].items()}
    # Compose's service names resolve to the servers this test started.
    server = urlsplit(pg_url)
    url = urlsplit(env_compose["SITEREG_DATABASE_URL"])
    assert (url.hostname, url.username, url.password, url.path) == (
        "postgres", pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], "/" + pg["POSTGRES_DB"])
    env_compose["SITEREG_DATABASE_URL"] = env_compose["SITEREG_DATABASE_URL"].replace(
        f"@postgres:{url.port}/", f"@{server.hostname}:{server.port}/")
    assert env_compose["SITEREG_S3_ENDPOINT"] == "http://minio:9000"
    env_compose["SITEREG_S3_ENDPOINT"] = s3_server.endpoint

    admin_db = pg_url + "postgres"
    with psycopg.connect(admin_db, autocommit=True) as conn:  # what the postgres image does on its first start
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(pg["POSTGRES_USER"]), sql.Literal(pg["POSTGRES_PASSWORD"])))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(pg["POSTGRES_DB"]), sql.Identifier(pg["POSTGRES_USER"])))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITEREG_")} | env_compose
    cli = [shutil.which("sitereg") or str(Path(sys.executable).parent / "sitereg")]
    port = _free_port()
    log = tmp_path / "server.log"
    # The image's command, on a free loopback port; the working directory is the image's /app.
    proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))  # noqa: SIM115 - closed with the process
    try:
        check = [sys.executable if part == "python" else part for part in SERVICES["sitereg"]["healthcheck"]["test"][1:]]
        check = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in check]
        deadline = time.monotonic() + 120
        while subprocess.run(check, capture_output=True, timeout=30).returncode != 0:  # compose's own health check
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.3)
        # The README's first step after `docker compose up`: an admin token, made by the CLI.
        out = subprocess.run([*cli, "token", "create", "--role", "admin"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=True)
        admin = {"Authorization": "Bearer " + out.stdout.strip().splitlines()[-1].split()[-1]}
        out = subprocess.run([*cli, "token", "create", "--role", "contractor", "--scope",
                              project_body["contractor_credit_code"]], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=True)
        contractor = {"Authorization": "Bearer " + out.stdout.strip().splitlines()[-1].split()[-1]}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            health = http.get("/health", headers=admin).json()
            assert health["database"] == "postgresql" and health["store"].startswith("s3 ")
            assert http.post("/api/v1/projects", json=project_body, headers=admin).status_code == 201
            data = (FIXTURES / "platform_roster.xlsx").read_bytes()
            r = http.post(f"/api/v1/projects/{project_body['code']}/uploads", headers=contractor,
                          data={"period": "2026-10"}, files={"file": ("花名册.xlsx", data)})
            assert r.status_code == 201, r.text
            receipt = r.json()
            assert receipt["kind"] == "roster" and receipt["rows_accepted"] > 0
            assert http.get(f"/api/v1/uploads/{receipt['upload_id']}/original", headers=contractor).content == data
        # The state is in compose's database, reachable with compose's credentials.
        with psycopg.connect(env_compose["SITEREG_DATABASE_URL"]) as conn:
            assert conn.execute("SELECT count(*) FROM uploads WHERE upload_id = %s",
                                (receipt["upload_id"],)).fetchone() == (1,)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        with psycopg.connect(admin_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(pg["POSTGRES_DB"])))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(pg["POSTGRES_USER"])))
