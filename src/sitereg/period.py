"""A project-period: its current tables, its findings across files and projects.

Used by the upload pipeline (re-check after every change) and by the read endpoints.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from sitereg import tables
from sitereg.catalog import Catalog, Project
from sitereg.settings import Settings
from sitereg.storage import ObjectStore
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
    """Attendance and payments of every other project in the same period (for cross-project checks)."""
    codes = set()
    for kind in ("attendance", "payments"):
        for key in store.list(f"index/{kind}/"):
            parts = key.split("/")
            if parts[3] == f"period={period}":
                codes.add(parts[2].removeprefix("project="))
    for key in store.list("tables/bank/"):
        parts = key.split("/")
        if parts[3] == f"period={period}":
            codes.add(parts[2].removeprefix("project="))
    codes.discard(project)
    return {code: load(store, code, period)[0] for code in sorted(codes)}


def findings(store: ObjectStore, settings: Settings, project: Project, period: str, today: dt.date) -> pl.DataFrame:
    """Every current finding of the project-period: per-file ones of the current uploads, then
    the cross-file and cross-project ones computed from the current tables."""
    t, current = load(store, project.code, period)
    catalog = Catalog(store)
    parts = []
    for kind, upload_id in current.items():
        receipt = catalog.receipt(upload_id)
        if receipt is not None:
            parts.append(tables.read(store, receipt.findings_key).with_columns(kind=pl.lit(kind), upload_id=pl.lit(upload_id)))
    prepared = prepare(t, period, project.dedicated_account, today)
    overlap = overlaps(project.code, t, other_projects(store, project.code, period))
    cross = cross_findings(prepared, overlap, settings.overpaid_ratio).with_columns(upload_id=pl.lit(None, pl.String))
    return pl.concat([*parts, cross], how="diagonal_relaxed")


def coverage_counts(store: ObjectStore, project: Project, period: str, today: dt.date) -> dict:
    """Numerators, denominators and the five systems of one project-period, from its current tables."""
    t, current = load(store, project.code, period)
    prepared = prepare(t, period, project.dedicated_account, today)
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


def snapshot_coverage(store: ObjectStore, project: Project, period: str) -> None:
    row = coverage_counts(store, project, period, dt.date.today())  # on-time pay is re-judged on read
    tables.write(store, f"derived/coverage/project={project.code}/period={period}.parquet", pl.DataFrame([row]))


def coverage_rows(store: ObjectStore) -> pl.DataFrame:
    """Every project-period's snapshot row (one per stored snapshot)."""
    frames = [tables.read(store, key) for key in store.list("derived/coverage/")]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
