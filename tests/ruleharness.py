"""Tiny tables in, findings out: the harness the rule tests share."""

from __future__ import annotations

import datetime as dt

import polars as pl

from idgen import make_card, make_credit, make_id
from sitereg.validate.codes import work_type_lookup
from sitereg.validate.crosscheck import PeriodTables, cross_findings, id_keys, overlaps, prepare, worker_days
from sitereg.validate.filecheck import Context, FileResult, validate_file
from sitereg.validate.readers import Table

PERIOD = "2026-10"
PROJECT = "XM-440305-2026-001"  # the project the harness's files are uploaded to
TODAY = dt.date(2026, 11, 27)
CREDIT = make_credit()
ACCOUNT = "4425010020239361300"
ID_A, ID_B, ID_C = make_id(seq=101), make_id(seq=203, male=False, birth="19900101"), make_id(seq=305, birth="19780315")
CARD_A, CARD_B, CARD_C = make_card(n=1), make_card(n=2), make_card(n=3)


def table(rows: list[dict[str, str | None]], numeric: dict[str, list[bool]] | None = None) -> Table:
    headers = list(dict.fromkeys(h for r in rows for h in r))
    data = {h: [r.get(h) for r in rows] for h in headers}
    frame = pl.DataFrame({"__row__": list(range(2, len(rows) + 2)), **data},
                         schema={"__row__": pl.Int64, **{h: pl.String for h in headers}})
    return Table(frame=frame, headers=headers, header_row=1,
                 numeric={h: pl.Series(v) for h, v in (numeric or {}).items()})


def check(kind: str, rows: list[dict], today: dt.date = TODAY, numeric=None) -> FileResult:
    return validate_file(table(rows, numeric), kind, Context(PERIOD, today, job_types=work_type_lookup(), project=PROJECT))


def codes(result_or_frame) -> list[str]:
    frame = result_or_frame.findings if isinstance(result_or_frame, FileResult) else result_or_frame
    return sorted(frame.get_column("rule").to_list())


def roster_row(**over) -> dict:
    row = {"身份证号码": ID_A, "姓名": "张建国", "性别": "男", "手机号码": "13800138000", "用工单位统一社会信用代码": CREDIT,
           "工种": "钢筋工", "进场日期": "2026-03-01", "退场日期": None, "工资卡号": CARD_A}
    row.update(over)
    return row


def contract_row(**over) -> dict:
    row = {"身份证号码": ID_A, "姓名": "张建国", "合同编号": "HT-001", "用工单位统一社会信用代码": CREDIT,
           "合同开始日期": "2026-03-01", "合同结束日期": None, "计薪方式": "日薪", "工资标准": "400", "工资发放日": "15"}
    row.update(over)
    return row


def payroll_row(**over) -> dict:
    """A site wage sheet's line (工资表): gross - deductions = net."""
    row = {"姓名": "张建国", "身份证号码": ID_A, "出勤天数": "22", "应发工资": "8800.00", "扣款": "0", "实发工资": "8800.00",
           "工资卡号": CARD_A}
    row.update(over)
    return row


def punch_row(at: str, way: str, **over) -> dict:
    """A gate punch (national template 06)."""
    row = {"人员姓名": "张建国", "证件号码": ID_A, "刷卡时间": at, "刷卡进出方向": way}
    row.update(over)
    return row


WORKDAYS = [d for d in range(1, 32) if dt.date(2026, 10, d).weekday() < 5]  # 22 weekdays in October 2026


def attendance_rows(id_number: str = ID_A, name: str = "张建国", days=WORKDAYS) -> list[dict]:
    return [{"身份证号码": id_number, "姓名": name, "日期": f"2026-10-{d:02d}", "工时": "8"} for d in days]


def payment_row(**over) -> dict:
    row = {"姓名": "张建国", "身份证号码": ID_A, "工资所属期": PERIOD, "实发金额": f"{400 * len(WORKDAYS)}.00",
           "发放日期": "2026-11-10", "付款账号": ACCOUNT, "收款账号": CARD_A, "收款人": "张建国", "发放渠道": "银行卡",
           "银行流水号": "T0001"}
    row.update(over)
    return row


def tables_of(roster, contracts, attendance, payments, payroll=None, entry_exit=None) -> PeriodTables:
    def rows(kind, data):
        if not data:
            return getattr(PeriodTables.empty(), kind)
        frame = check(kind, data).rows.with_columns(upload_id=pl.lit("U1"))
        if kind == "payments":
            frame = frame.with_columns(source=pl.lit("upload"))
        return frame

    return PeriodTables(rows("roster", roster), rows("contracts", contracts), rows("attendance", attendance),
                        rows("payments", payments), rows("payroll", payroll), rows("entry_exit", entry_exit))


def cross(roster=None, contracts=None, attendance=None, payments=None, today=TODAY, others=None, payroll=None,
          entry_exit=None) -> pl.DataFrame:
    roster = [roster_row()] if roster is None else roster
    contracts = [contract_row()] if contracts is None else contracts
    attendance = attendance_rows() if attendance is None else attendance
    payments = [payment_row()] if payments is None else payments
    t = tables_of(roster, contracts, attendance, payments, payroll, entry_exit)
    p = prepare(t, PERIOD, ACCOUNT, today)
    other = {code: tables_of(*spec) for code, spec in (others or {}).items()}
    return cross_findings(p, index_overlaps(t, PERIOD, other), 1.5)


def index_overlaps(mine: PeriodTables, period: str, others: dict[str, PeriodTables]) -> pl.DataFrame:
    """What the database's indexed joins answer for ``mine`` (days shared with another project,
    workers paid by another), computed here over in-memory tables of the other projects."""
    def paid_keys(t: PeriodTables) -> pl.DataFrame:
        ids = t.payments.get_column("id_number").drop_nulls().unique()
        return pl.DataFrame({"id_key": id_keys(ids)})

    my_days = worker_days(prepare(mine, period, None, dt.date(2000, 1, 1)))
    my_keys = paid_keys(mine)  # paid twice: paid here and paid there
    days = [worker_days(prepare(t, period, None, dt.date(2000, 1, 1))).join(my_days, on="id_key").select("id_key", shared=pl.col("days") & pl.col("days_right"))
            .filter(pl.col("shared") != 0).with_columns(other=pl.lit(code)) for code, t in others.items()]
    paid = [paid_keys(t).join(my_keys, on="id_key").with_columns(other=pl.lit(code)) for code, t in others.items()]
    days_hits = pl.concat(days).select("other", "id_key", "shared") if days else pl.DataFrame(
        schema={"other": pl.String, "id_key": pl.Int64, "shared": pl.Int64})
    paid_hits = pl.concat(paid).select("other", "id_key") if paid else pl.DataFrame(
        schema={"other": pl.String, "id_key": pl.Int64})
    return overlaps(mine, period, days_hits, paid_hits)
