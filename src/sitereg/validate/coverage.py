"""Coverage of domain.md, as numerators and denominators so that any set of projects and months
sums them (rates of a region are summed numerators over summed denominators, never averages).

One row per project-period (``counts``); ``rates`` turns summed rows into the Coverage object.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from sitereg.validate.checks import fen_to_text
from sitereg.validate.crosscheck import Prepared

c = pl.col

RATES = {  # rate -> (numerator column, denominator column)
    "realname_rate": ("realname_n", "w_n"),
    "contract_rate": ("contract_n", "a_n"),
    "dedicated_account_rate": ("dedicated_n", "a_n"),
    "full_pay_rate": ("full_pay_n", "full_pay_d"),
    "on_time_rate": ("on_time_n", "on_time_d"),
}
COUNT_COLUMNS = ("w_n", "a_n", "paid_n", "realname_n", "contract_n", "dedicated_n", "full_pay_n", "full_pay_d",
                 "on_time_n", "on_time_d", "ssc_count", "ssc_fen", "dedicated_count", "wages_fen", "arrears_fen")


def counts(p: Prepared, today: dt.date) -> dict[str, int]:
    """The numerators and denominators of one project-period."""
    w = p.workers.filter((c("days") > 0) | (c("paid_count") > 0))  # W = A ∪ P
    active = c("days") > 0
    full = c("has_expected") & (c("paid_own_fen") >= c("expected_fen"))
    due = active & c("has_expected") & (pl.lit(today) > c("deadline"))
    row = w.select(
        w_n=pl.len(),
        a_n=active.sum(),
        paid_n=(c("paid_count") > 0).sum(),
        # on the roster (valid ID) with an on-site interval overlapping the period; attendance not required
        realname_n=(c("on_roster") & c("on_site")).sum(),
        contract_n=(active & (c("uncovered_days") == 0)).sum(),
        dedicated_n=(active & (c("paid_own_dedicated_fen") > 0)).sum(),
        full_pay_n=(active & full).sum(),
        full_pay_d=(active & c("has_expected")).sum(),
        on_time_n=(due & (c("paid_own_on_time_fen") >= c("expected_fen"))).sum(),
        on_time_d=due.sum(),
        arrears_fen=c("shortfall_fen").filter(active).sum(),
    ).row(0, named=True)
    pay = p.payouts.filter(c("dedicated"))
    row.update(pay.select(
        dedicated_count=pl.len(),
        wages_fen=c("amount_fen").sum(),
        ssc_count=(c("channel") == "ssc").sum(),
        ssc_fen=c("amount_fen").filter(c("channel") == "ssc").sum(),
    ).row(0, named=True))
    return {k: int(row[k] or 0) for k in COUNT_COLUMNS}


def on_time_groups(p: Prepared) -> list[dict[str, Any]] | None:
    """On-time pay per pay deadline: kept with a snapshot, so whoever reads it later judges only
    the workers whose deadline has passed by then."""
    w = p.workers.filter((c("days") > 0) & c("has_expected"))
    groups = w.group_by("deadline").agg(n=(c("paid_own_on_time_fen") >= c("expected_fen")).sum(), d=pl.len())
    out = [{"deadline": g["deadline"], "n": int(g["n"]), "d": int(g["d"])} for g in groups.sort("deadline").iter_rows(named=True)]
    return out or None  # None, not [], so snapshot columns keep one type when concatenated


def on_time_as_of(groups: list[dict[str, Any]] | None, today: dt.date) -> tuple[int, int]:
    due = [g for g in groups or [] if g["deadline"] is not None and today > g["deadline"]]
    return sum(g["n"] for g in due), sum(g["d"] for g in due)


def on_time_frame(rows: pl.DataFrame, today: dt.date) -> tuple[int, int]:
    """Summed on-time numerator and denominator of snapshot rows, as of ``today``."""
    if rows.height == 0 or "on_time_by_deadline" not in rows.columns or rows.schema["on_time_by_deadline"] == pl.List(pl.Null):
        return 0, 0
    due = (rows.select(c("on_time_by_deadline").explode()).unnest("on_time_by_deadline")
           .filter(c("deadline").is_not_null() & (pl.lit(today) > c("deadline"))))
    return int(due.get_column("n").sum() or 0), int(due.get_column("d").sum() or 0)


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 6)


def rates(row: dict[str, Any]) -> dict[str, Any]:
    """The Coverage object of api.md from (summed) counts, with each rate's fraction."""
    out: dict[str, Any] = {
        "workers_active": row["a_n"],
        "workers_paid": row["paid_n"],
    }
    for name, (num, den) in RATES.items():
        out[name] = _rate(row[num], row[den])
    out["ssc_payouts"] = {"count": row["ssc_count"], "amount": fen_to_text(row["ssc_fen"]),
                          "share": _rate(row["ssc_count"], row["dedicated_count"])}
    out["wages_paid"] = fen_to_text(row["wages_fen"])
    out["arrears_estimate"] = fen_to_text(row["arrears_fen"])
    out["fractions"] = {name: {"numerator": row[num], "denominator": row[den]} for name, (num, den) in RATES.items()}
    out["fractions"]["ssc_share"] = {"numerator": row["ssc_count"], "denominator": row["dedicated_count"]}
    return out


