"""Each file rule: a case that fires and a near-miss that must not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from idgen import make_card, make_id
from ruleharness import (
    CARD_A,
    CARD_B,
    CREDIT,
    ID_A,
    ID_B,
    PERIOD,
    TODAY,
    attendance_rows,
    check,
    codes,
    contract_row,
    payment_row,
    payroll_row,
    punch_row,
    roster_row,
    table,
)
from sitereg.validate.codes import work_type_lookup
from sitereg.validate.filecheck import Context, validate_file
from sitereg.validate.rules import RULES

BAD_CHECK = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
BAD_BIRTH = make_id(birth="19901307")


CASES = [
    # (rule, kind, rows that fire, rows that must not)
    ("ID_EXCEL_PRECISION", "roster", [roster_row(身份证号码="1.10101199003071E+17")], [roster_row()]),
    ("ID_EXCEL_PRECISION", "roster", [roster_row(身份证号码="440305198506121000")], [roster_row()]),
    ("ID_LEGACY_15", "roster", [roster_row(身份证号码="440305850612123")], [roster_row()]),
    ("ID_FORMAT", "roster", [roster_row(身份证号码="44030519850612123")], [roster_row(身份证号码=ID_A.lower())]),
    # 证件类型: a passport is checked for its own shape, never as a bad ID card
    ("ID_FORMAT", "roster", [roster_row(证件类型="护照", 身份证号码="E1!")],
     [roster_row(证件类型="护照", 身份证号码="E12345678"), roster_row(证件类型="港澳居民来往内地通行证", 身份证号码="H12345678")]),
    ("ID_BIRTHDATE", "roster", [roster_row(身份证号码=BAD_BIRTH)], [roster_row()]),
    ("ID_CHECKSUM", "roster", [roster_row(身份证号码=BAD_CHECK)], [roster_row(身份证号码=f" {ID_A} ")]),
    ("NAME_MISSING", "roster", [roster_row(姓名="  ")], [roster_row()]),
    ("NAME_ID_CONFLICT", "attendance", attendance_rows(days=[1]) + attendance_rows(name="张建华", days=[2]),
     attendance_rows(days=[1, 2])),
    ("DUPLICATE_WORKER", "roster", [roster_row(), roster_row()], [roster_row(), roster_row(身份证号码=ID_B, 性别="女")]),
    ("GENDER_MISMATCH", "roster", [roster_row(性别="女")], [roster_row(性别="M")]),
    ("AGE_UNDER_16", "roster", [roster_row(身份证号码=make_id(birth="20110101"))], [roster_row(身份证号码=make_id(birth="20101001"))]),
    ("AGE_MINOR", "roster", [roster_row(身份证号码=make_id(birth="20100601"))], [roster_row(身份证号码=make_id(birth="20081001"))]),
    ("AGE_OVER_LIMIT", "roster", [roster_row(身份证号码=make_id(birth="19650101"))],
     [roster_row(身份证号码=make_id(birth="19661002"))]),
    ("AGE_OVER_LIMIT", "roster", [roster_row(身份证号码=make_id(birth="19750101", male=False), 性别="女")],
     [roster_row(身份证号码=make_id(birth="19780101", male=False), 性别="女")]),
    ("CREDIT_CODE_INVALID", "roster", [roster_row(用工单位统一社会信用代码=CREDIT[:-1] + "0")], [roster_row()]),
    ("CREDIT_CODE_INVALID", "contracts", [contract_row(用工单位统一社会信用代码="91440300MA5DL7K2IW")], [contract_row()]),
    ("BANK_CARD_FORMAT", "roster", [roster_row(工资卡号="62220212")], [roster_row(工资卡号=f"{CARD_A[:4]} {CARD_A[4:]}")]),
    ("BANK_CARD_LUHN", "roster", [roster_row(工资卡号=CARD_A[:-1] + str((int(CARD_A[-1]) + 1) % 10))],
     [roster_row(工资卡号=make_card(prefix="621700", n=77, length=16))]),
    ("PHONE_FORMAT", "roster", [roster_row(手机号码="1234567")], [roster_row(手机号码="+86 139-1234-5678")]),
    ("JOB_TYPE_UNKNOWN", "roster", [roster_row(工种="搬砖工")], [roster_row(工种="020"), roster_row(身份证号码=ID_B, 性别="女", 工种="20")]),
    ("VALUE_MISSING", "roster", [roster_row(工种=None)], [roster_row()]),
    ("VALUE_MISSING", "roster", [roster_row(工资卡号=None)], [{**roster_row(工资卡号=None), "社保卡金融账号": CARD_A}]),
    ("VALUE_INVALID", "contracts", [contract_row(计薪方式="按天")], [contract_row(计薪方式="daily")]),
    ("VALUE_INVALID", "payments", [payment_row(发放渠道="现金")], [payment_row(发放渠道="社保卡")]),
    ("DATE_INVALID", "roster", [roster_row(进场日期="2026-02-30")], [roster_row(进场日期="2026年3月1日")]),
    ("DATE_IN_FUTURE", "roster", [roster_row(进场日期="2027-01-04")], [roster_row(进场日期="2026-11-27")]),
    ("DATE_RANGE", "roster", [roster_row(退场日期="2026-02-01")], [roster_row(退场日期="2026-03-01")]),
    ("DATE_RANGE", "contracts", [contract_row(合同结束日期="2026-01-01")], [contract_row(合同结束日期="2026-12-31")]),
    ("DATE_OUT_OF_PERIOD", "attendance", attendance_rows(days=[1]) + [attendance_rows()[0] | {"日期": "2026-09-30"}],
     attendance_rows(days=[1, 31])),
    ("HOURS_INVALID", "attendance", [attendance_rows()[0] | {"工时": "25"}], [attendance_rows()[0] | {"工时": "12.5"}]),
    ("NO_REST_DAY", "attendance", attendance_rows(days=range(1, 32)), attendance_rows(days=range(1, 31))),
    ("AMOUNT_INVALID", "payments", [payment_row(实发金额="-5")], [payment_row(实发金额="¥8,800.50")]),
    ("AMOUNT_INVALID", "contracts", [contract_row(工资标准="四百")], [contract_row(计薪方式="计件", 工资标准=None)]),
    ("TXN_CONFLICT", "payments", [payment_row(), payment_row(身份证号码=ID_B)], [payment_row(), payment_row(银行流水号="T0002")]),
    ("PAYMENT_FAILED", "payments", [payment_row(交易状态="交易失败")], [payment_row(交易状态="交易成功")]),
    ("COLUMN_UNKNOWN", "roster", [roster_row(备注="x")], [roster_row(序号="1")]),
    ("COLUMN_MISSING", "payments", [{k: v for k, v in payment_row().items() if k != "银行流水号"}], [payment_row()]),
    # another month's file: every date or month outside the period
    ("PERIOD_MISMATCH", "payroll", [payroll_row(工资所属期="2026-09")], [payroll_row(工资所属期="2026年10月")]),
    ("PERIOD_MISMATCH", "attendance", [attendance_rows()[0] | {"日期": "2026-09-03"}],
     [attendance_rows()[0], attendance_rows()[0] | {"日期": "2026-09-30"}]),
    # payroll (工资表), entry/exit log, gate punches, clock-time cells
    ("WORKER_UNRESOLVED", "payroll", [payroll_row(身份证号码=None)], [payroll_row()]),
    ("PAYROLL_ARITHMETIC", "payroll", [payroll_row(实发工资="8500.00")], [payroll_row()]),
    ("DEDUCTION_HIGH", "payroll", [payroll_row(扣款="2000", 实发工资="6800")], [payroll_row(扣款="1760", 实发工资="7040")]),
    ("EXIT_WITHOUT_ENTRY", "entry_exit", [{"证件号码": ID_A, "工人姓名": "张建国", "进退场日期": "2026-10-20", "类型": "退场"}],
     [{"证件号码": ID_A, "工人姓名": "张建国", "进退场日期": "2026-10-01", "类型": "进场"},
      {"证件号码": ID_A, "工人姓名": "张建国", "进退场日期": "2026-10-20", "类型": "退场"}]),
    ("PUNCH_UNPAIRED", "attendance", [punch_row("2026-10-08 07:31:00", "入场")],
     [punch_row("2026-10-08 07:31:00", "入场"), punch_row("2026-10-08 17:40:00", "出场")]),
    ("CLOCK_ANOMALY", "attendance", [{"身份证号码": ID_A, "姓名": "张建国", "1": "07:30-17:30", "2": "异常!"}],
     [{"身份证号码": ID_A, "姓名": "张建国", "1": "07:30-17:30", "2": "√"}]),
    # clock columns with one time of the two: the missing one is the anomaly
    ("CLOCK_ANOMALY", "attendance",
     [{"身份证号码": ID_A, "姓名": "张建国", "考勤日期": "2026-10-08", "上班打卡时间": "07:30", "下班打卡时间": None}],
     [{"身份证号码": ID_A, "姓名": "张建国", "考勤日期": "2026-10-08", "上班打卡时间": "07:30", "下班打卡时间": "17:30"},
      {"身份证号码": ID_A, "姓名": "张建国", "考勤日期": "2026-10-09", "上班打卡时间": None, "下班打卡时间": None}]),
    # a passport holder's age comes from 出生日期 (formats.md); the ID card's from the ID
    ("AGE_UNDER_16", "roster", [roster_row(证件类型="护照", 身份证号码="E12345678", 出生日期="2012-03-01")],
     [roster_row(证件类型="护照", 身份证号码="E12345678", 出生日期="2008-03-01"),
      roster_row(身份证号码=ID_B, 性别="女", 出生日期="2012-03-01")]),
    ("AGE_OVER_LIMIT", "roster", [roster_row(证件类型="港澳居民来往内地通行证", 身份证号码="H87654321", 出生日期="1960年5月1日")],
     [roster_row(证件类型="港澳居民来往内地通行证", 身份证号码="H87654321", 出生日期="1970-05-01")]),
    # a blank 证件类型 is a 居民身份证: its checks apply
    ("ID_CHECKSUM", "roster", [roster_row(证件类型=None, 身份证号码=BAD_CHECK)], [roster_row(证件类型=None)]),
    ("GENDER_MISMATCH", "roster", [roster_row(证件类型="", 性别="女")], [roster_row(证件类型="", 性别="男")]),
    # a roster keeping only the 社保卡 column: a worker with neither card has no payout account
    ("VALUE_MISSING", "roster", [{**{k: v for k, v in roster_row().items() if k != "工资卡号"}, "社保卡金融账号": None}],
     [{**{k: v for k, v in roster_row().items() if k != "工资卡号"}, "社保卡金融账号": CARD_A}]),
    ("PROJECT_MISMATCH", "payments", [payment_row(项目编码="XM-440306-2026-002")],
     [payment_row(项目编码="XM-440305-2026-001"), payment_row(银行流水号="T0002", 项目编码=None)]),
    # ○ is no mark domain.md knows: not silently a day worked
    ("HOURS_INVALID", "attendance", [{"身份证号码": ID_A, "姓名": "张建国", "1": "√", "2": "○"}],
     [{"身份证号码": ID_A, "姓名": "张建国", "1": "√", "2": "●"}]),
]


@pytest.mark.parametrize(("rule", "kind", "fires", "clean"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_and_near_miss_does_not(rule, kind, fires, clean):
    assert rule in codes(check(kind, fires))
    assert rule not in codes(check(kind, clean))


def test_excel_damaged_id_found_by_cell_type():
    """calamine renders an 18-digit number in a numeric cell with plausible wrong digits."""
    result = check("roster", [roster_row()], numeric={"身份证号码": [True]})
    assert codes(result) == ["ID_EXCEL_PRECISION"]


def test_every_file_rule_has_a_case():
    file_rules = {r.code for r in RULES if r.check is not None}
    assert file_rules <= {c[0] for c in CASES}


def test_finding_carries_excel_row_and_header_as_written():
    result = check("roster", [roster_row(), roster_row(身份证号码=ID_B, 性别="女", 手机号码="555")])
    (finding,) = result.findings.iter_rows(named=True)
    assert (finding["rule"], finding["row"], finding["column"], finding["value"]) == ("PHONE_FORMAT", 3, "手机号码", "****")


def test_compliance_findings_never_reject_but_unusable_rows_do():
    child = roster_row(身份证号码=make_id(birth="20120101"), 工资卡号="123")
    result = check("roster", [child, roster_row(身份证号码=BAD_CHECK)])
    assert {"AGE_UNDER_16", "BANK_CARD_FORMAT", "ID_CHECKSUM"} <= set(codes(result))
    assert result.rows.get_column("id_number").to_list() == [child["身份证号码"]]
    assert (result.rows_total, result.rows_rejected) == (2, 1)


def test_personal_values_are_masked_in_findings():
    result = check("roster", [roster_row(身份证号码=BAD_CHECK, 工资卡号="62220212345", 手机号码="1380013800")])
    values = dict(zip(codes(result), result.findings.sort("rule").get_column("value"), strict=True))
    assert values["ID_CHECKSUM"] == BAD_CHECK[:6] + "********" + BAD_CHECK[-4:]
    assert values["BANK_CARD_FORMAT"] == "****2345"
    assert values["PHONE_FORMAT"] == "138****3800"


def test_age_limit_follows_region_settings():
    from sitereg.pipeline import age_limits
    from sitereg.settings import AgeLimit, Settings

    s = Settings(age_limits=(AgeLimit(), AgeLimit(region_prefix="31", effective=dt.date(2027, 1, 1), men=63, women=55)))
    assert age_limits(s, "310101", dt.date(2026, 11, 1)) == (60, 50)
    assert age_limits(s, "310101", dt.date(2027, 1, 1)) == (63, 55)
    assert age_limits(s, "440305", dt.date(2027, 1, 1)) == (60, 50)


def test_footer_rows_are_found_among_workers_whose_names_start_like_a_footer():
    # 小/日/单/合 open both worker names and footer words: only the totals and signature lines go.
    rows = (attendance_rows(ID_A, "小明", days=[1, 2]) + attendance_rows(ID_B, "日辉", days=[1])
            + [{"身份证号码": None, "姓名": None, "日期": None, "工时": "24"}]
            + [{"身份证号码": "\u3000合 计", "姓名": None, "日期": None, "工时": "24"},
               {"身份证号码": None, "姓名": "制表人：张三", "日期": "审核人：李四", "工时": None},
               {"身份证号码": "单位盖章", "姓名": None, "日期": None, "工时": None}])
    result = check("attendance", rows)
    skipped = result.findings.filter(result.findings.get_column("rule") == "FOOTER_ROWS_SKIPPED")
    assert skipped.height == 1
    assert '"n":3' in skipped.get_column("args").item().replace(" ", "")
    assert sorted(result.rows.get_column("name").to_list()) == ["小明", "小明", "日辉"]


@pytest.mark.parametrize("line", ["考勤员：赵六    项目负责人（签字）：", "记工员:王五", "班组长（签字）：", "项目经理：李四"])
def test_a_signature_line_of_any_role_is_a_footer_not_a_rejected_worker(line):
    """formats.md: the lines under the table are not workers. A site's 考勤员 or 记工员 signs too
    (a new-user trial: such a line was two errors and a rejected row)."""
    rows = attendance_rows(ID_A, "小明", days=[1, 2]) + [{"身份证号码": line, "姓名": None, "日期": None, "工时": None}]
    result = check("attendance", rows)
    assert codes(result) == ["FOOTER_ROWS_SKIPPED"]
    assert (result.rows_total, result.rows_rejected) == (2, 0)


def test_a_remark_with_a_colon_beside_a_worker_keeps_the_worker():
    rows = [dict(r, 备注="联系人：张三") for r in attendance_rows(ID_A, "小明", days=[1, 2])]
    result = check("attendance", rows)
    assert "FOOTER_ROWS_SKIPPED" not in codes(result) and result.rows.height == 2


def _full_width(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def test_full_width_id_card_phone_and_amount_are_normalised_with_one_info_per_column():
    """formats.md: full-width digits and letters typed by Chinese input methods are normalised
    in ID, card, phone, account and amount cells before any check, one info per column."""
    roster = check("roster", [
        roster_row(身份证号码=_full_width(ID_A.lower()), 工资卡号=_full_width(CARD_A), 手机号码=_full_width("13800138000")),
        roster_row(身份证号码=ID_B, 姓名="李梅", 性别="女", 工资卡号=CARD_B)])
    assert roster.rows_rejected == 0
    assert codes(roster) == ["VALUE_NORMALISED"] * 3
    assert roster.rows.get_column("id_number").to_list() == [ID_A, ID_B]
    assert roster.rows.get_column("bank_card").to_list() == [CARD_A, CARD_B]
    info = roster.findings.sort("column")
    assert info.get_column("column").to_list() == sorted(["身份证号码", "工资卡号", "手机号码"])
    assert all(a == '{"n":1}' for a in info.get_column("args").to_list())

    paid = check("payments", [payment_row(实发金额=_full_width("10,000.00"), 收款账号=_full_width(CARD_A))])
    assert paid.rows_rejected == 0
    assert paid.rows.get_column("amount_fen").to_list() == [1_000_000]
    assert sorted(paid.findings.get_column("column").to_list()) == ["实发金额", "收款账号"]


def test_plain_values_get_no_normalisation_info():
    assert "VALUE_NORMALISED" not in codes(check("roster", [roster_row()]))


def test_a_card_number_excel_stored_as_a_number_is_a_format_error_not_a_luhn_warning():
    """Excel keeps 15 significant digits of a number: a 19-digit card typed into a General cell
    shows 19 digits, the last four of them zeros. It is not the worker's card."""
    cut = CARD_A[:15] + "0" * (len(CARD_A) - 15)
    result = check("roster", [roster_row(工资卡号=cut), roster_row(身份证号码=ID_B, 姓名="李梅", 性别="女", 工资卡号=CARD_B)],
                   numeric={"工资卡号": [True, False]})
    assert codes(result) == ["BANK_CARD_FORMAT"]
    assert result.findings.get_column("row").to_list() == [2]
    # The same digits typed as text are judged by their check digit only.
    assert "BANK_CARD_FORMAT" not in codes(check("roster", [roster_row(工资卡号=cut)]))


