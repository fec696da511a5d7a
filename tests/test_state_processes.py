"""Issue 11, with real OS processes: 8 processes uploading to one project-period end in the same
state as the sequential run, and a process killed with SIGKILL mid-upload leaves nothing
half-visible. Run on the embedded SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time

import msgspec
import pytest

from conftest import FIXTURES, TODAY

PERIOD = "2026-10"
FILES = [("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx"),
         ("payments", "payments.csv")]


def _open(settings_json: str):
    from sitereg.catalog import Catalog
    from sitereg.db import open_database
    from sitereg.settings import Settings
    from sitereg.storage_factory import open_store

    settings = msgspec.json.decode(settings_json, type=Settings)
    return settings, Catalog(open_store(settings), open_database(settings))


def _ingest(settings_json: str, code: str, kind: str, name: str, data: bytes | None = None) -> str:
    from sitereg import pipeline

    settings, catalog = _open(settings_json)
    project = catalog.project(code)
    data = (FIXTURES / name).read_bytes() if data is None else data
    outcome = pipeline.ingest(catalog, settings, project, kind, PERIOD, name, data, actor="test", today=TODAY)
    return outcome.receipt.upload_id


def _state(settings_json: str, code: str) -> dict:
    """What a user sees of the project-period: the current uploads' receipts, the findings by
    rule and the coverage, from a fresh app."""
    from litestar.testing import TestClient

    from sitereg.api import create_app

    settings, catalog = _open(settings_json)
    admin = {"Authorization": "Bearer " + catalog.issue_token("admin", ())}
    with TestClient(create_app(settings, catalog.store, today=lambda: TODAY, db=catalog.db)) as client:
        findings = client.get(f"/api/v1/projects/{code}/periods/{PERIOD}/findings", headers=admin).json()
        coverage = client.get(f"/api/v1/projects/{code}/periods/{PERIOD}/coverage", headers=admin).json()
        # Upload ids differ from run to run; which kinds are current is compared (and "current" above).
        coverage["current_uploads"] = sorted(coverage["current_uploads"])
        region = client.get(f"/api/v1/coverage?period={PERIOD}", headers=admin).json()["projects"]
        risks = client.get(f"/api/v1/risks?period={PERIOD}", headers=admin).json()["projects"]
    current = catalog.current_uploads(code, PERIOD)
    receipts = {kind: catalog.receipt(u) for kind, u in current.items()}
    return {"current": {k: (r.filename, r.rows_accepted) for k, r in receipts.items()},
            "findings": findings["counts"], "coverage": coverage, "region": region, "risks": risks}


@pytest.fixture(params=["sqlite", "postgresql"])
def make_settings(request, tmp_path, project_body):
    """A factory of fresh (settings JSON, project code): a data directory, a database, the project."""
    from sitereg.settings import Settings

    made = []

    def make(name: str) -> str:
        url = None
        if request.param == "postgresql":
            from pgserver import fresh_database

            ctx = fresh_database(request.getfixturevalue("pg_url"))
            url = ctx.__enter__()
            made.append(ctx)
        settings = Settings(data_dir=str(tmp_path / name), database_url=url, reader_isolation=False)
        text = msgspec.json.encode(settings).decode()
        _, catalog = _open(text)
        catalog.create_project(msgspec.convert(project_body, __import__("sitereg.catalog").catalog.Project))
        catalog.db.close()
        return text

    yield make
    for ctx in made:
        ctx.__exit__(None, None, None)


def test_eight_processes_end_in_the_sequential_state(make_settings, project_body):
    code = project_body["code"]
    sequential = make_settings("seq")
    for kind, name in FILES:
        _ingest(sequential, code, kind, name)
    parallel = make_settings("par")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        # Each file twice, all at once: the same bytes racing in are stored once.
        ids = pool.starmap(_ingest, [(parallel, code, kind, name) for kind, name in FILES * 2])
    assert len(set(ids)) == len(FILES)
    assert _state(parallel, code) == _state(sequential, code)


def _slow_ingest(settings_json: str, code: str, rows: int) -> None:
    head = "身份证号码,姓名,日期,工时\n"
    body = "".join(f"11010119900307{(i % 9000) + 1000:04d},张{i % 50},2026-10-{(i % 28) + 1:02d},8\n" for i in range(rows))
    _ingest(settings_json, code, "attendance", "big.csv", (head + body).encode())


def test_kill_minus_nine_mid_upload_leaves_nothing_half_visible(make_settings, project_body):
    code = project_body["code"]
    settings_json = make_settings("kill")
    ctx = multiprocessing.get_context("spawn")
    settings, catalog = _open(settings_json)
    from sitereg import period

    killed = 0
    # Killed at three moments: while reading, and right after the change became current (the
    # pending mark appears) but before its recheck finished.
    for when in ("reading", "reading", "marked"):
        proc = ctx.Process(target=_slow_ingest, args=(settings_json, code, 200_000))
        proc.start()
        deadline = time.monotonic() + 120
        if when == "reading":
            time.sleep(1.0)
        else:
            while proc.is_alive() and not catalog.db.pending() and time.monotonic() < deadline:
                time.sleep(0.005)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.join()
    assert killed, "every upload finished before the kill; raise the row count"

    # A change whose recheck never ran is shown as being updated, not as current figures ...
    marks = [(p, m) for p, m, _ in catalog.db.pending()]
    assert marks == [(code, PERIOD)]
    assert period.settle(catalog, settings, TODAY, PERIOD, PERIOD) == marks
    # ... until a reader finds the mark orphaned and rechecks it.
    assert period.settle(catalog, settings, TODAY, orphaned_after=__import__("datetime").timedelta(0)) == []
    assert catalog.db.pending() == []
    current = catalog.current_uploads(code, PERIOD)
    # Whatever is current is whole: its receipt, its table and its findings all exist.
    for upload_id in current.values():
        receipt = catalog.receipt(upload_id)
        assert receipt is not None and receipt.status == "accepted"
        from sitereg import tables

        assert tables.read(catalog.store, receipt.table_key).height == receipt.rows_accepted
        assert tables.read(catalog.store, receipt.findings_key) is not None
    # And the service answers for the period.
    assert json.dumps(_state(settings_json, code)["coverage"])
