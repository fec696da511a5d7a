"""Validate one uploaded file: map its headers, prepare typed columns, run every file rule.

The preparation here is what every rule and the tables share (canonical text, parsed dates,
amounts, marks); what a single rule reads beyond that it declares in its registry entry
(``rules.Rule.derives``), and only the derived columns of the rules that apply to the file
are computed. Nothing here knows a rule by its code.

The result is data: the accepted rows in canonical columns, the findings, and the counts of
the receipt. Nothing here raises on bad input.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from sitereg.validate import checks as ck
from sitereg.validate import rules as registry
from sitereg.validate.columns import (
    KIND_LABELS,
    HeaderMap,
    column,
    detect_kind,
    map_headers,
    match_score,
    nearest_header,
    normalise_header,
    required_columns,
)
from sitereg.validate.readers import ROW, Table
from sitereg.validate.rules import DATE_COLUMNS, Env, Rule, derive

c = pl.col

FINDING_SCHEMA = {
    "rule": pl.String, "row": pl.Int64, "column": pl.String, "value": pl.String,
    "worker": pl.String, "args": pl.String,
}
# Findings of a workbook with several sheets carry one more column: the sheet they are on
# (row numbers repeat from sheet to sheet).
SHEET = "sheet"

# Typed columns of each kind's table, in order; amounts are integer fen.
TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "roster": {"id_number": pl.String, "name": pl.String, "gender": pl.String, "phone": pl.String,
               "employer_credit_code": pl.String, "employer_name": pl.String, "team": pl.String,
               "job_type": pl.String, "entry_date": pl.Date, "exit_date": pl.Date, "bank_card": pl.String,
               "bank_name": pl.String, "ssc_number": pl.String, "worker_no": pl.String},
    "contracts": {"id_number": pl.String, "name": pl.String, "contract_no": pl.String,
                  "employer_credit_code": pl.String, "start_date": pl.Date, "end_date": pl.Date,
                  "wage_basis": pl.String, "wage_rate_fen": pl.Int64, "pay_day": pl.Int64, "signed_date": pl.Date},
    "attendance": {"id_number": pl.String, "name": pl.String, "date": pl.Date, "hours": pl.Float64},
    "payments": {"id_number": pl.String, "name": pl.String, "period": pl.String, "amount_fen": pl.Int64,
                 "paid_at": pl.Date, "payer_account": pl.String, "payee_account": pl.String,
                 "payee_name": pl.String, "channel": pl.String, "bank_txn_id": pl.String},
    "payroll": {"id_number": pl.String, "name": pl.String, "worker_no": pl.String, "period": pl.String,
                "days": pl.Float64, "hours": pl.Float64, "gross_fen": pl.Int64, "deductions_fen": pl.Int64,
                "net_fen": pl.Int64, "paid_at": pl.Date, "bank_card": pl.String, "payer_account": pl.String},
    "entry_exit": {"id_number": pl.String, "name": pl.String, "date": pl.Date, "direction": pl.String},
}
# Money columns: a numeric cell is read as its number format shows it (two decimals).
MONEY = ("amount", "wage_rate", "gross", "deductions", "net", "unit_rate")
CARD_COLUMNS = ("bank_card", "ssc_number", "payee_account")
# A bank result's 交易状态 saying the transfer did not go through: the row is no payment.
FAILED_STATUS = r"(?i)失败|退回|退票|不成功|拒绝|冲正|fail"

# Cleaned as codes (inner spaces and dashes dropped, upper-cased). Not bank_txn_id: a bank's
# transaction ids are compared exactly as the bank wrote them.
_CODE_COLUMNS = {"id_number", "bank_card", "ssc_number", "phone", "payer_account", "payee_account",
                 "employer_credit_code"}
# Characters the cleaning of those columns changes (full-width forms, inner spaces and
# dashes, apostrophes, lower case); edge spaces are trimmed from every cell and not counted.
_FULL_WIDTH = "[\uff01-\uff5e]"
_CODE_CHANGES = "[\\s\\-\u3000'a-z\uff01-\uff5e]"
_PRESENT = ["√", "✓", "✔", "1", "出勤", "●", "V", "v", "是", "到", "上班"]
_ABSENT = ["0", "×", "✗", "✘", "X", "x", "休", "缺", "旷", "假", "-", "—", "/", "否", "病", "事"]
_WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日", "天"]
_GENDER = {"男": "男", "女": "女", "m": "男", "f": "女", "male": "男", "female": "女", "男性": "男", "女性": "女"}
_BASIS = {"日薪": "daily", "daily": "daily", "按日": "daily", "日工资": "daily", "计日": "daily",
          "月薪": "monthly", "monthly": "monthly", "按月": "monthly", "月工资": "monthly", "计月": "monthly",
          "计件": "piece", "piece": "piece", "按件": "piece", "包工": "piece"}
_DIRECTION = {"进场": "in", "入场": "in", "进": "in", "入": "in", "in": "in", "进入": "in", "上班": "in",
              "退场": "out", "出场": "out", "离场": "out", "出": "out", "退": "out", "out": "out", "离开": "out", "下班": "out"}
_UNIT_BASIS = {"天": "daily", "日": "daily", "工日": "daily", "元/天": "daily", "元/日": "daily", "day": "daily",
               "月": "monthly", "元/月": "monthly", "month": "monthly"}
_CLOCK_RANGE = r"^\d{1,2}[:：]\d{2}\s*[-~～—至]+\s*\d{1,2}[:：]\d{2}$"
_CLOCK_ANOMALY = r"异常|^[?？]|[?？]$|^\d{1,2}[:：]\d{2}\s*[-~～—至]+\s*$|^\s*[-~～—至]+\s*\d{1,2}[:：]\d{2}$"
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
    roster: pl.DataFrame | None = None  # the project's current roster: resolves workers named by card or 人员编号
    # The contractor's saved map for the project: header as written in their file -> canonical
    # column ("id_number", "name"…); it is consulted before the known headers.
    column_map: Mapping[str, str] | None = None
    # The project has an entry/exit log (进退场) up to this period: on-site intervals come from
    # it, and a roster's entry dates are then not required (formats.md).
    entry_log: bool = False
    project: str = ""  # the project uploaded to: a row naming another (项目编码) is PROJECT_MISMATCH


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


def validate_file(table: Table, kind: str, ctx: Context, rules: Sequence[Rule] | None = None) -> FileResult:
    """Validate every sheet of the file whose header fits the kind (one per 班组 is common);
    sheets that fit no kind (填写说明, 汇总, 代码表) are skipped. With none fitting, the sheet
    that fits best is validated and says what is missing.

    ``rules`` is the registry (``rules.RULES`` when not given). Findings of a workbook with
    several sheets name the sheet of each (column ``sheet``); others have FINDING_SCHEMA."""
    rules = registry.RULES if rules is None else rules
    sheets = table.sheets()
    fitting = ([t for t in sheets if not map_headers(kind, t.headers, ctx.column_map).missing] if len(sheets) > 1
               else sheets)
    if not fitting:
        fitting = [max(sheets, key=lambda t: match_score(kind, t.headers, ctx.column_map))]
    results = [_validate_sheet(t, kind, ctx, rules) for t in fitting]
    if len(sheets) == 1:
        r = _nothing_present(results[0], kind)
        return FileResult(r.rows, r.findings.drop(SHEET), r.rows_total, r.rows_rejected, r.header_map)
    if len(results) == 1:
        return _nothing_present(results[0], kind)
    results = _repeated_across_sheets(results, fitting, kind)
    rows = pl.concat([r.rows for r in results], how="vertical_relaxed")
    found = pl.concat([r.findings for r in results], how="vertical_relaxed")
    # A column every 班组 sheet has is one column to the clerk: reported once, on its first sheet.
    once = c("rule").is_in(["COLUMN_UNKNOWN", "COLUMNS_NOT_STORED"])
    found = found.filter(~once | pl.struct("rule", "column", "args").is_first_distinct())
    return _nothing_present(FileResult(rows, found, sum(r.rows_total for r in results),
                                       sum(r.rows_rejected for r in results), results[0].header_map), kind)


def _nothing_present(result: FileResult, kind: str) -> FileResult:
    """Attendance whose every worker was read but has no day present (all blank, 0, ×) stores
    nothing: it is refused with a finding saying so, not as a file with no reason."""
    if kind != "attendance" or result.rows.height or result.rows_rejected >= result.rows_total:
        return result
    workers = result.rows_total - result.rows_rejected
    found = file_finding("NO_DAYS_PRESENT", args={"n": workers})
    if SHEET in result.findings.columns:
        found = found.with_columns(pl.lit(None, pl.String).alias(SHEET))
    return replace(result, findings=pl.concat([found, result.findings], how="vertical_relaxed"),
                   rows_rejected=result.rows_total)


# A key that may appear once per file, and the rule a repeat breaks: within a sheet the rule
# itself finds the repeat; across the sheets of one workbook (one per 班组) it is found here.
_FILE_KEYS = {"roster": ("id_number", "DUPLICATE_WORKER"), "payments": ("bank_txn_id", "TXN_CONFLICT")}


def _repeated_across_sheets(results: list[FileResult], sheets: list[Table], kind: str) -> list[FileResult]:
    """Each sheet's accepted rows whose key an earlier sheet already has: rejected, with the
    rule's finding naming the sheet and row where the key was first seen."""
    if kind not in _FILE_KEYS:
        return results
    key, rule = _FILE_KEYS[kind]
    seen = pl.concat([r.rows.select(key, "__row__", _sheet=pl.lit(i, pl.Int64)) for i, r in enumerate(results)])
    seen = seen.filter(c(key).is_not_null())
    firsts = seen.unique(key, keep="first", maintain_order=True).rename({"__row__": "_first_row", "_sheet": "_first_sheet"})
    repeats = seen.join(firsts, on=key).filter(c("_sheet") != c("_first_sheet"))
    if repeats.height == 0:
        return results
    names = [t.sheet for t in sheets]
    sensitive = column(kind, key).sensitive
    out = []
    for i, r in enumerate(results):
        mine = repeats.filter(c("_sheet") == i)
        if mine.height == 0:
            out.append(r)
            continue
        dropped = r.rows.join(mine.select("__row__"), on="__row__", how="semi")
        found = dropped.join(mine.select("__row__", "_first_row", "_first_sheet"), on="__row__").select(
            rule=pl.lit(rule), row=c("__row__").cast(pl.Int64), column=pl.lit(r.header_map.columns.get(key), pl.String),
            value=ck.mask(c(key).cast(pl.String), sensitive), worker=ck.mask_id(c("id_number")),
            args=pl.struct(first_row=c("_first_row").cast(pl.String),
                           first_sheet=c("_first_sheet").replace_strict(dict(enumerate(names)), return_dtype=pl.String))
            .struct.json_encode(),
            sheet=pl.lit(names[i], pl.String))
        rows = r.rows.join(mine.select("__row__"), on="__row__", how="anti")
        out.append(FileResult(rows, pl.concat([r.findings, found], how="vertical_relaxed"), r.rows_total,
                              r.rows_rejected + mine.get_column("__row__").n_unique(), r.header_map))
    return out