def test_a_roster_entry_date_is_required_until_the_project_has_an_entry_exit_log():
    """domain.md: entry_date is required; formats.md: not where a 进退场 log exists (template 03,
    which has no such column, comes with one)."""
    rows = [roster_row(进场日期=None), roster_row(身份证号码=ID_B, 姓名="李梅", 性别="女", 工资卡号=CARD_B, 进场日期="2026年13月1日")]
    alone = check("roster", rows)
    assert alone.rows_rejected == 2 and codes(alone) == ["DATE_INVALID", "VALUE_MISSING"]
    ctx = Context(PERIOD, TODAY, job_types=work_type_lookup(), entry_log=True)
    with_log = validate_file(table(rows), "roster", ctx)
    assert with_log.rows_rejected == 0 and codes(with_log) == ["DATE_INVALID"]
    no_column = [{k: v for k, v in r.items() if k != "进场日期"} for r in rows]
    assert check("roster", no_column).rows_rejected == 0


# ---- amounts in messages: yuan with two places, whatever the cell held ------------------------
def _messages(result, code: str) -> list[tuple[str, str]]:
    from sitereg.api.findings import finding_json

    rows = result.findings.filter(result.findings.get_column("rule") == code).iter_rows(named=True)
    return [(finding_json(r, "payroll", "zh")["message"], finding_json(r, "payroll", "en")["message"]) for r in rows]


