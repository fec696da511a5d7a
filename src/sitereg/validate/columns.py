"""Canonical columns of each record kind and the headers real files use for them."""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("roster", "contracts", "attendance", "payments")


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # Chinese header of the template
    aliases: tuple[str, ...]
    required: bool = False
    note: str = ""  # shown in the template's notes row
    sensitive: str | None = None  # "id" | "card" | "phone": masked wherever shown


ID = Column("id_number", "身份证号码", ("身份证号码", "身份证号", "证件号码", "身份证", "公民身份号码", "证件号", "id", "idnumber", "idno", "idcard"), True,
            "18 位居民身份证号码，单元格请设为文本", "id")
NAME = Column("name", "姓名", ("姓名", "名字", "工人姓名", "name", "workername"), True, "与身份证一致")
CREDIT = Column("employer_credit_code", "用工单位统一社会信用代码",
                ("用工单位统一社会信用代码", "所属单位信用代码", "用工单位信用代码", "统一社会信用代码", "所属单位统一社会信用代码",
                 "employercreditcode", "creditcode"), True, "18 位统一社会信用代码")

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "roster": (
        ID,
        NAME,
        Column("gender", "性别", ("性别", "gender", "sex"), note="男 / 女"),
        Column("phone", "手机号码", ("手机号码", "联系电话", "手机号", "电话", "联系方式", "phone", "mobile"), note="11 位手机号", sensitive="phone"),
        CREDIT,
        Column("employer_name", "用工单位", ("用工单位", "所属单位", "分包单位", "单位名称", "employername", "employer")),
        Column("team", "班组", ("班组", "班组名称", "team")),
        Column("job_type", "工种", ("工种", "工种名称", "工种代码", "jobtype", "worktype"), True, "codes.md 工种代码或名称"),
        Column("entry_date", "进场日期", ("进场日期", "进场时间", "entrydate"), True, "如 2026-10-08"),
        Column("exit_date", "退场日期", ("退场日期", "退场时间", "exitdate"), note="未退场留空"),
        Column("bank_card", "工资卡号", ("工资卡号", "银行卡号", "工资卡账号", "银行账号", "bankcard", "bankcardno"),
               note="16-19 位，单元格请设为文本；有社保卡金融账号可不填", sensitive="card"),
        Column("bank_name", "开户银行", ("开户银行", "开户行", "银行名称", "bankname")),
        Column("ssc_number", "社保卡金融账号", ("社保卡金融账号", "社保卡号", "社保卡账号", "sscnumber", "ssc"),
               note="社会保障卡金融账户账号", sensitive="card"),
    ),
    "contracts": (
        ID,
        NAME,
        Column("contract_no", "合同编号", ("合同编号", "合同号", "contractno", "contractnumber"), True),
        CREDIT,
        Column("start_date", "合同开始日期", ("合同开始日期", "合同起始日期", "开始日期", "startdate"), True),
        Column("end_date", "合同结束日期", ("合同结束日期", "合同终止日期", "结束日期", "enddate"), note="以完成一定工作任务为期限的留空"),
        Column("wage_basis", "计薪方式", ("计薪方式", "工资计算方式", "计酬方式", "wagebasis"), True, "日薪 / 月薪 / 计件"),
        Column("wage_rate", "工资标准", ("工资标准", "日工资", "月工资", "工资单价", "wagerate"), False, "元/天 或 元/月；计件可空"),
        Column("pay_day", "工资发放日", ("工资发放日", "发薪日", "约定发放日", "payday"), True, "次月几号发放，1-31"),
        Column("signed_date", "签订日期", ("签订日期", "签订时间", "signeddate")),
    ),
    "attendance": (
        ID,
        NAME,
        Column("date", "日期", ("日期", "考勤日期", "出勤日期", "date", "workdate"), True, "长表：每人每天一行"),
        Column("hours", "工时", ("工时", "出勤工时", "工作时长", "小时数", "hours")),
    ),
    "payments": (
        NAME,
        ID,
        Column("period", "工资所属期", ("工资所属期", "所属期", "工资月份", "所属月份", "period"), True, "YYYY-MM"),
        Column("amount", "实发金额", ("实发金额", "实发工资", "发放金额", "金额", "amount"), True, "元，两位小数"),
        Column("paid_at", "发放日期", ("发放日期", "支付日期", "交易日期", "paidat", "paiddate"), True),
        Column("payer_account", "付款账号", ("付款账号", "付款账户", "专户账号", "payeraccount"), True, sensitive="card"),
        Column("payee_account", "收款账号", ("收款账号", "收款账户", "收款卡号", "payeeaccount"), True, sensitive="card"),
        Column("payee_name", "收款人", ("收款人", "收款人姓名", "收款户名", "payeename"), True),
        Column("channel", "发放渠道", ("发放渠道", "发放方式", "渠道", "channel"), True, "银行卡 / 社保卡"),
        Column("bank_txn_id", "银行流水号", ("银行流水号", "流水号", "交易流水号", "banktxnid", "txnid"), True),
        # Bank exports name the project on each line; a contractor's sheet belongs to the
        # project it is uploaded to, so the column is read but not stored.
        Column("project", "项目编码", ("项目编码", "项目代码", "项目编号", "project", "projectcode")),
    ),
}

