"""The whole service on a real S3 server: same receipts, outages answered with 503, nothing lost."""

from __future__ import annotations

import json
import tempfile

import pytest
from litestar.testing import TestClient

from conftest import FIXTURES, upload
from s3server import random_bucket_name, running_s3_server
from sitereg.api import create_app
from sitereg.settings import Settings, load_settings

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))


def s3_settings(server, bucket=None) -> Settings:
    # Built the way an operator configures it: from SITEREG_* variables. The state database is
    # the embedded SQLite in a data directory of its own (the bucket holds the files).
    return load_settings({
        "SITEREG_DATA_DIR": tempfile.mkdtemp(prefix="sitereg-s3-"),
        "SITEREG_S3_ENDPOINT": server.endpoint,
        "SITEREG_S3_ACCESS_KEY": server.access_key,
        "SITEREG_S3_SECRET_KEY": server.secret_key,
        "SITEREG_S3_BUCKET": bucket or random_bucket_name(),
    })


def start(settings, project_body):
    app = create_app(settings)  # the bucket is created at start when missing
    catalog = app.state.catalog
    admin = {"Authorization": "Bearer " + catalog.issue_token("admin", ())}
    contractor = {"Authorization": "Bearer " + catalog.issue_token("contractor", (project_body["contractor_credit_code"],))}
    return app, admin, contractor


def test_fixtures_upload_the_same_on_s3(s3_server, project_body):
    app, admin, contractor = start(s3_settings(s3_server), project_body)
    with TestClient(app) as client:
        assert client.post("/api/v1/projects", json=project_body, headers=admin).status_code == 201
        for entry in MANIFEST["files"]:
            r = upload(client, contractor, project_body["code"], entry["kind"] or "roster", MANIFEST["period"], entry["file"])
            assert r.status_code == (201 if entry["rows_total"] else 422), r.text
            body = r.json()
            receipt = body if entry["rows_total"] else body["extra"]["receipt"]
            assert receipt["rows_total"] == entry["rows_total"]
            original = client.get(f"/api/v1/uploads/{receipt['upload_id']}/original", headers=contractor)
            assert original.content == (FIXTURES / entry["file"]).read_bytes()
        found = client.get(f"/api/v1/projects/{project_body['code']}/periods/{MANIFEST['period']}/findings", headers=contractor)
        assert found.status_code == 200
        assert client.get("/health").json() == {"status": "ok"}  # no endpoint or bucket without a token
        assert client.get("/health", headers=admin).json()["store"].startswith("s3 ")


def test_store_outage_is_503_and_nothing_acknowledged_is_lost(tmp_path, project_body):
    with running_s3_server(tmp_path) as server:
        app, admin, contractor = start(s3_settings(server), project_body)
        with TestClient(app) as client:
            assert client.post("/api/v1/projects", json=project_body, headers=admin).status_code == 201
            before = upload(client, contractor, project_body["code"], "roster", "2026-10", "roster.xlsx").json()

            server.kill()
            r = upload(client, contractor, project_body["code"], "contracts", "2026-10", "contracts.xlsx")
            assert r.status_code == 503
            assert r.headers["retry-after"]
            assert r.json()["code"] == "STORE_UNAVAILABLE" and "upload_id" not in r.json()
            assert client.get("/health").status_code == 503

            server.start()
            got = client.get(f"/api/v1/uploads/{before['upload_id']}/original", headers=contractor)
            assert got.status_code == 200 and got.content == (FIXTURES / "roster.xlsx").read_bytes()
            again = upload(client, contractor, project_body["code"], "contracts", "2026-10", "contracts.xlsx")
            assert again.status_code == 201


def test_start_with_unreachable_store_fails_clearly(monkeypatch, capsys):
    import socket

    from sitereg.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"SITEREG_S3_ENDPOINT": f"http://127.0.0.1:{port}", "SITEREG_S3_ACCESS_KEY": "k", "SITEREG_S3_SECRET_KEY": "s"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["check"]) == 3
    err = capsys.readouterr().err
    assert "object store unavailable" in err and f"127.0.0.1:{port}" in err
    assert "SITEREG_S3_SECRET_KEY" not in err and "=s" not in err


@pytest.mark.parametrize("env", [{"SITEREG_COLOUR": "x"}, {"SITEREG_MAX_UPLOAD_BYTES": "lots"},
                                 {"SITEREG_S3_ENDPOINT": "127.0.0.1:9000"}])
def test_bad_settings_stop_start_up(monkeypatch, capsys, env):
    from sitereg.cli import main

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["check"]) == 2
    assert "configuration error" in capsys.readouterr().err


def test_bucket_is_created_with_versioning_and_object_lock(s3_server):
    from s3server import make_store

    store = make_store(s3_server)
    client = store._client  # the store's own minio client: a real server answers
    assert client.get_bucket_versioning(store.bucket).status == "Enabled"
    assert client.get_object_lock_config(store.bucket) is not None
    # An original overwritten behind the service's back stays retrievable as an older version.
    store.create("originals/x.csv", b"first")
    client.put_object(store.bucket, "originals/x.csv", __import__("io").BytesIO(b"second"), 6)
    versions = list(client.list_objects(store.bucket, prefix="originals/x.csv", include_version=True))
    assert len(versions) == 2


def test_kill_the_store_during_uploads_and_every_receipt_still_resolves(tmp_path, project_body):
    """Uploads stream in while the S3 server is killed part-way: each answer is a receipt or a
    503; after a restart every receipt given out resolves to its exact original."""
    import threading
    import time

    with running_s3_server(tmp_path) as server:
        app, admin, contractor = start(s3_settings(server), project_body)
        with TestClient(app) as client:
            assert client.post("/api/v1/projects", json=project_body, headers=admin).status_code == 201
            base = (FIXTURES / "payments.csv").read_bytes()
            answers = []

            def stream():
                for i in range(40):
                    data = base + f"\r\n# {i}".encode()  # distinct bytes: no dedupe
                    r = upload(client, contractor, project_body["code"], "payments", "2026-10", f"p{i}.csv", data)
                    answers.append((r.status_code, r.json(), data))

            worker = threading.Thread(target=stream)
            worker.start()
            time.sleep(1.5)
            server.kill()
            worker.join(timeout=300)
            server.start()
            assert {code for code, _, _ in answers} <= {201, 503}
            receipts = [(body, data) for code, body, data in answers if code == 201]
            assert receipts, "no upload finished before the kill"
            assert any(code == 503 for code, _, _ in answers), "the kill came after every upload"
            for body, data in receipts:
                got = client.get(f"/api/v1/uploads/{body['upload_id']}/original", headers=contractor)
                assert got.status_code == 200 and got.content == data