MONEY_HEADS = ("应发工资", "扣款", "实发工资")


def test_payroll_amounts_written_as_numbers_show_as_yuan_with_two_places_in_messages():
    """api.md: amounts are yuan with two places. A site sheet's 应发工资 / 扣款 / 实发工资 typed as
    numbers (the reader gives "3000", the cell's number 3000) were echoed as "3000.0" beside a
    "11780.00" in the same sentence."""
    rows = [payroll_row(出勤天数="31", 应发工资="11780", 扣款="3000", 实发工资="8780"),  # deductions over 20 %
            payroll_row(身份证号码=ID_B, 姓名="李秀英", 出勤天数="26", 应发工资="9360", 扣款="100", 实发工资="9200")]
    result = check("payroll", rows, numeric={h: [True, True] for h in MONEY_HEADS})
    assert codes(result) == ["DEDUCTION_HIGH", "PAYROLL_ARITHMETIC"]
    assert _messages(result, "DEDUCTION_HIGH") == [(
        "扣款 3000.00 元超过应发 11780.00 元的 20%。请核实扣款依据（借支、罚款须有书面依据）。",
        "Deductions of 3000.00 exceed 20 % of the gross 11780.00. Check what they are for.")]
    assert _messages(result, "PAYROLL_ARITHMETIC") == [(
        "应发 9360.00 元 − 扣款 100.00 元 ≠ 实发 9200.00 元。请核对工资表的计算。",
        "Gross 9360.00 − deductions 100.00 ≠ net 9200.00. Check the payroll's arithmetic.")]