def sum_counts(frame: pl.DataFrame) -> dict[str, int]:
    if frame.height == 0:
        return {k: 0 for k in COUNT_COLUMNS}
    return {k: int(v or 0) for k, v in frame.select(c(k).sum() for k in COUNT_COLUMNS).row(0, named=True).items()}


def project_items(rows: pl.DataFrame, today: dt.date) -> pl.DataFrame:
    """Snapshot rows -> one Coverage object per row, as columns (structs for the nested parts),
    computed in Polars: a region of 10,000 projects is one pass, not 10,000 dict builds."""
    from sitereg.validate.checks import fen_text_expr

    if rows.height == 0:
        return pl.DataFrame()
    if "on_time_by_deadline" not in rows.columns:
        frame = rows  # figures the database summed: on-time pay already as of today
    else:
        due = (
            rows.select("project", "period", "on_time_by_deadline").explode("on_time_by_deadline")
            .unnest("on_time_by_deadline")
            .filter(c("deadline").is_not_null() & (pl.lit(today) > c("deadline")))
            .group_by("project", "period").agg(on_time_n=c("n").sum(), on_time_d=c("d").sum())
        ) if rows.schema["on_time_by_deadline"] != pl.List(pl.Null) else None
        frame = rows.drop("on_time_n", "on_time_d")
        if due is not None and due.height:
            frame = frame.join(due, on=["project", "period"], how="left")
        else:
            frame = frame.with_columns(on_time_n=pl.lit(None, pl.Int64), on_time_d=pl.lit(None, pl.Int64))
        frame = frame.with_columns(c("on_time_n").fill_null(0), c("on_time_d").fill_null(0))

    def rate(num: str, den: str) -> pl.Expr:
        return pl.when(c(den) > 0).then((c(num) / c(den)).round(6)).otherwise(None)

    return frame.select(
        "project", "period",
        workers_active=c("a_n"), workers_paid=c("paid_n"),
        **{name: rate(num, den) for name, (num, den) in RATES.items()},
        ssc_payouts=pl.struct(count=c("ssc_count"), amount=fen_text_expr(c("ssc_fen")),
                              share=rate("ssc_count", "dedicated_count")),
        wages_paid=fen_text_expr(c("wages_fen")),
        arrears_estimate=fen_text_expr(c("arrears_fen")),
        fractions=pl.struct(**{name: pl.struct(numerator=c(num), denominator=c(den)) for name, (num, den) in RATES.items()},
                            ssc_share=pl.struct(numerator=c("ssc_count"), denominator=c("dedicated_count"))),
        five_systems=pl.struct(**{k: c(f"five_{k}").cast(pl.Boolean) for k in
                                  ("realname", "dedicated_account", "guarantee", "bank_payroll", "notice_board")}),
        name=c("name") if "name" in frame.columns else pl.lit(None, pl.String),
        region_code=c("region_code"), investment_type=c("investment_type"),
    )


def sum_by_project(rows: pl.DataFrame, label: str) -> pl.DataFrame:
    """Snapshot rows of several months -> one row per project with summed counts (a range view
    lists projects, not project-months); the five systems are those of the latest month."""
    has_groups = "on_time_by_deadline" in rows.columns and rows.schema["on_time_by_deadline"] != pl.List(pl.Null)
    five = [col for col in rows.columns if col.startswith("five_")]
    return (
        rows.sort("period")
        .group_by("project", "region_code", "investment_type", maintain_order=True)
        .agg(*[c(k).sum() for k in COUNT_COLUMNS], *[c(k).last() for k in five],
             *([c("on_time_by_deadline").explode().drop_nulls()] if has_groups else []))
        .with_columns(period=pl.lit(label))
    )
