"""Each cross-file and cross-project rule: a scenario that fires it and a near miss that must not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ruleharness import (
    ACCOUNT,
    CARD_A,
    CARD_B,
    CARD_C,
    ID_A,
    ID_B,
    ID_C,
    PERIOD,
    TODAY,
    WORKDAYS,
    attendance_rows,
    codes,
    contract_row,
    cross,
    payment_row,
    payroll_row,
    roster_row,
    tables_of,
)
from sitereg.validate.crosscheck import OVERLAP_SCHEMA
from sitereg.validate.rules import RULES

FULL = 400 * len(WORKDAYS)
B_ROSTER = roster_row(身份证号码=ID_B, 姓名="李梅", 性别="女", 工资卡号=CARD_B)
B_CONTRACT = contract_row(身份证号码=ID_B, 姓名="李梅", 合同编号="HT-002")


def pay(**over):
    return payment_row(**over)


CASES = {
    "NOT_ON_ROSTER": (dict(attendance=attendance_rows() + attendance_rows(ID_C, "王五", [5])), {}),
    "OUTSIDE_SITE_DATES": (dict(roster=[roster_row(进场日期="2026-10-10")]), dict(roster=[roster_row(进场日期="2026-10-01")])),
    "NO_CONTRACT": (dict(contracts=[contract_row(合同开始日期="2026-10-15")]),
                    dict(contracts=[contract_row(合同结束日期="2026-10-14"), contract_row(合同编号="HT-009", 合同开始日期="2026-10-15")])),
    "NOT_PAID": (dict(payments=[]), dict(payments=[], today=dt.date(2026, 11, 15))),
    "PAYMENT_PENDING": (dict(payments=[], today=dt.date(2026, 11, 15)), dict(payments=[])),
    "UNDERPAID": (dict(payments=[pay(实发金额=f"{FULL - 0.01:.2f}")]), dict(payments=[pay(实发金额=f"{FULL - 100}"), pay(实发金额="100", 银行流水号="T9")])),
    "OVERPAID": (dict(payments=[pay(实发金额=f"{FULL * 1.5 + 0.01:.2f}")]), dict(payments=[pay(实发金额=f"{FULL * 1.5:.2f}")])),
    "PAID_LATE": (dict(payments=[pay(发放日期="2026-11-16")]), dict(payments=[pay(发放日期="2026-11-15")])),
    "NOT_DEDICATED_ACCOUNT": (dict(payments=[pay(付款账号="6222000011112222333")]), {}),
    "PAYEE_NOT_WORKER": (dict(payments=[pay(收款账号=CARD_C, 收款人="包工头")]),
                         dict(roster=[{**roster_row(), "社保卡金融账号": CARD_C}], payments=[pay(收款账号=CARD_C, 发放渠道="社保卡")])),
    "PAID_NOT_ON_ROSTER": (dict(payments=[pay(), pay(身份证号码=ID_C, 姓名="王五", 收款账号=CARD_C, 收款人="王五", 银行流水号="T3")]), {}),
    "PAID_WITHOUT_ATTENDANCE": (
        dict(roster=[roster_row(), B_ROSTER], contracts=[contract_row(), B_CONTRACT],
             payments=[pay(), pay(身份证号码=ID_B, 姓名="李梅", 收款账号=CARD_B, 收款人="李梅", 银行流水号="T2")]),
        dict(roster=[roster_row(), B_ROSTER], contracts=[contract_row(), B_CONTRACT])),
    "PAYEE_SHARED": (
        dict(roster=[roster_row(), B_ROSTER], attendance=attendance_rows() + attendance_rows(ID_B, "李梅"),
             contracts=[contract_row(), B_CONTRACT],
             payments=[pay(), pay(身份证号码=ID_B, 姓名="李梅", 收款账号=CARD_A, 收款人="张建国", 银行流水号="T2")]),
        dict(roster=[roster_row(), B_ROSTER], attendance=attendance_rows() + attendance_rows(ID_B, "李梅"),
             contracts=[contract_row(), B_CONTRACT],
             payments=[pay(), pay(身份证号码=ID_B, 姓名="李梅", 收款账号=CARD_B, 收款人="李梅", 银行流水号="T2")])),
    "NAME_ID_CONFLICT": (dict(attendance=attendance_rows(name="张建华")), {}),
    # the payroll (工资表) against the contract, the attendance and the money that moved
    "PAYROLL_BELOW_EXPECTED": (dict(payroll=[payroll_row(应发工资="8000", 实发工资="8000")]), dict(payroll=[payroll_row()])),
    "PAYROLL_DAYS_DIFFER": (dict(payroll=[payroll_row(出勤天数="20")]), dict(payroll=[payroll_row()])),
    "NOT_ON_PAYROLL": (
        dict(roster=[roster_row(), B_ROSTER], contracts=[contract_row(), B_CONTRACT],
             attendance=attendance_rows() + attendance_rows(ID_B, "李梅"), payroll=[payroll_row()]),
        dict(roster=[roster_row(), B_ROSTER], contracts=[contract_row(), B_CONTRACT],
             attendance=attendance_rows() + attendance_rows(ID_B, "李梅"),
             payroll=[payroll_row(), payroll_row(身份证号码=ID_B, 姓名="李梅", 工资卡号=CARD_B)])),
    "PAID_BELOW_PAYROLL": (dict(payroll=[payroll_row(应发工资="9000", 实发工资="9000")]),
                           dict(payroll=[payroll_row(应发工资="9000", 实发工资="9000")], today=dt.date(2026, 11, 15))),
    "ATTENDANCE_OVERLAP": (
        dict(others={"P2": ([roster_row()], [contract_row()], attendance_rows(days=[5]), [])}),
        dict(others={"P2": ([roster_row()], [contract_row()], attendance_rows(days=[3, 4]), [])})),
    "PAID_TWICE": (
        dict(others={"P2": ([roster_row()], [], [], [pay(付款账号="1", 银行流水号="X1")])}),
        dict(others={"P2": ([roster_row()], [], [], [pay(工资所属期="2026-09", 付款账号="1", 银行流水号="X1")])})),
}


def test_clean_month_has_no_findings():
    assert codes(cross()) == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_cross_rule_fires_and_near_miss_does_not(rule):
    fires, clean = CASES[rule]
    assert rule in codes(cross(**fires))
    assert rule not in codes(cross(**clean))


def test_every_cross_rule_has_a_case():
    assert {r.code for r in RULES if r.across is not None} <= set(CASES)


def test_monthly_wage_prorates_over_21_75_days():
    monthly = [contract_row(计薪方式="月薪", 工资标准="8700")]
    # 22 days worked >= 21.75: the whole month's wage is due; 8699.99 is short.
    assert "UNDERPAID" in codes(cross(contracts=monthly, payments=[pay(实发金额="8699.99")]))
    assert codes(cross(contracts=monthly, payments=[pay(实发金额="8700.00")])) == []
    # 10 days: 8700 × 10 / 21.75 = 4000.00
    ten = attendance_rows(days=WORKDAYS[:10])
    assert codes(cross(contracts=monthly, attendance=ten, payments=[pay(实发金额="4000.00")])) == []
    assert "UNDERPAID" in codes(cross(contracts=monthly, attendance=ten, payments=[pay(实发金额="3999.99")]))


def test_piece_work_has_no_expected_amount():
    piece = [contract_row(计薪方式="计件", 工资标准=None)]
    assert codes(cross(contracts=piece, payments=[pay(实发金额="1.00")])) == []


def test_pay_day_sets_the_deadline():
    late_pay_day = [contract_row(工资发放日="25")]
    assert codes(cross(contracts=late_pay_day, payments=[pay(发放日期="2026-11-20")])) == []
    found = cross(contracts=late_pay_day, payments=[], today=dt.date(2026, 11, 26))
    assert codes(found) == ["NOT_PAID"]


def test_paid_to_foreman_is_not_paid_to_the_worker():
    found = codes(cross(payments=[pay(收款账号=CARD_B, 收款人="包工头")]))
    assert "PAYEE_NOT_WORKER" in found and "UNDERPAID" in found


def test_cross_findings_mask_the_worker():
    found = cross(payments=[pay(付款账号="6222000011112222333")])
    row = found.row(0, named=True)
    assert row["worker"] == ID_A[:6] + "********" + ID_A[-4:]
    assert row["value"] == "****2333"
    assert ACCOUNT not in str(found.to_dicts())


def test_one_contract_per_worker_covers_days_as_the_general_path_does():
    """Which contract covers each worked day: the quick join for one contract per worker must
    answer what the general path (several contracts per worker, sorted) answers, including
    contracts without a start or end date and days outside every term."""
    import random

    import polars as pl

    from sitereg.validate.crosscheck import _day_contracts

    schema = {"id_number": pl.String, "contract_no": pl.String, "start_date": pl.Date, "end_date": pl.Date,
              "wage_basis": pl.String, "wage_rate_fen": pl.Int64, "pay_day": pl.Int64}
    rng = random.Random(7)
    seen: set[bool] = set()
    for _ in range(200):
        ids = [f"ID{i}" for i in range(rng.randint(1, 8))]
        days = pl.DataFrame({"id_number": [rng.choice([*ids, None]) for _ in range(30)],
                             "date": [dt.date(2026, 10, rng.randint(1, 31)) for _ in range(30)],
                             "a_name": [rng.choice(["a", "b", None]) for _ in range(30)]}
                            ).unique(["id_number", "date"], keep="first", maintain_order=True)
        day = lambda: rng.choice([None, dt.date(2026, 10, rng.randint(1, 31))])  # noqa: E731
        rows = [(i, f"C{i}", day(), day(), rng.choice(["daily", "monthly", None]), rng.randint(1, 9),
                 rng.choice([None, 5, 15])) for i in rng.sample(ids, rng.randint(0, len(ids)))]
        one_each = pl.DataFrame(rows, schema=schema, orient="row")
        # Two contracts of a worker with no attendance make the same question take the general path.
        general = pl.concat([one_each, pl.DataFrame([("NOBODY", "X", None, None, None, None, None)] * 2, schema=schema,
                                                    orient="row")])
        quick = _day_contracts(days, one_each).sort("id_number", "date", nulls_last=True)
        slow = _day_contracts(days, general).select(quick.columns).sort("id_number", "date", nulls_last=True)
        assert quick.equals(slow)
        seen.update(quick.get_column("covers").to_list())
    assert seen == {True, False}  # the cases had days inside and outside a term


def test_paid_twice_needs_a_payment_on_both_projects():
    """A worker with attendance here whom only the other project paid is not paid twice
    (domain.md: paid for the same period by two projects)."""
    other = {"P2": ([roster_row()], [], [], [pay(付款账号="1", 银行流水号="X1")])}
    assert "PAID_TWICE" in codes(cross(others=other))
    assert "PAID_TWICE" not in codes(cross(payments=[], others=other))


def test_days_no_contract_covers_are_still_priced_at_the_workers_wage():
    """domain.md: expected = daily wage × days worked. A contract signed mid-month left the days
    before it out of the expected amount, so pay for the covered days only was 'full' (a
    new-user trial: no UNDERPAID, coverage counted the worker as fully paid)."""
    late = [contract_row(合同开始日期="2026-10-15")]
    covered = [d for d in WORKDAYS if d >= 15]
    short = cross(contracts=late, payments=[pay(实发金额=f"{400 * len(covered)}.00")])
    assert {"NO_CONTRACT", "UNDERPAID"} <= set(codes(short))
    underpaid = short.filter(pl.col("rule") == "UNDERPAID").get_column("args").item()
    assert f'"expected":"{400 * len(WORKDAYS)}.00"' in underpaid.replace(" ", "")
    assert "UNDERPAID" not in codes(cross(contracts=late, payments=[pay(实发金额=f"{400 * len(WORKDAYS)}.00")]))
    # Two contracts: a day between them is priced at the nearer one's rate.
    two = [contract_row(合同结束日期="2026-10-09", 工资标准="300"),
           contract_row(合同编号="HT-002", 合同开始日期="2026-10-20", 工资标准="500")]
    days = [5, 13, 19, 22]  # 13 is 4 days after the first, 7 before the second; 19 is nearer the second
    found = cross(contracts=two, attendance=attendance_rows(days=days), payments=[pay(实发金额="1.00")])
    args = found.filter(pl.col("rule") == "UNDERPAID").get_column("args").item()
    assert f'"expected":"{300 + 300 + 500 + 500}.00"' in args.replace(" ", "")


def test_an_overlap_names_its_first_day_and_counts_the_days():
    """A new-user trial: the finding named only 10-01 when the worker overlapped on three days."""
    found = cross(others={"P2": ([roster_row()], [contract_row()], attendance_rows(days=[5, 6, 7]), [])})
    args = found.filter(pl.col("rule") == "ATTENDANCE_OVERLAP").get_column("args").to_list()
    assert len(args) == 1 and '"days":"3"' in args[0] and '"date":"2026-10-05"' in args[0]


def test_identical_cross_findings_are_listed_once():
    """Two bank payouts of one worker into a card shared with another worker: one PAYEE_SHARED."""
    from sitereg.validate.crosscheck import cross_findings, prepare

    t = tables_of([roster_row(), B_ROSTER], [contract_row(), B_CONTRACT], attendance_rows() + attendance_rows(ID_B, "李梅"),
                  [pay(), pay(身份证号码=ID_B, 姓名="李梅", 收款账号=CARD_A, 收款人="张建国", 银行流水号="T2", 实发金额="100.00"),
                   pay(身份证号码=ID_B, 姓名="李梅", 收款账号=CARD_A, 收款人="张建国", 银行流水号="T3", 实发金额="100.00")])
    t = type(t)(t.roster, t.contracts, t.attendance, t.payments.with_columns(source=pl.lit("bank")), t.payroll, t.entry_exit)
    found = cross_findings(prepare(t, PERIOD, ACCOUNT, TODAY), pl.DataFrame(schema=OVERLAP_SCHEMA), 1.5)
    shared = found.filter(pl.col("rule") == "PAYEE_SHARED")
    assert shared.height == shared.unique().height and shared.height >= 1
    assert found.height == found.unique().height