# Lines under a table that are not workers: totals, and the signature block.
_TOTALS = r"^\s*(合\s*计|小\s*计|总\s*计|本页小计|本页合计|本月合计|累计)"
_SIGNATURE = r"^\s*(制表人?|填表人|填报人|审核人?|复核人?|负责人|项目负责人|项目经理|劳资员|劳资专管员|经办人|班组长签字|签字|盖章|日期|单位盖章|第\s*\d+\s*页)\s*[:：（(]?"
# Any other role signing the sheet (考勤员：, 记工员：, 班组长：, 项目经理（签字）：): a role word, then a
# colon. Only on rows without an ID number, so a remark such as 联系人：… beside a worker is kept.
_ROLE_LINE = r"^\s*[\u4e00-\u9fff]{0,8}(?:人|员|长|经理|主管|代表)\s*(?:[（(](?:签字|签名|签章|盖章)[）)])?\s*[:：]"
_HAS_ID = r"\d{17}[\dXx]|\d{15}"
# A legend or note under the table (说明：√出勤 ×旷工…, 注：…) as the row's first text, on a row without an ID.
_LEGEND = r"^\s*(?:说明|注|注意|备注|图例|填表说明|考勤说明)\s*[:：]"
_FILE_MONTH = r"(\d{4})\s*年\s*(\d{1,2})\s*月"


