"""Canonical columns of each record kind and the headers real files use for them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

KINDS = ("roster", "contracts", "attendance", "payroll", "payments", "entry_exit")
# Each kind's Chinese name, as findings, exports, templates and pages show it.
KIND_LABELS = {"roster": "花名册", "contracts": "劳动合同", "attendance": "考勤表", "payroll": "工资表",
               "payments": "银行代发结果", "entry_exit": "进退场记录"}


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # Chinese header of the template
    aliases: tuple[str, ...]
    required: bool = False
    note: str = ""  # shown in the template's notes row
    sensitive: str | None = None  # "id" | "card" | "phone": masked wherever shown


ID = Column("id_number", "身份证号码", ("身份证号码", "身份证号", "证件号码", "身份证", "公民身份号码", "证件号", "身份证件号码",
                                      "id", "idnumber", "idno", "idcard"), True,
            "18 位居民身份证号码，单元格请设为文本", "id")
NAME = Column("name", "姓名", ("姓名", "名字", "工人姓名", "员工姓名", "人员姓名", "职工姓名", "name", "workername"), True,
              "与身份证一致")
CREDIT = Column("employer_credit_code", "用工单位统一社会信用代码",
                ("用工单位统一社会信用代码", "所属单位信用代码", "用工单位信用代码", "统一社会信用代码", "所属单位统一社会信用代码",
                 "企业统一社会信用代码", "参建单位统一社会信用代码", "employercreditcode", "creditcode"), True, "18 位统一社会信用代码")
EMPLOYER = Column("employer_name", "用工单位", ("用工单位", "所属单位", "分包单位", "单位名称", "企业名称", "工人所属企业名称",
                                             "参建单位名称", "employername", "employer"))
TEAM = Column("team", "班组", ("班组", "班组名称", "工人所属班组名称", "所属班组", "team"))
WORKER_NO = Column("worker_no", "人员编号", ("人员编号", "工号", "考勤号", "员工编号", "workerno"),
                   note="本单位的人员编号；无身份证号时用它在花名册中找到工人")
ID_TYPE = Column("id_type", "证件类型", ("证件类型", "idtype"), note="居民身份证（默认）、护照、港澳居民来往内地通行证等")
BANK_CARD = Column("bank_card", "工资卡号", ("工资卡号", "银行卡号", "工资卡账号", "银行账号", "发放工资银行卡号", "工人工资卡号",
                                          "卡号", "bankcard", "bankcardno"),
                   note="16-19 位，单元格请设为文本；有社保卡金融账号可不填", sensitive="card")

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "roster": (
        ID,
        NAME,
        Column("gender", "性别", ("性别", "gender", "sex"), note="男 / 女"),
        Column("phone", "手机号码", ("手机号码", "联系电话", "手机号", "电话", "联系方式", "phone", "mobile"), note="11 位手机号", sensitive="phone"),
        CREDIT,
        EMPLOYER,
        TEAM,
        Column("job_type", "工种", ("工种", "工种名称", "工种代码", "当前工种", "jobtype", "worktype"), True, "工种代码或名称（见工种代码表）"),
        Column("entry_date", "进场日期", ("进场日期", "进场时间", "entrydate"), note="如 2026-10-08；有进退场记录的可不填"),
        Column("exit_date", "退场日期", ("退场日期", "退场时间", "离场时间", "离场日期", "出场日期", "exitdate"), note="未退场留空"),
        BANK_CARD,
        Column("bank_name", "开户银行", ("开户银行", "开户行", "银行名称", "发放工资银行名称", "发放工资卡银行", "bankname")),
        Column("ssc_number", "社保卡金融账号", ("社保卡金融账号", "社保卡号", "社保卡账号", "sscnumber", "ssc"),
               note="社会保障卡金融账户账号", sensitive="card"),
        WORKER_NO,
        ID_TYPE,
        # Read for the age rules of workers whose document is not a 居民身份证 (formats.md), not stored.
        Column("birth_date", "出生日期", ("出生日期", "出生年月日", "birthdate", "dateofbirth"),
               note="持护照、港澳台通行证等证件的工人填写，用于年龄核查"),
    ),
    "contracts": (
        ID,
        NAME,
        Column("contract_no", "合同编号", ("合同编号", "合同号", "contractno", "contractnumber"), note="可空"),
        CREDIT,
        Column("start_date", "合同开始日期", ("合同开始日期", "合同起始日期", "开始日期", "生效日期", "合同生效日期", "startdate"), True),
        Column("end_date", "合同结束日期", ("合同结束日期", "合同终止日期", "结束日期", "失效日期", "合同失效日期", "enddate"),
               note="以完成一定工作任务为期限的留空"),
        Column("wage_basis", "计薪方式", ("计薪方式", "工资计算方式", "计酬方式", "计量单位", "wagebasis"), True,
               "日薪 / 月薪 / 计件（或计量单位：天 / 月 / 平方米…）"),
        Column("wage_rate", "工资标准", ("工资标准", "日工资", "月工资", "工资单价", "计量单价", "wagerate"), False,
               "元/天 或 元/月；计件可空"),
        Column("pay_day", "工资发放日", ("工资发放日", "发薪日", "约定发放日", "payday"), note="次月几号发放，1-31；不填为次月月底"),
        Column("signed_date", "签订日期", ("签订日期", "签订时间", "signeddate")),
        ID_TYPE,
    ),
    "attendance": (
        ID,
        NAME,
        Column("date", "日期", ("日期", "考勤日期", "出勤日期", "date", "workdate"), True, "长表：每人每天一行"),
        Column("hours", "工时", ("工时", "出勤工时", "工作时长", "小时数", "hours")),
        WORKER_NO,
        Column("clock_in", "上班打卡时间", ("上班打卡时间", "上班时间", "签到时间", "签到", "上班打卡", "clockin")),
        Column("clock_out", "下班打卡时间", ("下班打卡时间", "下班时间", "签退时间", "签退", "下班打卡", "clockout")),
        Column("punch_time", "刷卡时间", ("刷卡时间", "打卡时间", "考勤时间", "通行时间", "punchtime")),
        Column("direction", "刷卡进出方向", ("刷卡进出方向", "进出方向", "通行方向", "方向", "direction"), note="入场 / 出场"),
        ID_TYPE,
    ),
    "payroll": (
        # A batch-transfer sheet sent to online banking (金额, 收款人账号, 收款人名称, 付款人账号, 汇款用途)
        # is an instruction, not proof that money moved: a payroll, its worker the card and the name.
        replace(NAME, aliases=NAME.aliases + ("收款人名称", "收款人姓名", "收款人户名", "户名")),
        replace(ID, required=False, note="18 位居民身份证号码；无身份证号的按工资卡号或人员编号在花名册中查找"),
        WORKER_NO,
        replace(BANK_CARD, aliases=BANK_CARD.aliases + ("收款人账号", "收款账号", "收款卡号", "收款人卡号")),
        Column("period", "工资所属期", ("工资所属期", "发放工资的月份", "工资月份", "所属期", "所属月份", "汇款用途", "period"),
               note="YYYY-MM；不填为上传所属期"),
        Column("days", "出勤天数", ("出勤天数", "本月出勤天数", "实际出勤天数", "本月工作量", "工作量", "days")),
        Column("hours", "总工时", ("总工时", "工时合计", "hours")),
        Column("unit_rate", "单价", ("单价", "日工资", "工资标准", "unitrate")),
        Column("gross", "应发工资", ("应发工资", "应发金额", "应发合计", "应付工资", "gross")),
        # Every deduction column a sheet has (借支, 代扣个税, 水电费…) is summed, unless one is their total.
        Column("deductions", "扣款", ("扣款", "借支", "扣款合计", "代扣款", "预支", "代扣个税", "个人所得税", "个税",
                                     "代扣个人所得税", "代扣社保", "社保扣款", "罚款", "生活费", "伙食费", "水电费",
                                     "住宿费", "应扣合计", "合计扣款", "扣款小计", "deductions")),
        Column("net", "实发工资", ("实发工资", "实发金额", "实发合计", "金额", "net", "amount"), True, "元，两位小数"),
        Column("paid_at", "发放日期", ("发放日期", "支付日期", "paidat")),
        Column("payer_account", "付款账号", ("付款账号", "付款人账号", "付款账户", "付款卡号", "payeraccount"), sensitive="card"),
        ID_TYPE,
    ),
    "entry_exit": (
        ID,
        NAME,
        Column("date", "进退场日期", ("进退场日期", "进退场时间", "日期", "date"), True),
        Column("direction", "类型", ("类型", "进退场类型", "进退场", "direction"), True, "进场 / 退场"),
        WORKER_NO,
        ID_TYPE,
    ),
    "payments": (
        NAME,
        ID,
        Column("period", "工资所属期", ("工资所属期", "所属期", "工资月份", "所属月份", "period"), True, "YYYY-MM"),
        Column("amount", "实发金额", ("实发金额", "实发工资", "发放金额", "金额", "交易金额", "amount"), True, "元，两位小数"),
        Column("paid_at", "发放日期", ("发放日期", "支付日期", "交易日期", "paidat", "paiddate"), True),
        Column("payer_account", "付款账号", ("付款账号", "付款账户", "专户账号", "付款人账号", "payeraccount"), True, sensitive="card"),
        Column("payee_account", "收款账号", ("收款账号", "收款账户", "收款卡号", "收款人账号", "收款人卡号", "payeeaccount"), True,
               sensitive="card"),
        Column("payee_name", "收款人", ("收款人", "收款人姓名", "收款户名", "收款人名称", "收款人户名", "payeename"), True),
        Column("channel", "发放渠道", ("发放渠道", "发放方式", "渠道", "channel"), True, "银行卡 / 社保卡"),
        Column("bank_txn_id", "银行流水号", ("银行流水号", "流水号", "交易流水号", "banktxnid", "txnid"), True),
        Column("status", "交易状态", ("交易状态", "状态", "处理状态", "处理结果", "代发结果", "status"),
               note="成功 / 失败：失败的记录不是发放"),
        # Bank exports name the project on each line; a contractor's sheet belongs to the
        # project it is uploaded to, so the column is read but not stored.
        Column("project", "项目编码", ("项目编码", "项目代码", "项目编号", "project", "projectcode")),
        ID_TYPE,
    ),
}

# Columns real sheets carry that hold nothing to keep: quietly ignored rather than reported.
IGNORED = frozenset({"序号", "编号", "no", "出勤天数", "合计天数", "合计", "出勤合计", "签字", "本人签字", "工人签字", "签名",
                     "领款人签字", "通行方式", "合同期限类型", "是否为补发", "补发月份", "第三方工资单编号",
                     "工人类型", "是否班组长", "发放工资卡银行联号", "发放工资卡银行", "银行联号", "汇款方式", "收款人开户行", "用途"})

# Columns the national platform's templates carry that no rule needs: personal data that is
# recognised and deliberately not stored (one info COLUMNS_NOT_STORED, not an unknown column each).
NOT_STORED = frozenset({"民族", "住址", "家庭住址", "户籍地址", "籍贯", "政治面貌", "文化程度", "学历", "婚姻状况", "紧急联系人",
                        "紧急联系人姓名", "紧急联系方式", "紧急联系人电话", "紧急联系电话", "发证机关", "证件有效期",
                        "证件有效期开始日期", "证件有效期结束日期", "加入工会时间", "特长", "是否有重大病史", "开始工作日期",
                        "是否购买工伤或意外伤害保险", "头像", "照片", "人脸照片", "年龄", "健康状况", "血型"})

# Columns describing the employer or team, kept by the roster; other kinds carry them
# beside each worker and they are quietly not stored there.
_CONTEXT = (CREDIT, EMPLOYER, TEAM,
            Column("job_type", "工种", ("工种", "工种名称", "当前工种")))

# A day column: "8", "8日", "8号", "10月8日", "10-08", "10/8", or a full date "2026-10-08"
# (a date-typed header cell reads as that); the day of the month is what counts.
_DAY = re.compile(r"^(?:(?:\d{4}[-/.年])?\d{1,2}(?:月|[-/]))?(\d{1,2})(日|号)?(?:\s*00:00:00)?$")
_NOISE = re.compile(r"[\s*＊:：]|[（(](必填|选填|必输|可选)[)）]")
_SUFFIX = re.compile(r"[(\[【][^()\[\]【】]*[)\]】]$")
_UNIT = re.compile(r"(?<=.)/(天|日|月|小时|h|元|人)$")  # 单价/天


def normalise_header(text: str) -> str:
    """Header text for matching: full-width forms folded (（元） -> (元)), spaces, ``*`` and colons
    dropped, trailing bracketed suffixes such as a unit ``(元)`` or ``(必填)`` removed."""
    s = _NOISE.sub("", unicodedata.normalize("NFKC", text)).replace("_", "").lower()
    while (t := _UNIT.sub("", _SUFFIX.sub("", s))) != s and t:
        s = t
    return s


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


_NOT_STORED = frozenset(normalise_header(h) for h in NOT_STORED)
_IGNORED = frozenset(normalise_header(h) for h in IGNORED) | frozenset(
    normalise_header(a) for col in _CONTEXT for a in (col.aliases + (col.label,)))


def header_hints() -> frozenset[str]:
    """Every header text the reader may use to find the header row."""
    days = {str(d) for d in range(1, 32)} | {f"{d}日" for d in range(1, 32)}
    return frozenset({h for m in _ALIAS.values() for h in m} | IGNORED | NOT_STORED | days)


@dataclass(frozen=True)
class HeaderMap:
    columns: dict[str, str]  # canonical -> header as written
    days: dict[int, str]  # wide attendance: day -> header as written
    unknown: tuple[str, ...]
    missing: tuple[str, ...]  # required canonical columns not found
    not_stored: tuple[str, ...] = ()  # recognised personal-data columns deliberately not kept
    # A canonical amount made of several columns, summed: canonical -> every header (the first
    # is ``columns[canonical]``), e.g. deductions from 借支 and 代扣个税.
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)


# Amounts a sheet may split over several columns. Deductions are summed wherever they stand;
# under a merged group title (应发工资 over 基本工资 | 加班工资) the sub-columns make the group's
# amount, unless one of them is its subtotal (小计), which is then the amount alone.
_SUMMED_ANYWHERE = frozenset({"deductions"})
_SUMMED_IN_GROUP = frozenset({"gross", "deductions"})
_SUBTOTAL = frozenset({"小计", "合计", "总计", "计", "合计金额", "小计金额", "金额", "总额"})
_TOTAL_ALIASES = frozenset({"扣款合计", "应扣合计", "合计扣款", "扣款小计", "应发合计"})


def map_headers(kind: str, headers: list[str], column_map: Mapping[str, str] | None = None,
                groups: Mapping[str, str] | None = None) -> HeaderMap:
    """Canonical column -> header as written. ``column_map`` is a contractor's saved map (header
    as written -> canonical column of this kind): it is consulted first, by the header's text
    after the same normalisation, and a mapped header is never an unknown column. ``groups``:
    the merged title over a sub-column of a two-line header (``readers.Table.groups``)."""
    aliases = _ALIAS[kind]
    names = {col.name for col in SCHEMAS[kind]}
    saved = {normalise_header(h): name for h, name in (column_map or {}).items() if name in names}
    columns: dict[str, str] = {}
    days: dict[int, str] = {}
    unknown: list[str] = []
    not_stored: list[str] = []
    # The saved map first, so that its header wins the column over one that merely looks like it.
    mapped: dict[str, str] = {}
    for header in headers:
        canon = saved.get(normalise_header(header))
        if canon is not None and canon not in columns:
            columns[canon] = header
            mapped[header] = canon
    summed: dict[str, list[tuple[str, bool]]] = {}  # canonical -> (header, is its total)
    for header in headers:
        key = normalise_header(header)
        canon = aliases.get(key)
        if header in mapped or (key in saved and saved[key] in columns):
            continue  # mapped (or a second header the contractor gave the same meaning)
        title = (groups or {}).get(header)
        in_group = aliases.get(normalise_header(title)) if title else None
        if in_group is not None and key in _SUBTOTAL:
            canon = in_group  # 应发工资 … 小计: the subtotal is the group's amount
        elif canon is None and in_group in _SUMMED_IN_GROUP:
            canon = in_group  # 扣款 over 水电费: a part of the deductions
        if canon is not None and canon not in columns and (
                canon in _SUMMED_ANYWHERE or (in_group == canon and canon in _SUMMED_IN_GROUP)):
            summed.setdefault(canon, []).append((header, key in _TOTAL_ALIASES or key in _SUBTOTAL))
            continue
        if canon is not None and canon not in columns:
            columns[canon] = header
        elif kind == "attendance" and (day := day_of(header)) is not None and day not in days:
            days[day] = header
        elif key in _NOT_STORED:
            not_stored.append(header)
        elif key not in _IGNORED and key != "" and not re.fullmatch(r"列\d+", header):
            unknown.append(header)
    parts: dict[str, tuple[str, ...]] = {}
    for canon, found in summed.items():
        if canon in columns:
            continue  # a saved map named the column: it is the amount
        totals = [h for h, total in found if total]
        columns[canon] = totals[0] if totals else found[0][0]
        if not totals and len(found) > 1:
            parts[canon] = tuple(h for h, _ in found)
    if kind == "attendance" and days:
        # Wide form: the day columns carry the dates and marks; a date or hours column beside
        # them (usually a monthly total) has nowhere to go and is reported as not stored.
        unknown += [columns.pop(name) for name in ("date", "hours") if name in columns]
    required = [c.name for c in SCHEMAS[kind] if c.required]
    if kind == "attendance" and (days or "punch_time" in columns):
        required.remove("date")  # wide form: the day columns stand for the date; punches carry it
    if kind in ("attendance", "entry_exit") and "worker_no" in columns and "id_number" not in columns:
        required.remove("id_number")  # keyed by the site's own number, resolved through the roster
    missing = tuple(c for c in required if c not in columns)
    # A roster needs a payout account: the bank card, or the social-security card instead.
    if kind == "roster" and "bank_card" not in columns and "ssc_number" not in columns:
        missing += ("bank_card",)
    # A payroll row names its worker by ID, or by card or 人员编号 that the roster resolves.
    if kind == "payroll" and not {"id_number", "bank_card", "worker_no"} & columns.keys():
        missing += ("id_number",)
    return HeaderMap(columns, days, tuple(unknown), missing, tuple(not_stored), parts)


def required_columns(kind: str) -> tuple[str, ...]:
    """The columns a row of the kind must fill, in template order."""
    required = tuple(c.name for c in SCHEMAS[kind] if c.required)
    # A roster row needs a payout account: the bank card (or the social-security card instead).
    return required + ("bank_card",) if kind == "roster" else required


def match_score(kind: str, headers: list[str], column_map: Mapping[str, str] | None = None) -> tuple[int, int, int]:
    """How well a header row fits a kind: (no required column missing, columns mapped, -unknown)."""
    hm = map_headers(kind, headers, column_map)
    mapped = len(hm.columns) + (1 if hm.days else 0)
    return (0 if hm.missing else 1, mapped, -len(hm.unknown))


def detect_kind(headers: list[str], column_map: Mapping[str, str] | None = None) -> str | None:
    """The kind whose columns the header fits best (its required columns all there), else None."""
    scores = {kind: match_score(kind, headers, column_map) for kind in KINDS}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best][0] == 1 and scores[best][1] >= 2 else None


def nearest_header(kind: str, name: str, headers: list[str]) -> str | None:
    """The header the file has that is closest to a missing column's names (for the finding)."""
    import difflib

    col = column(kind, name)
    best, score = None, 0.0
    for header in headers:
        key = normalise_header(header)
        for alias in (col.label, *col.aliases):
            r = difflib.SequenceMatcher(None, key, normalise_header(alias)).ratio()
            if r > score:
                best, score = header, r
    return best if score >= 0.4 else None


def column(kind: str, name: str) -> Column:
    return next(c for c in SCHEMAS[kind] if c.name == name)