def test_payroll_amounts_written_as_text_show_as_yuan_with_two_places_in_messages():
    """The same amounts typed as text in the ways sites write them: 3,000 / ¥3000 / 3000.5元."""
    rows = [payroll_row(应发工资="11,780", 扣款="¥3,000", 实发工资="8780"),
            payroll_row(身份证号码=ID_B, 姓名="李秀英", 应发工资="9360", 扣款="100.5元", 实发工资="９２００")]
    result = check("payroll", rows)
    assert [m for m, _ in _messages(result, "DEDUCTION_HIGH")] == [
        "扣款 3000.00 元超过应发 11780.00 元的 20%。请核实扣款依据（借支、罚款须有书面依据）。"]
    assert [e for _, e in _messages(result, "PAYROLL_ARITHMETIC")] == [
        "Gross 9360.00 − deductions 100.50 ≠ net 9200.00. Check the payroll's arithmetic."]


def test_a_number_with_more_places_than_its_cell_shows_is_the_amount_shown():
    """formats.md: 3333.333… in a cell formatted 0.00 is 3333.33 (and so in the message)."""
    rows = [payroll_row(应发工资="3333.33333333333", 扣款="1000", 实发工资="2300")]
    result = check("payroll", rows, numeric={h: [True] for h in MONEY_HEADS})
    assert _messages(result, "DEDUCTION_HIGH")[0][0].startswith("扣款 1000.00 元超过应发 3333.33 元")
    assert _messages(result, "PAYROLL_ARITHMETIC")[0][1].startswith(
        "Gross 3333.33 − deductions 1000.00 ≠ net 2300.00.")