# The first characters a totals or signature cell can start with: rows with no cell starting
# with one of them are not footers, and only the few that have one get the full patterns.
_FOOTER_START = r"(?:^|\x1f)[\s\u3000\u00a0]*[合小总本累制填审复负项劳经班签盖日单第]|[\u4e00-\u9fff）)]\s*[:：]"


def _footer_mask(table: Table) -> pl.Series:
    """Rows whose first text is 合计/小计/总计…, or a signature line (制表人：… 审核人：…)."""
    cols = [h for h in table.headers]
    height = table.frame.height
    if not cols or height == 0:
        return pl.Series("f", [False] * height, dtype=pl.Boolean)
    joined = pl.concat_str([c(h).cast(pl.String) for h in cols], separator="\x1f", ignore_nulls=True)
    candidate = table.frame.select(joined.str.contains(_FOOTER_START).fill_null(False).alias("f")).to_series()
    if not candidate.any():
        return candidate
    where = candidate.arg_true()
    # The few candidate rows, each cell cleaned once for the three patterns.
    rows = table.frame.select(cols).gather(where).select(
        *[ck.clean_text(c(h).cast(pl.String)).alias(f"_{i}") for i, h in enumerate(cols)], _joined=joined)
    cells = [c(f"_{i}") for i in range(len(cols))]
    sign = pl.any_horizontal([x.str.contains(_SIGNATURE).fill_null(False) for x in cells])
    role = pl.any_horizontal([x.str.contains(_ROLE_LINE).fill_null(False) for x in cells])
    has_id = c("_joined").str.contains(_HAS_ID).fill_null(False)
    first = pl.coalesce(cells)
    legend = first.str.contains(_LEGEND).fill_null(False)
    hits = rows.select((first.str.contains(_TOTALS).fill_null(False) | sign | ((role | legend) & ~has_id))
                       .alias("f")).to_series()
    return pl.zeros(height, dtype=pl.Boolean, eager=True).alias("f").scatter(where, hits)


def _closest_kind(headers: list[str], chosen: str) -> str | None:
    """The kind whose columns most headers name (three at least), the chosen one on a tie."""
    mapped = {k: match_score(k, headers)[1] for k in KIND_LABELS}
    best = max(mapped, key=lambda k: (mapped[k], k == chosen))
    return best if mapped[best] >= 3 else None


def _file_month(table: Table) -> str | None:
    """The month written in the sheet's title (2026年10月考勤表), as YYYY-MM."""
    import re

    m = re.search(_FILE_MONTH, table.title or "") or (re.search(_FILE_MONTH, table.sheet or "") if table.sheet else None)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    return None


def _refused(table: Table, kind: str, hm: HeaderMap, found: list[pl.DataFrame], rows_total: int) -> FileResult:
    rows = pl.DataFrame(schema={**TABLE_SCHEMAS[kind], "__row__": pl.Int64})
    return FileResult(rows, _with_sheet(pl.concat(found), table), rows_total, rows_total, hm)


def _with_sheet(findings: pl.DataFrame, table: Table) -> pl.DataFrame:
    return findings.with_columns(pl.lit(table.sheet, pl.String).alias(SHEET))


