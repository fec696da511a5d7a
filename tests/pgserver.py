"""Pytest fixtures that run a throwaway PostgreSQL server (Debian's package).

Fixtures (registered through ``pytest_plugins`` in conftest.py):

* ``pg_url`` (session): the running server's base URL, ``postgresql://postgres@127.0.0.1:PORT/``.
* ``pg_database_url`` (function): a fresh, empty database on it, as a plain ``postgresql://`` URL;
  dropped after the test. ``fresh_database(pg_url)`` is the same as a context manager, for
  fixtures of a wider scope.

The server runs with fsync off (a test server's data need not survive a crash) and is
stopped with ``pg_ctl stop -m immediate`` at the end of the session. initdb and pg_ctl refuse
to run as root, so as root they run as the ``postgres`` user the package creates. Without
PostgreSQL binaries the fixtures skip, saying so.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["fresh_database", "pg_database_url", "pg_url"]

_START_ATTEMPTS = 3  # a "free" port can be taken by someone else before the server binds it


def _bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())
    # Debian puts the server binaries in a versioned directory that pg_config may not name.
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for d in candidates:
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, initdb needs the 'postgres' user that Debian's postgresql package creates")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    # Not under pytest's tmp_path: its directories are private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="sitereg-pg-"))
    data, log = base / "data", base / "server.log"
    if as_root:
        shutil.chown(base, "postgres", "postgres")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)

    started = False
    try:
        done = run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--no-sync", "--locale=C")
        if done.returncode:
            pytest.fail(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for _ in range(_START_ATTEMPTS):
            port = _free_port()
            options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            done = run(str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options)
            if done.returncode == 0:
                started = True
                break
        if not started:
            text = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{text[-3000:]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/"
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w")
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(pg_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server at ``pg_url``, dropped on leaving the block: empty, or a
    copy of ``template`` (a file copy on the server, much faster than migrating anew)."""
    import psycopg

    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(pg_url + "postgres", autocommit=True) as conn:
        if template is not None:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            _create(conn, name)
    try:
        yield pg_url + name
    finally:
        with psycopg.connect(pg_url + "postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_migrated_template(pg_url: str) -> str:
    """A database migrated to the newest revision once per session, for tests to copy."""
    import psycopg

    from sitereg.db import engine

    name = "sitereg_tpl_" + secrets.token_hex(4)
    with psycopg.connect(pg_url + "postgres", autocommit=True) as conn:
        _create(conn, name)
    migrated = engine.create(pg_url.replace("postgresql://", "postgresql+psycopg://", 1) + name)
    engine.migrate(migrated)
    migrated.dispose()  # a template may have no open connections while it is copied
    return name


def _create(conn, name: str) -> None:
    import psycopg

    try:
        # A natural-language collation, as production servers have, so that code relying on
        # the server's sort order shows up here (the cluster itself is initialised with C).
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'")
    except psycopg.Error:  # a server built without ICU
        conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture
def pg_database_url(pg_url: str) -> Iterator[str]:
    with fresh_database(pg_url) as url:
        yield url
