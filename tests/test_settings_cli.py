"""Settings from SITEREG_* variables, and the operator commands."""

from __future__ import annotations

import datetime as dt

import pytest

from sitereg.settings import Settings, SettingsError, load_settings


def test_defaults_need_no_environment():
    s = load_settings({"PATH": "/bin", "HOME": "/root"})
    assert s == Settings() and s.data_dir == "./sitereg-data" and s.s3_endpoint is None


def test_values_are_converted():
    s = load_settings({"SITEREG_MAX_UPLOAD_BYTES": "1000", "SITEREG_OVERPAID_RATIO": "2",
                       "SITEREG_AGE_LIMITS": '[{"region_prefix": "31", "effective": "2027-01-01", "men": 63, "women": 55}]'})
    assert s.max_upload_bytes == 1000 and s.overpaid_ratio == 2.0
    assert s.age_limits[0].effective == dt.date(2027, 1, 1) and s.age_limits[0].men == 63


@pytest.mark.parametrize(("env", "needle"), [
    ({"SITEREG_DATADIR": "x"}, "SITEREG_DATADIR"),
    ({"SITEREG_MAX_ROWS": "many"}, "SITEREG_MAX_ROWS"),
    ({"SITEREG_MAX_ROWS": "0"}, "SITEREG_MAX_ROWS"),
    ({"SITEREG_S3_ENDPOINT": "http://127.0.0.1:9000"}, "SITEREG_S3_ACCESS_KEY"),
    ({"SITEREG_AGE_LIMITS": "[{"}, "SITEREG_AGE_LIMITS"),
])
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(SettingsError, match=needle):
        load_settings(env)


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().data_dir = "elsewhere"  # type: ignore[misc]


def test_token_create_prints_a_token_that_works(tmp_path, monkeypatch, capsys):
    from litestar.testing import TestClient

    from sitereg.api import create_app
    from sitereg.cli import main

    monkeypatch.setenv("SITEREG_DATA_DIR", str(tmp_path / "d"))
    assert main(["token", "create", "--role", "bureau", "--scope", "4403"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    # Only the hash is stored.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "d").rglob("*") if p.is_file())
    assert token.encode() not in stored
    with TestClient(create_app(Settings(data_dir=str(tmp_path / "d")))) as client:
        assert client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_token_create_needs_a_scope_except_for_admin(tmp_path, monkeypatch, capsys):
    from sitereg.cli import main

    monkeypatch.setenv("SITEREG_DATA_DIR", str(tmp_path / "d"))
    assert main(["token", "create", "--role", "contractor"]) == 2
    assert "--scope" in capsys.readouterr().err


def test_ingest_command_prints_a_receipt(tmp_path, monkeypatch, capsys, project_body):
    import json

    from conftest import FIXTURES
    from sitereg.catalog import Catalog, Project
    from sitereg.cli import main
    from sitereg.storage import LocalStore

    monkeypatch.setenv("SITEREG_DATA_DIR", str(tmp_path / "d"))
    import msgspec

    from sitereg.db import open_database
    from sitereg.settings import Settings

    Catalog(LocalStore(tmp_path / "d"), open_database(Settings(data_dir=str(tmp_path / "d")))).create_project(
        msgspec.convert(project_body, Project))
    assert main(["ingest", project_body["code"], "payments", "2026-10", str(FIXTURES / "payments.csv")]) == 0
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["rows_accepted"] == 37
