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
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import polars as pl

from sitereg import tables
from sitereg.batches import TXN_CONTENT
from sitereg.catalog import Catalog, Project
from sitereg.db.schema import FIVE_COLUMNS
from sitereg.grammar import add_months
from sitereg.settings import Settings
from sitereg.validate import checks as ck
from sitereg.validate import coverage as cov
from sitereg.validate.crosscheck import (
    CROSS_FINDING_SCHEMA,
    OVERLAP_SCHEMA,
    TIMED_CODES,
    PeriodTables,
    Prepared,
    cross_findings,
    overlaps,
    prepare,
    timed_codes,
    worker_days,
)
from sitereg.validate.rules import BY_CODE

KINDS = ("roster", "contracts", "attendance", "payroll", "payments", "entry_exit")
ON_TIME_TYPE = pl.List(pl.Struct({"deadline": pl.Date, "n": pl.Int64, "d": pl.Int64}))


def _conform(frame: pl.DataFrame, like: pl.DataFrame) -> pl.DataFrame:
    """A stored table in the current schema: columns added since it was written are null."""
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in like.schema.items() if name not in frame.columns]
    return frame.with_columns(missing).select(like.columns).cast(like.schema) if missing else frame.select(like.columns)


def load(catalog: Catalog, project: str, period: str) -> tuple[PeriodTables, dict[str, str]]:
    """The current tables of a project-period and the upload id each came from."""
    t, current, _ = _load(catalog, project, period)
    return t, current


def _load(catalog: Catalog, project: str, period: str) -> tuple[PeriodTables, dict[str, str], pl.DataFrame]:
    """``load``, and the TXN_CONFLICT findings of wage-sheet rows whose transaction id a bank
    record of the period holds with other content."""
    blank = PeriodTables.empty()
    frames: dict[str, pl.DataFrame] = {}
    current: dict[str, str] = {}
    pointers = catalog.current_uploads(project, period)
    for kind in KINDS:
        frame = getattr(blank, kind)
        if kind == "entry_exit":
            continue  # a project's log: every upload adds to it (below)
        receipt = catalog.receipt(pointers[kind]) if kind in pointers else None
        if receipt is not None and receipt.table_key:
            frame = tables.read(catalog.store, receipt.table_key)
            if kind == "payments":
                frame = frame.with_columns(source=pl.lit("upload"))
            current[kind] = receipt.upload_id
        frames[kind] = _conform(frame, getattr(blank, kind)) if frame.height else getattr(blank, kind)
    # Bank-pushed records join the uploaded wage sheet: one payments table, one code path.
    bank = [tables.read(catalog.store, key) for key in catalog.db.batch_parts(project, period)]
    conflicts = pl.DataFrame(schema={**CROSS_FINDING_SCHEMA, "upload_id": pl.String})
    if bank:
        bank_rows = pl.concat([b.select(blank.payments.columns) for b in bank], how="vertical_relaxed")
        conflicts = _txn_conflicts(bank_rows, frames["payments"])
        # Bank records first: a wage sheet row repeating a bank transaction is the same payout,
        # and one that says otherwise is a conflict (above); the bank's record is what moved.
        frames["payments"] = pl.concat([bank_rows, frames["payments"]],
                                       how="vertical_relaxed").unique("bank_txn_id", keep="first", maintain_order=True)
    # Entry/exit records: the project's whole log up to the period's end, every accepted upload.
    logs = [r for r in catalog.db.uploads(project, kind="entry_exit") if r.status == "accepted" and r.table_key
            and r.period <= period]
    if logs:
        frames["entry_exit"] = pl.concat([_conform(tables.read(catalog.store, r.table_key), blank.entry_exit)
                                          for r in logs], how="vertical_relaxed")
        if pointers.get("entry_exit"):
            current["entry_exit"] = pointers["entry_exit"]
    else:
        frames["entry_exit"] = blank.entry_exit
    return PeriodTables(**frames), current, conflicts


