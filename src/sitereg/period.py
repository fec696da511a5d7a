"""A project-period: its current tables, its findings across files and projects, and the
derived rows that region views and the worker ledger read.

The upload pipeline and the bank batches call ``recheck`` after every change; the read
endpoints call ``findings`` and ``coverage_counts``, which compute from the current tables.
Cross-project checks are an indexed join in the database (``worker_days``/``worker_months``),
never a load of the other projects' tables, so a recheck costs the same in a city of 2,000
projects as in one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import polars as pl

from sitereg import tables
from sitereg.catalog import Catalog, Project
from sitereg.settings import Settings
from sitereg.validate import checks as ck
from sitereg.validate import coverage as cov
from sitereg.validate.crosscheck import (
    CROSS_FINDING_SCHEMA,
    OVERLAP_SCHEMA,
    PeriodTables,
    Prepared,
    cross_findings,
    id_keys,
    overlaps,
    prepare,
    worker_days,
)
from sitereg.validate.rules import BY_CODE

KINDS = ("roster", "contracts", "attendance", "payments")
ON_TIME_TYPE = pl.List(pl.Struct({"deadline": pl.Date, "n": pl.Int64, "d": pl.Int64}))
# Error findings whose count depends on the day they are read (the pay deadline passing).
TIME_DEPENDENT = ("NOT_PAID",)


def load(catalog: Catalog, project: str, period: str) -> tuple[PeriodTables, dict[str, str]]:
    """The current tables of a project-period and the upload id each came from."""
    blank = PeriodTables.empty()
    frames: dict[str, pl.DataFrame] = {}
    current: dict[str, str] = {}
    pointers = catalog.current_uploads(project, period)
    for kind in KINDS:
        frame = getattr(blank, kind)
        receipt = catalog.receipt(pointers[kind]) if kind in pointers else None
        if receipt is not None and receipt.table_key:
            frame = tables.read(catalog.store, receipt.table_key)
            if kind == "payments":
                frame = frame.with_columns(source=pl.lit("upload"))
            current[kind] = receipt.upload_id
        frames[kind] = frame.select(getattr(blank, kind).columns) if frame.height else getattr(blank, kind)
    # Bank-pushed records join the uploaded wage sheet: one payments table, one code path.
    bank = [tables.read(catalog.store, key) for key in catalog.db.batch_parts(project, period)]
    if bank:
        # Bank records first: a wage sheet row repeating a bank transaction is the same payout.
        frames["payments"] = pl.concat([*[b.select(blank.payments.columns) for b in bank], frames["payments"]],
                                       how="vertical_relaxed").unique("bank_txn_id", keep="first", maintain_order=True)
    return PeriodTables(**frames), current


def _file_findings(catalog: Catalog, current: dict[str, str]) -> list[pl.DataFrame]:
    parts = []
    for kind, upload_id in current.items():
        receipt = catalog.receipt(upload_id)
        if receipt is not None:
            parts.append(tables.read(catalog.store, receipt.findings_key)
                         .with_columns(kind=pl.lit(kind), upload_id=pl.lit(upload_id)))
    return parts


def _overlap_findings(catalog: Catalog, project: str, period: str, t: PeriodTables, settings: Settings) -> pl.DataFrame:
    days = pl.DataFrame(catalog.db.overlaps(project, period), schema={"other": pl.String, "id_key": pl.Int64, "day": pl.String},
                        orient="row")
    paid = pl.DataFrame(catalog.db.paid_elsewhere(project, period), schema={"other": pl.String, "id_key": pl.Int64},
                        orient="row")
    found = overlaps(t, period, days, paid)
    if found.height == 0:
        return pl.DataFrame(schema=CROSS_FINDING_SCHEMA)
    empty = prepare(PeriodTables.empty(), period, None, dt.date(2000, 1, 1))
    return cross_findings(empty, found, settings.overpaid_ratio)


def findings(catalog: Catalog, settings: Settings, project: Project, period: str, today: dt.date) -> pl.DataFrame:
    """Every current finding of the project-period: per-file ones of the current uploads, then
    the cross-file ones from the current tables, then the cross-project ones from the index."""
    t, current = load(catalog, project.code, period)
    prepared = prepare(t, period, project.dedicated_account, today)
    none = pl.DataFrame(schema=OVERLAP_SCHEMA)
    cross = cross_findings(prepared, none, settings.overpaid_ratio)
    return pl.concat([*_file_findings(catalog, current), cross.with_columns(upload_id=pl.lit(None, pl.String)),
                      _overlap_findings(catalog, project.code, period, t, settings).with_columns(upload_id=pl.lit(None, pl.String))],
                     how="diagonal_relaxed")


def coverage_counts(catalog: Catalog, project: Project, period: str, today: dt.date) -> dict:
    """Numerators, denominators and the five systems of one project-period, from its current tables."""
    t, _ = load(catalog, project.code, period)
    return _counts(project, period, today, t, prepare(t, period, project.dedicated_account, today))


def recheck(catalog: Catalog, settings: Settings, project: Project, period: str, today: dt.date) -> pl.DataFrame:
    """Recompute what the project-period's views read after one of its inputs changed: its
    worker index (days and months, for cross-project checks and the ledger) and its coverage
    row with the error counts /risks shows. Both are written under a version taken before the
    tables are read, so a slower, older computation can never replace a newer one."""
    version = catalog.db.next_version()
    t, current = load(catalog, project.code, period)
    prepared = prepare(t, period, project.dedicated_account, today)
    cross = cross_findings(prepared, pl.DataFrame(schema=OVERLAP_SCHEMA), settings.overpaid_ratio)
    file_parts = _file_findings(catalog, current)
    days = worker_days(t)
    catalog.db.replace_worker_index(project.code, period, version, list(days.iter_rows()),
                                    _worker_months(prepared, [*file_parts, cross]))
    counts = _counts(project, period, today, t, prepared)
    counts.update(_risk_counts([*file_parts, cross], prepared))
    catalog.db.put_coverage(project.code, period, version, project.region_code, project.investment_type, counts)
    return pl.concat([*file_parts, cross], how="diagonal_relaxed")


def _worker_months(p: Prepared, parts: list[pl.DataFrame]) -> list[dict[str, Any]]:
    """One ledger row per worker of the period: days, expected, paid (all, and from the
    dedicated account into the worker's own account), when and from which accounts, and the
    codes of the findings about them."""
    w = p.workers
    if w.height == 0:
        return []
    found = pl.concat([f.select("rule", "worker") for f in parts if f.height], how="vertical_relaxed") if any(
        f.height for f in parts) else pl.DataFrame(schema={"rule": pl.String, "worker": pl.String})
    codes = found.drop_nulls("worker").unique().group_by("worker").agg(findings=pl.col("rule").sort())
    pay = p.payouts.group_by("id_number").agg(
        paid_at=pl.col("paid_at").cast(pl.String).drop_nulls().unique().sort(),
        paid_from=ck.mask_card(pl.col("payer_account")).drop_nulls().unique().sort())
    rows = (
        w.select("id_number", "name", "days", "expected_fen", "paid_fen", paid_dedicated_fen="paid_own_dedicated_fen")
        .with_columns(id_key=id_keys(w.get_column("id_number")), id_masked=ck.mask_id(pl.col("id_number")),
                      payroll_net_fen=pl.lit(None, pl.Int64))
        .join(pay, on="id_number", how="left")
        .join(codes, left_on="id_masked", right_on="worker", how="left")
        .drop("id_number")
    )
    return rows.with_columns(pl.col("paid_at", "paid_from", "findings").fill_null([])).to_dicts()


def _risk_counts(parts: list[pl.DataFrame], p: Prepared) -> dict[str, Any]:
    """Error findings by rule for /risks, except those that turn into errors only once a pay
    deadline passes: those are kept per deadline and judged on the day they are read."""
    errors = [code for code, rule in BY_CODE.items() if rule.severity == "error" and code not in TIME_DEPENDENT]
    found = pl.concat([f.select("rule") for f in parts], how="vertical_relaxed") if parts else pl.DataFrame(
        schema={"rule": pl.String})
    by_rule = dict(found.filter(pl.col("rule").is_in(errors)).group_by("rule").len().sort("rule").iter_rows())
    unpaid = (p.workers.filter((pl.col("days") > 0) & (pl.col("paid_count") == 0))
              .group_by("deadline").len().sort("deadline"))
    return {"errors_by_rule": {k: int(v) for k, v in by_rule.items()},
            "unpaid_by_deadline": [{"deadline": d.isoformat(), "n": int(n)} for d, n in unpaid.iter_rows()]}


def errors_as_of(row: dict[str, Any], today: dt.date) -> dict[str, int]:
    """A coverage row's error counts by rule on ``today``: workers left unpaid past their
    deadline count as NOT_PAID from the day after it."""
    out = dict(msgspec.json.decode(row.get("errors_by_rule") or "{}"))
    unpaid = msgspec.json.decode(row.get("unpaid_by_deadline") or "[]")
    overdue = sum(g["n"] for g in unpaid if today > dt.date.fromisoformat(g["deadline"]))
    if overdue:
        out["NOT_PAID"] = overdue
    return dict(sorted(out.items()))


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
    """The Coverage object of api.md for one stored or live row."""
    row = dict(row)
    # On-time pay is judged only for workers whose deadline has passed by ``today``.
    row["on_time_n"], row["on_time_d"] = cov.on_time_as_of(row.get("on_time_by_deadline"), today)
    out = {"project": row["project"], "period": row["period"], **cov.rates(row)}
    out["five_systems"] = {k: bool(row[f"five_{k}"]) for k in ("realname", "dedicated_account", "guarantee",
                                                                 "bank_payroll", "notice_board")}
    return out


def coverage_rows(catalog: Catalog, first: str, last: str, region: str | None, projects: list[str]) -> pl.DataFrame:
    """Stored coverage rows of these projects over [first, last], as one frame (one indexed
    query by period and region; nested deadlines typed so that a month with none sums like any other)."""
    rows = catalog.db.coverage(first, last, region_prefix=region)
    if not rows:
        return pl.DataFrame()
    for row in rows:
        # Kept as JSON text: /risks decodes them for the rows it lists, nothing else needs them.
        row["errors_by_rule"] = msgspec.json.encode(row.get("errors_by_rule") or {}).decode()
        row["unpaid_by_deadline"] = msgspec.json.encode(row.get("unpaid_by_deadline") or []).decode()
        groups = row.get("on_time_by_deadline")
        row["on_time_by_deadline"] = [{**g, "deadline": dt.date.fromisoformat(g["deadline"]) if g["deadline"] else None}
                                      for g in groups] if groups else None
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(pl.col("on_time_by_deadline").cast(ON_TIME_TYPE)).filter(pl.col("project").is_in(projects))
