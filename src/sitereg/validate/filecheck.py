"""Validate one uploaded file: map its headers, prepare typed columns, run every file rule.

The result is data: the accepted rows in canonical columns, the findings, and the counts of
the receipt. Nothing here raises on bad input.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import polars as pl

from sitereg.validate import checks as ck
from sitereg.validate.columns import SCHEMAS, HeaderMap, column, map_headers
from sitereg.validate.readers import Table
from sitereg.validate.rules import DATE_COLUMNS, RULES, Rule

c = pl.col

FINDING_SCHEMA = {
    "rule": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
    "worker": pl.String, "args": pl.String,
}

# Typed columns of each kind's table, in order; amounts are integer fen.
TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "roster": {"id_number": pl.String, "name": pl.String, "gender": pl.String, "phone": pl.String,
               "employer_credit_code": pl.String, "employer_name": pl.String, "team": pl.String,
               "job_type": pl.String, "entry_date": pl.Date, "exit_date": pl.Date, "bank_card": pl.String,
               "bank_name": pl.String, "ssc_number": pl.String},
    "contracts": {"id_number": pl.String, "name": pl.String, "contract_no": pl.String,
                  "employer_credit_code": pl.String, "start_date": pl.Date, "end_date": pl.Date,
                  "wage_basis": pl.String, "wage_rate_fen": pl.Int64, "pay_day": pl.Int64, "signed_date": pl.Date},
    "attendance": {"id_number": pl.String, "name": pl.String, "date": pl.Date, "hours": pl.Float64},
    "payments": {"id_number": pl.String, "name": pl.String, "period": pl.String, "amount_fen": pl.Int64,
                 "paid_at": pl.Date, "payer_account": pl.String, "payee_account": pl.String,
                 "payee_name": pl.String, "channel": pl.String, "bank_txn_id": pl.String},
}

# Cleaned as codes (inner spaces and dashes dropped, upper-cased). Not bank_txn_id: a bank's
# transaction ids are compared exactly as the bank wrote them.
_CODE_COLUMNS = {"id_number", "bank_card", "ssc_number", "phone", "payer_account", "payee_account",
                 "employer_credit_code"}
_PRESENT = ["√", "✓", "✔", "1", "出勤", "○", "●", "V", "v", "是", "到", "上班"]
_ABSENT = ["0", "×", "✗", "✘", "X", "x", "休", "缺", "旷", "假", "-", "—", "/", "否", "病", "事"]
_WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日", "天"]
_GENDER = {"男": "男", "女": "女", "m": "男", "f": "女", "male": "男", "female": "女", "男性": "男", "女性": "女"}
_BASIS = {"日薪": "daily", "daily": "daily", "按日": "daily", "日工资": "daily", "计日": "daily",
          "月薪": "monthly", "monthly": "monthly", "按月": "monthly", "月工资": "monthly", "计月": "monthly",
          "计件": "piece", "piece": "piece", "按件": "piece", "包工": "piece"}
_CHANNEL = {"银行卡": "bank_card", "bank_card": "bank_card", "银行": "bank_card", "工资卡": "bank_card",
            "bankcard": "bank_card", "社保卡": "ssc", "ssc": "ssc", "社会保障卡": "ssc"}


@dataclass(frozen=True)
class Context:
    period: str  # YYYY-MM the upload belongs to
    today: dt.date
    age_limit_men: int = 60
    age_limit_women: int = 50
    job_types: dict[str, str] | None = None  # code or name -> code
    fill_period: bool = True  # a wage sheet without a period column belongs to the upload's period


@dataclass(frozen=True)
class FileResult:
    rows: pl.DataFrame  # accepted rows: TABLE_SCHEMAS[kind] + "__row__"
    findings: pl.DataFrame  # FINDING_SCHEMA
    rows_total: int
    rows_rejected: int
    header_map: HeaderMap


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDING_SCHEMA)


def file_finding(rule: str, *, column: str | None = None, args: dict | None = None) -> pl.DataFrame:
    import msgspec

    return pl.DataFrame(
        [{"rule": rule, "row": None, "column": column, "value": None, "worker": None,
          "args": msgspec.json.encode(args).decode() if args else None}],
        schema=FINDING_SCHEMA,
    )


def _period_bounds(period: str) -> tuple[dt.date, dt.date]:
    year, month = int(period[:4]), int(period[5:7])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def validate_file(table: Table, kind: str, ctx: Context) -> FileResult:
    hm = map_headers(kind, table.headers)
    if kind == "payments" and "period" in hm.missing and ctx.fill_period:
        # A month's wage sheet often has no 工资所属期 column: the upload's period is its period.
        hm = HeaderMap(hm.columns, hm.days, hm.unknown, tuple(m for m in hm.missing if m != "period"))
        table = Table(frame=table.frame.with_columns(pl.lit(ctx.period).alias("__period__")),
                      headers=[*table.headers, "__period__"], header_row=table.header_row, numeric=table.numeric,
                      sheet=table.sheet, encoding=table.encoding)
        hm.columns["period"] = "__period__"
    found = [file_finding("COLUMN_UNKNOWN", column=h) for h in hm.unknown]
    if hm.missing:
        # Every row lacks a required field: one finding per column instead of one per cell.
        for name in hm.missing:
            found.append(file_finding("COLUMN_MISSING", args={"name": name, "label": column(kind, name).label}))
        rows = pl.DataFrame(schema={**TABLE_SCHEMAS[kind], "__row__": pl.Int64})
        return FileResult(rows, pl.concat(found), table.frame.height, table.frame.height, hm)

    frame = _canonical(table, kind, hm)
    wide = kind == "attendance" and bool(hm.days)
    rows_total = table.frame.height
    if wide:
        # Sheets often carry a weekday line (一 二 三 … or 星期一) under the day numbers: it is
        # part of the header, not a worker.
        day_cols = [f"__day{d}" for d in hm.days]
        weekday = pl.all_horizontal(c(d).is_null() | c(d).str.replace(r"^(星期|周)", "").is_in(_WEEKDAYS) for d in day_cols)
        header_line = weekday & pl.any_horizontal(c(d).is_not_null() for d in day_cols)
        for col in ("id_number", "name"):
            if col in frame.columns:
                header_line = header_line & c(col).is_null()
        before = frame.height
        frame = frame.filter(~header_line)
        rows_total -= before - frame.height
        frame = _melt_days(frame, hm, ctx.period)
    frame = frame.with_row_index("__rid__")
    prepared = _prepare(frame.lazy(), kind, ctx, wide).collect()

    rule_hits, rejecting = _run_rules(prepared, kind, hm, wide)
    findings = pl.concat([*found, rule_hits]) if found else rule_hits
    rejected_rids = rejecting.get_column("__rid__").unique()

    kept = prepared.filter(~c("__rid__").is_in(rejected_rids.implode()))
    if wide:
        kept = kept.filter(~c("_absent_all"))
    rows = _table_rows(kept, kind)

    # A row counts as rejected only when none of its records was kept (wide attendance: a bad
    # day mark drops that day, not the worker's month).
    all_rows = prepared.select("__row__").unique()
    kept_rows = prepared.filter(~c("__rid__").is_in(rejected_rids.implode())).select("__row__").unique()
    rows_rejected = all_rows.height - kept_rows.height
    return FileResult(rows, findings, rows_total, rows_rejected, hm)


def _canonical(table: Table, kind: str, hm: HeaderMap) -> pl.DataFrame:
    exprs = [c("__row__")]
    for name, header in hm.columns.items():
        raw = c(header).cast(pl.String)
        exprs.append((ck.clean_code(raw) if name in _CODE_COLUMNS else ck.clean_text(raw)).alias(name))
    id_header = hm.columns.get("id_number")
    numeric = table.numeric.get(id_header) if id_header else None
    frame = table.frame.select(exprs)
    frame = frame.with_columns(
        numeric.alias("_num_id") if numeric is not None else pl.lit(False).alias("_num_id")
    )
    for day, header in hm.days.items():
        frame = frame.with_columns(ck.clean_text(table.frame.get_column(header).cast(pl.String)).alias(f"__day{day}"))
    return frame


def _melt_days(frame: pl.DataFrame, hm: HeaderMap, period: str) -> pl.DataFrame:
    """Wide attendance (one column per day) -> one record per worker-day that holds a mark.

    A worker with no mark at all keeps one placeholder record so that worker-level rules
    (ID, name) still see the row.
    """
    day_cols = [f"__day{d}" for d in sorted(hm.days)]
    index = [col for col in frame.columns if col not in day_cols]
    long = frame.unpivot(index=index, on=day_cols, variable_name="_day", value_name="hours")
    long = long.with_columns(c("_day").str.slice(5).cast(pl.Int64))
    mark = c("hours")
    number = ck.parse_number(mark)
    long = long.with_columns(
        _absent=mark.is_null() | mark.is_in(_ABSENT) | (number == 0).fill_null(False),
        _present_mark=mark.is_in(_PRESENT),
        _hdr_date=c("_day").replace_strict(hm.days, return_dtype=pl.String),
        date=pl.lit(period) + "-" + c("_day").cast(pl.String).str.zfill(2),
    )
    long = long.with_columns(
        _hdr_hours=c("_hdr_date"),
        hours=pl.when(c("_present_mark")).then(None).otherwise(mark),
        _mark=mark,
    )
    marked = long.filter(~c("_absent"))
    blank = long.group_by("__row__").agg(c("_absent").all().alias("_absent_all")).filter(c("_absent_all"))
    placeholders = (
        frame.select(index).join(blank.select("__row__"), on="__row__", how="semi")
        .with_columns(_day=pl.lit(None, pl.Int64), hours=pl.lit(None, pl.String), _absent=pl.lit(True),
                      _present_mark=pl.lit(False), _hdr_date=pl.lit(None, pl.String), date=pl.lit(None, pl.String),
                      _hdr_hours=pl.lit(None, pl.String), _mark=pl.lit(None, pl.String))
    )
    out = pl.concat([marked, placeholders], how="diagonal_relaxed").sort("__row__", "_day", nulls_last=True)
    return out.with_columns(_absent_all=c("_absent"))


def _prepare(lf: pl.LazyFrame, kind: str, ctx: Context, wide: bool) -> pl.LazyFrame:
    start, end = _period_bounds(ctx.period)
    names = set(lf.collect_schema().names())
    id_ = c("id_number") if "id_number" in names else pl.lit(None, pl.String)
    name = c("name") if "name" in names else pl.lit(None, pl.String)
    # IDs and dates repeat (a worker's ID on every day of attendance, one pay date for a whole
    # sheet): their checks run once per distinct value and are joined back.
    if "id_number" in names:
        lf = _by_value(lf, "id_number", {"_id_text_status": lambda e: ck.id_status(e, pl.lit(False), ctx.today)})
    for col in DATE_COLUMNS:
        if col in names:
            lf = _by_value(lf, col, {f"_{col}": ck.parse_date})
    if "employer_credit_code" in names:  # a roster names a handful of employers
        lf = _by_value(lf, "employer_credit_code", {"_credit_ok": ck.credit_code_valid})
    lf = lf.with_columns(
        _id_status=(pl.when(id_.is_null()).then(None).when(c("_num_id")).then(pl.lit("ID_EXCEL_PRECISION"))
                    .otherwise(c("_id_text_status")) if "id_number" in names else pl.lit(None, pl.String)),
        _today=pl.lit(ctx.today),
        _upload_period=pl.lit(ctx.period),
    )
    valid = c("_id_status").is_null() & id_.is_not_null()
    lf = lf.with_columns(
        _valid_id=valid,
        _first_name=name.drop_nulls().first().over(id_),
    ).with_columns(
        _name_conflict=c("_valid_id") & name.is_not_null() & (name != c("_first_name"))
        & pl.struct(id_, name).is_first_distinct(),
    )
    if kind == "roster":
        birth = ck.id_birth_date(id_)
        ref = pl.max_horizontal(c("_entry_date").fill_null(start), pl.lit(start)) if "entry_date" in names else pl.lit(start)
        ymd = lambda d: d.dt.year().cast(pl.Int64) * 10000 + d.dt.month().cast(pl.Int64) * 100 + d.dt.day().cast(pl.Int64)  # noqa: E731
        jobs = ctx.job_types or {}
        lf = lf.with_columns(
            _dup=c("_valid_id") & ~id_.is_first_distinct(),
            _first_row=c("__row__").first().over(id_),
            _id_gender=ck.id_gender(id_),
            _gender=(c("gender").str.to_lowercase().replace_strict(_GENDER, default=None)
                     if "gender" in names else pl.lit(None, pl.String)),
            _age=pl.when(c("_valid_id")).then((ymd(ref) - ymd(birth)) // 10000),
            _job=(c("job_type").replace_strict(jobs, default=None) if "job_type" in names else pl.lit(None, pl.String)),
        ).with_columns(
            _age_limit=pl.when(c("_id_gender") == "男").then(ctx.age_limit_men).otherwise(ctx.age_limit_women),
        )
    elif kind == "contracts":
        lf = lf.with_columns(
            _wage_basis=c("wage_basis").str.to_lowercase().replace_strict(_BASIS, default=None),
            _wage_rate=ck.parse_fen(c("wage_rate")) if "wage_rate" in names else pl.lit(None, pl.Int64),
            _pay_day=c("pay_day").str.replace(r"(号|日)$", "").cast(pl.Int64, strict=False),
        ).with_columns(_pay_day=pl.when(c("_pay_day").is_between(1, 31)).then(c("_pay_day")))
    elif kind == "attendance":
        hours = ck.parse_number(c("hours")) if "hours" in names else pl.lit(None, pl.Float64)
        raw_hours = c("hours") if "hours" in names else pl.lit(None, pl.String)
        lf = lf.with_columns(_hours=hours).with_columns(
            _bad_hours=raw_hours.is_not_null() & (c("_hours").is_null() | ~c("_hours").is_between(0, 24)),
            _out_of_period=c("date").is_not_null() & (c("_date").is_null() | ~c("_date").is_between(start, end))
            if wide else c("_date").is_not_null() & ~c("_date").is_between(start, end),
        )
        days_in_month = (end - start).days + 1
        present = c("_date").is_not_null() & ~c("_bad_hours") & ~c("_out_of_period")
        lf = lf.with_columns(
            _days_present=c("_date").filter(present).n_unique().over(id_),
        ).with_columns(
            _no_rest=c("_valid_id") & (c("_days_present") >= days_in_month) & id_.is_first_distinct(),
        )
    elif kind == "payments":
        txn = c("bank_txn_id") if "bank_txn_id" in names else pl.lit(None, pl.String)
        lf = lf.with_columns(
            _amount=ck.parse_fen(c("amount")),
            _period=ck.parse_period(c("period")),
            _channel=c("channel").str.to_lowercase().replace_strict(_CHANNEL, default=None),
            _txn_dup=txn.is_not_null() & ~txn.is_first_distinct(),
            _txn_first_row=c("__row__").first().over(txn),
        )
    if wide:
        # In wide form the date is built from the day column, so only a day beyond the
        # month's end can be wrong; that is an out-of-period day, not a typing error.
        lf = lf.with_columns(_date=pl.when(c("_out_of_period")).then(None).otherwise(c("_date")))
    return lf


def _by_value(lf: pl.LazyFrame, col: str, exprs: dict) -> pl.LazyFrame:
    values = lf.select(c(col).unique()).with_columns(**{out: fn(c(col)) for out, fn in exprs.items()})
    return lf.join(values, on=col, how="left", nulls_equal=True, maintain_order="left")


def _targets(rule: Rule, kind: str, names: set[str], wide: bool) -> list[str]:
    if rule.columns == ("*required",):
        cols = [col.name for col in SCHEMAS[kind] if col.required and col.name not in ("name",)]
        if kind == "roster":
            cols.append("bank_card")
        if wide:
            cols = [col for col in cols if col != "date"]
        return [col for col in cols if col in names]
    return [col for col in rule.columns if col in names and not (wide and rule.code == "DATE_INVALID" and col == "date")]


def _check(rule: Rule, col: str, names: set[str]) -> pl.Expr:
    if rule.code == "VALUE_MISSING" and col == "bank_card" and "ssc_number" in names:
        return c("bank_card").is_null() & c("ssc_number").is_null()
    return rule.check(col)  # type: ignore[misc]


def _run_rules(frame: pl.DataFrame, kind: str, hm: HeaderMap, wide: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    names = set(frame.columns)
    required = {col.name for col in SCHEMAS[kind] if col.required} | {"bank_card"} if kind == "roster" else {
        col.name for col in SCHEMAS[kind] if col.required}
    has_id = "id_number" in names
    worker = ck.mask_id(c("id_number")) if has_id else pl.lit(None, pl.String)
    parts: list[pl.LazyFrame] = []
    rejects: list[pl.LazyFrame] = []
    lf = frame.lazy()
    for rule in RULES:
        if rule.check is None or kind not in rule.kinds:
            continue
        for col in _targets(rule, kind, names, wide):
            sensitive = column(kind, col).sensitive
            header = c(f"_hdr_{col}") if f"_hdr_{col}" in names else pl.lit(hm.columns.get(col))
            raw = c("_mark") if (wide and col == "hours") else c(col)
            args = rule.args(col) if rule.args else {}
            hit = lf.filter(_check(rule, col, names).fill_null(False))
            parts.append(hit.select(
                "__rid__",
                rule=pl.lit(rule.code),
                row=c("__row__").cast(pl.Int64),
                column=header.cast(pl.String),
                value=ck.mask(raw.cast(pl.String), sensitive),
                worker=worker,
                args=pl.struct(**{k: v.cast(pl.String) for k, v in args.items()}).struct.json_encode() if args
                else pl.lit(None, pl.String),
            ))
            if rule.rejects == "always" or (rule.rejects == "if_required" and col in required):
                rejects.append(hit.select("__rid__"))
    if not parts:
        return empty_findings(), pl.DataFrame(schema={"__rid__": pl.UInt32})
    collected = pl.collect_all([pl.concat(parts), pl.concat(rejects) if rejects else pl.LazyFrame(schema={"__rid__": pl.UInt32})])
    findings = (
        collected[0].sort("row", "__rid__", maintain_order=True)
        .unique(["rule", "row", "column", "value"], maintain_order=True)
        .drop("__rid__")
    )
    return findings, collected[1]


def _table_rows(kept: pl.DataFrame, kind: str) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[kind]
    names = set(kept.columns)
    exprs = []
    for col, dtype in schema.items():
        if col == "wage_rate_fen":
            src = c("_wage_rate") if "_wage_rate" in names else None
        elif col == "amount_fen":
            src = c("_amount")
        elif kind == "attendance" and col == "hours":
            src = c("_hours")
        elif col in ("gender", "job_type", "wage_basis", "pay_day", "period", "channel") and f"_{col}" in names:
            src = pl.coalesce(c(f"_{col}"), c(col)) if col == "job_type" else c(f"_{col}")
        elif dtype == pl.Date:
            src = c(f"_{col}") if f"_{col}" in names else None
        else:
            src = c(col) if col in names else None
        exprs.append((src if src is not None else pl.lit(None)).cast(dtype).alias(col))
    exprs.append(c("__row__").cast(pl.Int64))
    return kept.select(exprs)
