"""Shared fixtures: settings built directly, a store per test, a client, tokens of each role."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
pytest_plugins = ["s3server", "pgserver"]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def settings(tmp_path):
    from sitereg.settings import Settings

    return Settings(data_dir=str(tmp_path / "data"))


@pytest.fixture
def local_store(settings):
    from sitereg.storage_factory import open_store

    return open_store(settings)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, settings):
    """The state database: every test that uses the app runs on the embedded SQLite and on a
    real PostgreSQL (a fresh database on the server tests/pgserver.py starts)."""
    import msgspec

    from sitereg.db import open_database

    if request.param == "sqlite":
        database = open_database(settings)
        yield database
        database.close()
        return
    from pgserver import fresh_database

    with fresh_database(request.getfixturevalue("pg_url"), request.getfixturevalue("pg_migrated_template")) as url:
        database = open_database(msgspec.structs.replace(settings, database_url=url))
        yield database
        database.close()


@pytest.fixture
def catalog(local_store, db):
    from sitereg.catalog import Catalog

    return Catalog(local_store, db)


@pytest.fixture
def app(settings, local_store, db):
    from sitereg.api import create_app

    # A fixed clock: the fixture month's pay deadline (2026-11-15) has passed.
    return create_app(settings, local_store, today=lambda: TODAY, db=db)


@pytest.fixture
def client(app):
    from litestar.testing import TestClient

    with TestClient(app) as c:
        yield c


class Tokens:
    def __init__(self, catalog):
        self.catalog = catalog

    def issue(self, role: str, *scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.catalog.issue_token(role, tuple(scope))}"}


@pytest.fixture
def tokens(catalog):
    return Tokens(catalog)


@pytest.fixture
def project_body():
    return json.loads((FIXTURES / "project.json").read_text(encoding="utf-8"))


@pytest.fixture
def admin(tokens):
    return tokens.issue("admin")


@pytest.fixture
def project(client, admin, project_body):
    r = client.post("/api/v1/projects", json=project_body, headers=admin)
    assert r.status_code == 201, r.text
    return project_body


@pytest.fixture
def contractor(tokens, project_body):
    return tokens.issue("contractor", project_body["contractor_credit_code"])


@contextlib.contextmanager
def service(tmp_path, project_body=None, today=None, **settings_kw):
    """A client on its own store with the given settings, an admin token, and the project
    registered when a body is given: for tests that need other settings than the defaults."""
    from litestar.testing import TestClient

    from sitereg.api import create_app
    from sitereg.catalog import Catalog
    from sitereg.db import open_database
    from sitereg.settings import Settings
    from sitereg.storage_factory import open_store

    settings = Settings(data_dir=str(tmp_path / "svc"), **settings_kw)
    store, db = open_store(settings), open_database(settings)
    admin = {"Authorization": "Bearer " + Catalog(store, db).issue_token("admin", ())}
    with TestClient(create_app(settings, store, today=today or (lambda: TODAY), db=db)) as client:
        if project_body is not None:
            assert client.post("/api/v1/projects", json=project_body, headers=admin).status_code == 201
        yield client, admin


def upload(client, headers, code, kind, period, name, data=None):
    data = (FIXTURES / name).read_bytes() if data is None else data
    return client.post(f"/api/v1/projects/{code}/uploads", data={"kind": kind, "period": period},
                       files={"file": (name, data)}, headers=headers)