# Columns real sheets carry that hold nothing to keep: quietly ignored rather than reported.
IGNORED = frozenset({"序号", "编号", "no", "出勤天数", "合计天数", "合计", "出勤合计", "签字", "本人签字", "工人签字"})

# A day column: "8", "8日", "8号", "10月8日", "10-08", "10/8", or a full date "2026-10-08"
# (a date-typed header cell reads as that); the day of the month is what counts.
_DAY = re.compile(r"^(?:(?:\d{4}[-/.年])?\d{1,2}(?:月|[-/]))?(\d{1,2})(日|号)?(?:\s*00:00:00)?$")
_NOISE = re.compile(r"[\s*＊:：]|[（(](必填|选填|必输|可选)[)）]")


def normalise_header(text: str) -> str:
    return _NOISE.sub("", text).replace("_", "").lower()


def day_of(header: str) -> int | None:
    """Day number of a wide attendance column (``8``, ``8日``, ``10月8日``, ``2026-10-08``), else None."""
    m = _DAY.match(_NOISE.sub("", header) if "00:00:00" not in header else header.strip())
    if m and 1 <= int(m.group(1)) <= 31:
        return int(m.group(1))
    return None


_ALIAS: dict[str, dict[str, str]] = {
    kind: {normalise_header(a): c.name for c in cols for a in (c.aliases + (c.name, c.label))}
    for kind, cols in SCHEMAS.items()
}


def header_hints() -> frozenset[str]:
    """Every header text the reader may use to find the header row."""
    days = {str(d) for d in range(1, 32)} | {f"{d}日" for d in range(1, 32)}
    return frozenset({h for m in _ALIAS.values() for h in m} | IGNORED | days)


@dataclass(frozen=True)
class HeaderMap:
    columns: dict[str, str]  # canonical -> header as written
    days: dict[int, str]  # wide attendance: day -> header as written
    unknown: tuple[str, ...]
    missing: tuple[str, ...]  # required canonical columns not found


def map_headers(kind: str, headers: list[str]) -> HeaderMap:
    aliases = _ALIAS[kind]
    columns: dict[str, str] = {}
    days: dict[int, str] = {}
    unknown: list[str] = []
    for header in headers:
        key = normalise_header(header)
        canon = aliases.get(key)
        if canon is not None and canon not in columns:
            columns[canon] = header
        elif kind == "attendance" and (day := day_of(header)) is not None and day not in days:
            days[day] = header
        elif key not in IGNORED and key != "":
            unknown.append(header)
    if kind == "attendance" and days:
        # Wide form: the day columns carry the dates and marks; a date or hours column beside
        # them (usually a monthly total) has nowhere to go and is reported as not stored.
        unknown += [columns.pop(name) for name in ("date", "hours") if name in columns]
    required = [c.name for c in SCHEMAS[kind] if c.required]
    if kind == "attendance" and days:
        required.remove("date")  # wide form: the day columns stand for the date
    missing = tuple(c for c in required if c not in columns)
    # A roster needs a payout account: the bank card, or the social-security card instead.
    if kind == "roster" and "bank_card" not in columns and "ssc_number" not in columns:
        missing += ("bank_card",)
    return HeaderMap(columns, days, tuple(unknown), missing)


def column(kind: str, name: str) -> Column:
    return next(c for c in SCHEMAS[kind] if c.name == name)