def test_no_finding_message_shows_an_amount_with_one_decimal_place():
    """Every amount of every payroll rule: never "3000.0", "400.0" in zh or en."""
    import re

    rows = [payroll_row(出勤天数="31", 应发工资="11780", 扣款="3000", 实发工资="8780"),
            payroll_row(身份证号码=ID_B, 姓名="李秀英", 应发工资="500", 扣款="0", 实发工资="400")]
    result = check("payroll", rows, numeric={h: [True, True] for h in MONEY_HEADS})
    assert codes(result) == ["DEDUCTION_HIGH", "PAYROLL_ARITHMETIC"]
    for code in ("DEDUCTION_HIGH", "PAYROLL_ARITHMETIC"):
        for zh, en in _messages(result, code):
            assert not re.search(r"\d\.\d(?!\d)", zh + en), (zh, en)


def test_a_payroll_finding_stored_before_its_amount_was_an_argument_still_shows_two_places():
    """Findings already stored carry the cell as written in ``value`` and no amount argument."""
    from sitereg.api.findings import finding_json

    stored = {"rule": "DEDUCTION_HIGH", "row": 7, "column": "扣款(元)", "value": "3000.0", "worker": None,
              "args": '{"gross":"11780.00"}'}
    assert finding_json(stored, "payroll", "zh")["message"].startswith("扣款 3000.00 元超过应发 11780.00 元")
    stored = {"rule": "PAYROLL_ARITHMETIC", "row": 8, "column": "实发工资（元）", "value": "9200.0", "worker": None,
              "args": '{"gross":"9360.00","deductions":"100.00"}'}
    assert finding_json(stored, "payroll", "en")["message"].startswith("Gross 9360.00 − deductions 100.00 ≠ net 9200.00.")


