"""The state database's contract, run against SQLite (a file in tmp_path) and a real PostgreSQL.

The races use separate OS processes (spawned, as several service processes would be), each
opening the database itself and released together by a barrier.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import random
import socket
import sqlite3
import threading
import time
import traceback

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

import pgserver
from sitereg.audit import Event
from sitereg.catalog import Project, Receipt, TokenRecord
from sitereg.db import DatabaseUnavailable, database_url, open_database
from sitereg.db import schema as t
from sitereg.settings import Settings, SettingsError, load_settings

P1, P2, P3 = "XM-440305-2026-001", "XM-440305-2026-002", "XM-510104-2026-001"
T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request, tmp_path) -> Settings:
    url = request.getfixturevalue("pg_database_url") if request.param == "postgresql" else None
    return Settings(data_dir=str(tmp_path / "data"), database_url=url)


@pytest.fixture
def db(db_settings):
    database = open_database(db_settings)
    yield database
    database.close()


def project(code: str, region: str = "440305", **kw) -> Project:
    return Project(code=code, name=kw.pop("name", "某安置房项目"), region_code=region, investment_type="government",
                   contractor_credit_code="9144030019219286XW", **kw)


def receipt(upload_id: str, project: str = P1, period: str = "2026-11", kind: str = "attendance",
            sha256: str = "a" * 64, at: dt.datetime = T0) -> Receipt:
    return Receipt(upload_id=upload_id, project=project, period=period, kind=kind, filename="考勤表.xlsx",
                   sha256=sha256, rows_total=3, rows_accepted=3, rows_rejected=0, errors=0, warnings=0, infos=0,
                   report=f"/api/v1/uploads/{upload_id}/report", status="accepted", created_at=at, size=100,
                   uploaded_by="contractor:abc", original_key=f"originals/{upload_id}.xlsx",
                   table_key=f"tables/{upload_id}.parquet", findings_key=f"findings/{upload_id}.parquet")


def event(at: dt.datetime, target: str) -> Event:
    return Event(at=at, actor="admin:t1", role="admin", scope=(), action="create_project", target=target,
                 client="127.0.0.1", detail={"n": 1})


def month(id_key: int, paid_fen: int = 0, **kw) -> dict:
    return {"id_key": id_key, "id_masked": "4403**********1234", "name": "张三", "days": 2, "expected_fen": None,
            "payroll_net_fen": 50000, "paid_fen": paid_fen, "paid_dedicated_fen": paid_fen,
            "paid_at": ["2026-12-10"] if paid_fen else [], "paid_from": ["4425****1300"] if paid_fen else [],
            "findings": kw.pop("findings", [])} | kw


# -- opening


def test_url_translation_and_default_file(tmp_path):
    given = Settings(data_dir=str(tmp_path / "d"), database_url="postgresql://u:p%40ss@db.example:5433/sitereg")
    assert database_url(given) == "postgresql+psycopg://u:p%40ss@db.example:5433/sitereg"
    assert database_url(Settings(database_url="postgres://u@h/x")) == "postgresql+psycopg://u@h/x"
    default = database_url(Settings(data_dir=str(tmp_path / "new" / "dir")))
    assert default == f"sqlite:///{(tmp_path / 'new' / 'dir' / 'sitereg.db').resolve()}"
    assert (tmp_path / "new" / "dir").is_dir()
    assert load_settings({"SITEREG_DATABASE_URL": "postgresql://u@h/x"}).database_url == "postgresql://u@h/x"
    with pytest.raises(SettingsError, match="SITEREG_DATABASE_URL"):
        load_settings({"SITEREG_DATABASE_URL": "mysql://u@h/x"})


def test_unreachable_postgresql_is_reported_without_password(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    settings = Settings(data_dir=str(tmp_path), database_url=f"postgresql://sitereg:s3cret@127.0.0.1:{port}/x")
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database(settings)
    assert "s3cret" not in str(caught.value)


def test_sqlite_process_opening_while_another_writes_a_new_file_waits_for_it(tmp_path):
    # A second process opening a database file that another is still writing in rollback mode
    # (the first moments of a new database) is told "locked" at once by SQLite, whatever its
    # busy timeout; it must wait for the writer and open, not fail.
    path = tmp_path / "data" / "sitereg.db"
    path.parent.mkdir()
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE early (a INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO early VALUES (1)")
    threading.Timer(0.5, lambda: writer.execute("COMMIT")).start()
    db = open_database(Settings(data_dir=str(path.parent)))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert db.next_version() == 1
    finally:
        db.close()
        writer.close()


def test_describe_check_and_reopen(db, db_settings):
    assert db.describe() in ("sqlite", "postgresql")
    assert db.describe() == ("postgresql" if db_settings.database_url else "sqlite")
    db.check()
    assert db.create_project(project(P1))
    again = open_database(db_settings)  # migrations already at head: nothing to do, data kept
    try:
        assert again.project(P1) == project(P1)
    finally:
        again.close()


def test_migrated_schema_matches_schema_module(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diffs == []


# -- projects and tokens


def test_project_code_is_unique(db):
    assert db.create_project(project(P2, name="第一个"))
    assert not db.create_project(project(P2, name="第二个"))
    assert db.create_project(project(P1, dedicated_account="4425010020239361300", start_date=dt.date(2026, 3, 1)))
    assert db.create_project(project(P3, region="510104"))
    assert db.project(P2).name == "第一个"
    assert db.project(P1).start_date == dt.date(2026, 3, 1)
    assert db.project("nope") is None
    assert [p.code for p in db.projects()] == [P1, P2, P3]
    assert [p.code for p in db.projects("4403")] == [P1, P2]
    assert db.projects("51_") == []  # a prefix, not a pattern


def test_codes_are_ordered_byte_by_byte_whatever_the_server_locale(db):
    for code in ("a_1", "B-1", "a-1", "a.1", "A1"):
        db.create_project(project(code))
    assert [p.code for p in db.projects()] == ["A1", "B-1", "a-1", "a.1", "a_1"]


def test_threads_creating_one_project(db):
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(db.create_project(project(P1)))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [False] * 7 + [True]


def test_token_round_trip(db):
    rec = TokenRecord(role="contractor", scope=("9144030019219286XW",), created_at=T0, label="site office")
    assert db.save_token("f" * 64, rec)
    assert db.token("f" * 64) == rec
    assert db.token("0" * 64) is None
    assert not db.save_token("f" * 64, TokenRecord(role="admin", scope=(), created_at=T0))  # write-once
    assert db.token("f" * 64).role == "contractor"


# -- uploads and the current pointer


def test_same_bytes_return_the_stored_upload(db):
    first = receipt("U1")
    assert db.add_upload(first) == first
    again = db.add_upload(receipt("U2"))  # same project, kind, period and bytes
    assert again == first
    assert db.receipt("U2") is None
    assert db.find_duplicate(P1, "attendance", "2026-11", "a" * 64) == first
    assert db.find_duplicate(P1, "attendance", "2026-10", "a" * 64) is None
    other = receipt("U3", sha256="b" * 64)
    assert db.add_upload(other) == other
    assert db.add_upload(receipt("U4", period="2026-10")).upload_id == "U4"  # another period is another upload
    assert [r.upload_id for r in db.uploads(P1)] == ["U1", "U3", "U4"]


def test_uploads_listed_in_arrival_order_not_clock_order(db):
    for i, upload_id in enumerate(["U9", "U1", "U5"]):
        db.add_upload(receipt(upload_id, sha256=str(i) * 64, at=T0 - dt.timedelta(hours=i)))
    db.add_upload(receipt("U7", kind="payments", sha256="7" * 64))
    assert [r.upload_id for r in db.uploads(P1, "2026-11", "attendance")] == ["U9", "U1", "U5"]
    assert [r.upload_id for r in db.uploads(P1, kind="payments")] == ["U7"]
    assert db.uploads(P2) == []
    assert db.receipt("U1").created_at == T0 - dt.timedelta(hours=1)


def test_current_pointer_switches_with_history_and_roster_carries_over(db):
    db.add_upload(receipt("R09", kind="roster", period="2026-09", sha256="1" * 64))
    db.add_upload(receipt("A11", kind="attendance", period="2026-11", sha256="2" * 64))
    db.add_upload(receipt("A11b", kind="attendance", period="2026-11", sha256="3" * 64))
    db.add_upload(receipt("R10", kind="roster", period="2026-10", sha256="4" * 64))
    db.add_upload(receipt("R12", kind="roster", period="2026-12", sha256="5" * 64))
    db.add_upload(receipt("A10", kind="attendance", period="2026-10", sha256="6" * 64))
    assert db.current_upload("roster", P1, "2026-11") is None
    assert db.current_uploads(P1, "2026-11") == {}

    db.make_current("R09")
    db.make_current("A11")
    db.make_current("A10")
    assert db.current_upload("roster", P1, "2026-11") == "R09"  # the latest earlier period's roster
    assert db.current_upload("roster", P1, "2026-08") is None
    assert db.current_upload("attendance", P1, "2026-11") == "A11"
    assert db.current_upload("attendance", P1, "2026-12") is None  # attendance never carries over
    assert db.current_uploads(P1, "2026-11") == {"roster": "R09", "attendance": "A11"}

    db.make_current("R10")
    db.make_current("R12")  # a later period does not change November
    db.make_current("A11b")
    db.make_current("A11", reason="revert")
    assert db.current_uploads(P1, "2026-11") == {"roster": "R10", "attendance": "A11"}
    assert db.current_upload("roster", P1, "2026-12") == "R12"
    history = db.current_history(P1, "2026-11", "attendance")
    assert [(h["upload_id"], h["reason"]) for h in history] == [("A11", "upload"), ("A11b", "upload"), ("A11", "revert")]
    assert history[0]["seq"] < history[1]["seq"] < history[2]["seq"]
    assert history[0]["at"].tzinfo is not None
    with pytest.raises(KeyError):
        db.make_current("U-none")


# -- bank batches and transactions


def test_claim_batch_and_receipts(db):
    assert db.claim_batch("ACC1", "B1", "s1", "originals/bank/payer=ACC1/batch=B1.json") == "new"
    assert db.claim_batch("ACC1", "B1", "s1", "originals/bank/payer=ACC1/batch=B1.json") == "same"
    assert db.claim_batch("ACC1", "B1", "s2", "originals/bank/payer=ACC1/batch=B1.json") == "conflict"
    assert db.claim_batch("ACC2", "B1", "s2", "originals/bank/payer=ACC2/batch=B1.json") == "new"  # another bank's id
    assert db.batch_receipt(("ACC1",), "B1") is None  # claimed, not finished
    db.save_batch_receipt("ACC1", "B1", {"batch_id": "B1", "accepted": 2})
    db.save_batch_receipt("ACC2", "B1", {"batch_id": "B1", "accepted": 5})
    assert db.batch_receipt(("ACC1",), "B1") == {"batch_id": "B1", "accepted": 2}
    assert db.batch_receipt(("ACC3", "ACC2", "ACC1"), "B1")["accepted"] == 5
    assert db.batch_receipt(("ACC3",), "B1") is None
    assert db.batch_receipt(None, "B1") is not None
    assert db.batch_receipt(None, "B9") is None
    with pytest.raises(KeyError):
        db.save_batch_receipt("ACC1", "B9", {})


def test_batch_parts_recorded_once_in_arrival_order(db):
    db.add_batch_part("ACC1", "B2", P1, "2026-11", "tables/bank/project=P1/period=2026-11/batch=B2.parquet")
    db.add_batch_part("ACC1", "B1", P1, "2026-11", "tables/bank/project=P1/period=2026-11/batch=B1.parquet")
    db.add_batch_part("ACC1", "B2", P1, "2026-11", "tables/bank/project=P1/period=2026-11/batch=B2.parquet")  # replay
    db.add_batch_part("ACC1", "B1", P1, "2026-10", "tables/bank/project=P1/period=2026-10/batch=B1.parquet")
    assert db.batch_parts(P1, "2026-11") == ["tables/bank/project=P1/period=2026-11/batch=B2.parquet",
                                             "tables/bank/project=P1/period=2026-11/batch=B1.parquet"]
    assert db.batch_projects(P1, "2026-11") == ["B2", "B1"]
    assert db.batch_projects(P2, "2026-11") == []


def test_claim_txns_reports_duplicates_and_conflicts(db):
    assert db.claim_txns("ACC1", "B1", [("T1", "d1"), ("T2", "d2")]) == (set(), {})
    assert db.claim_txns("ACC1", "B2", [("T1", "d1"), ("T2", "other"), ("T3", "d3")]) == ({"T1"}, {"T2": "B1"})
    assert db.claim_txns("ACC1", "B1", [("T1", "d1"), ("T2", "d2")]) == (set(), {})  # a replay
    assert db.claim_txns("ACC2", "B7", [("T1", "other")]) == (set(), {})  # another payer's ids are its own
    assert db.claim_txns("ACC1", "B3", []) == (set(), {})
    many = [(f"M{i:05d}", "d") for i in range(2500)]  # more than one read-back chunk
    assert db.claim_txns("ACC1", "B4", many) == (set(), {})
    assert db.claim_txns("ACC1", "B5", many[::-1]) == ({i for i, _ in many}, {})


# -- audit and column maps


def test_audit_is_append_only_and_read_by_utc_day(db):
    db.append_audit(event(T0, "first"))
    db.append_audit(event(T0 + dt.timedelta(hours=1), "second"))
    # 23:30 in UTC-8 on the 27th is the 28th in UTC.
    db.append_audit(event(dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8))), "late"))
    db.append_audit(event(T0 + dt.timedelta(hours=2), "third"))
    day = db.audit(dt.date(2026, 11, 27))
    assert [e["target"] for e in day] == ["first", "second", "third"]
    assert day[0] == {"at": "2026-11-27T08:00:00Z", "actor": "admin:t1", "role": "admin", "scope": [],
                      "action": "create_project", "target": "first", "client": "127.0.0.1", "detail": {"n": 1}}
    assert [e["target"] for e in db.audit(dt.date(2026, 11, 28))] == ["late"]
    assert [e["target"] for e in db.audit(dt.date(2026, 11, 27), limit=2)] == ["second", "third"]
    assert not hasattr(db, "delete_audit")
    for statement in ("UPDATE audit_events SET body = '{}'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(db.audit(dt.date(2026, 11, 27))) == 3


def test_column_maps(db):
    assert db.column_map(P1, "attendance") == {}
    db.save_column_map(P1, "attendance", {"姓名 ": "name", "身份证": "id_number"})
    db.save_column_map(P1, "roster", {"名字": "name"})
    assert db.column_map(P1, "attendance") == {"姓名 ": "name", "身份证": "id_number"}
    db.save_column_map(P1, "attendance", {"工人姓名": "name"})
    assert db.column_map(P1, "attendance") == {"工人姓名": "name"}
    assert db.column_map(P2, "attendance") == {}


# -- versions, coverage and the worker index


def test_next_version_increases(db):
    versions = [db.next_version() for _ in range(5)]
    assert versions == sorted(set(versions))


def test_coverage_keeps_the_newest_version(db):
    assert db.put_coverage(P1, "2026-11", 5, "440305", "government", {"workers": 5})
    assert not db.put_coverage(P1, "2026-11", 3, "440305", "government", {"workers": 3})
    assert not db.put_coverage(P1, "2026-11", 5, "440305", "government", {"workers": 55})
    assert db.coverage_version(P1, "2026-11") == 5
    assert db.put_coverage(P1, "2026-11", 8, "440305", "government", {"workers": 8})
    db.put_coverage(P2, "2026-11", 1, "440305", "other", {"workers": 1})
    db.put_coverage(P1, "2026-10", 1, "440305", "government", {"workers": 10})
    db.put_coverage(P3, "2026-11", 1, "510104", "government", {"workers": 31})
    db.put_coverage(P1, "2027-01", 1, "440305", "government", {"workers": 0})
    assert db.coverage_version(P2, "2026-09") is None
    got = db.coverage("2026-10", "2026-12")
    assert [(c["period"], c["project"], c["workers"]) for c in got] == [
        ("2026-10", P1, 10), ("2026-11", P1, 8), ("2026-11", P2, 1), ("2026-11", P3, 31)]
    assert [c["project"] for c in db.coverage("2026-11", "2026-11", region_prefix="4403")] == [P1, P2]
    assert [c["project"] for c in db.coverage("2026-01", "2027-12", projects=[P2, P3])] == [P2, P3]
    assert db.coverage("2026-01", "2027-12", projects=[]) == []


def _figures(n: int, deadline: str | None = "2026-12-15", **kw) -> dict:
    """A coverage row whose every count is ``n`` (paid on time: n of n, by ``deadline``)."""
    row = {k: n for k in t.COUNT_COLUMNS} | {k: True for k in t.FIVE_COLUMNS} | kw
    row["on_time_by_deadline"] = [{"deadline": deadline, "n": n, "d": n}] if deadline else None
    return row


def _by_rows(db, first: str, last: str, today: str, prefixes=None) -> dict:
    """What the rollups must say, summed from the project-period rows themselves."""
    names, rows = db.coverage_figures(first, last, prefixes)
    due_names, due_rows = db.coverage_due(first, last, today, prefixes)
    due = {(r["project"], r["period"]): r for r in (dict(zip(due_names, row)) for row in due_rows)}
    out: dict = {}
    for r in (dict(zip(names, row)) for row in rows):
        r.update({k: due.get((r["project"], r["period"]), {}).get(k, 0) for k in ("on_time_n", "on_time_d")})
        key = (r["period"], r["investment_type"])
        acc = out.setdefault(key, {"projects": 0})
        acc["projects"] += 1
        for k in (*t.COUNT_COLUMNS, *t.FIVE_COLUMNS):
            acc[k] = acc.get(k, 0) + r[k]
    return out


def test_rollups_equal_the_rows_after_any_sequence_of_writes(db):
    """The per-month region sums a bureau's view reads are recomputed with every versioned write:
    whatever order the writes come in (older versions refused, a project moved to another type),
    they equal the sums of the stored rows, on-time pay counted only for deadlines passed."""
    rng = random.Random(7)
    codes = [f"XM-4403{k % 3:02d}-2026-{k:03d}" for k in range(12)]
    version = 0
    for _ in range(120):
        version += rng.randint(-3, 5)  # some writes carry an older version and must change nothing
        code, month = rng.choice(codes), rng.choice(["2026-09", "2026-10", "2026-11"])
        kind = rng.choice(["government", "other"])
        db.put_coverage(code, month, max(version, 1), code[3:9], kind,
                        _figures(rng.randint(0, 9), rng.choice(["2026-10-15", "2026-12-15", None]),
                                 five_guarantee=rng.random() < 0.5))
    for today in ("2026-10-01", "2026-11-27", "2027-01-01"):
        names, rows = db.coverage_months("2026-09", "2026-11", today)
        rolled = {(r["period"], r["investment_type"]): {k: r[k] for k in names if k not in ("period", "investment_type")}
                  for r in (dict(zip(names, row)) for row in rows)}
        assert rolled == _by_rows(db, "2026-09", "2026-11", today)
        names, rows = db.coverage_months("2026-10", "2026-10", today, prefixes=("440301",))
        assert {(r[0], r[1]) for r in rows} == set(_by_rows(db, "2026-10", "2026-10", today, ("440301",)))
    # The signature moves with every write that is taken, and only then.
    before = db.coverage_signature("2026-09", "2026-11")
    assert not db.put_coverage(codes[0], "2026-10", 1, "440300", "government", _figures(99))
    assert db.coverage_signature("2026-09", "2026-11") == before
    assert db.put_coverage(codes[0], "2026-10", version + 100, "440300", "government", _figures(99))
    assert db.coverage_signature("2026-09", "2026-11") != before


def test_per_project_sums_over_a_range_keep_the_latest_months_five_systems(db):
    db.put_coverage(P1, "2026-09", 1, "440305", "government", _figures(2, "2026-10-15", five_guarantee=True))
    db.put_coverage(P1, "2026-10", 2, "440305", "government", _figures(3, "2026-11-15", five_guarantee=False))
    db.put_coverage(P2, "2026-10", 3, "440305", "other", _figures(5, "2026-11-15"))
    names, rows = db.coverage_figures("2026-09", "2026-10", per_project=True)
    got = {r["project"]: r for r in (dict(zip(names, row)) for row in rows)}
    names, rows = db.coverage_due("2026-09", "2026-10", "2026-11-01", per_project=True)
    for r in (dict(zip(names, row)) for row in rows):
        got[r["project"]].update(on_time_n=r["on_time_n"], on_time_d=r["on_time_d"])
    assert set(got) == {P1, P2}
    # October's five systems (guarantee, bit 2, missing that month) ride on the greatest key.
    assert got[P1]["a_n"] == 5 and got[P1]["five_key"] == 202610 * 32 + 0b11011
    # On 2026-11-01 only September's deadline (2026-10-15) has passed.
    assert (got[P1]["on_time_n"], got[P1]["on_time_d"]) == (2, 2)
    assert "on_time_n" not in got[P2]  # nothing due yet


def test_migration_0003_fills_figures_and_rollups_from_stored_rows(tmp_path):
    """A data directory written before the typed figures existed is upgraded in place: its rows'
    JSON becomes the typed columns and the rollups, so region views answer as before."""
    import json

    from alembic import command
    from alembic.config import Config

    from sitereg.db import engine as eng

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = eng.create(url)
    config = Config()
    config.set_main_option("script_location", str(eng._MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        for i, (code, month) in enumerate([(P1, "2026-10"), (P2, "2026-10"), (P1, "2026-11")]):
            conn.execute(text("INSERT INTO coverage VALUES (:p, :m, :v, '440305', 'government', :c)"),
                         {"p": code, "m": month, "v": i + 1, "c": json.dumps(_figures(i + 2, "2026-11-15"))})
    engine.dispose()
    db = open_database(Settings(data_dir=str(tmp_path / "data"), database_url=url))
    try:
        names, rows = db.coverage_months("2026-10", "2026-11", "2026-12-01")
        got = [dict(zip(names, row)) for row in rows]
        assert [(r["period"], r["projects"], r["a_n"], r["on_time_d"], r["five_notice_board"]) for r in got] == [
            ("2026-10", 2, 5, 5, 2), ("2026-11", 1, 4, 4, 1)]
        assert db.coverage_signature("2026-10", "2026-11") == (3, 3)
    finally:
        db.close()


def test_migration_0009_fills_project_dates_from_the_bodies(db_settings):
    """Projects registered before 0009 have their dates only in the body: the upgrade copies them
    into the columns the 未上传 list filters on, on both databases."""
    import json

    from alembic import command
    from alembic.config import Config

    from sitereg.db import engine as eng

    engine = eng.create(database_url(db_settings))
    config = Config()
    config.set_main_option("script_location", str(eng._MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        for code, start, end in ((P1, "2026-03-01", None), (P2, "2026-11-01", None), (P3, "2025-01-01", "2026-09-30")):
            body = {"code": code, "name": code, "region_code": "440305", "start_date": start, "end_date": end}
            conn.execute(text("INSERT INTO projects (code, region_code, contractor_credit_code, body, name) "
                              "VALUES (:c, '440305', 'X', :b, :n)"), {"c": code, "n": code, "b": json.dumps(body)})
    engine.dispose()
    db = open_database(db_settings)
    try:
        _, rows = db.project_names(None, None, under_way=("2026-10-01", "2026-10-31"))
        assert [code for code, _ in rows] == [P1]
        _, rows = db.project_names(None, None, under_way=("2026-10-01", "2026-11-30"))
        assert sorted(code for code, _ in rows) == [P1, P2]
    finally:
        db.close()


def test_worker_index_overlaps_paid_elsewhere_and_versions(db):
    alice, bob, carol, dave = 1 << 62, -(1 << 63), 42, 7  # id_keys are signed 64-bit
    def days(*ds: int) -> int:  # the days present, as bits (bit d-1 for day d)
        return sum(1 << (d - 1) for d in ds)

    assert db.replace_worker_index(P1, "2026-11", 10, [(alice, days(3, 4)), (bob, days(3))],
                                   [month(alice), month(bob, paid_fen=30000), month(dave, paid_fen=500)])
    assert db.replace_worker_index(P2, "2026-11", 11, [(alice, days(4, 30)), (bob, days(5)), (carol, days(3))],
                                   [month(alice, paid_fen=20000), month(bob), month(carol, paid_fen=100),
                                    month(dave, paid_fen=600)])
    db.replace_worker_index(P3, "2026-10", 12, [(alice, days(4))], [month(alice, paid_fen=1)])  # another period
    assert db.overlaps(P1, "2026-11") == [(P2, alice, days(4))]
    assert db.overlaps(P2, "2026-11") == [(P1, alice, days(4))]
    # Paid twice: paid by both projects. Alice is paid by P2 only, Bob by P1 only.
    assert db.paid_elsewhere(P1, "2026-11") == [(P2, dave)]
    assert db.paid_elsewhere(P2, "2026-11") == [(P1, dave)]

    # An older computation finishing late changes nothing.
    assert not db.replace_worker_index(P2, "2026-11", 9, [], [])
    assert db.overlaps(P1, "2026-11") == [(P2, alice, days(4))]
    # A newer one replaces the rows wholesale.
    assert db.replace_worker_index(P2, "2026-11", 13, [(alice, days(5))], [month(alice)])
    assert db.overlaps(P1, "2026-11") == []
    assert db.paid_elsewhere(P1, "2026-11") == []

    db.replace_worker_index(P1, "2026-10", 14, [], [month(alice, paid_fen=7, findings=["PAID_LATE"])])
    rows = db.worker_months(alice, "2026-01", "2026-12", None)
    assert [(r["period"], r["project"]) for r in rows] == [("2026-11", P1), ("2026-11", P2), ("2026-10", P1),
                                                           ("2026-10", P3)]
    assert rows[2]["findings"] == ["PAID_LATE"] and rows[2]["paid_from"] == ["4425****1300"]
    assert rows[0]["paid_at"] == [] and rows[0]["name"] == "张三" and rows[0]["expected_fen"] is None
    assert [r["project"] for r in db.worker_months(alice, "2026-10", "2026-10", [P3])] == [P3]
    assert db.worker_months(carol, "2026-01", "2026-12", None) == []


def test_replacing_the_worker_index_leaves_exactly_the_new_rows(db):
    """Rows that changed, vanished or are new are written; the same rows are kept as they are."""
    def rows_now() -> tuple[set, set]:
        with db.engine.connect() as conn:
            d = {tuple(r)[1:] for r in conn.execute(select(t.worker_days).where(t.worker_days.c.project == P1))}
            m = {(r.id_key, r.paid_fen, r.findings) for r in conn.execute(
                select(t.worker_months).where(t.worker_months.c.project == P1))}
        return d, m

    keys = list(range(-600, 600))  # more than one batch of deletions
    assert db.replace_worker_index(P1, "2026-11", 1, [(k, 3) for k in keys], [month(k, paid_fen=100) for k in keys])
    kept, changed, new = keys[:400], keys[400:1000], [5000, 5001]
    days = [(k, 3) for k in kept] + [(k, 7) for k in changed] + [(k, 1) for k in new]
    months = ([month(k, paid_fen=100) for k in kept] + [month(k, paid_fen=200, findings=["NOT_PAID"]) for k in changed]
              + [month(k, paid_fen=1) for k in new])
    assert db.replace_worker_index(P1, "2026-11", 2, days, months)
    got_days, got_months = rows_now()
    assert got_days == {("2026-11", k, v) for k, v in days}
    assert got_months == {(k, 100, "[]") for k in kept} | {(k, 200, '["NOT_PAID"]') for k in changed} | {
        (k, 1, "[]") for k in new}
    assert db.replace_worker_index(P1, "2026-11", 3, [], [])
    assert rows_now() == (set(), set())


def test_replace_worker_index_100k_days(db, capsys):
    rng = random.Random(7)
    keys = [rng.randrange(-(1 << 63), 1 << 63) for _ in range(5000)]
    days = [(k, (1 << 20) - 1) for k in keys]  # 5,000 workers x 20 days = 100,000 worker-days, one row each
    months = [month(k, paid_fen=100) for k in keys]
    timings = []
    for version in (1, 2):  # the second also deletes the first's rows
        start = time.perf_counter()
        assert db.replace_worker_index(P1, "2026-11", version, days, months)
        timings.append(time.perf_counter() - start)
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(t.worker_days)) == 5_000
    with capsys.disabled():
        print(f"\n  replace_worker_index, {db.describe()}: 100k days + 5k months: "
              f"insert {timings[0]:.2f} s, replace {timings[1]:.2f} s")
    assert max(timings) < 10  # row-by-row round trips would take minutes


# -- several OS processes at once
#
# Eight spawned processes (as eight service workers would be) run every scenario below on one
# new database, released together by a barrier before each. Spawning costs seconds per process,
# so it is done once per database and the tests below read the outcome.


def _race(data_dir: str, url: str | None, i: int, barrier, results) -> None:
    try:
        barrier.wait(timeout=300)
        db = open_database(Settings(data_dir=data_dir, database_url=url))  # all migrate a new database at once
        try:
            out = {}
            for name, scenario in _SCENARIOS.items():
                barrier.wait(timeout=300)
                out[name] = scenario(db, i)
            results.put((i, out))
        finally:
            db.close()
    except BaseException:
        results.put((i, "error: " + traceback.format_exc()))


def _same_upload(db, i):
    return db.add_upload(receipt(f"U{i}", sha256="c" * 64)).upload_id


def _shared_txn(db, i):
    digest = "even" if i % 2 == 0 else "odd"
    duplicates, conflicts = db.claim_txns("ACC1", f"B{i}", [("T-shared", digest), (f"T-own-{i}", "own")])
    return digest, sorted(duplicates), sorted(conflicts)


def _coverage_versions(db, i):
    versions = list(range(i + 1, 41, 8))
    random.Random(i).shuffle(versions)
    for v in versions:
        db.put_coverage(P1, "2026-11", v, "440305", "government", {"v": v})
        assert db.coverage_version(P1, "2026-11") >= v  # never below what was just offered


_SCENARIOS = {"version": lambda db, i: db.next_version(), "upload": _same_upload, "txn": _shared_txn,
              "coverage": _coverage_versions}
RACERS = 8


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def raced(request, tmp_path_factory):
    """(database, {scenario: {process: result}}) after the eight processes finished."""
    with contextlib.ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = stack.enter_context(pgserver.fresh_database(request.getfixturevalue("pg_url")))
        settings = Settings(data_dir=str(tmp_path_factory.mktemp("raced")), database_url=url)
        ctx = multiprocessing.get_context("spawn")
        barrier, queue = ctx.Barrier(RACERS), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(settings.data_dir, url, i, barrier, queue)) for i in range(RACERS)]
        for p in procs:
            p.start()
        try:
            out = dict(queue.get(timeout=600) for _ in procs)
        finally:
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.kill()
        errors = [v for v in out.values() if isinstance(v, str)]
        assert not errors, errors[0]
        db = open_database(settings)
        stack.callback(db.close)
        yield db, {name: {i: res[name] for i, res in out.items()} for name in _SCENARIOS}


def test_processes_starting_on_a_new_database_migrate_it_once(raced):
    db, got = raced
    assert sorted(got["version"].values()) == list(range(1, RACERS + 1))  # every ticket handed out once
    with db.engine.connect() as conn:
        # One row: the newest revision, reached once however many processes started together.
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head_revision()]


def test_processes_adding_the_same_bytes_store_one_upload(raced):
    db, got = raced
    stored = db.uploads(P1)
    assert len(stored) == 1
    assert set(got["upload"].values()) == {stored[0].upload_id}


def test_processes_sharing_a_bank_txn_store_it_once(raced):
    db, got = raced
    results = got["txn"]
    fresh = [i for i, (_, dups, conflicts) in results.items() if "T-shared" not in dups + conflicts]
    assert len(fresh) == 1  # exactly one batch stored it; every other batch was told
    winner = results[fresh[0]][0]
    for i, (digest, dups, conflicts) in results.items():
        if i != fresh[0]:
            assert (dups, conflicts) == ((["T-shared"], []) if digest == winner else ([], ["T-shared"]))
    with db.engine.connect() as conn:
        held = conn.execute(select(t.bank_txns.c.digest).where(t.bank_txns.c.bank_txn_id == "T-shared")).scalars().all()
        assert held == [winner]
        assert conn.scalar(select(func.count()).select_from(t.bank_txns)) == RACERS + 1


def test_processes_with_interleaved_coverage_versions_leave_the_newest(raced):
    db, _ = raced
    assert db.coverage_version(P1, "2026-11") == 40
    assert db.coverage("2026-11", "2026-11") == [{"v": 40, "project": P1, "period": "2026-11"}]


def test_constraint_names_are_the_same_on_both(db):
    # Later migrations refer to constraints by name, so both databases must carry the same ones.
    names = {uq["name"] for uq in inspect(db.engine).get_unique_constraints("uploads")}
    assert names == {"uq_uploads_upload_id", "uq_uploads_project_kind_period_sha256"}


def _head_revision() -> str:
    from pathlib import Path

    import sitereg.db

    versions = Path(sitereg.db.__file__).parent / "migrations" / "versions"
    return max(p.name.split("_", 1)[0] for p in versions.glob("[0-9]*.py"))
