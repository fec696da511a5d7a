"""Checks across a project-period's files, as joins over its current tables.

Two frames are prepared once per project-period and serve both the cross-file rules and
coverage:
- ``workers``: one row per worker seen in the period's attendance or payments (W = A ∪ P),
  with days worked, contract cover, expected pay, what was paid into the worker's own
  account, the pay deadline;
- ``payouts``: one row per payment record, joined with the roster entry of its worker.
The rules themselves are registry entries (``rules.CROSS_RULES``): an expression over one of
these frames, plus the derived columns the entry declares (computed here only for the rules
that run). What stays in ``prepare`` is what coverage needs too, and the per-worker sums that
need the day-level tables.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from sitereg.validate import rules as registry
from sitereg.validate.filecheck import TABLE_SCHEMAS
from sitereg.validate.rules import Env, Rule, derive

c = pl.col
STATUTORY_DAYS = 21.75  # paid days of a month (劳社部发〔2008〕3号): a monthly wage prorates over these


@dataclass(frozen=True)
class PeriodTables:
    roster: pl.DataFrame
    contracts: pl.DataFrame
    attendance: pl.DataFrame
    payments: pl.DataFrame  # money that moved: bank records and uploaded bank files; "source" says which
    payroll: pl.DataFrame = field(default_factory=lambda: _blank("payroll"))  # what the contractor owes (工资表)
    entry_exit: pl.DataFrame = field(default_factory=lambda: _blank("entry_exit"))  # the project's log to date

    @classmethod
    def empty(cls) -> PeriodTables:
        return cls(_blank("roster"), _blank("contracts"), _blank("attendance"), _blank("payments"), _blank("payroll"),
                   _blank("entry_exit"))


def _blank(kind: str) -> pl.DataFrame:
    extra = {"__row__": pl.Int64, "upload_id": pl.String}
    if kind == "payments":
        extra["source"] = pl.String
    return pl.DataFrame(schema={**TABLE_SCHEMAS[kind], **extra})


@dataclass(frozen=True)
class Prepared:
    workers: pl.DataFrame
    payouts: pl.DataFrame


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _next_month(period: str) -> tuple[int, int]:
    year, month = int(period[:4]), int(period[5:7])
    return (year + 1, 1) if month == 12 else (year, month + 1)


_CONTRACT_TERMS = ("contract_no", "wage_basis", "wage_rate_fen", "pay_day")


def _day_contracts(days: pl.DataFrame, contracts: pl.DataFrame) -> pl.DataFrame:
    """Each worked day (in ``days``' order) with the contract that covers it, the latest-starting
    one if several do; ``covers`` False and no terms when none does."""
    contracts = contracts.select("id_number", "start_date", "end_date", *_CONTRACT_TERMS)
    in_term = (c("start_date") <= c("date")) & (c("end_date").is_null() | (c("end_date") >= c("date")))
    if contracts.get_column("id_number").is_unique().all():
        # One contract per worker (the usual month): a day is covered by it or by none, so a
        # left join says it without sorting every day's candidates.
        # As below, a contract without a start date counts as none but keeps its terms.
        keep = (c("start_date").is_null() | in_term).fill_null(False)
        return (days.join(contracts, on="id_number", how="left")
                .with_columns([pl.when(keep).then(c(n)).alias(n) for n in _CONTRACT_TERMS],
                              covers=(c("start_date").is_not_null() & in_term).fill_null(False))
                .drop("start_date", "end_date"))
    covered = (
        days.join(contracts, on="id_number", how="left")
        .filter(c("start_date").is_null() | in_term)
        .with_columns(covers=c("start_date").is_not_null())
        .sort("id_number", "date", "covers", "start_date", descending=[False, False, True, True], nulls_last=True)
        .unique(["id_number", "date"], keep="first", maintain_order=True)
    )
    return days.join(covered.select("id_number", "date", "covers", *_CONTRACT_TERMS), on=["id_number", "date"],
                     how="left").with_columns(covers=c("covers").fill_null(False))


_PRICE_TERMS = ("contract_no", "wage_basis", "wage_rate_fen")


def _priced_days(day_rows: pl.DataFrame, contracts: pl.DataFrame) -> pl.DataFrame:
    """Each worked day with the contract terms it is priced at. domain.md: expected = daily wage
    × days worked, so a day no contract covers (NO_CONTRACT) still earns the worker's wage: the
    terms of the worker's contract nearest to that day (the latest-starting one on a tie)."""
    priced = day_rows.select("id_number", "date", *_PRICE_TERMS)
    missing = priced.filter(c("wage_basis").is_null()).select("id_number", "date")
    terms = contracts.filter(c("wage_basis").is_not_null()).select("id_number", "start_date", "end_date", *_PRICE_TERMS)
    if missing.height == 0 or terms.height == 0:
        return priced
    gap = (pl.when(c("start_date") > c("date")).then(c("start_date") - c("date"))
           .when(c("end_date") < c("date")).then(c("date") - c("end_date"))
           .otherwise(pl.duration(days=0)))
    nearest = (missing.join(terms, on="id_number")
               .sort("id_number", "date", gap, "start_date", descending=[False, False, False, True], nulls_last=True)
               .unique(["id_number", "date"], keep="first", maintain_order=True)
               .select("id_number", "date", *[c(n).alias(f"_n_{n}") for n in _PRICE_TERMS]))
    filled = pl.col("wage_basis").is_null()
    return (priced.join(nearest, on=["id_number", "date"], how="left")
            .with_columns([pl.when(filled).then(c(f"_n_{n}")).otherwise(c(n)).alias(n) for n in _PRICE_TERMS])
            .drop([f"_n_{n}" for n in _PRICE_TERMS]))


def prepare(t: PeriodTables, period: str, dedicated_account: str | None, today: dt.date) -> Prepared:
    ny, nm = _next_month(period)
    last_of_next = month_end(ny, nm)
    start = dt.date(int(period[:4]), int(period[5:7]), 1)
    end = month_end(start.year, start.month)

    # On-site intervals: from the entry/exit log where it has the worker (the latest entry up
    # to the period's end and the first exit after it), else the roster's entry and exit dates.
    log = t.entry_exit.filter(c("date").is_not_null() & (c("date") <= end)).select("id_number", "date", "direction")
    entries = log.filter(c("direction") == "in").group_by("id_number").agg(log_entry=c("date").max())
    exits = (log.filter(c("direction") == "out").join(entries, on="id_number", how="left")
             .filter(c("log_entry").is_null() | (c("date") >= c("log_entry")))
             .group_by("id_number").agg(log_exit=c("date").min()))
    intervals = pl.concat([entries.select("id_number"), exits.select("id_number")]).unique().join(
        entries, on="id_number", how="left").join(exits, on="id_number", how="left").with_columns(has_log=pl.lit(True))
    roster = (
        t.roster.sort("__row__").unique("id_number", keep="first", maintain_order=True)
        .select("id_number", r_name=c("name"), bank_card=c("bank_card"), ssc_number=c("ssc_number"),
                entry_date=c("entry_date"), exit_date=c("exit_date"))
        .join(intervals, on="id_number", how="left")
        .with_columns(
            entry_date=pl.when(c("has_log").fill_null(False)).then(c("log_entry")).otherwise(c("entry_date")),
            exit_date=pl.when(c("has_log").fill_null(False)).then(c("log_exit")).otherwise(c("exit_date")),
        )
        .with_columns(on_site=pl.when(c("has_log").fill_null(False))
                      .then(c("entry_date").is_not_null() & (c("entry_date") <= end)
                            & (c("exit_date").is_null() | (c("exit_date") >= start)))
                      .otherwise((c("entry_date").is_null() | (c("entry_date") <= end))
                                 & (c("exit_date").is_null() | (c("exit_date") >= start))))
        .drop("log_entry", "log_exit", "has_log")
    )
    # The period's payroll (工资表): what the contractor owes each worker.
    payroll = (
        t.payroll.filter(c("id_number").is_not_null() & (c("period").is_null() | (c("period") == period)))
        .group_by("id_number")
        .agg(payroll_gross_fen=c("gross_fen").sum(), payroll_net_fen=c("net_fen").sum(),
             payroll_has_gross=c("gross_fen").is_not_null().any(),
             payroll_days=pl.when(c("days").is_not_null().any()).then(c("days").sum()),
             y_name=c("name").drop_nulls().first())
        .with_columns(on_payroll=pl.lit(True))
    )
    days = t.attendance.filter(c("date").is_not_null()).select("id_number", "date", a_name=c("name")).unique(
        ["id_number", "date"], keep="first", maintain_order=True)

    day_rows = _day_contracts(days, t.contracts)

    # Expected pay: daily rate per day; a monthly wage prorated over 21.75 days, at most the wage.
    per_contract = (
        _priced_days(day_rows, t.contracts).filter(c("wage_basis").is_not_null())
        .group_by("id_number", "contract_no")
        .agg(c("wage_basis").first(), c("wage_rate_fen").first(), n=c("date").n_unique())
        .with_columns(expected=pl.when(c("wage_basis") == "daily").then(c("wage_rate_fen") * c("n"))
                      .when(c("wage_basis") == "monthly")
                      .then((c("wage_rate_fen") * pl.min_horizontal(pl.lit(1.0), c("n") / STATUTORY_DAYS)).round(0))
                      .otherwise(None).cast(pl.Int64))
        .group_by("id_number")
        .agg(expected_fen=c("expected").sum(), has_expected=c("expected").is_not_null().any())
    )
    # Deadline: the contract's pay day in the month after the period (the contract of the last
    # day worked); without a contract, the last day of that month.
    pay_day = (
        day_rows.sort("date").group_by("id_number")
        .agg(pay_day=c("pay_day").drop_nulls().last())
        .with_columns(deadline=pl.when(c("pay_day").is_null()).then(pl.lit(last_of_next))
                      .otherwise(pl.date(ny, nm, pl.min_horizontal(c("pay_day"), pl.lit(last_of_next.day)))))
        .select("id_number", "deadline")
    )
    att = (
        day_rows.join(roster.select("id_number", "entry_date", "exit_date"), on="id_number", how="left")
        .group_by("id_number")
        .agg(
            a_name=c("a_name").drop_nulls().first(),
            days=c("date").n_unique(),
            first_day=c("date").min(),
            uncovered_days=(~c("covers")).sum(),
            first_uncovered=c("date").filter(~c("covers")).min(),
            outside_days=((c("date") < c("entry_date")) | (c("date") > c("exit_date"))).fill_null(False).sum(),
            first_outside=c("date").filter(((c("date") < c("entry_date")) | (c("date") > c("exit_date"))).fill_null(False)).min(),
            # The days present as bits (bit d-1 for day d): what the cross-project index keeps.
            day_bits=(pl.lit(2, pl.Int64).pow(c("date").dt.day().cast(pl.Int64) - 1)).sum(),
        )
    )

    pay = t.payments.join(roster, on="id_number", how="left").join(pay_day, on="id_number", how="left").with_columns(
        on_roster=c("r_name").is_not_null(),
        own=(c("payee_account").is_not_null()
             & ((c("payee_account") == c("bank_card")) | (c("payee_account") == c("ssc_number"))).fill_null(False)
             & (c("payee_name") == c("r_name")).fill_null(False)),
        dedicated=(c("payer_account") == dedicated_account) if dedicated_account else pl.lit(False),
        deadline=c("deadline").fill_null(last_of_next),
    ).with_columns(
        late=c("paid_at") > c("deadline"),
    )
    paid = pay.group_by("id_number").agg(
        p_name=c("name").first(),
        paid_count=pl.len(),
        paid_fen=c("amount_fen").sum(),
        paid_own_fen=c("amount_fen").filter(c("own")).sum(),
        paid_own_dedicated_fen=c("amount_fen").filter(c("own") & c("dedicated")).sum(),
        paid_dedicated_fen=c("amount_fen").filter(c("dedicated")).sum(),
        paid_own_on_time_fen=c("amount_fen").filter(c("own") & ~c("late")).sum(),
    )

    # W = A ∪ P; workers only on the payroll are kept too (for the payroll rules), outside W.
    ids = pl.concat([att.select("id_number"), paid.select("id_number"), payroll.select("id_number")]).unique(
        maintain_order=True)
    workers = (
        ids.join(att, on="id_number", how="left")
        .join(paid, on="id_number", how="left")
        .join(roster, on="id_number", how="left")
        .join(per_contract, on="id_number", how="left")
        .join(pay_day, on="id_number", how="left")
        .join(payroll, on="id_number", how="left")
        .with_columns(
            name=pl.coalesce(c("r_name"), c("a_name"), c("p_name"), c("y_name")),
            on_payroll=c("on_payroll").fill_null(False),
            on_site=c("on_site").fill_null(False),
            payroll_table=pl.lit(t.payroll.height > 0),
            attendance_table=pl.lit(t.attendance.height > 0),
            on_roster=c("r_name").is_not_null(),
            days=c("days").fill_null(0),
            uncovered_days=c("uncovered_days").fill_null(0),
            outside_days=c("outside_days").fill_null(0),
            paid_count=c("paid_count").fill_null(0),
            paid_fen=c("paid_fen").fill_null(0),
            paid_own_fen=c("paid_own_fen").fill_null(0),
            paid_own_dedicated_fen=c("paid_own_dedicated_fen").fill_null(0),
            paid_dedicated_fen=c("paid_dedicated_fen").fill_null(0),
            paid_own_on_time_fen=c("paid_own_on_time_fen").fill_null(0),
            has_expected=c("has_expected").fill_null(False),
            deadline=c("deadline").fill_null(last_of_next),
            _today=pl.lit(today),
        )
        .with_columns(
            # Arrears: the contract's expected pay, else what the payroll says is owed (gross).
            shortfall_fen=pl.when(c("has_expected") & (c("days") > 0))
            .then(pl.max_horizontal(pl.lit(0), c("expected_fen") - c("paid_own_fen")))
            .when(c("on_payroll") & (c("days") > 0))
            .then(pl.max_horizontal(pl.lit(0), pl.coalesce(c("payroll_gross_fen"), c("payroll_net_fen"))
                                    - c("paid_own_fen")))
            .otherwise(0),
        )
    )
    # The index key once per worker, for the index rows and the ledger.
    workers = workers.with_columns(id_key=id_keys(workers.get_column("id_number")))
    return Prepared(workers, pay)


CROSS_FINDING_SCHEMA = {"rule": pl.String, "kind": pl.String, "row": pl.Int64, "column": pl.String,
                        "value": pl.String, "worker": pl.String, "args": pl.String}


def id_keys(ids: pl.Series) -> pl.Series:
    """A stable 64-bit key per ID number (the first 8 bytes of its SHA-256) for the
    cross-project index, so the index never holds an ID in full. Hashed once per distinct ID."""
    distinct = ids.drop_nulls().unique().to_list()
    mapping = {i: int.from_bytes(hashlib.sha256(i.encode()).digest()[:8], "big", signed=True) for i in distinct}
    return ids.replace_strict(mapping, default=None, return_dtype=pl.Int64)


def worker_days(p: Prepared) -> pl.DataFrame:
    """(id_key, days) per worker of the period's attendance, the days present as bits (bit
    d-1 for day d): what the index keeps of attendance."""
    return (p.workers.filter(c("day_bits").is_not_null() & c("id_key").is_not_null())
            .group_by("id_key").agg(days=c("day_bits").sum()).sort("id_key"))


OVERLAP_SCHEMA = {"id_number": pl.String, "date": pl.Date, "name": pl.String, "what": pl.String, "other": pl.String,
                  "period": pl.String, "days": pl.Int64}


def overlaps(mine: PeriodTables, period: str, days_elsewhere: pl.DataFrame, paid_elsewhere: pl.DataFrame) -> pl.DataFrame:
    """Workers present on the same day, or paid for the same period, here and on another
    project, from the index's hits: ``days_elsewhere`` (other, id_key, shared days as bits)
    and ``paid_elsewhere`` (other, id_key). The finding names the first shared day and counts them."""
    people = pl.concat([mine.attendance.select("id_number", "name"), mine.payments.select("id_number", "name")]).unique(
        "id_number", keep="first", maintain_order=True)
    people = people.with_columns(id_key=id_keys(people.get_column("id_number")))
    frames = []
    if days_elsewhere.height:
        first = pl.lit(f"{period}-01").str.to_date() + pl.duration(days=c("shared").bitwise_trailing_zeros())
        frames.append(days_elsewhere.join(people, on="id_key").select(
            "id_number", date=first, name="name", what=pl.lit("attendance"), other="other",
            period=pl.lit(None, pl.String), days=c("shared").bitwise_count_ones().cast(pl.Int64)))
    if paid_elsewhere.height:
        frames.append(paid_elsewhere.join(people, on="id_key").select(
            "id_number", date=pl.lit(None, pl.Date), name="name", what=pl.lit("payments"), other="other",
            period=pl.lit(period), days=pl.lit(None, pl.Int64)))
    if not frames:
        return pl.DataFrame(schema=OVERLAP_SCHEMA)
    # One finding per worker and other project, naming the first shared day and their number.
    return (pl.concat([f.select(list(OVERLAP_SCHEMA)).cast(OVERLAP_SCHEMA) for f in frames])
            .sort("date", nulls_last=True).unique(["id_number", "what", "other"], keep="first", maintain_order=True))


def cross_findings(prepared: Prepared, overlap: pl.DataFrame, overpaid_ratio: float,
                   rules: Sequence[Rule] | None = None) -> pl.DataFrame:
    """Findings of every cross-file and cross-project rule of ``rules`` (the registry when not given)."""
    from sitereg.validate import checks as ck

    rules = registry.RULES if rules is None else rules
    frames = {
        "workers": prepared.workers,
        "payouts": prepared.payouts.with_columns(name=pl.coalesce(c("r_name"), c("name"))),
        "overlaps": overlap,
    }
    running = [r for r in rules if r.over is not None and r.across is not None and frames[r.over].height > 0]
    # Each frame with the derived columns its rules declare, computed once.
    derived: dict[str, pl.LazyFrame] = {}
    for over, frame in frames.items():
        mine = [d for r in running if r.over == over for d in r.across_derives]
        env = Env(kind=over, names=frozenset(frame.columns), overpaid_ratio=overpaid_ratio)
        derived[over] = derive(frame.lazy(), mine, env).collect().lazy() if mine else frame.lazy()
    parts = []
    for rule in running:
        assert rule.over is not None and rule.across is not None
        args = {"name": c("name"), **(rule.across_args() if rule.across_args else {})}
        value = args.pop("value", pl.lit(None, pl.String))
        row = (pl.when(c("source") == "upload").then(c("__row__")) if rule.over == "payouts"
               else pl.lit(None, pl.Int64))
        parts.append(derived[rule.over].filter(rule.across().fill_null(False)).select(
            rule=pl.lit(rule.code),
            kind=pl.lit(rule.kinds[0]),
            row=row.cast(pl.Int64),
            column=pl.lit(None, pl.String),
            value=value.cast(pl.String),
            worker=ck.mask_id(c("id_number")),
            args=pl.struct(**{k: v.cast(pl.String) for k, v in args.items()}).struct.json_encode(),
        ))
    if not parts:
        return pl.DataFrame(schema=CROSS_FINDING_SCHEMA)
    # Two bank payouts of one worker into one shared account are one finding, not two alike.
    return pl.concat(pl.collect_all(parts)).unique(maintain_order=True)


def _timed_rules(rules: Sequence[Rule]) -> list[Rule]:
    return [r for r in rules if r.over == "workers" and r.across is not None and registry.OVERDUE in r.across_derives]


# Codes of the worker rules that turn on or off when the pay deadline passes (NOT_PAID,
# PAYMENT_PENDING…): a view stored before the deadline is judged again on the day it is read.
TIMED_CODES = frozenset(r.code for r in _timed_rules(registry.RULES))


def timed_codes(prepared: Prepared, rules: Sequence[Rule] | None = None) -> pl.DataFrame:
    """Per worker: ``deadline``, and the codes of the deadline-dependent rules up to the
    deadline (``before``) and after it (``after``), whatever day it is now."""
    timed = _timed_rules(registry.RULES if rules is None else rules)
    w = prepared.workers
    if not timed or w.height == 0:
        return pl.DataFrame(schema={"id_number": pl.String, "deadline": pl.Date, "before": pl.List(pl.String),
                                    "after": pl.List(pl.String)})
    others = [d for r in timed for d in r.across_derives if d is not registry.OVERDUE]
    codes = pl.concat_list([pl.when(r.across().fill_null(False)).then(pl.lit(r.code)) for r in timed]).list.drop_nulls()
    frames = []
    for overdue in (False, True):
        lf = w.lazy().with_columns(overdue=pl.lit(overdue))
        lf = derive(lf, others, Env(kind="workers", names=frozenset(w.columns))) if others else lf
        frames.append(lf.select(codes))
    before, after = pl.collect_all(frames)
    return pl.DataFrame({"id_number": w.get_column("id_number"), "deadline": w.get_column("deadline"),
                         "before": before.to_series(), "after": after.to_series()})