def test_a_month_column_naming_another_month_is_period_mismatch_on_its_row():
    """formats.md: a month column that differs from the upload's period is PERIOD_MISMATCH (it
    was DATE_OUT_OF_PERIOD, whose message spoke of a day the month does not have)."""
    from sitereg.api.findings import finding_json

    result = check("payroll", [payroll_row(), payroll_row(身份证号码=ID_B, 姓名="李梅", 工资卡号=CARD_B, 工资所属期="2026-09")])
    hits = result.findings.filter(pl.col("rule") == "PERIOD_MISMATCH")
    assert hits.get_column("row").to_list() == [3] and "DATE_OUT_OF_PERIOD" not in codes(result)
    assert result.rows_rejected == 1 and result.rows.height == 1
    row = hits.row(0, named=True)
    zh, en = finding_json(row, "payroll", "zh")["message"], finding_json(row, "payroll", "en")["message"]
    assert "「工资所属期」为 2026-09" in zh and "本行未入库" in zh and "没有这一天" not in zh
    assert "'工资所属期' says 2026-09" in en and "this row was not stored" in en


@pytest.mark.parametrize(("typed", "shown"), [(3000.0, "3000.00"), (1.005, "1.01"), (1234.565, "1234.57"),
                                              (10000 / 3, "3333.33")])
