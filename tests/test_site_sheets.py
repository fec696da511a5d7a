"""Sheets as site offices really make them, from a new clerk's trial: merged two-line wage
headers, several deduction columns, passport holders, 社保卡 payouts, legends under the table,
dates with their weekday, an attendance month with nobody present, another project's rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import polars as pl

from conftest import upload
from idgen import make_card
from ruleharness import CREDIT, ID_A, ID_B, PERIOD, TODAY, check, codes, roster_row
from sitereg.validate.columns import header_hints
from sitereg.validate.filecheck import Context, validate_file
from sitereg.validate.readers import read_table
from sitereg.validate.rules import reason_zh

CODE = "XM-440305-2026-001"
ACCOUNT = "4425010020239361300"


def _xlsx(rows: list[list], merges: tuple[str, ...] = (), title: str = "10月") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _validate(data: bytes, kind: str, **ctx):
    table = read_table(data, "f.xlsx", header_hints=header_hints())
    return validate_file(table, kind, Context(PERIOD, TODAY, **ctx))


def test_a_two_line_wage_header_reads_gross_from_its_subtotal_and_sums_the_deductions():
    # 应发工资 over 基本工资 | 加班工资 | 小计, 扣款 over 借支 | 代扣个税, as site offices draw it.
    data = _xlsx([
        ["2026年10月农民工工资发放表"],
        ["序号", "姓名", "身份证号码", "出勤天数", "应发工资（元）", None, None, "扣款（元）", None, "实发工资（元）", "本人签字"],
        [None, None, None, None, "基本工资", "加班工资", "小计", "借支", "代扣个税", None, None],
        [1, "张建国", ID_A, 22, 8800, 500, 9300, 1000, 45, 8255, None],
        [2, "李秀英", ID_B, 20, 8000, 0, 8000, None, None, 8000, None],
        ["合计"],
    ], merges=("A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:G2", "H2:I2", "J2:J3", "K2:K3"))
    result = _validate(data, "payroll")
    rows = result.rows.sort("name")
    assert rows.select("name", "gross_fen", "deductions_fen", "net_fen").rows() == [
        ("张建国", 930000, 104500, 825500), ("李秀英", 800000, None, 800000)]
    found = codes(result)
    assert "PAYROLL_ARITHMETIC" not in found and "COLUMN_UNKNOWN" not in found


def test_a_merged_gross_without_a_subtotal_is_the_sum_of_its_parts():
    data = _xlsx([
        ["姓名", "身份证号码", "应发工资", None, "实发工资"],
        [None, None, "基本工资", "加班工资", None],
        ["张建国", ID_A, 8800, 500, 9300],
    ], merges=("A1:A2", "B1:B2", "C1:D1", "E1:E2"))
    result = _validate(data, "payroll")
    assert result.rows.select("gross_fen", "net_fen").row(0) == (930000, 930000)
    assert "PAYROLL_ARITHMETIC" not in codes(result)


def test_every_deduction_column_counts_and_a_deduction_total_is_taken_alone():
    head = ["姓名", "身份证号码", "应发工资（元）", "借支(元)", "扣款(元)", "代扣个税(元)", "实发工资（元）"]
    result = check("payroll", [dict(zip(head, ["张建国", ID_A, "￥9,000.00", None, "200", "¥45.00", "8,755.00"]))])
    assert result.rows.get_column("deductions_fen").to_list() == [24500]
    assert codes(result) == []  # 9000 − 200 − 45 = 8755: no arithmetic warning, no unknown column
    totalled = check("payroll", [dict(zip(head[:4] + ["扣款合计", "实发工资"], ["张建国", ID_A, "9000", "200", "245", "8755"]))])
    assert totalled.rows.get_column("deductions_fen").to_list() == [24500]


def test_an_amount_part_that_is_no_amount_is_reported_not_summed_as_zero():
    data = _xlsx([
        ["姓名", "身份证号码", "应发工资", None, "实发工资"],
        [None, None, "基本工资", "加班工资", None],
        ["张建国", ID_A, 8800, "五百", 9300],
    ], merges=("A1:A2", "B1:B2", "C1:D1", "E1:E2"))
    result = _validate(data, "payroll")
    assert "AMOUNT_INVALID" in codes(result)


def test_a_column_every_team_sheet_has_is_reported_once():
    wb = openpyxl.Workbook()
    for i, team in enumerate(("钢筋班", "木工班")):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = team
        ws.append(["姓名", "身份证号码", "实发工资", "工地备忘"])
        ws.append(["张建国" if i == 0 else "李秀英", ID_A if i == 0 else ID_B, "8000", "x"])
    buf = io.BytesIO()
    wb.save(buf)
    result = _validate(buf.getvalue(), "payroll")
    assert codes(result) == ["COLUMN_UNKNOWN"]
    assert result.rows.height == 2


def test_job_type_names_are_stored_as_their_codes():
    result = check("roster", [roster_row(工种="钢筋工"), roster_row(身份证号码=ID_B, 性别="女", 工种="020")])
    assert result.rows.get_column("job_type").to_list() == ["020", "020"]


def test_a_legend_under_an_attendance_table_is_skipped_not_a_rejected_worker():
    rows = [{"身份证号码": ID_A, "姓名": "张建国", "1": "√", "2": "√"},
            {"身份证号码": "说明：√出勤 ×旷工 ○休假 半 半天 休 休息", "姓名": None, "1": None, "2": None},
            {"身份证号码": "考勤员：", "姓名": None, "1": None, "2": None}]
    result = check("attendance", rows)
    assert codes(result) == ["FOOTER_ROWS_SKIPPED"]
    assert (result.rows_total, result.rows_rejected) == (1, 0)


def test_dates_followed_by_their_weekday_are_dates():
    rows = [{"身份证号码": ID_A, "姓名": "张建国", "考勤日期": f"2026-10-0{d} 星期{w}", "签到": "07:30", "签退": "17:30"}
            for d, w in ((1, "四"), (2, "五"))]
    rows.append({"身份证号码": ID_A, "姓名": "张建国", "考勤日期": "2026/10/5（一）", "签到": "07:30", "签退": "17:30"})
    result = check("attendance", rows)
    assert codes(result) == []
    assert result.rows.get_column("date").to_list() == [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 5)]


def test_a_blank_document_type_column_keeps_the_id_card_checks():
    bad = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
    result = check("roster", [roster_row(证件类型=None, 身份证号码=bad), roster_row(证件类型=None, 身份证号码="12345")])
    assert codes(result) == ["ID_CHECKSUM", "ID_FORMAT"]
    assert result.rows.height == 0


def test_attendance_of_a_rostered_passport_holder_is_checked_as_that_document():
    roster = pl.DataFrame({"id_number": [ID_A, "E11112222"], "name": ["张建国", "阮小明"]})
    rows = [{"证件号码": "E11112222", "姓名": "阮小明", "日期": "2026-10-08", "工时": "8"},
            {"证件号码": ID_A, "姓名": "张建国", "日期": "2026-10-08", "工时": "8"},
            {"证件号码": "E99990000", "姓名": "某某", "日期": "2026-10-08", "工时": "8"}]
    table = read_table(_csv([list(rows[0])] + [list(r.values()) for r in rows]), "a.csv", header_hints=header_hints())
    result = validate_file(table, "attendance", Context(PERIOD, TODAY, roster=roster))
    # Only the number no roster has as another document is checked as an ID card.
    assert codes(result) == ["ID_FORMAT"]
    assert sorted(result.rows.get_column("id_number").to_list()) == sorted([ID_A, "E11112222"])
    typed = read_table(_csv([["证件类型", "证件号码", "姓名", "日期", "工时"], ["护照", "E99990000", "某某", "2026-10-08", "8"]]),
                       "a.csv", header_hints=header_hints())
    assert codes(validate_file(typed, "attendance", Context(PERIOD, TODAY))) == []


def test_legacy_xls_and_numbers_files_get_their_own_reason():
    assert reason_zh("legacy .xls or encrypted workbook, save as .xlsx").startswith("旧版 .xls")
    assert reason_zh("zip archive without xl/workbook.xml, not an xlsx") == "压缩包里没有 Excel 工作簿"
    assert reason_zh("encrypted workbook (password-protected), save as .xlsx without a password").startswith("工作簿设置了密码")


# ---- through the API ------------------------------------------------------------------------

PASSPORT = "E11112222"
SSC = make_card(prefix="623058", n=9)
ROSTER_HEAD = ["姓名", "证件类型", "证件号码", "出生日期", "性别", "用工单位统一社会信用代码", "工种", "进场日期", "工资卡号", "社保卡金融账号"]


def _roster() -> bytes:
    return _csv([ROSTER_HEAD,
                 ["张建国", "居民身份证", ID_A, None, "男", CREDIT, "钢筋工", "2026-03-01", make_card(n=1), None],
                 ["阮小明", "护照", PASSPORT, "1990-03-01", "男", CREDIT, "木工", "2026-03-01", make_card(n=2), None],
                 ["陈铁柱", None, ID_B, None, "女", CREDIT, "木工", "2026-03-01", None, SSC]])


def test_a_passport_holder_can_have_attendance_and_a_ssc_payout_resolves_its_worker(client, project, contractor):
    r = upload(client, contractor, CODE, "roster", PERIOD, "roster.csv", _roster())
    assert r.status_code == 201 and r.json()["rows_accepted"] == 3, r.text
    att = _csv([["证件号码", "姓名", "日期", "工时"], [PASSPORT, "阮小明", "2026-10-08", "8"], [ID_A, "张建国", "2026-10-08", "8"]])
    r = upload(client, contractor, CODE, "attendance", PERIOD, "att.csv", att)
    assert r.status_code == 201 and (r.json()["rows_accepted"], r.json()["errors"]) == (2, 0), r.text
    # A wage transfer sheet paying the 社保卡: the worker is found by that card and the name.
    pay = _csv([["收款人名称", "收款人账号", "金额", "汇款用途"], ["陈铁柱", SSC, "400.00", "2026年10月工资"]])
    r = upload(client, contractor, CODE, "payroll", PERIOD, "转账.csv", pay)
    assert r.status_code == 201, r.text
    assert (r.json()["rows_accepted"], r.json()["errors"]) == (1, 0)


def test_an_attendance_month_with_nobody_present_is_refused_with_a_reason(client, project, contractor):
    att = _csv([["姓名", "身份证号码", "日期", "工时"], ["张建国", ID_A, "2026-10-08", "0"]])
    r = upload(client, contractor, CODE, "attendance", PERIOD, "att.csv", att)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "NO_DAYS_PRESENT" and "没有任何一天记为出勤" in body["detail"]
    receipt = body["extra"]["receipt"] if "receipt" in body.get("extra", {}) else body["extra"]
    assert receipt["rows_accepted"] == 0 and receipt["errors"] == 1


def test_a_payments_row_naming_another_project_is_not_counted_here(client, project, contractor):
    head = ["项目编码", "姓名", "身份证号码", "工资所属期", "实发金额", "发放日期", "付款账号", "收款账号", "收款人", "发放渠道", "银行流水号"]
    card = make_card(n=1)
    rows = [[code, "张建国", ID_A, PERIOD, "400.00", "2026-11-10", ACCOUNT, card, "张建国", "银行卡", f"T-{code[-3:]}"]
            for code in (CODE, "XM-440306-2026-002")]
    r = upload(client, contractor, CODE, "payments", PERIOD, "pay.csv", _csv([head, *rows]))
    assert r.status_code == 201, r.text
    assert (r.json()["rows_accepted"], r.json()["rows_rejected"]) == (1, 1)
    cov = client.get(f"/api/v1/projects/{CODE}/periods/{PERIOD}/coverage", headers=contractor).json()
    assert cov["wages_paid"] == "400.00"
    report = client.get(f"/api/v1/uploads/{r.json()['upload_id']}/report", headers=contractor).json()["findings"]
    (f,) = [f for f in report if f["rule"] == "PROJECT_MISMATCH"]
    assert f["row"] == 3 and "XM-440306-2026-002" in f["message"]


def test_a_roster_missing_only_its_id_header_is_said_to_look_like_a_roster():
    row = {("证号" if k == "身份证号码" else k): v for k, v in roster_row().items()}
    result = check("roster", [row])
    (missing,) = result.findings.filter(pl.col("rule") == "COLUMN_MISSING").get_column("args").to_list()
    assert '"looks":"花名册"' in missing and '"nearest":"证号"' in missing
