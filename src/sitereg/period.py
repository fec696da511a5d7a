"""A project-period: its current tables, its findings across files and projects.

Used by the upload pipeline (re-check after every change) and by the read endpoints.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import polars as pl

from sitereg import tables
from sitereg.catalog import Catalog, Project, projects_in_period
from sitereg.settings import Settings
from sitereg.storage import NotFound, ObjectStore
from sitereg.validate import coverage as cov
from sitereg.validate.crosscheck import PeriodTables, cross_findings, overlaps, prepare

KINDS = ("roster", "contracts", "attendance", "payments")


def bank_keys(store: ObjectStore, project: str, period: str) -> list[str]:
    return store.list(f"tables/bank/project={project}/period={period}/")


def load(store: ObjectStore, project: str, period: str) -> tuple[PeriodTables, dict[str, str]]:
    """The current tables of a project-period and the upload id each came from."""
    catalog = Catalog(store)
    blank = PeriodTables.empty()
    frames: dict[str, pl.DataFrame] = {}
    current: dict[str, str] = {}
    for kind in KINDS:
        upload_id = catalog.current_upload(kind, project, period)
        frame = getattr(blank, kind)
        if upload_id is not None:
            receipt = catalog.receipt(upload_id)
            if receipt is not None and receipt.table_key:
                frame = tables.read(store, receipt.table_key)
                if kind == "payments":
                    frame = frame.with_columns(source=pl.lit("upload"))
                current[kind] = upload_id
        frames[kind] = frame.select(getattr(blank, kind).columns) if frame.height else getattr(blank, kind)
    # Bank-pushed records join the uploaded wage sheet: one payments table, one code path.
    bank = [tables.read(store, key) for key in bank_keys(store, project, period)]
    if bank:
        # Bank records first: a wage sheet row repeating a bank transaction is the same payout.
        frames["payments"] = pl.concat([*[b.select(blank.payments.columns) for b in bank], frames["payments"]],
                                       how="vertical_relaxed").unique("bank_txn_id", keep="first", maintain_order=True)
    return PeriodTables(**frames), current


def other_projects(store: ObjectStore, project: str, period: str) -> dict[str, PeriodTables]:
    """Who worked which day, and who was paid for the period, on every other project of the same
    month (for cross-project checks): only those columns, only those tables."""
    codes = set(projects_in_period(store, period))
    codes.discard(project)
    catalog = Catalog(store)
    blank = PeriodTables.empty()
    out = {}
    for code in sorted(codes):
        frames = {}
        for kind, cols in (("attendance", ["id_number", "date"]), ("payments", ["id_number", "period"])):
            upload_id = catalog.current_upload(kind, code, period)
            receipt = catalog.receipt(upload_id) if upload_id else None
            parts = [tables.read(store, receipt.table_key, cols)] if receipt and receipt.table_key else []
            if kind == "payments":
                parts += [tables.read(store, key, cols) for key in bank_keys(store, code, period)]
            frames[kind] = pl.concat(parts) if parts else getattr(blank, kind).select(cols)
        out[code] = PeriodTables(blank.roster, blank.contracts, frames["attendance"], frames["payments"])
    return out


def findings(store: ObjectStore, settings: Settings, project: Project, period: str, today: dt.date) -> pl.DataFrame:
    """Every current finding of the project-period: per-file ones of the current uploads, then
    the cross-file and cross-project ones computed from the current tables."""
    t, current = load(store, project.code, period)
    return _findings(store, settings, project, period, today, t, current, prepare(t, period, project.dedicated_account, today))


def evaluate(store: ObjectStore, settings: Settings, project: Project, period: str, today: dt.date) -> tuple[pl.DataFrame, dict]:
    """Findings and coverage counts of a project-period from one load of its tables (the re-check
    after every upload or batch)."""
    t, current = load(store, project.code, period)
    prepared = prepare(t, period, project.dedicated_account, today)
    return (_findings(store, settings, project, period, today, t, current, prepared),
            _counts(project, period, today, t, prepared))


def _findings(store, settings, project, period, today, t: PeriodTables, current: dict[str, str], prepared) -> pl.DataFrame:
    catalog = Catalog(store)
    parts = []
    for kind, upload_id in current.items():
        receipt = catalog.receipt(upload_id)
        if receipt is not None:
            parts.append(tables.read(store, receipt.findings_key).with_columns(kind=pl.lit(kind), upload_id=pl.lit(upload_id)))
    overlap = overlaps(project.code, t, other_projects(store, project.code, period))
    cross = cross_findings(prepared, overlap, settings.overpaid_ratio).with_columns(upload_id=pl.lit(None, pl.String))
    return pl.concat([*parts, cross], how="diagonal_relaxed")


def coverage_counts(store: ObjectStore, project: Project, period: str, today: dt.date) -> dict:
    """Numerators, denominators and the five systems of one project-period, from its current tables."""
    t, _ = load(store, project.code, period)
    return _counts(project, period, today, t, prepare(t, period, project.dedicated_account, today))


def _counts(project: Project, period: str, today: dt.date, t: PeriodTables, prepared) -> dict:
    counts = cov.counts(prepared, today)
    counts.update(
        project=project.code, period=period, region_code=project.region_code, investment_type=project.investment_type,
        on_time_by_deadline=cov.on_time_groups(prepared),
        five_realname=t.roster.height > 0,
        five_dedicated_account=bool(project.dedicated_account) and counts["dedicated_count"] > 0,
        five_guarantee=project.guarantee is not None,
        five_bank_payroll=bool((t.payments.get_column("source") == "bank").any()) or counts["dedicated_n"] > 0,
        five_notice_board=project.notice_board,
    )
    return counts


def coverage_json(row: dict, today: dt.date) -> dict:
    """The Coverage object of api.md for one snapshot or live row."""
    row = dict(row)
    # On-time pay is judged only for workers whose deadline has passed by ``today``.
    row["on_time_n"], row["on_time_d"] = cov.on_time_as_of(row.get("on_time_by_deadline"), today)
    out = {"project": row["project"], "period": row["period"], **cov.rates(row)}
    out["five_systems"] = {k: bool(row[f"five_{k}"]) for k in ("realname", "dedicated_account", "guarantee",
                                                                 "bank_payroll", "notice_board")}
    return out


def write_snapshot(store: ObjectStore, row: dict) -> None:
    """Keep a project-period's coverage counts for region views (on-time pay is re-judged on read)."""
    tables.write(store, snapshot_key(row["project"], row["period"]), pl.DataFrame([row]))