def _validate_sheet(table: Table, kind: str, ctx: Context, rules: Sequence[Rule]) -> FileResult:
    hm = map_headers(kind, table.headers, ctx.column_map, table.groups)
    if kind in ("payments", "payroll") and "period" not in hm.columns and ctx.fill_period:
        # A month's wage sheet often has no 工资所属期 column: the upload's period is its period.
        hm = replace(hm, missing=tuple(m for m in hm.missing if m != "period"))
        table = replace(table, frame=table.frame.with_columns(pl.lit(ctx.period).alias("__period__")),
                        headers=[*table.headers, "__period__"])
        hm.columns["period"] = "__period__"
    found = [file_finding("COLUMN_UNKNOWN", column=h) for h in hm.unknown]
    if hm.not_stored:
        found.append(file_finding("COLUMNS_NOT_STORED", args={"columns": "、".join(hm.not_stored), "n": len(hm.not_stored)}))
    # Totals and the signature block under the table are not workers.
    footer = _footer_mask(table)
    if footer.any():
        found.append(file_finding("FOOTER_ROWS_SKIPPED", args={
            "n": int(footer.sum()), "rows": ", ".join(str(r) for r in table.frame.get_column(ROW).filter(footer).head(10))}))
        table = replace(table, frame=table.frame.filter(~footer),
                        numeric={h: m.filter(~footer) for h, m in table.numeric.items()})
    if hm.missing:
        # Every row lacks a required field: one finding per column instead of one per cell,
        # saying what the file looks like and the closest header it has. Only here is another
        # kind named (KIND_MISMATCH): a file with every required column of the kind chosen is
        # that kind, however much it also looks like another.
        looks = detect_kind(table.headers)
        if looks is not None and looks != kind:
            found.append(file_finding("KIND_MISMATCH", args={"looks": KIND_LABELS[looks], "kind": KIND_LABELS[kind],
                                                              "looks_en": looks, "kind_en": kind}))
        # Without every required column of any kind, the file looks like the kind most of its headers name.
        looks = looks or _closest_kind(table.headers, kind)
        for name in hm.missing:
            near = nearest_header(kind, name, [h for h in table.headers if h not in hm.columns.values()])
            found.append(file_finding("COLUMN_MISSING", args={
                "name": name, "label": column(kind, name).label, "nearest": near or "-",
                "looks": KIND_LABELS.get(looks or "", "-")}))
        return _refused(table, kind, hm, found, table.frame.height)
    month = _file_month(table)
    if month is not None and month != ctx.period:
        found.append(file_finding("PERIOD_MISMATCH", column=None, args={"month": month, "period": ctx.period}))
        return _refused(table, kind, hm, found, table.frame.height)

    frame, normalised = _canonical(table, kind, hm)
    found += normalised
    wide = kind == "attendance" and bool(hm.days)
    rows_total = table.frame.height
    if wide:
        months = {m for m in (_header_month(h) for h in hm.days.values()) if m is not None}
        if months and int(ctx.period[5:7]) not in months:
            found.append(file_finding("PERIOD_MISMATCH", args={"month": f"{ctx.period[:4]}-{min(months):02d}",
                                                               "period": ctx.period}))
            return _refused(table, kind, hm, found, rows_total)
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
    if kind == "attendance" and "punch_time" in frame.columns and "date" not in frame.columns:
        frame = frame.with_columns(date=c("punch_time").str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?$", ""))
        hm.columns["date"] = hm.columns["punch_time"]
    if kind in ("attendance", "entry_exit", "payroll"):
        frame = _resolve_workers(frame, kind, ctx.roster)
    frame = _rostered_documents(frame, ctx.roster)
    frame = frame.with_row_index("__rid__")
    prepared = _prepare(frame.lazy(), kind, ctx, wide).collect()

    rule_hits, rejecting = _run_rules(prepared, _env(prepared, kind, ctx, wide), hm, rules)
    findings = pl.concat([*found, rule_hits]) if found else rule_hits
    rejected_rids = rejecting.get_column("__rid__").unique()

    kept = prepared.filter(~c("__rid__").is_in(rejected_rids.implode()))
    if kind == "payroll" and "_period" in kept.columns:
        kept = kept.with_columns(_period=c("_period").fill_null(ctx.period))
    if wide:
        kept = kept.filter(~c("_absent_all"))
    if kind == "attendance":
        kept = kept.filter(~c("_absent_day"))  # zero hours, or no clock times: absent, in every shape
    rows = _table_rows(kept, kind)

    # A row counts as rejected only when none of its records was kept (wide attendance: a bad
    # day mark drops that day, not the worker's month).
    all_rows = prepared.select("__row__").unique()
    kept_rows = prepared.filter(~c("__rid__").is_in(rejected_rids.implode())).select("__row__").unique()
    rows_rejected = all_rows.height - kept_rows.height
    if rows_total and kept_rows.height == 0 and _all_outside(prepared, kind):
        # Every date lies outside the period: this is another month's file.
        findings = pl.concat([findings, file_finding("PERIOD_MISMATCH", args={
            "month": _common_month(prepared, kind) or "-", "period": ctx.period})])
    return FileResult(rows, _with_sheet(findings, table), rows_total, rows_rejected, hm)


def _header_month(header: str) -> int | None:
    import re

    m = re.match(r"^\s*(?:\d{4}[-/.年])?(\d{1,2})(?:月|[-/])\d{1,2}", header)
    return int(m.group(1)) if m and 1 <= int(m.group(1)) <= 12 else None


def _all_outside(prepared: pl.DataFrame, kind: str) -> bool:
    if kind == "attendance" and "_out_of_period" in prepared.columns:
        return bool(prepared.get_column("_out_of_period").fill_null(False).all())
    if kind in ("payments", "payroll") and "_period" in prepared.columns:
        p = prepared.get_column("_period")
        return p.null_count() < p.len() and bool((p.drop_nulls() != prepared.get_column("_upload_period")[0]).all())
    return False


def _common_month(prepared: pl.DataFrame, kind: str) -> str | None:
    if kind == "attendance" and "_date" in prepared.columns:
        d = prepared.get_column("_date").drop_nulls()
        if d.len():
            return d.dt.strftime("%Y-%m").mode().first()
        raw = prepared.get_column("date").drop_nulls() if "date" in prepared.columns else None
        if raw is not None and raw.len():
            return pl.select(ck.parse_date(pl.lit(raw))).to_series().dt.strftime("%Y-%m").drop_nulls().mode().first()
        return None
    if "_period" in prepared.columns:
        p = prepared.get_column("_period").drop_nulls()
        return p.mode().first() if p.len() else None
    return None


def _resolve_workers(frame: pl.DataFrame, kind: str, roster: pl.DataFrame | None) -> pl.DataFrame:
    """Rows without an ID take it from the roster: by 人员编号, or by bank card and name, when
    exactly one rostered worker matches (else WORKER_UNRESOLVED)."""
    if "id_number" not in frame.columns:
        frame = frame.with_columns(id_number=pl.lit(None, pl.String))
    frame = frame.with_columns(_resolved=pl.lit(False), _unresolved=pl.lit(False))
    needs = c("id_number").is_null()
    keys = [k for k in ("worker_no", "bank_card") if k in frame.columns]
    if not keys:
        return frame
    if roster is None or roster.height == 0:
        return frame.with_columns(_unresolved=needs & pl.any_horizontal(c(k).is_not_null() for k in keys))
    found = pl.lit(None, pl.String)
    for key in keys:
        # A card is the worker's bank card, or the social-security card's financial account (社保卡).
        sources = [k for k in ((key, "ssc_number") if key == "bank_card" else (key,)) if k in roster.columns]
        if not sources:
            continue
        pairs = pl.concat([roster.select(c(k).alias(key), id_=c("id_number"), r_name_=c("name")) for k in sources]
                          ).drop_nulls(key)
        unique = pairs.group_by(key).agg(c("id_").n_unique().alias("n"), c("id_").first(), c("r_name_").first()) \
            .filter(c("n") == 1).drop("n").rename({"id_": f"_id_by_{key}", "r_name_": f"_nm_by_{key}"})
        frame = frame.join(unique, on=key, how="left", maintain_order="left", nulls_equal=False)
        hit = c(f"_id_by_{key}")
        if key == "bank_card" and "name" in frame.columns:
            hit = pl.when(c(f"_nm_by_{key}") == c("name")).then(hit)  # a card resolves only with the worker's own name
        found = pl.coalesce(found, hit)
    frame = frame.with_columns(_found_id=found).with_columns(
        _resolved=needs & c("_found_id").is_not_null(),
        _unresolved=needs & c("_found_id").is_null() & pl.any_horizontal(c(k).is_not_null() for k in keys),
        id_number=pl.coalesce(c("id_number"), c("_found_id")),
    )
    return frame.drop([col for col in frame.columns if col.startswith(("_id_by_", "_nm_by_"))] + ["_found_id"])


def _rostered_documents(frame: pl.DataFrame, roster: pl.DataFrame | None) -> pl.DataFrame:
    """A file without 证件类型 (or with it blank) names workers by the number the roster has for them: a number
    the roster accepted as another document (护照, 港澳通行证…) is checked as that document
    here too, not as a bad ID card (``rules._doc`` reads ``_roster_other``)."""
    if roster is None or "id_number" not in frame.columns:
        return frame
    others = roster.get_column("id_number").drop_nulls()
    others = others.filter(~others.str.contains(r"^\d{17}[\dX]$"))
    if others.len() == 0:
        return frame
    return frame.with_columns(_roster_other=c("id_number").is_in(others.implode()).fill_null(False))


def _canonical(table: Table, kind: str, hm: HeaderMap) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """The file's columns under their canonical names, cleaned; and one VALUE_NORMALISED info
    per ID, card, phone, account or amount column in which typing was normalised."""
    typed = {name: header for name, header in hm.columns.items() if name in _CODE_COLUMNS or name in MONEY}
    # Which of them hold full-width characters, or anything normalising could change: one cheap
    # pass, so that the common clean file pays for neither the translation nor the count.
    flags = table.frame.select(
        *[c(h).cast(pl.String).str.contains(_FULL_WIDTH).any().alias(f"fw_{n}") for n, h in typed.items()],
        *[c(h).cast(pl.String).str.contains(_CODE_CHANGES if n in _CODE_COLUMNS else _FULL_WIDTH).any().alias(n)
          for n, h in typed.items()]).row(0, named=True) if typed else {}
    exprs = [c("__row__")]
    cleaned: dict[str, pl.Expr] = {}
    for name, header in hm.columns.items():
        raw = c(header).cast(pl.String)
        if name not in typed:
            exprs.append(ck.clean_text(raw).alias(name))
            continue
        text = ck.half_width(raw) if flags[f"fw_{name}"] else raw
        cleaned[name] = ck.clean_code(text) if name in _CODE_COLUMNS else ck.clean_text(text)
        exprs.append(cleaned[name].alias(name))
    id_header = hm.columns.get("id_number")
    numeric = table.numeric.get(id_header) if id_header else None
    frame = table.frame.select(exprs)
    found = []
    for name, clean in cleaned.items():
        if flags[name]:
            raw = c(typed[name]).cast(pl.String)
            n = table.frame.select((clean != ck.clean_text(raw)).fill_null(False).sum()).item()
            if n:
                found.append(file_finding("VALUE_NORMALISED", column=typed[name], args={"n": n}))
    frame = frame.with_columns(
        numeric.alias("_num_id") if numeric is not None else pl.lit(False).alias("_num_id")
    )
    # Card numbers stored as numbers: Excel kept 15 significant digits of them.
    for name in CARD_COLUMNS:
        if name in hm.columns:
            mask = table.numeric.get(hm.columns[name])
            frame = frame.with_columns((pl.lit(mask) if mask is not None else pl.lit(False)).alias(f"_num_{name}"))
    for name in MONEY:
        mask = table.numeric.get(hm.columns.get(name, ""))
        if mask is not None:  # 3333.3333… in a cell formatted 0.00 is 3333.33 to the clerk
            frame = frame.with_columns(pl.when(pl.lit(mask)).then(_as_shown(c(name))).otherwise(c(name)).alias(name))
    for name, headers in hm.parts.items():
        frame = frame.with_columns(table.frame.select(_summed_amount(table, headers).alias(name)).to_series())
    basis = hm.columns.get("wage_basis")
    frame = frame.with_columns(_basis_unit=pl.lit(basis is not None and normalise_header(basis) == "计量单位"))
    for day, header in hm.days.items():
        frame = frame.with_columns(ck.clean_text(table.frame.get_column(header).cast(pl.String)).alias(f"__day{day}"))
    return frame, found


def _summed_amount(table: Table, headers: tuple[str, ...]) -> pl.Expr:
    """One amount from the columns a sheet splits it over (借支 + 代扣个税), as yuan text: blank
    where every part is blank; a part that is no amount stands for the whole, so the amount
    rules show that cell."""
    parts = []
    for h in headers:
        text = ck.clean_text(ck.half_width(c(h).cast(pl.String)))
        mask = table.numeric.get(h)
        parts.append(pl.when(pl.lit(mask)).then(_as_shown(text)).otherwise(text) if mask is not None else text)
    fens = [ck.parse_fen(p) for p in parts]
    bad = [pl.when(p.is_not_null() & f.is_null()).then(p) for p, f in zip(parts, fens)]
    total = ck.fen_text_expr(pl.sum_horizontal(f.fill_null(0) for f in fens))
    return pl.coalesce(*bad, pl.when(pl.any_horizontal(p.is_not_null() for p in parts)).then(total))


def _as_shown(text: pl.Expr) -> pl.Expr:
    """A numeric money cell as a 0.00 format shows it: yuan with two places, rounded half up
    from its decimal value as Excel does (1.005 -> 1.01, which a float's round(2) makes 1.00).
    The value has at most 15 significant digits (the reader's rendering), so cents times 100
    rounded to 6 places is that decimal value."""
    cents = (text.cast(pl.Float64, strict=False) * 100).round(6).round(0, mode="half_away_from_zero")
    return ck.fen_text_expr(cents.cast(pl.Int64))


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
    clock = mark.str.contains(_CLOCK_RANGE).fill_null(False)
    anomaly = mark.str.contains(_CLOCK_ANOMALY).fill_null(False) & ~clock
    long = long.with_columns(
        _absent=mark.is_null() | mark.is_in(_ABSENT) | (number == 0).fill_null(False),
        _present_mark=mark.is_in(_PRESENT) | anomaly,
        _anomaly=anomaly,
        _clock_hours=pl.when(clock).then(ck.clock_span_hours(mark)),
        _hdr_date=c("_day").replace_strict(hm.days, return_dtype=pl.String),
        date=pl.lit(period) + "-" + c("_day").cast(pl.String).str.zfill(2),
    )
    long = long.with_columns(
        _hdr_hours=c("_hdr_date"),
        hours=pl.when(c("_present_mark")).then(None).when(c("_clock_hours").is_not_null())
        .then(c("_clock_hours").cast(pl.String)).otherwise(mark),
        _mark=mark,
    )
    marked = long.filter(~c("_absent"))
    blank = long.group_by("__row__").agg(c("_absent").all().alias("_absent_all")).filter(c("_absent_all"))
    placeholders = (
        frame.select(index).join(blank.select("__row__"), on="__row__", how="semi")
        .with_columns(_day=pl.lit(None, pl.Int64), hours=pl.lit(None, pl.String), _absent=pl.lit(True),
                      _present_mark=pl.lit(False), _anomaly=pl.lit(False), _clock_hours=pl.lit(None, pl.Float64),
                      _hdr_date=pl.lit(None, pl.String), date=pl.lit(None, pl.String),
                      _hdr_hours=pl.lit(None, pl.String), _mark=pl.lit(None, pl.String))
    )
    out = pl.concat([marked, placeholders], how="diagonal_relaxed").sort("__row__", "_day", nulls_last=True)
    return out.with_columns(_absent_all=c("_absent"))


def _prepare(lf: pl.LazyFrame, kind: str, ctx: Context, wide: bool) -> pl.LazyFrame:
    """Typed columns the tables and several rules share: parsed dates, amounts, coded values,
    attendance hours and presence. A rule's own helper columns are its ``derives``."""
    start, end = _period_bounds(ctx.period)
    names = set(lf.collect_schema().names())
    id_ = c("id_number") if "id_number" in names else pl.lit(None, pl.String)
    # Dates repeat (one pay date for a whole sheet, a day for every worker): each distinct
    # value is parsed once and joined back.
    for col in DATE_COLUMNS:
        if col in names:
            lf = _by_value(lf, col, {f"_{col}": ck.parse_date})
    lf = lf.with_columns(_today=pl.lit(ctx.today), _upload_period=pl.lit(ctx.period))
    if kind == "roster" and "bank_card" not in names and "ssc_number" in names:
        # The payout account is the bank card or the 社保卡: with only the 社保卡 column, a row
        # without it has no account at all (VALUE_MISSING on the card, as with both columns).
        lf = lf.with_columns(bank_card=pl.lit(None, pl.String))
    if kind == "roster":
        jobs = ctx.job_types or {}
        lf = lf.with_columns(
            _gender=(c("gender").str.to_lowercase().replace_strict(_GENDER, default=None)
                     if "gender" in names else pl.lit(None, pl.String)),
            _job=(c("job_type").replace_strict(jobs, default=None) if "job_type" in names else pl.lit(None, pl.String)),
        )
    elif kind == "contracts":
        lf = lf.with_columns(
            # 计量单位 (template 05): 天 / 日 daily, 月 monthly, any other unit (平方米, 吨, 件) piece work.
            _wage_basis=pl.when(c("_basis_unit") & c("wage_basis").is_not_null())
            .then(c("wage_basis").str.to_lowercase().replace_strict(_UNIT_BASIS, default="piece"))
            .otherwise(c("wage_basis").str.to_lowercase().replace_strict(_BASIS, default=None)),
            _wage_rate=ck.parse_fen(c("wage_rate")) if "wage_rate" in names else pl.lit(None, pl.Int64),
            _pay_day=(c("pay_day").str.replace(r"(号|日)$", "").cast(pl.Int64, strict=False) if "pay_day" in names
                      else pl.lit(None, pl.Int64)),
        ).with_columns(_pay_day=pl.when(c("_pay_day").is_between(1, 31)).then(c("_pay_day")))
    elif kind == "attendance":
        hours = ck.parse_number(c("hours")) if "hours" in names else pl.lit(None, pl.Float64)
        raw_hours = c("hours") if "hours" in names else pl.lit(None, pl.String)
        absent = (hours == 0).fill_null(False)
        if "clock_in" in names or "clock_out" in names:
            # 上班打卡时间 / 下班打卡时间: hours from the times; neither time = absent.
            cin = ck.clock_minutes(c("clock_in")) if "clock_in" in names else pl.lit(None, pl.Int64)
            cout = ck.clock_minutes(c("clock_out")) if "clock_out" in names else pl.lit(None, pl.Int64)
            span = ((cout - cin + 1440) % 1440) / 60
            hours = pl.coalesce(hours, span)
            absent = absent | (raw_hours.is_null() & cin.is_null() & cout.is_null())
            # One time of the two: present, no hours, one warning (as a day cell "07:30-" of a wide sheet).
            lf = lf.with_columns(_anomaly=raw_hours.is_null() & (cin.is_null() ^ cout.is_null()))
        if "punch_time" in names:
            # Gate punches: one row per punch; the worker-day is present, hours run from the
            # first entry to the last exit; the day's other punches are folded into its first.
            at = ck.parse_datetime(c("punch_time"))
            way = (c("direction").str.to_lowercase().replace_strict(_DIRECTION, default=None) if "direction" in names
                   else pl.lit(None, pl.String))
            day = [id_, c("_date")]
            first_in = at.filter(way == "in").min().over(day)
            last_out = at.filter(way == "out").max().over(day)
            lf = lf.with_columns(_at=at, _way=way)
            hours = ((last_out - first_in).dt.total_minutes() / 60).clip(lower_bound=0)
            absent = c("__rid__") != c("__rid__").min().over(day)
        lf = lf.with_columns(_hours=hours, _absent_day=absent).with_columns(
            _out_of_period=c("date").is_not_null() & (c("_date").is_null() | ~c("_date").is_between(start, end))
            if wide else c("_date").is_not_null() & ~c("_date").is_between(start, end),
        )
    elif kind == "payments":
        lf = lf.with_columns(
            _amount=ck.parse_fen(c("amount")),
            _period=ck.parse_period(c("period")),
            _channel=c("channel").str.to_lowercase().replace_strict(_CHANNEL, default=None),
            # A bank's result file: a failed row (失败, 退回…) is not a payment (PAYMENT_FAILED).
            _failed=(c("status").str.contains(FAILED_STATUS).fill_null(False) if "status" in names else pl.lit(False)),
        )
    elif kind == "payroll":
        money_cols = {f"_{m}": (ck.parse_fen(c(m)) if m in names else pl.lit(None, pl.Int64))
                      for m in ("gross", "deductions", "net", "unit_rate")}
        lf = lf.with_columns(
            **money_cols,
            _period=ck.parse_period(c("period")) if "period" in names else pl.lit(ctx.period),
            _days=ck.parse_number(c("days")) if "days" in names else pl.lit(None, pl.Float64),
            _hours=ck.parse_number(c("hours")) if "hours" in names else pl.lit(None, pl.Float64),
        )
    elif kind == "entry_exit":
        lf = lf.with_columns(_direction=c("direction").str.to_lowercase().replace_strict(_DIRECTION, default=None))
    if wide:
        # In wide form the date is built from the day column, so only a day beyond the
        # month's end can be wrong; that is an out-of-period day, not a typing error.
        lf = lf.with_columns(_date=pl.when(c("_out_of_period")).then(None).otherwise(c("_date")))
    return lf


def _by_value(lf: pl.LazyFrame, col: str, exprs: dict) -> pl.LazyFrame:
    values = lf.select(c(col).unique()).with_columns(**{out: fn(c(col)) for out, fn in exprs.items()})
    return lf.join(values, on=col, how="left", nulls_equal=True, maintain_order="left")


def _env(prepared: pl.DataFrame, kind: str, ctx: Context, wide: bool) -> Env:
    required = required_columns(kind)
    if kind == "roster" and not ctx.entry_log and "entry_date" in prepared.columns:
        # The roster's entry dates are the on-site intervals until a 进退场 log exists. A roster
        # without the column (the national template 03 has none) is kept: its log comes with it.
        required += ("entry_date",)
    return Env(kind=kind, names=frozenset(prepared.columns), period=ctx.period, today=ctx.today, wide=wide,
               project=ctx.project,
               required=required, age_limit_men=ctx.age_limit_men, age_limit_women=ctx.age_limit_women)


def _run_rules(prepared: pl.DataFrame, env: Env, hm: HeaderMap, rules: Sequence[Rule]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Findings of every file rule that applies to this file's columns, and the rows they reject."""
    kind, names = env.kind, env.names
    applicable = [(rule, cols) for rule in rules if rule.check is not None and kind in rule.kinds
                  if (cols := rule.targets(env))]
    if not applicable:
        return empty_findings(), pl.DataFrame(schema={"__rid__": pl.UInt32})
    # The derived columns the applicable rules declare, computed together and once.
    lf = derive(prepared.lazy(), [d for rule, _ in applicable for d in rule.derives], env).collect().lazy()
    wide = env.wide
    worker = ck.mask_id(c("id_number")) if "id_number" in names else pl.lit(None, pl.String)
    parts: list[pl.LazyFrame] = []
    rejects: list[pl.LazyFrame] = []
    for rule, cols in applicable:
        for col in cols:
            sensitive = column(kind, col).sensitive
            # A column the file lacks (a roster's card where only the 社保卡 is kept) is named as the template does.
            header = c(f"_hdr_{col}") if f"_hdr_{col}" in names else pl.lit(hm.columns.get(col) or column(kind, col).label)
            raw = c("_mark") if (wide and col == "hours") else c(col)
            value = (ck.mask_digit_runs(rule.value(col, env)) if rule.value is not None
                     else ck.mask(raw.cast(pl.String), sensitive))
            args = rule.args(col, env) if rule.args else {}
            hit = lf.filter(rule.check(col, env).fill_null(False))  # type: ignore[misc]
            parts.append(hit.select(
                "__rid__",
                rule=pl.lit(rule.code),
                row=c("__row__").cast(pl.Int64),
                column=header.cast(pl.String),
                value=value.cast(pl.String),
                worker=worker,
                args=pl.struct(**{k: v.cast(pl.String) for k, v in args.items()}).struct.json_encode() if args
                else pl.lit(None, pl.String),
            ))
            if rule.rejects == "always" or (rule.rejects == "if_required" and col in env.required):
                rejects.append(hit.select("__rid__"))
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
        elif col.endswith("_fen") and f"_{col[:-4]}" in names:
            src = c(f"_{col[:-4]}")
        elif kind in ("attendance", "payroll") and col in ("hours", "days") and f"_{col}" in names:
            src = c(f"_{col}")
        elif col == "job_type" and "_job" in names:
            src = pl.coalesce(c("_job"), c(col))  # codes.md: a name is stored as its code; an unknown one as written
        elif col in ("gender", "wage_basis", "pay_day", "period", "channel", "direction") and f"_{col}" in names:
            src = c(f"_{col}")
        elif dtype == pl.Date:
            src = c(f"_{col}") if f"_{col}" in names else None
        else:
            src = c(col) if col in names else None
        exprs.append((src if src is not None else pl.lit(None)).cast(dtype).alias(col))
    exprs.append(c("__row__").cast(pl.Int64))
    return kept.select(exprs)
