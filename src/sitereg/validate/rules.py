"""The rule registry: one declarative entry per rule code of domain.md.

An entry holds the stable code, severity, scope, Chinese and English message templates
(what is wrong and how to fix it), the record kinds and canonical columns it concerns,
whether a hit rejects the row, and the check itself: a Polars expression that is true where
a row breaks the rule (file rules), or an expression over one of the project-period's
prepared frames (cross-file rules, in ``crosscheck``). ``GET /api/v1/rules`` and
``docs/rules.md`` are generated from here.

An entry also declares what its check reads beyond the file's canonical columns: the derived
columns (``derives``, each a named ``Derived`` expression that may need others; shared ones
such as ``ID_STATUS`` are defined once below), when it applies to a column of a file of a given
shape (``applies``) and what its finding shows as the value (``value``). ``filecheck`` and
``crosscheck`` compute exactly the derived columns the applicable rules declare and know no
rule by its code, so a new rule is one new entry here.

Message templates may use {column} (the header as written), {value} (masked) and the
rule's own arguments, named in ``args``. An amount in a message is an argument made from the
parsed amount with ``money`` (yuan with two places), never the cell's text; a word the system
writes in Chinese has its English in ``en_words``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from sitereg.validate import checks as ck
from sitereg.validate.columns import KIND_LABELS

Severity = Literal["error", "warning", "info"]
Rejects = Literal["never", "always", "if_required"]

DATE_COLUMNS = ("entry_date", "exit_date", "start_date", "end_date", "signed_date", "date", "paid_at", "birth_date")
MONEY_COLUMNS = ("amount", "wage_rate", "gross", "net")
c = pl.col


@dataclass(frozen=True)
class Env:
    """What a check may know besides the rows: the shape of the frame and the upload's context.

    File rules see the prepared rows of one sheet (``kind`` is the record kind); cross-file
    rules see one prepared frame of the project-period (``kind`` is its name: "workers",
    "payouts", "overlaps")."""

    kind: str
    names: frozenset[str]  # columns of the frame before any derived column is added
    period: str = "2000-01"
    today: dt.date = dt.date(2000, 1, 1)
    wide: bool = False  # attendance with one column per day (dates come from the period)
    project: str = ""  # the project a contractor's upload is for ("" where records name their own, bank batches)
    required: tuple[str, ...] = ()  # the kind's required columns, in template order
    age_limit_men: int = 60
    age_limit_women: int = 50
    overpaid_ratio: float = 1.5

    @property
    def start(self) -> dt.date:
        return dt.date(int(self.period[:4]), int(self.period[5:7]), 1)

    @property
    def end(self) -> dt.date:
        year, month = int(self.period[:4]), int(self.period[5:7])
        return dt.date(year, month, calendar.monthrange(year, month)[1])

    def col(self, name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
        """The column, or nulls where the file has no such column (optional columns)."""
        return c(name) if name in self.names else pl.lit(None, dtype)


@dataclass(frozen=True)
class Derived:
    """A helper column a check reads, computed only when a rule that needs it applies.

    ``expr`` builds it from the frame's columns and the other derived columns in ``needs``;
    with ``by_value`` it is computed once per distinct value of that column and joined back
    (IDs repeat on every day of attendance, a handful of employers' codes on every row)."""

    name: str
    expr: Callable[[Env], pl.Expr]
    needs: tuple[Derived, ...] = ()
    by_value: str | None = None


Check = Callable[[str, Env], pl.Expr]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    scope: str
    zh: str
    en: str
    kinds: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # "*required": the kind's required columns
    rejects: Rejects = "never"
    # File rules: (column, env) -> expression true where the row breaks the rule, over the
    # prepared frame plus the ``derives`` columns.
    check: Check | None = None
    args: Callable[[str, Env], dict[str, pl.Expr]] | None = None
    derives: tuple[Derived, ...] = ()
    # Whether the rule checks this column of a file of this shape (default: whenever the file has it).
    applies: Callable[[str, Env], bool] | None = None
    # What the finding shows as its value (default: the cell, masked as the column requires);
    # the expression's result is masked for digit runs all the same.
    value: Check | None = None
    # Cross-file / cross-project rules: which prepared frame ("workers", "payouts", "overlaps")
    # and the expression that is true where the worker or payout breaks the rule, with the
    # derived columns it reads over that frame (a rule may be both a file and a cross rule).
    over: str | None = None
    across: Callable[[], pl.Expr] | None = None
    across_args: Callable[[], dict[str, pl.Expr]] | None = None
    across_derives: tuple[Derived, ...] = ()
    title_zh: str = ""
    title_en: str = ""
    tags: tuple[str, ...] = field(default=())
    # English for the Chinese words the system itself puts in an argument (the gender the ID
    # gives, a kind's name, the values a column allows), by argument and word: lang=en messages
    # show these. The user's own headers, cells and names stay as written in every language.
    en_words: Mapping[str, Mapping[str, str]] = field(default_factory=dict, compare=False)

    def message(self, lang: str, **params: object) -> str:
        template = self.en if lang == "en" else self.zh
        return template.format_map(_Params(params))

    def targets(self, env: Env) -> list[str]:
        """The columns of this file the rule checks."""
        cols = env.required if self.columns == ("*required",) else self.columns
        return [col for col in cols if col in env.names and (self.applies is None or self.applies(col, env))]


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def closure(derived: Iterable[Derived]) -> list[Derived]:
    """The derived columns and everything they need, each once, needed ones first."""
    out: dict[str, Derived] = {}

    def visit(d: Derived) -> None:
        if d.name in out:
            return
        for n in d.needs:
            visit(n)
        out[d.name] = d

    for d in derived:
        visit(d)
    return list(out.values())


def derive(lf: pl.LazyFrame, derived: Iterable[Derived], env: Env) -> pl.LazyFrame:
    """``lf`` with the derived columns (and what they need) added, lazily; a column the frame
    already has is kept as it is."""
    # In levels (a column after what it needs): the columns of one level are one projection,
    # which Polars computes side by side.
    level: dict[str, int] = {}
    steps: dict[int, list[Derived]] = {}
    for d in closure(derived):
        if d.name in env.names:
            continue
        level[d.name] = 1 + max((level.get(n.name, 0) for n in d.needs), default=0)
        steps.setdefault(level[d.name], []).append(d)
    for n in sorted(steps):
        plain = []
        for d in steps[n]:
            if d.by_value is not None and d.by_value not in env.names:
                plain.append(pl.lit(None).alias(d.name))  # no such column in this file: nothing to check
            elif d.by_value is not None:
                key = d.by_value
                values = lf.select(c(key).unique()).with_columns(d.expr(env).alias(d.name))
                lf = lf.join(values, on=key, how="left", nulls_equal=True, maintain_order="left")
            else:
                plain.append(d.expr(env).alias(d.name))
        if plain:
            lf = lf.with_columns(plain)
    return lf


ALL_KINDS = ("roster", "contracts", "attendance", "payroll", "payments", "entry_exit")

# ---- shared derived columns -----------------------------------------------------------------
# 证件类型: GB 11643 applies to 居民身份证 (and where the column is absent) and to the 2023
# 外国人永久居留身份证 (18 characters beginning with 9, same checksum); other documents are
# checked for their own shape only.
_ID_TYPES = {"1": "card", "居民身份证": "card", "身份证": "card", "二代身份证": "card", "中华人民共和国居民身份证": "card",
             "外国人永久居留身份证": "foreign", "外国人永久居留证": "foreign", "永久居留身份证": "foreign"}


def _id(env: Env) -> pl.Expr:
    return env.col("id_number")


def _doc(env: Env) -> pl.Expr:
    # A blank 证件类型 (or none) is the default document, a 居民身份证 (the template's note says
    # so), unless the roster accepted this number as another document (``_roster_other``).
    typed = (pl.when(c("id_type").is_not_null())
             .then(c("id_type").str.replace(r"^0+", "").replace_strict(_ID_TYPES, default="other"))
             if "id_type" in env.names else pl.lit(None, pl.String))
    rostered = (pl.when(c("_roster_other")).then(pl.lit("other")).otherwise(pl.lit("card"))
                if "_roster_other" in env.names else pl.lit("card"))
    return pl.coalesce(typed, rostered)


def _id_status(env: Env) -> pl.Expr:
    if "id_number" not in env.names:
        return pl.lit(None, pl.String)
    id_ = c("id_number")
    other = pl.when(id_.str.contains(r"^[A-Z0-9]{5,20}$")).then(None).otherwise(pl.lit("ID_FORMAT"))
    foreign = (pl.when(~id_.str.contains(r"^9\d{16}[\dX]$")).then(pl.lit("ID_FORMAT"))
               .when(ck.id_check_char(id_) != id_.str.slice(17, 1)).then(pl.lit("ID_CHECKSUM")))
    return (pl.when(id_.is_null()).then(None).when(c("_num_id")).then(pl.lit("ID_EXCEL_PRECISION"))
            .when(c("_id_doc") == "other").then(other)
            .when(c("_id_doc") == "foreign").then(foreign)
            .otherwise(c("_id_text_status")))


def _card_cut(col: str, env: Env) -> pl.Expr:
    """A card number Excel stored as a number: 16-19 digits shown, only the first 15 the card's."""
    return env.col(f"_num_{col}", pl.Boolean).fill_null(False) & (c(col).str.len_chars() > 15)


# An ID repeats on every day of attendance: its text is checked once per distinct value.
ID_TEXT_STATUS = Derived("_id_text_status", lambda env: ck.id_status(c("id_number"), pl.lit(False), env.today),
                         by_value="id_number")
ID_DOC = Derived("_id_doc", _doc)
ID_STATUS = Derived("_id_status", _id_status, (ID_TEXT_STATUS, ID_DOC))  # the five ID rules' one code per cell
VALID_ID = Derived("_valid_id", lambda env: c("_id_status").is_null() & _id(env).is_not_null(), (ID_STATUS,))
ID_GENDER = Derived("_id_gender", lambda env: pl.when(c("_id_doc") != "other").then(ck.id_gender(_id(env))), (ID_DOC,))
FIRST_NAME = Derived("_first_name", lambda env: env.col("name").drop_nulls().first().over(_id(env)))
NAME_CONFLICT = Derived(
    "_name_conflict",
    lambda env: c("_valid_id") & env.col("name").is_not_null() & (env.col("name") != c("_first_name"))
    & pl.struct(_id(env), env.col("name")).is_first_distinct(),
    (VALID_ID, FIRST_NAME))


def _ymd(d: pl.Expr) -> pl.Expr:
    return d.dt.year().cast(pl.Int64) * 10000 + d.dt.month().cast(pl.Int64) * 100 + d.dt.day().cast(pl.Int64)


def _age_expr(env: Env) -> pl.Expr:
    # Age on the first day worked in the period: the entry date if later than the period's start.
    # The birth date is the ID's, or for another document (护照, 港澳通行证…) the 出生日期 column's.
    start = pl.lit(env.start)
    ref = pl.max_horizontal(c("_entry_date").fill_null(start), start) if "_entry_date" in env.names else start
    birth = pl.when(c("_id_doc") != "other").then(ck.id_birth_date(_id(env))).otherwise(env.col("_birth_date", pl.Date))
    return pl.when(c("_valid_id")).then((_ymd(ref) - _ymd(birth)) // 10000)


AGE = Derived("_age", _age_expr, (VALID_ID, ID_DOC))
AGE_LIMIT = Derived(
    "_age_limit",
    lambda env: pl.when(pl.coalesce(c("_id_gender"), env.col("_gender")) == "男").then(env.age_limit_men)
    .otherwise(env.age_limit_women),
    (ID_GENDER,))
# A roster names a handful of employers: each code is checked once.
CREDIT_OK = Derived("_credit_ok", lambda env: ck.credit_code_valid(c("employer_credit_code")), by_value="employer_credit_code")
DUP = Derived("_dup", lambda env: c("_valid_id") & ~_id(env).is_first_distinct(), (VALID_ID,))
FIRST_ROW = Derived("_first_row", lambda env: c("__row__").first().over(_id(env)))


def _bad_hours(env: Env) -> pl.Expr:
    # Gate punches have no hours cell to be wrong: their hours come from the punch times.
    raw = c("hours") if "hours" in env.names and "punch_time" not in env.names else pl.lit(None, pl.String)
    return raw.is_not_null() & (c("_hours").is_null() | ~c("_hours").is_between(0, 24))


BAD_HOURS = Derived("_bad_hours", _bad_hours)
DAYS_PRESENT = Derived(
    "_days_present",
    lambda env: c("_date").filter(c("_date").is_not_null() & ~c("_bad_hours") & ~c("_out_of_period"))
    .n_unique().over(_id(env)),
    (BAD_HOURS,))
NO_REST = Derived(
    "_no_rest",
    lambda env: c("_valid_id") & (c("_days_present") >= (env.end - env.start).days + 1) & _id(env).is_first_distinct(),
    (VALID_ID, DAYS_PRESENT))


def _unpaired(env: Env) -> pl.Expr:
    # A worker-day of gate punches in one direction only: its first punch carries the finding.
    if "_way" not in env.names:
        return pl.lit(False)  # not gate punches, or punches without a direction
    day = [_id(env), c("_date")]
    n_in, n_out = (c("_way") == "in").sum().over(day), (c("_way") == "out").sum().over(day)
    first = c("__rid__") == c("__rid__").min().over(day)
    # A day outside the period is not counted at all (DATE_OUT_OF_PERIOD): no "counted present" info.
    outside = c("_out_of_period").fill_null(False) if "_out_of_period" in env.names else pl.lit(False)
    return first & _id(env).is_not_null() & c("_date").is_not_null() & ~outside & ((n_in == 0) ^ (n_out == 0))


UNPAIRED = Derived("_unpaired", _unpaired)


def _txn(env: Env) -> pl.Expr:
    return env.col("bank_txn_id")


TXN_DUP = Derived("_txn_dup", lambda env: _txn(env).is_not_null() & ~_txn(env).is_first_distinct())
TXN_FIRST_ROW = Derived("_txn_first_row", lambda env: c("__row__").first().over(_txn(env)))
ARITH_BAD = Derived("_arith_bad", lambda env: c("_gross").is_not_null() & c("_net").is_not_null()
                    & (c("_gross") - c("_deductions").fill_null(0) != c("_net")))
DEDUCTION_HIGH = Derived("_deduction_high", lambda env: (c("_deductions") > c("_gross") * 0.2).fill_null(False))


def _exit_alone(env: Env) -> pl.Expr:
    first_entry = c("_date").filter(c("_direction") == "in").min().over(_id(env))
    return ((c("_direction") == "out") & c("_date").is_not_null()
            & (first_entry.is_null() | (first_entry > c("_date"))).fill_null(True))


EXIT_ALONE = Derived("_exit_alone", _exit_alone)

# Cross-file: over the "workers" frame (the pay deadline has passed) and the "payouts" frame
# (one payee account receiving several workers' wages).
OVERDUE = Derived("overdue", lambda env: c("_today") > c("deadline"))
OVERPAID_RATIO = Derived("_ratio", lambda env: pl.lit(env.overpaid_ratio))
PAYEE_WORKERS = Derived("payee_workers", lambda env: c("id_number").n_unique().over("payee_account"))
SHARED = Derived("shared", lambda env: c("payee_workers") > 1, (PAYEE_WORKERS,))


def _id_rule(code: str, title_zh: str, title_en: str, zh: str, en: str) -> Rule:
    return Rule(code, "error", "identity", zh, en, ALL_KINDS, ("id_number",), "always",
                check=lambda col, env, code=code: c("_id_status") == code, derives=(ID_STATUS,),
                title_zh=title_zh, title_en=title_en)


def _age(col: str, env: Env) -> dict[str, pl.Expr]:
    return {"age": c("_age")}


def _missing(col: str, env: Env) -> pl.Expr:
    gone = c(col).is_null()
    if col == "bank_card" and "ssc_number" in env.names:
        gone = gone & c("ssc_number").is_null()  # the social-security card is the payout account instead
    if col == "id_number" and "_unresolved" in env.names:
        gone = gone & ~c("_unresolved")  # a card or 人员编号 the roster cannot resolve is WORKER_UNRESOLVED
    return gone


ALLOWED = {
    "direction": "进场 / 退场（入场 / 出场）",
    "gender": "男 / 女",
    "wage_basis": "日薪 / 月薪 / 计件 (daily / monthly / piece)",
    "pay_day": "1-31",
    "channel": "银行卡 / 社保卡 (bank_card / ssc)",
    "period": "YYYY-MM，如 2026-10",
}
# The same in a lang=en message: the values stay those a cell may hold, the words around them English.
ALLOWED_EN = {
    "direction": "进场 / 退场 (entry / exit; also 入场 / 出场, in / out)",
    "gender": "男 / 女 (male / female; also M / F)",
    "period": "YYYY-MM, e.g. 2026-10",
}
# The gender an ID number gives (``checks.id_gender``), in a lang=en message.
GENDER_EN = {"男": "male", "女": "female"}


# An amount in a message: integer fen as yuan with two places ("3000.00"), as api.md shows amounts.
money = ck.fen_text_expr


def _unresolved_value(col: str, env: Env) -> pl.Expr:
    # What the clerk wrote to name the worker, so the row can be found: 人员编号 as written, the card masked.
    card = env.col("bank_card")
    return pl.concat_str([env.col("worker_no"), pl.when(card.is_not_null()).then(ck.mask_card(card)), env.col("name")],
                         separator=" ", ignore_nulls=True)


RULES: tuple[Rule, ...] = (
    # ---- file -------------------------------------------------------------------------
    Rule("FILE_UNREADABLE", "error", "file",
         "文件无法读取（{reason}）。请用 Excel 另存为 .xlsx 或 UTF-8 / GBK 编码的 .csv 后重新上传。",
         "The file cannot be read ({reason}). Save it from Excel as .xlsx, or as a UTF-8 or GBK .csv, and upload it again.",
         rejects="always", title_zh="文件无法读取", title_en="File unreadable"),
    Rule("FILE_EMPTY", "error", "file",
         "文件中没有数据行。请确认选择了正确的文件，数据填写在第一个工作表中。",
         "The file holds no data rows. Check that you chose the right file and that the data is on the first sheet.",
         rejects="always", title_zh="空文件", title_en="Empty file"),
    Rule("FILE_TOO_LARGE", "error", "file",
         "文件超出处理上限（{reason}）。请删除空白行列或拆分后分别上传。",
         "The file is over the processing limit ({reason}). Delete blank rows and columns or split it, then upload the parts.",
         rejects="always", title_zh="文件过大", title_en="File too large"),
    Rule("COLUMN_MISSING", "error", "file",
         "缺少必填列「{label}」（{name}）；文件中最接近的列是「{nearest}」，文件看起来像：{looks}。请按模板补上该列后重新上传；本文件所有行均未入库。",
         "Required column '{label}' ({name}) is missing; the closest header in the file is '{nearest}', and the file "
         "looks like: {looks}. Add the column as in the template and upload again; no row of this file was stored.",
         ALL_KINDS, rejects="always", title_zh="缺少必填列", title_en="Required column missing",
         en_words={"looks": {label: kind for kind, label in KIND_LABELS.items()}}),
    Rule("COLUMN_UNKNOWN", "warning", "file",
         "无法识别的列「{column}」，该列内容未入库。如是必填信息，请改用模板中的列名。",
         "Column '{column}' is not recognised and was not stored. If it holds required data, rename it as in the template.",
         ALL_KINDS, title_zh="未识别的列", title_en="Unknown column"),
    Rule("COLUMNS_NOT_STORED", "info", "file",
         "以下 {n} 列是实名制平台模板中的个人信息，本系统的检查用不到，已识别但未入库：{columns}。无需删除或改名。",
         "These {n} columns of the real-name platform's template hold personal data that no check needs; they were "
         "recognised and not stored: {columns}. No need to delete or rename them.",
         ALL_KINDS, title_zh="个人信息列未入库", title_en="Personal columns not stored"),
    Rule("VALUE_NORMALISED", "info", "file",
         "「{column}」列有 {n} 行含全角字符、空格、短横线、撇号或小写字母，已按半角大写统一后再检查（原件未改）。无需修改。",
         "{n} rows of column '{column}' had full-width characters, spaces, dashes, apostrophes or lower-case letters; "
         "they were normalised to plain ASCII before any check (the original is unchanged). Nothing to fix.",
         ALL_KINDS, title_zh="全角与空格已统一", title_en="Typed characters normalised"),
    Rule("FOOTER_ROWS_SKIPPED", "info", "file",
         "表格下方的 {n} 行合计、小计、说明或签字栏（第 {rows} 行）不是工人记录，已跳过。",
         "{n} totals, notes or signature lines under the table (rows {rows}) are not workers and were skipped.",
         ALL_KINDS, title_zh="合计与签字行已跳过", title_en="Totals and signature lines skipped"),
    Rule("NO_DAYS_PRESENT", "error", "file",
         "文件中 {n} 名工人没有任何一天记为出勤（单元格为空白、0、×、休 等缺勤标记），没有可保存的考勤记录，本文件未入库。"
         "请用 √ 或工时标出出勤的日子后重新上传；本月确实无人出勤的，无需上传考勤表。",
         "None of the {n} workers in the file has a day marked present (cells blank, 0, ×, 休 or other absence marks), so "
         "there is no attendance to store and nothing of this file was stored. Mark the days worked with √ or the hours "
         "and upload again; if nobody worked this month, no attendance file is needed.",
         ("attendance",), rejects="always", title_zh="没有出勤记录", title_en="No day present"),
    Rule("KIND_MISMATCH", "error", "file",
         "这个文件看起来是{looks}，不是所选的{kind}。请选择正确的类型（或选“自动识别”）后重新上传；本文件未入库。",
         "This file looks like {looks_en}, not {kind_en} as chosen. Choose the right kind (or leave it out to "
         "have it detected) and upload again; nothing of this file was stored.",
         ALL_KINDS, rejects="always", title_zh="文件类型不符", title_en="Kind mismatch"),
    # The file's month (its title, its day headers, every row outside the period) refuses the
    # file; a month column (工资所属期, 发放工资的月份) that differs refuses its row.
    Rule("PERIOD_MISMATCH", "error", "file",
         "{where} {month}，与上传的所属期 {period} 不符，{stored}。请选择正确的所属期，每月分别上传。",
         "{where} {month}, not the upload's period {period}; {stored}. Choose the right period and upload each month separately.",
         ALL_KINDS, ("period",), "always", check=lambda col, env: c("_period") != c("_upload_period"),
         args=lambda col, env: {"month": c("_period"), "period": c("_upload_period")},
         title_zh="所属期不符", title_en="Period mismatch"),
    Rule("PROJECT_MISMATCH", "error", "file",
         "「{column}」为 {value}，不是本次上传的项目 {project}；本行未入库。请把每个项目的记录上传到该项目下。",
         "'{column}' is {value}, not {project}, the project this file was uploaded to; the row was not stored. Upload "
         "each project's records to that project.",
         ("payments",), ("project",), "always",
         check=lambda col, env: c(col).is_not_null() & (c(col).str.to_uppercase() != pl.lit(env.project.upper())),
         args=lambda col, env: {"project": pl.lit(env.project)}, applies=lambda col, env: bool(env.project),
         title_zh="项目编码不符", title_en="Another project's record"),
    Rule("FORMULA_REMOVED", "info", "file",
         "原表中的 {n} 个公式在本报告中已替换为其计算结果，公式本身未保留，以免打开报告时运行文件中的公式或链接。改正时请在原表中操作。",
         "{n} formulas of your file were replaced by their calculated values in this report, so that no formula or link "
         "from the file runs when it is opened. Make your corrections in your own file.",
         title_zh="公式已替换为值", title_en="Formulas replaced by values"),
    # ---- identity -----------------------------------------------------------------------
    _id_rule("ID_EXCEL_PRECISION", "身份证号被 Excel 截断", "ID damaged by Excel",
             "「{column}」{value} 被 Excel 当作数字保存，后几位已丢失（只保留 15 位有效数字）。请把该列设置为“文本”格式后重新录入完整号码，或使用模板。",
             "'{column}' {value} was stored by Excel as a number and lost its last digits (Excel keeps 15). Format the column as Text and type the full ID again, or use the template."),
    _id_rule("ID_LEGACY_15", "15 位旧身份证号", "Legacy 15-digit ID",
             "「{column}」{value} 是 15 位旧号码，已停止使用。请填写该工人现行的 18 位身份证号码。",
             "'{column}' {value} is a legacy 15-digit ID, no longer valid. Enter the worker's current 18-digit ID."),
    _id_rule("ID_FORMAT", "身份证号格式错误", "ID format",
             "「{column}」{value} 不是 18 位身份证号码（17 位数字加一位校验码 0-9 或 X）。请核对证件后更正。",
             "'{column}' {value} is not an 18-character ID (17 digits and a check character 0-9 or X). Check the card and correct it."),
    _id_rule("ID_BIRTHDATE", "身份证出生日期无效", "ID birth date invalid",
             "「{column}」{value} 中的出生日期（第 7-14 位）不是有效日期。请核对证件后更正。",
             "The birth date in '{column}' {value} (digits 7-14) is not a real date. Check the card and correct it."),
    _id_rule("ID_CHECKSUM", "身份证校验码错误", "ID checksum",
             "「{column}」{value} 校验码不符，号码中有录入错误。请对照身份证逐位核对。",
             "'{column}' {value} fails the check character: a digit is mistyped. Compare it with the card digit by digit."),
    Rule("NAME_MISSING", "error", "identity",
         "「{column}」为空。请填写与身份证一致的姓名。",
         "'{column}' is empty. Enter the name as on the ID card.",
         ALL_KINDS, ("name",), "always", check=lambda col, env: c("name").is_null(),
         title_zh="姓名为空", title_en="Name missing"),
    Rule("NAME_ID_CONFLICT", "error", "identity",
         "身份证号 {worker} 对应了不同的姓名（「{value}」与「{other}」）。同一证件只能对应一人，请核对。",
         "ID {worker} appears under different names ('{value}' and '{other}'). One ID belongs to one person; check which is right.",
         ALL_KINDS, ("name",), check=lambda col, env: c("_name_conflict"),
         args=lambda col, env: {"other": c("_first_name")}, derives=(NAME_CONFLICT,), title_zh="同一身份证不同姓名", title_en="One ID, two names",
         over="workers",
         across=lambda: c("on_roster") & pl.any_horizontal(
             (c("a_name") != c("r_name")).fill_null(False), (c("p_name") != c("r_name")).fill_null(False)),
         across_args=lambda: {"value": c("r_name"),
                              "other": pl.when((c("a_name") != c("r_name")).fill_null(False)).then(c("a_name"))
                              .otherwise(c("p_name"))}),
    Rule("DUPLICATE_WORKER", "error", "identity",
         "身份证号 {value} 在花名册中重复出现，{first}已登记。请删除重复行；本行未入库。",
         "ID {value} is listed twice in the roster; {first} already has it. Delete the repeated row; this row was not stored.",
         ("roster",), ("id_number",), "always", check=lambda col, env: c("_dup"),
         args=lambda col, env: {"first_row": c("_first_row")}, derives=(DUP, FIRST_ROW), title_zh="花名册重复人员", title_en="Duplicate worker"),
    Rule("GENDER_MISMATCH", "warning", "identity",
         "「{column}」为「{value}」，但身份证号显示为{expected}。请核对。",
         "'{column}' says '{value}' but the ID number says {expected}. Check which is right.",
         ("roster",), ("gender",), check=lambda col, env: c("_valid_id") & c("_gender").is_not_null() & (c("_gender") != c("_id_gender")),
         args=lambda col, env: {"expected": c("_id_gender")}, derives=(VALID_ID, ID_GENDER), title_zh="性别与身份证不符", title_en="Gender differs from ID",
         en_words={"expected": GENDER_EN}),
    # ---- age ----------------------------------------------------------------------------
    Rule("AGE_UNDER_16", "error", "age",
         "工人 {worker} 在作业日仅 {age} 周岁，未满 16 周岁。禁止使用童工，请立即停止用工并核实。",
         "Worker {worker} is {age} on the work date, under 16. Child labour is illegal: stop the work and check at once.",
         ("roster",), ("id_number",), check=lambda col, env: c("_age") < 16, args=_age, derives=(AGE,),
         title_zh="未满 16 周岁", title_en="Under 16"),
    Rule("AGE_MINOR", "warning", "age",
         "工人 {worker} 在作业日 {age} 周岁，属未成年工，不得安排从事高处、井下等禁忌作业，需定期体检并登记。",
         "Worker {worker} is {age} on the work date, a minor worker: no work at height or underground, regular health checks, registration required.",
         ("roster",), ("id_number",), check=lambda col, env: c("_age").is_between(16, 17), args=_age, derives=(AGE,),
         title_zh="未成年工", title_en="Minor worker"),
    Rule("AGE_OVER_LIMIT", "warning", "age",
         "工人 {worker} 在作业日 {age} 周岁，超过本地区施工现场年龄上限 {limit} 周岁。请核实其健康状况与岗位。",
         "Worker {worker} is {age} on the work date, over this region's site age limit of {limit}. Check fitness and post.",
         ("roster",), ("id_number",), check=lambda col, env: c("_age") > c("_age_limit"),
         args=lambda col, env: {"age": c("_age"), "limit": c("_age_limit")}, derives=(AGE, AGE_LIMIT), title_zh="超龄", title_en="Over the age limit"),
    # ---- codes and contacts -------------------------------------------------------------
    Rule("CREDIT_CODE_INVALID", "error", "codes",
         "「{column}」{value} 不是有效的统一社会信用代码（18 位，校验位不符或含非法字符 I、O、S、V、Z）。请对照营业执照更正。",
         "'{column}' {value} is not a valid unified social credit code (18 characters, check failed or letters I, O, S, V, Z). Copy it from the business licence.",
         ("roster", "contracts"), ("employer_credit_code",),
         check=lambda col, env: c(col).is_not_null() & ~c("_credit_ok"), derives=(CREDIT_OK,),
         title_zh="统一社会信用代码无效", title_en="Credit code invalid"),
    Rule("BANK_CARD_FORMAT", "error", "codes",
         "「{column}」{value} 不是完整的 16-19 位数字银行卡号（或被 Excel 当作数字保存，只保留了前 15 位）。请把该列设为文本格式后填写完整卡号。",
         "'{column}' {value} is not a full 16-19 digit card number (or Excel stored it as a number and kept only its "
         "first 15 digits). Format the column as Text and enter the full number.",
         ("roster", "payments"), ("bank_card", "ssc_number", "payee_account"),
         check=lambda col, env: c(col).is_not_null() & (~ck.card_shape_valid(c(col)) | _card_cut(col, env)),
         title_zh="银行卡号格式错误", title_en="Bank card format"),
    Rule("BANK_CARD_LUHN", "warning", "codes",
         "「{column}」{value} 未通过银行卡校验（Luhn），可能有录入错误。请与工人核对卡号。",
         "'{column}' {value} fails the card check digit (Luhn): probably mistyped. Check the number with the worker.",
         ("roster", "payments"), ("bank_card", "payee_account"),
         check=lambda col, env: ck.card_shape_valid(c(col)) & ~ck.luhn_valid(c(col)) & ~_card_cut(col, env)
         & (pl.lit(True) if col == "bank_card" else (c("_channel") == "bank_card")),
         title_zh="银行卡校验位不符", title_en="Card check digit"),
    Rule("PHONE_FORMAT", "warning", "codes",
         "「{column}」{value} 不是 11 位手机号码。请更正，便于工资到账通知和维权联系。",
         "'{column}' {value} is not an 11-digit mobile number. Correct it so the worker can be reached.",
         ("roster",), ("phone",), check=lambda col, env: c(col).is_not_null() & ~ck.phone_valid(c(col)),
         title_zh="手机号码格式错误", title_en="Phone format"),
    Rule("JOB_TYPE_UNKNOWN", "warning", "codes",
         "「{column}」「{value}」不是全国建筑工人管理服务信息平台的工种代码或名称。请从模板下拉列表中选择。",
         "'{column}' '{value}' is not a work-type code or name of the national platform. Pick one from the template's list.",
         ("roster",), ("job_type",), check=lambda col, env: c(col).is_not_null() & c("_job").is_null(),
         title_zh="工种无法识别", title_en="Unknown job type"),
    # ---- dates and values ----------------------------------------------------------------
    Rule("VALUE_MISSING", "error", "values",
         "必填项「{column}」为空。请补填后重新上传{rejected}。",
         "Required '{column}' is empty. Fill it in and upload again{rejected}.",
         ALL_KINDS, ("*required",), "if_required", check=_missing,
         # a name is NAME_MISSING's; wide attendance has no date cell (the day columns are the dates)
         applies=lambda col, env: col != "name" and not (env.wide and col == "date"),
         title_zh="必填项为空", title_en="Required value missing"),
    Rule("VALUE_INVALID", "error", "values",
         "「{column}」的值「{value}」无法识别，可填：{allowed}。",
         "'{column}' value '{value}' is not understood; allowed: {allowed}.",
         ("roster", "contracts", "payroll", "payments", "entry_exit"),
         ("gender", "wage_basis", "pay_day", "channel", "period", "direction"), "if_required",
         check=lambda col, env: c(col).is_not_null() & c(f"_{col}").is_null(),
         args=lambda col, env: {"allowed": pl.lit(ALLOWED[col])}, title_zh="取值无法识别", title_en="Value not understood",
         en_words={"allowed": {ALLOWED[col]: ALLOWED_EN.get(col, ALLOWED[col]) for col in ALLOWED}}),
    Rule("DATE_INVALID", "error", "values",
         "「{column}」「{value}」不是有效日期。请填写如 2026-10-08 的日期。",
         "'{column}' '{value}' is not a real date. Write dates like 2026-10-08.",
         ALL_KINDS, DATE_COLUMNS, "if_required", check=lambda col, env: c(col).is_not_null() & c(f"_{col}").is_null(),
         applies=lambda col, env: not (env.wide and col == "date"),  # built from the day column, never mistyped
         title_zh="日期无效", title_en="Invalid date"),
    Rule("DATE_IN_FUTURE", "error", "values",
         "「{column}」{value} 晚于今天。请核对日期。",
         "'{column}' {value} is later than today. Check the date.",
         ALL_KINDS, ("entry_date", "signed_date", "date", "paid_at"),
         check=lambda col, env: c(f"_{col}") > pl.lit(env.today), title_zh="日期在未来", title_en="Date in the future"),
    Rule("DATE_RANGE", "error", "values",
         "「{column}」{value} 早于开始日期 {start}。请核对起止日期。",
         "'{column}' {value} is before the start date {start}. Check both dates.",
         ("roster", "contracts"), ("exit_date", "end_date"),
         check=lambda col, env: c(f"_{col}") < c("_entry_date" if col == "exit_date" else "_start_date"),
         args=lambda col, env: {"start": c("_entry_date" if col == "exit_date" else "_start_date").cast(pl.String)},
         # An exit date without an entry column (template 03 keeps entries in the 进退场 log) has nothing to precede.
         applies=lambda col, env: ("_entry_date" if col == "exit_date" else "_start_date") in env.names,
         title_zh="起止日期颠倒", title_en="Dates reversed"),
    Rule("DATE_OUT_OF_PERIOD", "error", "values",
         "「{column}」{value} 不在所属期 {period} 内（或该月没有这一天），未计入。请按月分别上传。",
         "'{column}' {value} is outside the period {period} (or the month has no such day) and was not counted. "
         "Upload each month separately.",
         ("attendance", "payroll", "payments"), ("date",), "always",
         check=lambda col, env: c("_out_of_period"),
         args=lambda col, env: {"period": c("_upload_period")}, title_zh="不在所属期内", title_en="Outside the period"),
    Rule("HOURS_INVALID", "error", "values",
         "「{column}」「{value}」不是 0-24 之间的工时或可识别的出勤标记（√ 出勤、休 缺 × 为缺勤）。本日未计入。",
         "'{column}' '{value}' is neither hours within 0-24 nor an attendance mark (√ present; 休, 缺, × absent). The day was not counted.",
         ("attendance",), ("hours",), "always", check=lambda col, env: c("_bad_hours"), derives=(BAD_HOURS,),
         title_zh="工时无效", title_en="Invalid hours"),
    Rule("NO_REST_DAY", "warning", "values",
         "工人 {worker} 在 {period} 每天出勤（{days} 天），没有休息日。请核实考勤或安排每周至少休息一日。",
         "Worker {worker} was present every day of {period} ({days} days) with no rest day. Check the record or give a weekly rest day.",
         ("attendance",), ("id_number",), check=lambda col, env: c("_no_rest"), derives=(NO_REST,),
         args=lambda col, env: {"days": c("_days_present"), "period": c("_upload_period")},
         title_zh="无休息日", title_en="No rest day"),
    Rule("AMOUNT_INVALID", "error", "values",
         "「{column}」「{value}」不是大于 0、最多两位小数的金额。请填写如 8650.00 的金额。",
         "'{column}' '{value}' is not an amount above 0 with at most two decimals. Write amounts like 8650.00.",
         ("contracts", "payroll", "payments"), MONEY_COLUMNS, "always",
         check=lambda col, env: c(col).is_not_null() & (c(f"_{col}").is_null() | (c(f"_{col}") <= 0)),
         title_zh="金额无效", title_en="Invalid amount"),
    Rule("WORKER_UNRESOLVED", "error", "identity",
         "本行（{value}）没有身份证号，按工资卡号或人员编号在花名册中找不到唯一对应的工人；本行未入库。请填写身份证号，或先在花名册中登记该工人的工资卡号 / 人员编号。",
         "This row ({value}) has no ID number, and its bank card or worker number matches no single worker on the "
         "roster; it was not stored. Fill in the ID, or register the worker's card or number on the roster first.",
         ("attendance", "payroll", "entry_exit"), ("id_number",), "always", check=lambda col, env: c("_unresolved"),
         value=_unresolved_value, applies=lambda col, env: "_unresolved" in env.names,
         title_zh="无法确定工人", title_en="Worker not resolved"),
    # Amounts in a message are the parsed amounts (integer fen) as yuan with two places, never
    # the cell's text: a cell typed as a number reads 3000 (or 3000.0), one typed as text ¥3,000.
    Rule("PAYROLL_ARITHMETIC", "warning", "values",
         "应发 {gross} 元 − 扣款 {deductions} 元 ≠ 实发 {net} 元。请核对工资表的计算。",
         "Gross {gross} − deductions {deductions} ≠ net {net}. Check the payroll's arithmetic.",
         ("payroll",), ("net",), check=lambda col, env: c("_arith_bad"), derives=(ARITH_BAD,),
         args=lambda col, env: {"gross": money(c("_gross")), "deductions": money(c("_deductions").fill_null(0)),
                                "net": money(c("_net"))},
         title_zh="工资表计算不符", title_en="Payroll arithmetic"),
    Rule("DEDUCTION_HIGH", "warning", "values",
         "扣款 {deductions} 元超过应发 {gross} 元的 20%。请核实扣款依据（借支、罚款须有书面依据）。",
         "Deductions of {deductions} exceed 20 % of the gross {gross}. Check what they are for.",
         ("payroll",), ("deductions",), check=lambda col, env: c("_deduction_high"), derives=(DEDUCTION_HIGH,),
         args=lambda col, env: {"gross": money(c("_gross")), "deductions": money(c("_deductions"))},
         title_zh="扣款过高", title_en="High deductions"),
    Rule("EXIT_WITHOUT_ENTRY", "warning", "values",
         "工人 {worker} 的退场记录（{value}）之前没有进场记录。请补充进场记录。",
         "Worker {worker} has an exit record ({value}) with no earlier entry. Add the entry record.",
         ("entry_exit",), ("date",), check=lambda col, env: c("_exit_alone"), derives=(EXIT_ALONE,),
         title_zh="退场无进场", title_en="Exit without entry"),
    Rule("PUNCH_UNPAIRED", "info", "values",
         "工人 {worker} 在 {value} 只有进场或只有出场刷卡，按出勤计，工时无法计算。",
         "Worker {worker} has only entry or only exit punches on {value}; counted present, hours unknown.",
         ("attendance",), ("date",), check=lambda col, env: c("_unpaired"), derives=(UNPAIRED,),
         applies=lambda col, env: {"punch_time", "direction"} <= env.names,  # gate punches with a direction
         title_zh="刷卡不成对", title_en="Unpaired punches"),
    Rule("CLOCK_ANOMALY", "warning", "values",
         "「{column}」为「{value}」（打卡异常），按出勤计，工时未计。请核实当天考勤。",
         "'{column}' holds '{value}' (a clock anomaly); counted present, no hours. Check the day.",
         ("attendance",), ("hours", "clock_in", "clock_out"),
         check=lambda col, env: c("_anomaly") & (c(col).is_null() if col != "hours" else pl.lit(True)),
         # A day cell of a wide sheet (异常, or one clock time only), or the missing time of clock columns.
         applies=lambda col, env: env.wide if col == "hours" else "_anomaly" in env.names,
         value=lambda col, env: (c("_mark") if col == "hours" else pl.concat_str(
             [env.col("clock_in").fill_null("?"), env.col("clock_out").fill_null("?")], separator="-")),
         title_zh="打卡异常", title_en="Clock anomaly"),
    Rule("PROJECT_UNKNOWN", "error", "bank",
         "项目编码「{value}」未登记，或付款账户不是该项目登记的农民工工资专用账户。请核对项目编码与付款账户；本条记录未入库。",
         "Project code '{value}' is not registered, or the payer account is not its registered dedicated wage account. "
         "Check the code and the account; this record was not stored.",
         ("payments",), ("project",), "always", title_zh="项目未登记", title_en="Unknown project"),
    Rule("PAYMENT_FAILED", "info", "values",
         "「{column}」为「{value}」：这笔转账未成功，不是一笔发放，不计为已发放；本行未入库。",
         "'{column}' is '{value}': the transfer did not go through, so it is no payout and does not count as paid; "
         "this row was not stored.",
         ("payments",), ("status",), "always", check=lambda col, env: c("_failed"),
         title_zh="交易未成功", title_en="Transfer failed"),
    Rule("TXN_CONFLICT", "error", "values",
         "银行流水号「{value}」重复，首次出现于：{first}。同一流水号只能对应一笔发放；本行未入库。",
         "Bank transaction id '{value}' repeats; first seen at: {first}. One id is one payout; this row was not stored.",
         ("payments",), ("bank_txn_id",), "always", check=lambda col, env: c("_txn_dup"),
         args=lambda col, env: {"first_row": c("_txn_first_row")}, derives=(TXN_DUP, TXN_FIRST_ROW),
         title_zh="银行流水号重复", title_en="Transaction id conflict"),
)


def _date(name: str) -> pl.Expr:
    return c(name).cast(pl.String)


CROSS_RULES: tuple[Rule, ...] = (
    Rule("NOT_ON_ROSTER", "error", "cross_file",
         "工人 {worker}（{name}）本月有 {days} 天考勤，但不在花名册中（未实名登记）。请先将其登记入花名册并上传。",
         "Worker {worker} ({name}) has {days} days of attendance but is not on the roster (not registered). Add the worker to the roster and upload it.",
         ("attendance",), over="workers", across=lambda: (c("days") > 0) & ~c("on_roster"),
         across_args=lambda: {"days": c("days")}, title_zh="未实名登记", title_en="Not on the roster"),
    Rule("OUTSIDE_SITE_DATES", "warning", "cross_file",
         "工人 {worker}（{name}）有 {days} 天考勤在进场日期 {entry} 之前或退场日期 {exit} 之后（首次 {first}）。请核对进退场日期或考勤。",
         "Worker {worker} ({name}) has {days} days of attendance before entry ({entry}) or after exit ({exit}), first on {first}. Check the site dates or the attendance.",
         ("attendance",), over="workers", across=lambda: c("on_roster") & (c("outside_days") > 0),
         across_args=lambda: {"days": c("outside_days"), "first": _date("first_outside"),
                              "entry": _date("entry_date").fill_null("-"), "exit": _date("exit_date").fill_null("-")},
         title_zh="进退场日期外出勤", title_en="Attendance outside site dates"),
    Rule("NO_CONTRACT", "error", "cross_file",
         "工人 {worker}（{name}）有 {days} 天出勤没有劳动合同覆盖（首次 {first}）。请补签劳动合同并上传合同台账。",
         "Worker {worker} ({name}) worked {days} days not covered by a labour contract (first on {first}). Sign a contract and upload the contract list.",
         ("attendance",), over="workers", across=lambda: (c("days") > 0) & (c("uncovered_days") > 0),
         across_args=lambda: {"days": c("uncovered_days"), "first": _date("first_uncovered")},
         title_zh="未签劳动合同", title_en="No contract"),
    Rule("NOT_PAID", "error", "cross_file",
         "工人 {worker}（{name}）本月出勤 {days} 天，发放期限 {deadline} 已过仍无工资发放记录（欠薪）。请立即通过专用账户发放。",
         "Worker {worker} ({name}) worked {days} days and has no wage payment although the deadline {deadline} has passed (wage arrears). Pay through the dedicated account now.",
         ("payments",), over="workers", across=lambda: (c("days") > 0) & (c("paid_count") == 0) & c("overdue"), across_derives=(OVERDUE,),
         across_args=lambda: {"days": c("days"), "deadline": _date("deadline")},
         title_zh="欠薪", title_en="Not paid"),
    Rule("PAYMENT_PENDING", "info", "cross_file",
         "工人 {worker}（{name}）本月出勤 {days} 天，尚无发放记录；发放期限为 {deadline}。",
         "Worker {worker} ({name}) worked {days} days and has not been paid yet; the deadline is {deadline}.",
         ("payments",), over="workers", across=lambda: (c("days") > 0) & (c("paid_count") == 0) & ~c("overdue"), across_derives=(OVERDUE,),
         across_args=lambda: {"days": c("days"), "deadline": _date("deadline")},
         title_zh="待发放", title_en="Payment pending"),
    Rule("UNDERPAID", "error", "cross_file",
         "工人 {worker}（{name}）应发 {expected} 元（按合同工资标准与出勤 {days} 天计算），实际发放到本人账户 {paid} 元，未足额发放。请补发差额。",
         "Worker {worker} ({name}) should receive {expected} yuan (contract rate × {days} days) but {paid} yuan reached their own account. Pay the difference.",
         ("payments",), over="workers",
         across=lambda: (c("days") > 0) & c("has_expected") & (c("paid_count") > 0) & (c("paid_own_fen") < c("expected_fen")),
         across_args=lambda: {"expected": money(c("expected_fen")), "paid": money(c("paid_own_fen")), "days": c("days")},
         title_zh="未足额发放", title_en="Underpaid"),
    Rule("OVERPAID", "warning", "cross_file",
         "工人 {worker}（{name}）实发 {paid} 元，超过按出勤 {days} 天计算的应发 {expected} 元的 {ratio} 倍。请核实是否虚报或代领。",
         "Worker {worker} ({name}) was paid {paid} yuan, over {ratio} × the {expected} yuan expected for {days} days. Check for padding or collection by someone else.",
         ("payments",), over="workers",
         across=lambda: c("has_expected") & (c("expected_fen") > 0) & (c("paid_own_fen") > c("expected_fen") * c("_ratio")),
         across_derives=(OVERPAID_RATIO,),
         across_args=lambda: {"expected": money(c("expected_fen")), "paid": money(c("paid_own_fen")), "days": c("days"),
                              "ratio": c("_ratio")},
         title_zh="发放金额异常偏高", title_en="Paid far above expected"),
    Rule("PAID_LATE", "warning", "cross_file",
         "工人 {worker}（{name}）的工资于 {paid_at} 发放，晚于约定的发放期限 {deadline}。",
         "Worker {worker} ({name}) was paid on {paid_at}, after the deadline {deadline}.",
         ("payments",), over="payouts", across=lambda: c("late").fill_null(False),
         across_args=lambda: {"paid_at": _date("paid_at"), "deadline": _date("deadline")},
         title_zh="逾期发放", title_en="Paid late"),
    Rule("NOT_DEDICATED_ACCOUNT", "error", "cross_file",
         "付款账号 {value} 不是本项目登记的农民工工资专用账户，工资未通过专户代发。请改由专用账户发放。",
         "Payer account {value} is not the project's dedicated wage account. Pay wages from the dedicated account.",
         ("payments",), ("payer_account",), over="payouts", across=lambda: ~c("dedicated"),
         across_args=lambda: {"value": ck.mask_card(c("payer_account"))},
         title_zh="未通过专用账户", title_en="Not from the dedicated account"),
    Rule("PAYEE_NOT_WORKER", "error", "cross_file",
         "工人 {worker}（{name}）的工资付入账户 {value}（收款人「{payee}」），不是花名册登记的本人工资卡或社保卡。工资须直接发到本人账户，不得由他人代领。",
         "Wages of worker {worker} ({name}) went to account {value} (payee '{payee}'), not the worker's own card or social-security card on the roster. Pay the worker directly.",
         ("payments",), ("payee_account",), over="payouts", across=lambda: c("on_roster") & ~c("own"),
         across_args=lambda: {"value": ck.mask_card(c("payee_account")), "payee": c("payee_name")},
         title_zh="代领工资", title_en="Paid to someone else"),
    Rule("PAID_NOT_ON_ROSTER", "error", "cross_file",
         "向 {worker}（{name}）发放了工资，但此人不在花名册中。请核实是否为本项目工人并补登记。",
         "Wages were paid to {worker} ({name}), who is not on the roster. Check that this is a worker of the project and register them.",
         ("payments",), over="payouts", across=lambda: ~c("on_roster"),
         title_zh="发放对象未登记", title_en="Paid someone not on the roster"),
    Rule("PAID_WITHOUT_ATTENDANCE", "warning", "cross_file",
         "工人 {worker}（{name}）本月没有考勤却领取了工资 {paid} 元，可能虚报冒领。请核实。",
         "Worker {worker} ({name}) was paid {paid} yuan with no attendance this month: a possible ghost worker. Check.",
         ("payments",), over="workers", across=lambda: c("on_roster") & (c("paid_count") > 0) & (c("days") == 0),
         across_args=lambda: {"paid": money(c("paid_fen"))},
         title_zh="无考勤发放", title_en="Paid without attendance"),
    Rule("PAYEE_SHARED", "error", "cross_file",
         "收款账户 {value} 收取了 {n} 名工人的工资（疑似由班组长等统一代领）。工资须发到每名工人本人账户。",
         "Account {value} received the wages of {n} workers (likely a card held by a foreman). Pay each worker into their own account.",
         ("payments",), ("payee_account",), over="payouts", across=lambda: c("shared"), across_derives=(SHARED,),
         across_args=lambda: {"value": ck.mask_card(c("payee_account")), "n": c("payee_workers")},
         title_zh="多人工资进同一账户", title_en="One account, several workers"),
    Rule("PAYROLL_BELOW_EXPECTED", "error", "cross_file",
         "工人 {worker}（{name}）工资表应发 {gross} 元，低于按合同工资标准与出勤 {days} 天计算的 {expected} 元。请按合同核算工资。",
         "Worker {worker} ({name}) has a gross of {gross} yuan on the payroll, below the {expected} yuan the contract rate gives for {days} days. Pay as the contract says.",
         ("payroll",), over="workers",
         across=lambda: c("on_payroll") & c("has_expected") & (c("days") > 0) & c("payroll_has_gross")
         & (c("payroll_gross_fen") < c("expected_fen")),
         across_args=lambda: {"gross": money(c("payroll_gross_fen")), "expected": money(c("expected_fen")), "days": c("days")},
         title_zh="工资表应发低于合同", title_en="Payroll below expected"),
    Rule("PAYROLL_DAYS_DIFFER", "warning", "cross_file",
         "工人 {worker}（{name}）工资表出勤 {payroll_days} 天，考勤表记录 {days} 天。请核对考勤与工资表。",
         "Worker {worker} ({name}) has {payroll_days} days on the payroll but {days} days of attendance. Check both.",
         ("payroll",), over="workers",
         across=lambda: c("on_payroll") & c("attendance_table") & c("payroll_days").is_not_null()
         & (c("payroll_days") != c("days")),
         across_args=lambda: {"payroll_days": c("payroll_days").round(1).cast(pl.String).str.replace(r"\.0$", ""),
                              "days": c("days")},
         title_zh="工资表天数与考勤不符", title_en="Payroll days differ"),
    Rule("NOT_ON_PAYROLL", "warning", "cross_file",
         "工人 {worker}（{name}）本月出勤 {days} 天，但不在本月工资表中。请补列入工资表。",
         "Worker {worker} ({name}) worked {days} days this month but is not on the month's payroll. Add the worker to it.",
         ("payroll",), over="workers", across=lambda: c("payroll_table") & (c("days") > 0) & ~c("on_payroll"),
         across_args=lambda: {"days": c("days")}, title_zh="有考勤未列入工资表", title_en="Not on the payroll"),
    Rule("PAID_BELOW_PAYROLL", "error", "cross_file",
         "工人 {worker}（{name}）工资表实发 {net} 元，发放期限 {deadline} 已过，实际发到本人账户 {paid} 元。请补发差额。",
         "Worker {worker} ({name}) is owed {net} yuan net on the payroll; the deadline {deadline} has passed and {paid} yuan reached their own account. Pay the difference.",
         ("payroll",), over="workers",
         across=lambda: c("on_payroll") & c("overdue") & (c("paid_own_fen") < c("payroll_net_fen"))
         & ~((c("days") > 0) & (c("paid_count") == 0)), across_derives=(OVERDUE,),
         across_args=lambda: {"net": money(c("payroll_net_fen")), "paid": money(c("paid_own_fen")),
                              "deadline": _date("deadline")},
         title_zh="实发低于工资表", title_en="Paid below the payroll"),
    Rule("ATTENDANCE_OVERLAP", "warning", "cross_project",
         "工人 {worker}（{name}）有 {days} 天同时在本项目和项目 {other} 出勤（首次 {date}）。请核实考勤真实性。",
         "Worker {worker} ({name}) is recorded present on {days} days both here and on project {other} (first on {date}). "
         "Check the attendance.",
         ("attendance",), over="overlaps", across=lambda: c("what") == "attendance",
         across_args=lambda: {"date": _date("date"), "other": c("other"), "days": c("days").fill_null(1)},
         title_zh="跨项目考勤重叠", title_en="Present on two projects"),
    Rule("PAID_TWICE", "warning", "cross_project",
         "工人 {worker}（{name}）{period} 的工资同时由本项目和项目 {other} 发放。请核实是否重复发放或虚报。",
         "Worker {worker} ({name}) was paid for {period} by this project and by project {other}. Check for double payment.",
         ("payments",), over="overlaps", across=lambda: c("what") == "payments",
         across_args=lambda: {"period": c("period"), "other": c("other")},
         title_zh="跨项目重复发放", title_en="Paid by two projects"),
)


RULES = RULES + CROSS_RULES
# Readers explain FILE_* failures in English; these are the Chinese words for the known ones.
REASONS_ZH = {
    "no data in file": "文件没有内容",
    "no non-blank row": "没有非空行",
    "no sheet has a non-blank row": "所有工作表都是空的",
    "out of memory": "读取时内存不足",
    "more than 16384 columns": "超过 16,384 列（Excel 的最后一列），请检查文件是否为导出的表格",
    "more than": "行数超过上限",
    "workbook XML expands": "解压后超过大小上限",
    "sheet has cells beyond": "工作表的单元格超出 Excel 的最后一行或最后一列",
    "sheet dimension": "工作表范围超出处理上限",
    "sheet reaches": "工作表超出处理上限",
    "sheet spans": "工作表单元格数超出处理上限",
    "sheet XML declares": "工作表含有不允许的 DTD 声明",
    "workbook.xml": "工作簿目录无法读取",
    "zip archive without": "压缩包里没有 Excel 工作簿",
    "HTML page": "这是保存成表格后缀的网页，不是 Excel 文件",
    "UTF-16": "UTF-16 编码的文本，请另存为 UTF-8 或 GBK 编码的 CSV",
    "XML Spreadsheet 2003": "Excel 2003 XML 格式，请另存为 .xlsx",
    "binary data": "不是 Excel 工作簿，也不是文本文件",
    "PDF document": "这是 PDF 文档，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "PNG image": "这是图片，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "JPEG image": "这是图片，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "GIF image": "这是图片，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "BMP image": "这是图片，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "RTF document": "这是 Word/RTF 文档，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "Word document": "这是 Word 文档，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "PowerPoint": "这是 PowerPoint 文档，不是表格；请上传 Excel（.xlsx）或 CSV 文件",
    "encrypted workbook": "工作簿设置了密码，请去掉密码后另存为 .xlsx",
    "legacy .xls": "旧版 .xls 或加密的工作簿，请另存为 .xlsx",
    "macro-enabled": "启用宏的工作簿（.xlsm），请另存为普通 .xlsx",
    "encrypted zip": "压缩包设置了密码",
    "binary .xlsb": "二进制工作簿（.xlsb），请另存为 .xlsx",
    "OpenDocument": "OpenDocument 表格（.ods），请另存为 .xlsx",
    "broken zip": "文件已损坏（压缩包结构异常）",
    "not a zip/xlsx": "既不是 Excel 工作簿，也不是 UTF-8 / GBK 文本",
    "workbook not readable": "工作簿已损坏或格式不受支持",
    "sheet ": "工作表无法读取",
    "malformed csv": "CSV 格式错误（引号不配对等）",
    "sheet expands": "解压后超过大小上限",
    "zip": "压缩包结构异常",
}


def reason_zh(reason: str) -> str:
    """The reader's English reason in Chinese words (the English stays in lang=en messages)."""
    limit = re.search(r"more than (\d+) rows", reason)
    if limit:
        return f"行数超过上限 {int(limit.group(1)):,} 行"
    # The reason's own beginning first: "legacy .xls or encrypted workbook" is a legacy .xls,
    # "zip archive without xl/workbook.xml" has no workbook; then a known phrase inside it.
    for prefix, zh in REASONS_ZH.items():
        if reason.startswith(prefix):
            return zh
    for prefix, zh in REASONS_ZH.items():
        if len(prefix) > 6 and prefix in reason:
            return zh
    return "文件格式无法识别"


BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}


def get(code: str) -> Rule:
    return BY_CODE[code]