def bank_held(catalog: Catalog, project: str, period: str, rows: pl.DataFrame) -> pl.DataFrame:
    """TXN_CONFLICT findings (without kind and upload id) for the rows of a payments upload
    whose transaction id a bank record of the project-period already holds with other content:
    the upload refuses them, so its receipt says what the period will count."""
    parts = catalog.db.batch_parts(project, period) if rows.height else []
    if not parts:
        return pl.DataFrame(schema={n: d for n, d in CROSS_FINDING_SCHEMA.items() if n != "kind"})
    blank = PeriodTables.empty().payments
    bank = pl.concat([tables.read(catalog.store, key).select(blank.columns) for key in parts], how="vertical_relaxed")
    return _txn_conflicts(bank, rows.with_columns(upload_id=pl.lit(None, pl.String))).drop("kind", "upload_id")


def _txn_conflicts(bank: pl.DataFrame, uploaded: pl.DataFrame) -> pl.DataFrame:
    """TXN_CONFLICT for each uploaded row whose transaction id a bank record holds with other
    content: the row is not counted (the bank's record is), and the finding names the batch."""
    first = bank.unique("bank_txn_id", keep="first", maintain_order=True).select(
        "bank_txn_id", *[pl.col(n).alias(f"_bank_{n}") for n in TXN_CONTENT], _batch="upload_id")
    differs = pl.any_horizontal(pl.col(n).ne_missing(pl.col(f"_bank_{n}")) for n in TXN_CONTENT)
    return (uploaded.join(first, on="bank_txn_id", how="inner").filter(differs)
            .select(rule=pl.lit("TXN_CONFLICT"), kind=pl.lit("payments"), row=pl.col("__row__").cast(pl.Int64),
                    column=pl.lit(None, pl.String), value=ck.mask(pl.col("bank_txn_id"), None),
                    worker=ck.mask_id(pl.col("id_number")),
                    args=pl.struct(first=pl.col("_batch")).struct.json_encode(),
                    upload_id=pl.col("upload_id")))


def _file_findings(catalog: Catalog, current: dict[str, str]) -> list[pl.DataFrame]:
    parts = []
    for kind, upload_id in current.items():
        receipt = catalog.receipt(upload_id)
        if receipt is not None:
            parts.append(tables.read(catalog.store, receipt.findings_key)
                         .with_columns(kind=pl.lit(kind), upload_id=pl.lit(upload_id)))
    return parts


