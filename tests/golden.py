"""A generated month for the golden test: a clean base of workers, and one planted breach per rule.

Each plant says which findings it must cause (some breaches necessarily cause a second one:
pay sent to a foreman's card also leaves the worker underpaid). Files are written as real
xlsx/csv bytes, so the whole path from reader to cross-file checks is exercised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field

import openpyxl

from idgen import make_card, make_credit, make_id

PERIOD = "2026-10"
ACCOUNT = "4425010020239361300"
CREDIT = make_credit()
DAYS = [d for d in range(1, 32) if dt.date(2026, 10, d).weekday() < 5]  # 22 weekdays
RATE = 400


@dataclass
class Worker:
    n: int
    name: str
    id_number: str = ""
    card: str = ""
    male: bool = True
    birth: str = "19850612"
    roster: dict | None = field(default_factory=dict)
    contract: dict | None = field(default_factory=dict)
    days: list[int] | None = None
    payments: list[dict] = field(default_factory=lambda: [{}])

    def __post_init__(self):
        # Even sequence numbers, so the parity fix-up for the sex digit never collides.
        self.id_number = self.id_number or make_id(self.birth, self.n * 2, self.male, "440304")
        self.card = self.card or make_card(n=1000 + self.n)


SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎"


def base(n: int) -> Worker:
    return Worker(n, SURNAMES[n % len(SURNAMES)] + "师傅" + "一二三四五六七八九十"[n % 10], male=n % 3 != 0)


def month(plants: bool) -> tuple[list[Worker], Counter, dict[str, list]]:
    """Workers of the month, the Counter of expected rule codes, and extra raw rows."""
    workers = [base(i) for i in range(1, 11)]  # ten clean workers
    expected: Counter = Counter()
    extra: dict[str, list] = {"roster": [], "attendance": [], "payments": [], "roster_columns": []}
    if not plants:
        return workers, expected, extra
    n = 100

    def plant(codes, **kw):
        nonlocal n
        n += 1
        w = base(n)
        for k, v in kw.items():
            setattr(w, k, v)
        if "birth" in kw or "male" in kw:
            w.id_number = ""
        w.__post_init__()
        workers.append(w)
        expected.update(codes)
        return w

    def roster_only(codes, **roster):
        return plant(codes, roster=roster, contract=None, days=[], payments=[])

    extra["roster_columns"].append("备注")
    expected.update(["COLUMN_UNKNOWN"])
    roster_only(["ID_EXCEL_PRECISION"], 身份证号码="4.40304198506121E+17")
    roster_only(["ID_LEGACY_15"], 身份证号码="440304850612123")
    roster_only(["ID_FORMAT"], 身份证号码="44030419850612123")
    roster_only(["ID_BIRTHDATE"], 身份证号码=make_id("19851340", 7))
    roster_only(["ID_CHECKSUM"], 身份证号码=make_id("19800101", 9)[:-1] + "0" if not make_id("19800101", 9).endswith("0") else make_id("19800101", 9)[:-1] + "1")
    roster_only(["NAME_MISSING"], 姓名="")
    roster_only(["BANK_CARD_FORMAT"], 工资卡号="62220212")
    roster_only(["BANK_CARD_LUHN"], 工资卡号=make_card(n=9)[:-1] + str((int(make_card(n=9)[-1]) + 1) % 10))
    roster_only(["VALUE_MISSING"], 工种="")
    roster_only(["DATE_INVALID"], 退场日期="2026-02-30")
    roster_only(["DATE_IN_FUTURE"], 进场日期="2027-01-04")
    roster_only(["DATE_RANGE"], 退场日期="2026-02-01")
    dup = plant(["DUPLICATE_WORKER"])
    extra["roster"].append(dup)
    plant(["GENDER_MISMATCH"], male=True, roster={"性别": "女"})
    plant(["AGE_UNDER_16"], birth="20110301")
    plant(["AGE_MINOR"], birth="20090301")
    plant(["AGE_OVER_LIMIT"], birth="19620301")
    plant(["CREDIT_CODE_INVALID"], roster={"用工单位统一社会信用代码": CREDIT[:-1] + ("0" if CREDIT[-1] != "0" else "1")})
    plant(["PHONE_FORMAT"], roster={"手机号码": "1380013"})
    plant(["JOB_TYPE_UNKNOWN"], roster={"工种": "搬砖工"})
    plant(["VALUE_INVALID"], roster={"性别": "未知"})
    w = plant(["DATE_OUT_OF_PERIOD"])
    extra["attendance"].append((w, "2026-09-30", "8"))
    w = plant(["HOURS_INVALID"])
    extra["attendance"].append((w, "2026-10-04", "25"))
    plant(["NO_REST_DAY"], days=list(range(1, 32)), payments=[{"实发金额": f"{RATE * 31}.00"}])
    w = plant(["NAME_ID_CONFLICT"])
    extra["attendance"].append((w, "2026-10-05", "8", "别名"))  # a day already worked: same pay
    w = plant(["AMOUNT_INVALID"])
    w.payments.append({"实发金额": "-5", "银行流水号": f"TX{w.n}-neg"})
    w = plant(["TXN_CONFLICT"])
    w.payments.append({"实发金额": "1.00"})  # same transaction id as the first payout
    plant(["NOT_ON_ROSTER", "NOT_PAID"], roster=None, payments=[])
    plant(["OUTSIDE_SITE_DATES"], roster={"进场日期": "2026-10-10"})
    plant(["NO_CONTRACT"], contract=None)
    plant(["NOT_PAID"], payments=[])
    plant(["PAYMENT_PENDING"], contract={"工资发放日": "31"}, payments=[])
    plant(["UNDERPAID"], payments=[{"实发金额": f"{RATE * len(DAYS) - 800}.00"}])
    plant(["OVERPAID"], payments=[{"实发金额": f"{RATE * len(DAYS) * 2}.00"}])
    plant(["PAID_LATE"], payments=[{"发放日期": "2026-11-20"}])
    plant(["NOT_DEDICATED_ACCOUNT"], payments=[{"付款账号": "6222000011112222333"}])
    plant(["PAYEE_NOT_WORKER", "UNDERPAID"], payments=[{"收款账号": make_card(n=7777), "收款人": "包工头"}])
    plant(["PAID_NOT_ON_ROSTER"], roster=None, contract=None, days=[])
    plant(["PAID_WITHOUT_ATTENDANCE"], days=[])
    holder = plant(["PAYEE_SHARED"])
    plant(["PAYEE_SHARED", "PAYEE_NOT_WORKER", "UNDERPAID"], payments=[{"收款账号": holder.card, "收款人": holder.name}])
    plant(["NAME_ID_CONFLICT"], payments=[{"姓名": "改名"}])
    return workers, expected, extra


ROSTER_HEADERS = ["序号", "姓名", "性别", "身份证号码", "手机号码", "用工单位统一社会信用代码", "用工单位", "班组", "工种",
                  "进场日期", "退场日期", "工资卡号", "开户银行"]


def roster_row(w: Worker, i: int) -> dict:
    row = {"序号": str(i), "姓名": w.name, "性别": "男" if w.male else "女", "身份证号码": w.id_number,
           "手机号码": f"139{w.n:08d}", "用工单位统一社会信用代码": CREDIT, "用工单位": "深圳市某劳务有限公司", "班组": "钢筋班",
           "工种": "钢筋工", "进场日期": "2026-03-01", "退场日期": "", "工资卡号": w.card, "开户银行": "中国建设银行"}
    row.update(w.roster or {})
    return row


def files(workers: list[Worker], extra: dict) -> dict[str, tuple[str, bytes]]:
    """kind -> (filename, bytes): roster as xlsx with a title row, the rest as csv."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    headers = ROSTER_HEADERS + extra["roster_columns"]
    ws.append(["2026年10月建筑工人花名册"])
    ws.append(headers)
    rostered = [w for w in workers if w.roster is not None] + extra["roster"]
    for i, w in enumerate(rostered, 1):
        row = roster_row(w, i)
        ws.append([row.get(h, "") or None for h in headers])
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.number_format = "@"
    xbuf = io.BytesIO()
    wb.save(xbuf)

    def to_csv(header: list[str], rows: list[list[str]]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8-sig")

    contracts = []
    for w in workers:
        if w.contract is None:
            continue
        c = {"身份证号码": w.id_number, "姓名": w.name, "合同编号": f"HT-{w.n}", "用工单位统一社会信用代码": CREDIT,
             "合同开始日期": "2026-03-01", "合同结束日期": "", "计薪方式": "日薪", "工资标准": str(RATE), "工资发放日": "15"}
        c.update(w.contract)
        contracts.append(c)
    ch = list(contracts[0])
    attendance = []
    for w in workers:
        for d in (DAYS if w.days is None else w.days):
            attendance.append([w.id_number, w.name, f"2026-10-{d:02d}", "8"])
    for w, date, hours, *name in extra["attendance"]:
        attendance.append([w.id_number, name[0] if name else w.name, date, hours])
    payments = []
    for w in workers:
        for p in w.payments:
            days = len(DAYS if w.days is None else w.days) or len(DAYS)
            row = {"姓名": w.name, "身份证号码": w.id_number, "工资所属期": PERIOD, "实发金额": f"{RATE * days}.00",
                   "发放日期": "2026-11-10", "付款账号": ACCOUNT, "收款账号": w.card, "收款人": w.name, "发放渠道": "银行卡",
                   "银行流水号": f"TX{w.n}"}
            row.update(p)
            payments.append(row)
    ph = list(payments[0])
    return {
        "roster": ("花名册.xlsx", xbuf.getvalue()),
        "contracts": ("劳动合同.csv", to_csv(ch, [[c[h] for h in ch] for c in contracts])),
        "attendance": ("考勤.csv", to_csv(["身份证号码", "姓名", "日期", "工时"], attendance)),
        "payments": ("工资发放表.csv", to_csv(ph, [[p[h] for h in ph] for p in payments])),
    }