def test_a_numeric_money_cell_is_the_amount_its_0_00_format_shows(typed, shown):
    """Excel rounds half up from the decimal value it shows; a float's round(2) turned 1.005
    into 1.00 and echoed 3000 as 3000.0."""
    from sitereg.validate.readers import _excel_general

    rows = [payroll_row(实发工资=_excel_general(str(typed)), 应发工资=_excel_general(str(typed)))]
    result = check("payroll", rows, numeric={"实发工资": [True], "应发工资": [True]})
    fen = int(shown.replace(".", ""))
    assert result.rows.get_column("net_fen").to_list() == result.rows.get_column("gross_fen").to_list() == [fen]


def test_a_punch_outside_the_period_is_not_also_counted_present():
    """A new-user trial: a lone punch on 2026-11-02 in October's file got DATE_OUT_OF_PERIOD (未计入)
    and PUNCH_UNPAIRED (按出勤计), which contradict each other."""
    rows = [punch_row("2026-10-08 07:31:00", "入场"), punch_row("2026-10-08 17:40:00", "出场"),
            punch_row("2026-11-02 07:30:00", "入场")]
    result = check("attendance", rows)
    assert "DATE_OUT_OF_PERIOD" in codes(result) and "PUNCH_UNPAIRED" not in codes(result)