def snapshot_key(project: str, period: str) -> str:
    # Period first: a region view lists one month's snapshots, not every month's.
    return f"derived/coverage/period={period}/project={project}.parquet"


def months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class SnapshotCache:
    """Coverage snapshot rows of whole months, kept in memory; each read lists the month's
    snapshots with their versions and re-reads only those that changed, so several API
    processes over one store stay correct without telling each other anything."""

    def __init__(self, store: ObjectStore, max_age: float = 0.0) -> None:
        self.store = store
        self.max_age = max_age
        self._rows: dict[str, tuple[str, dict]] = {}
        self._frames: dict[str, tuple[int, pl.DataFrame, float]] = {}
        self._lock = threading.Lock()

    def rows(self, first: str, last: str) -> pl.DataFrame:
        frames = [f for month in months(first, last) if (f := self._month(month)).height]
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()

    def _month(self, month: str) -> pl.DataFrame:
        with self._lock:
            cached = self._frames.get(month)
        if cached is not None and time.monotonic() - cached[2] < self.max_age:
            return cached[1]
        versions = self.store.versions(f"derived/coverage/period={month}/")
        signature = hash(tuple(sorted(versions.items())))
        if cached is not None and cached[0] == signature:
            with self._lock:
                self._frames[month] = (signature, cached[1], time.monotonic())
            return cached[1]
        for key, version in versions.items():
            hit = self._rows.get(key)
            if hit is None or hit[0] != version:
                try:
                    row = tables.read(self.store, key).row(0, named=True)
                except NotFound:
                    continue  # replaced while we listed; the next read sees the new one
                self._rows[key] = (version, row)
        rows = [self._rows[k][1] for k in sorted(versions) if k in self._rows]
        frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
        with self._lock:
            self._frames[month] = (signature, frame, time.monotonic())
        return frame