def _overlap_findings(catalog: Catalog, project: str, period: str, t: PeriodTables, settings: Settings) -> pl.DataFrame:
    days = pl.DataFrame(catalog.db.overlaps(project, period), schema={"other": pl.String, "id_key": pl.Int64, "shared": pl.Int64},
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
    t, current, conflicts = _load(catalog, project.code, period)
    prepared = prepare(t, period, project.dedicated_account, today)
    none = pl.DataFrame(schema=OVERLAP_SCHEMA)
    cross = cross_findings(prepared, none, settings.overpaid_ratio)
    return pl.concat([*_file_findings(catalog, current), conflicts, cross.with_columns(upload_id=pl.lit(None, pl.String)),
                      _overlap_findings(catalog, project.code, period, t, settings).with_columns(upload_id=pl.lit(None, pl.String))],
                     how="diagonal_relaxed")


def coverage_counts(catalog: Catalog, project: Project, period: str, today: dt.date) -> dict:
    """Numerators, denominators and the five systems of one project-period, from its current tables."""
    t, _ = load(catalog, project.code, period)
    return _counts(project, period, today, t, prepare(t, period, project.dedicated_account, today))


def later_affected(catalog: Catalog, project: str, kind: str, period: str) -> list[str]:
    """The project's later months with uploads whose figures a change of ``kind`` in ``period``
    also changes: a roster or contracts carries over until a later month has its own (domain.md),
    and the entry/exit log adds up over every month after."""
    if kind not in ("roster", "contracts", "entry_exit"):
        return []
    kinds = catalog.db.current_kinds(project)
    later = sorted(m for m in kinds if m > period)
    if kind == "entry_exit":
        return later
    own = [m for m in later if kind in kinds[m]]
    return [m for m in later if not own or m < own[0]]


def recheck(catalog: Catalog, settings: Settings, project: Project, period: str, today: dt.date) -> pl.DataFrame:
    """Recompute what the project-period's views read after one of its inputs changed: its
    worker index (days and months, for cross-project checks and the ledger) and its coverage
    row with the error counts /risks shows. Both are written under a version taken before the
    tables are read, so a slower, older computation can never replace a newer one."""
    version = catalog.db.next_version()
    t, current, conflicts = _load(catalog, project.code, period)
    prepared = prepare(t, period, project.dedicated_account, today)
    cross = cross_findings(prepared, pl.DataFrame(schema=OVERLAP_SCHEMA), settings.overpaid_ratio)
    file_parts = [*_file_findings(catalog, current), conflicts]
    days = worker_days(prepared)
    timed = timed_codes(prepared)
    catalog.db.replace_worker_index(project.code, period, version, list(days.iter_rows()),
                                    _worker_months(prepared, [*file_parts, cross], timed))
    counts = _counts(project, period, today, t, prepared)
    counts.update(_risk_counts([*file_parts, cross], timed))
    catalog.db.put_coverage(project.code, period, version, project.region_code, project.investment_type, counts)
    catalog.db.clear_pending(project.code, period, version)
    return pl.concat([*file_parts, cross], how="diagonal_relaxed")


# A mark older than this belongs to a process that died between its change and its recheck.
ORPHANED = dt.timedelta(seconds=30)


def settle(catalog: Catalog, settings: Settings, today: dt.date, first: str | None = None, last: str | None = None,
           limit: int | None = 20, orphaned_after: dt.timedelta = ORPHANED) -> list[tuple[str, str]]:
    """Recheck project-periods whose mark was left by a process that died mid-change (at most
    ``limit``), and return those still being updated by a live one: a view lists them as
    "updating" rather than showing stale figures as current."""
    now = dt.datetime.now(dt.UTC)
    marks = catalog.db.pending(first, last)
    orphaned = [(p, m) for p, m, at in marks if now - at >= orphaned_after][:limit]
    for code, month in orphaned:
        project = catalog.project(code)
        if project is not None:
            recheck(catalog, settings, project, month, today)
    done = set(orphaned)
    return [(p, m) for p, m, _ in marks if (p, m) not in done]


def _worker_months(p: Prepared, parts: list[pl.DataFrame], timed: pl.DataFrame) -> list[dict[str, Any]]:
    """One ledger row per worker of the period: days, expected, paid (all; into the worker's own
    account; from the dedicated account, into whichever account), when and from which accounts, and the
    codes of the findings about them: ``findings`` up to the pay deadline, ``findings_overdue``
    after it (the ledger shows the one for the day it is read)."""
    w = p.workers
    if w.height == 0:
        return []
    found = pl.concat([f.select("rule", "worker") for f in parts if f.height], how="vertical_relaxed") if any(
        f.height for f in parts) else pl.DataFrame(schema={"rule": pl.String, "worker": pl.String})
    codes = (found.drop_nulls("worker").filter(~pl.col("rule").is_in(list(TIMED_CODES))).unique()
             .group_by("worker").agg(_static=pl.col("rule")))
    pay = p.payouts.group_by("id_number").agg(
        paid_at=pl.col("paid_at").cast(pl.String).drop_nulls().unique().sort(),
        paid_from=ck.mask_card(pl.col("payer_account")).drop_nulls().unique().sort())
    static = pl.col("_static").fill_null([])
    rows = (
        # Piece work (or no contract) has no expected amount: null, never 0.00.
        w.select("id_number", "id_key", "name", "days", pl.when(pl.col("has_expected")).then(pl.col("expected_fen"))
                 .alias("expected_fen"), "paid_fen", "paid_own_fen", "payroll_net_fen", "paid_dedicated_fen")
        .with_columns(id_masked=ck.mask_id(pl.col("id_number")))
        .join(pay, on="id_number", how="left")
        .join(codes, left_on="id_masked", right_on="worker", how="left")
        .join(timed, on="id_number", how="left")
        .with_columns(findings=pl.concat_list(static, pl.col("before").fill_null([])).list.unique().list.sort(),
                      findings_overdue=pl.concat_list(static, pl.col("after").fill_null([])).list.unique().list.sort())
        .drop("id_number", "_static", "before", "after")
    )
    # The lists as JSON text, encoded in bulk: Python lists of 4,000 rows cost 0.1 s.
    lists = ("paid_at", "paid_from", "findings", "findings_overdue")
    return rows.with_columns(
        pl.struct(pl.col(n).fill_null([])).struct.json_encode().str.slice(len(n) + 4).str.strip_suffix("}").alias(n)
        for n in lists).to_dicts()


def _risk_counts(parts: list[pl.DataFrame], timed: pl.DataFrame) -> dict[str, Any]:
    """Error findings by rule for /risks, except those that depend on a pay deadline having
    passed: those are counted per deadline and rule, and judged on the day they are read."""
    errors = [code for code, rule in BY_CODE.items() if rule.severity == "error" and code not in TIMED_CODES]
    found = pl.concat([f.select("rule") for f in parts], how="vertical_relaxed") if parts else pl.DataFrame(
        schema={"rule": pl.String})
    by_rule = dict(found.filter(pl.col("rule").is_in(errors)).group_by("rule").len().sort("rule").iter_rows())
    timed_errors = [code for code in TIMED_CODES if BY_CODE[code].severity == "error"]
    due = (timed.explode("after").filter(pl.col("after").is_in(timed_errors))
           .group_by("deadline", "after").len().sort("deadline", "after"))
    # JSON text inside the row: region views parse rows in bulk with a fixed schema, and these
    # are read only for the projects /risks lists.
    return {"errors_by_rule": msgspec.json.encode({k: int(v) for k, v in by_rule.items()}).decode(),
            "unpaid_by_deadline": msgspec.json.encode([{"deadline": d.isoformat(), "rule": r, "n": int(n)}
                                                       for d, r, n in due.iter_rows()]).decode()}


def errors_as_of(row: dict[str, Any], today: dt.date) -> dict[str, int]:
    """A coverage row's error counts by rule on ``today``: the deadline-dependent ones (workers
    left unpaid, or paid below the payroll) count from the day after their deadline."""
    out = dict(msgspec.json.decode(row.get("errors_by_rule") or "{}"))
    for g in msgspec.json.decode(row.get("unpaid_by_deadline") or "[]"):
        if today > dt.date.fromisoformat(g["deadline"]):
            rule = g.get("rule", "NOT_PAID")  # rows stored before the rule was kept counted NOT_PAID only
            out[rule] = out.get(rule, 0) + g["n"]
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


ROW_SCHEMA = {
    "project": pl.String, "period": pl.String, "region_code": pl.String, "investment_type": pl.String,
    **{k: pl.Int64 for k in cov.COUNT_COLUMNS},
    **{f"five_{k}": pl.Boolean for k in ("realname", "dedicated_account", "guarantee", "bank_payroll", "notice_board")},
    "on_time_by_deadline": pl.List(pl.Struct({"deadline": pl.String, "n": pl.Int64, "d": pl.Int64})),
    "errors_by_rule": pl.String, "unpaid_by_deadline": pl.String,
}


def coverage_rows(catalog: Catalog, first: str, last: str, region: str | None, projects: list[str],
                  cache: CoverageCache | None = None) -> pl.DataFrame:
    """Stored coverage rows of these projects over [first, last], as one frame: one indexed
    query by period and region, the JSON parsed in bulk by Polars with a fixed schema (so a
    month where no deadline exists yet sums like any other)."""
    frame = cache.frame(catalog, first, last, region) if cache is not None else _read_rows(catalog, first, last, region)
    return frame.filter(pl.col("project").is_in(projects)) if frame.height else frame


def _read_rows(catalog: Catalog, first: str, last: str, region: str | None) -> pl.DataFrame:
    texts = catalog.db.coverage_texts(first, last, region_prefix=region)
    if not texts:
        return pl.DataFrame()
    frame = pl.read_ndjson("\n".join(texts).encode(), schema=ROW_SCHEMA)
    deadline = pl.element().struct.with_fields(pl.field("deadline").str.to_date())
    return frame.with_columns(pl.col("on_time_by_deadline").list.eval(deadline).cast(ON_TIME_TYPE))


class CoverageCache:
    """Parsed coverage rows per (months, region), reused only while the database says nothing in
    those months changed: every request asks for the rows' count and greatest version (one
    indexed aggregate), so a cached frame is never stale, across any number of processes."""

    def __init__(self, size: int = 32) -> None:
        self._frames = BoundedCache(size)

    def frame(self, catalog: Catalog, first: str, last: str, region: str | None) -> pl.DataFrame:
        key = (first, last, region)
        signature = catalog.db.coverage_signature(first, last)  # before the rows: a write in between shows next time
        frame = self._frames.get(key, signature)
        if frame is None:
            frame = _read_rows(catalog, first, last, region)
            self._frames.put(key, signature, frame)
        return frame


def _frame(table: tuple[list[str], list[tuple]]) -> pl.DataFrame:
    names, rows = table
    texts = ("project", "period", "region_code", "investment_type", "name")
    schema = {n: pl.String if n in texts else pl.Int64 for n in names}
    # Column by column: a third of the time Polars takes to build a frame from row tuples.
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    frame = pl.DataFrame({n: pl.Series(n, col, dtype=schema[n]) for n, col in zip(names, columns, strict=True)})
    if "five_key" in frame.columns:  # the latest month's five systems, as bits
        frame = frame.with_columns(((pl.col("five_key") // (1 << i)) % 2).alias(n) for i, n in enumerate(FIVE_COLUMNS)).drop("five_key")
    return frame


# Independent reads of one region view run at once on PostgreSQL: each thread waits on the
# server with the GIL released while it works on its own cores. Shared and small, so concurrent
# views cannot take more than these connections between them. SQLite's work is in this process
# and its rows are built under the GIL: there the reads run one after another, which measured
# faster (a 12-month view's reads 0.21 s side by side, 0.13-0.18 s in turn).
_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sitereg-read")


def _together(catalog: Catalog, *calls: Callable[[], Any]) -> list[Any]:
    if catalog.db.describe() != "postgresql":
        return [call() for call in calls]
    futures = [_READS.submit(call) for call in calls]
    return [f.result() for f in futures]


def _figures(catalog: Catalog, first: str, last: str, iso: str, prefixes: tuple[str, ...] | None,
             investment_type: str | None, projects: list[str] | None, per_project: bool,
             *more: Callable[[], Any]) -> tuple[pl.DataFrame, list[Any]]:
    """Typed figures with on-time pay as of ``iso``: three queries joined here (and the results
    of ``more``, read at the same time)."""
    db = catalog.db
    items, due, names, *rest = _together(
        catalog,
        lambda: _frame(db.coverage_figures(first, last, prefixes, investment_type, projects, per_project)),
        lambda: _frame(db.coverage_due(first, last, iso, prefixes, investment_type, projects, per_project)),
        lambda: _frame(db.project_names(prefixes, projects)), *more)
    keys = ["project"] if per_project else ["project", "period"]
    return (items.join(due.select(*keys, "on_time_n", "on_time_d"), on=keys, how="left")
            .with_columns(pl.col("on_time_n", "on_time_d").fill_null(0))
            .join(names, on="project", how="left")), rest


def _range_figures(catalog: Catalog, first: str, last: str, iso: str, prefixes: tuple[str, ...] | None,
                   investment_type: str | None, *more: Callable[[], Any]) -> tuple[pl.DataFrame, list[Any]]:
    """A range's per-project figures in a region scope, from each project's cumulative sums
    (two rows per project instead of one per month): its values at ``last`` less those before
    ``first``. On-time pay the same way up to the month before the first one whose deadlines
    have not all passed by ``iso``, and summed deadline by deadline for the months after it.
    A project's five systems are those of its latest month in the range; its region and type
    are fixed when it is registered, so every month of it is in the scope or none is."""
    db = catalog.db
    before = add_months(first, -1)
    open_month = db.first_month_due_after(first, last, iso, prefixes, investment_type)
    settled = last if open_month is None else add_months(open_month, -1)
    calls: dict[str, Callable[[], Any]] = {
        "end": lambda: _frame(db.coverage_cumulative(last, prefixes, investment_type)),
        "start": lambda: _frame(db.coverage_cumulative(before, prefixes, investment_type)),
        "ended": lambda: _frame(db.coverage_cumulative_latest(before, last, prefixes, investment_type)),
        "names": lambda: _frame(db.project_names(prefixes)),
    }
    if first <= settled < last:
        calls["settled"] = lambda: _frame(db.coverage_cumulative(settled, prefixes, investment_type))
    if settled < last:
        calls["due"] = lambda: _frame(db.coverage_due(add_months(settled, 1), last, iso, prefixes, investment_type,
                                                      per_project=True))
    results = _together(catalog, *calls.values(), *more)
    got = dict(zip(calls, results))
    ended = got["ended"]

    def at(rows: pl.DataFrame, month: str) -> pl.DataFrame:
        """Each project's values at ``month``: its row of that month, or, when its months ended
        before, its latest row."""
        return pl.concat([rows, ended.filter(pl.col("period") < month).drop("period")], how="vertical")

    def less(a: pl.DataFrame, b: pl.DataFrame, names: list[str]) -> pl.DataFrame:
        return (a.join(b.select("project", *names), on="project", how="left", suffix="_before")
                .with_columns((pl.col(n) - pl.col(f"{n}_before").fill_null(0)).alias(n) for n in names)
                .drop(f"{n}_before" for n in names))

    on_time = ["on_time_n", "on_time_d"]
    summed = ["months", *(n for n in cov.COUNT_COLUMNS if n not in on_time)]
    start = got["start"]
    items = less(at(got["end"], last), start, [*summed, *on_time]).filter(pl.col("months") > 0)
    if settled < first:  # the range's first month already has a deadline to come
        items = items.with_columns(pl.lit(0, pl.Int64).alias(n) for n in on_time)
    elif settled < last:
        items = items.drop(on_time).join(less(at(got["settled"], settled), start, on_time).select("project", *on_time),
                                         on="project", how="left")
    if "due" in got:
        due = got["due"].select("project", *(pl.col(n).alias(f"{n}_due") for n in on_time))
        items = (items.join(due, on="project", how="left")
                 .with_columns((pl.col(n).fill_null(0) + pl.col(f"{n}_due").fill_null(0)).alias(n) for n in on_time))
    items = items.join(got["names"], on="project", how="left")
    return items.select("project", "region_code", "investment_type", *summed[1:], *FIVE_COLUMNS, *on_time,
                        "name"), results[len(calls):]


def region_figures(catalog: Catalog, first: str, last: str, today: dt.date, prefixes: tuple[str, ...] | None,
                   investment_type: str | None, projects: list[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A region view's figures, summed by the database: (per month and investment type, with
    the number of projects; per project — per project-month for one month, summed over the
    months for a range), on-time pay as of ``today``. A scope of region prefixes reads the
    per-month rollups; a list of projects (a contractor's) sums its few rows here instead."""
    iso, per_project = today.isoformat(), first != last
    if projects is None:
        def months() -> pl.DataFrame:
            return _frame(catalog.db.coverage_months(first, last, iso, prefixes, investment_type))

        if per_project:
            items, (months_frame,) = _range_figures(catalog, first, last, iso, prefixes, investment_type, months)
        else:
            items, (months_frame,) = _figures(catalog, first, last, iso, prefixes, investment_type, None, False, months)
        return months_frame, items
    items, _ = _figures(catalog, first, last, iso, prefixes, investment_type, projects, per_project)
    rows = _figures(catalog, first, last, iso, prefixes, investment_type, projects, False)[0] if per_project else items
    figures = [n for n in rows.columns if n not in ("project", "period", "region_code", "investment_type", "name")]
    months = (rows.group_by("period", "investment_type").agg(pl.len().cast(pl.Int64).alias("projects"),
                                                              *[pl.col(n).sum() for n in figures])
              .sort("period", "investment_type"))
    return months, items


class BoundedCache:
    """Values by key, each kept with the database's signature of what it was computed from and
    returned only while that signature is current (so a hit is never stale). One entry per key,
    replaced when recomputed; at most ``size`` keys, the oldest dropped first. Thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._values: dict[tuple, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, signature: Any) -> Any:
        with self._lock:
            hit = self._values.get(key)
        return hit[1] if hit is not None and hit[0] == signature else None

    def put(self, key: tuple, signature: Any, value: Any) -> None:
        with self._lock:
            if key not in self._values and len(self._values) >= self.size:
                self._values.pop(next(iter(self._values)))
            self._values[key] = (signature, value)
