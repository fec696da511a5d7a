"""annotate_workbook / template_workbook: what the contractor sees when opening the files."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from idgen import make_card, make_credit, make_id
from sitereg.validate.columns import SCHEMAS, header_hints, map_headers
from sitereg.validate.readers import Table, read_table
from sitereg.validate.workbook import annotate_workbook, template_workbook

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RED, YELLOW, BLUE = "FFC7CE", "FFEB9C", "DDEBF7"


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def fill_of(cell) -> str | None:
    if cell.fill is None or cell.fill.fill_type != "solid":
        return None
    return str(cell.fill.fgColor.rgb)[-6:].upper()


def finding(rule, severity, row, column, message="msg", value=None, worker=None, sheet=None):
    out = {
        "rule": rule,
        "severity": severity,
        "row": row,
        "column": column,
        "value": value,
        "worker": worker,
        "message": message,
    }
    if sheet is not None:  # as the API renders it: only findings of a workbook of several sheets
        out["sheet"] = sheet
    return out


def col_letter(ws, header_row: int, header: str) -> str:
    cell = next(c for c in ws[header_row] if c.value == header)
    return cell.column_letter


def summary_rows(ws) -> list[tuple]:
    """Data rows of the findings sheet (header row 3)."""
    return [r for r in ws.iter_rows(min_row=4, values_only=True) if any(v is not None for v in r)]


# --------------------------------------------------------------------------------------------
# annotate: xlsx


@pytest.fixture(scope="module")
def roster_bytes() -> bytes:
    return (FIXTURES / "roster.xlsx").read_bytes()


@pytest.fixture(scope="module")
def roster_report(roster_bytes) -> openpyxl.Workbook:
    findings = [
        finding(
            "ID_EXCEL_PRECISION", "error", 15, "身份证号码", "身份证号码被 Excel 改成了科学计数法", value="110101********1000"
        ),
        finding("GENDER_MISMATCH", "warning", 31, "性别", "性别与身份证号码不符", value="女"),
        finding("NOT_PAID", "error", None, None, "本期未发放工资", worker="511623********937X"),
    ]
    return load(annotate_workbook(roster_bytes, "roster.xlsx", findings))


def test_findings_sheet_comes_first_and_lists_every_finding(roster_report):
    assert roster_report.sheetnames[0] == "问题清单"
    assert roster_report.active.title == "问题清单"
    ws = roster_report["问题清单"]
    assert [c.value for c in ws[3]] == ["序号", "规则代码", "级别", "工作表", "行号", "列", "值", "工人", "说明"]
    rows = summary_rows(ws)
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [  # one sheet: the finding names none
        ("ID_EXCEL_PRECISION", "错误", None, 15, "身份证号码"),
        ("GENDER_MISMATCH", "警告", None, 31, "性别"),
        ("NOT_PAID", "错误", None, None, None),
    ]
    assert rows[0][8] == "身份证号码被 Excel 改成了科学计数法"
    assert rows[2][7] == "511623********937X"
    counts = ws["A1"].value
    assert "错误 2" in counts and "警告 1" in counts and "提示 0" in counts
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == "A3:I6"


def test_flagged_cells_are_filled_and_commented(roster_report):
    ws = roster_report["花名册"]
    id_col = col_letter(ws, 3, "身份证号码")
    gender_col = col_letter(ws, 3, "性别")
    bad_id = ws[f"{id_col}15"]
    assert fill_of(bad_id) == RED
    assert bad_id.comment is not None and "ID_EXCEL_PRECISION" in bad_id.comment.text
    assert bad_id.comment.author == "sitereg"
    assert fill_of(ws[f"{gender_col}31"]) == YELLOW
    assert "GENDER_MISMATCH: 性别与身份证号码不符" in ws[f"{gender_col}31"].comment.text
    # the row number in the findings sheet links to the cell
    link = roster_report["问题清单"]["E4"].hyperlink
    assert link is not None and link.location == f"'花名册'!{id_col}15"


def test_other_cells_and_values_untouched(roster_bytes, roster_report):
    original = load(roster_bytes)["花名册"]
    ws = roster_report["花名册"]
    id_col = col_letter(ws, 3, "身份证号码")
    gender_col = col_letter(ws, 3, "性别")
    flagged = {f"{id_col}15", f"{gender_col}31"}
    for row in original.iter_rows():
        for cell in row:
            mine = ws[cell.coordinate]
            assert mine.value == cell.value, cell.coordinate
            assert mine.number_format == cell.number_format, cell.coordinate
            if cell.coordinate not in flagged:
                assert fill_of(mine) == fill_of(cell), cell.coordinate
                assert mine.comment is None, cell.coordinate
    assert {str(r) for r in ws.merged_cells.ranges} == {str(r) for r in original.merged_cells.ranges}
    # the ID typed as a number is left as the contractor wrote it (still a number)
    assert ws[f"{id_col}15"].data_type == "n"


def test_reuploaded_report_reads_the_data_sheet(roster_bytes):
    report = annotate_workbook(roster_bytes, "roster.xlsx", [finding("ID_CHECKSUM", "error", 38, "身份证号码")])
    table = read_table(report, "roster.xlsx", header_hints=header_hints())
    assert isinstance(table, Table) and table.sheet == "花名册" and table.header_row == 3


def test_several_findings_on_one_cell_share_a_comment_and_the_worst_fill(roster_bytes):
    findings = [
        finding("PHONE_FORMAT", "warning", 10, "手机号码", "手机号码格式不对"),
        finding("INFO_X", "info", 10, "手机号码", "提示一下"),
        finding("ID_CHECKSUM", "error", 12, "身份证号码", "校验位错误"),
        finding("AGE_MINOR", "warning", 12, "身份证号码", "未成年工"),
        finding("X_INFO", "info", 13, "班组", "只是提示"),
    ]
    ws = load(annotate_workbook(roster_bytes, "roster.xlsx", findings))["花名册"]
    phone, idc, team = (col_letter(ws, 3, h) for h in ("手机号码", "身份证号码", "班组"))
    assert fill_of(ws[f"{phone}10"]) == YELLOW
    assert fill_of(ws[f"{idc}12"]) == RED
    assert fill_of(ws[f"{team}13"]) == BLUE
    text = ws[f"{idc}12"].comment.text
    assert "ID_CHECKSUM: 校验位错误" in text and "AGE_MINOR: 未成年工" in text


def test_row_only_finding_marks_the_id_cell_and_column_only_marks_the_header(roster_bytes):
    findings = [
        finding("DUPLICATE_WORKER", "error", 45, None, "重复"),
        finding("COLUMN_UNKNOWN", "warning", None, "备注", "未知列"),
    ]
    ws = load(annotate_workbook(roster_bytes, "roster.xlsx", findings))["花名册"]
    assert fill_of(ws[f"{col_letter(ws, 3, '身份证号码')}45"]) == RED
    assert fill_of(ws[f"{col_letter(ws, 3, '备注')}3"]) == YELLOW


def test_english_report(roster_bytes):
    wb = load(
        annotate_workbook(
            roster_bytes, "roster.xlsx", [finding("ID_CHECKSUM", "error", 38, "身份证号码", "bad check digit")], lang="en"
        )
    )
    assert wb.sheetnames[0] == "Findings"
    ws = wb["Findings"]
    assert [c.value for c in ws[3]] == ["No.", "Rule", "Severity", "Sheet", "Row", "Column", "Value", "Worker", "Message"]
    assert summary_rows(ws)[0][2] == "Error"


def test_two_line_header_and_merged_cells():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "考勤"
    ws["A1"] = "2026年10月考勤表"
    ws.merge_cells("A1:E1")
    ws["A2"], ws["B2"], ws["C2"] = "姓名", "身份证号码", "考勤情况"
    ws.merge_cells("C2:E2")
    ws["C3"], ws["D3"], ws["E3"] = "1日", "2日", "3日"
    ws.append(["张三", "11010519491231002X", "√", "休", "8"])
    buf = io.BytesIO()
    wb.save(buf)
    table = read_table(buf.getvalue(), "a.xlsx", header_hints=header_hints())
    assert isinstance(table, Table) and table.header_row == 2 and "2日" in table.headers
    out = load(
        annotate_workbook(
            buf.getvalue(),
            "a.xlsx",
            [finding("DATE_INVALID", "error", 4, "2日", "x"), finding("NAME_MISSING", "error", 4, "姓名", "y")],
        )
    )
    assert fill_of(out["考勤"]["D4"]) == RED
    assert fill_of(out["考勤"]["A4"]) == RED
    assert out["考勤"]["A1"].value == "2026年10月考勤表"
    assert "A1:E1" in {str(r) for r in out["考勤"].merged_cells.ranges}


def test_reannotating_a_report_replaces_the_old_marks(roster_bytes):
    first = annotate_workbook(roster_bytes, "roster.xlsx", [finding("PHONE_FORMAT", "warning", 10, "手机号码")])
    second = load(annotate_workbook(first, "roster.xlsx", [finding("ID_CHECKSUM", "error", 38, "身份证号码")]))
    assert second.sheetnames.count("问题清单") == 1
    ws = second["花名册"]
    assert ws[f"{col_letter(ws, 3, '手机号码')}10"].comment is None
    assert fill_of(ws[f"{col_letter(ws, 3, '手机号码')}10"]) is None
    assert [r[1] for r in summary_rows(second["问题清单"])] == ["ID_CHECKSUM"]


# --------------------------------------------------------------------------------------------
# annotate: a workbook of several sheets (one per 班组)

TEAM_CREDIT = make_credit()


def _wide(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)  # digits typed in full width


def team_roster() -> bytes:
    """A roster with a notes sheet and three 班组 sheets, each laid out its own way:

    - 钢筋班: title row 1; a merged two-row header (序号 A2:A3, 基本信息 B2:E2 over 姓名 性别
      身份证号码 手机号码, 单位信息 F2:G2 over 用工单位 and its credit code, 工种 H2:H3, 工资卡号
      I2:I3); workers in rows 4-6, row 4's ID typed in full-width digits; 合计 in row 7.
    - 木工班: header row 1, other names and order (身份证号码 in F); workers in rows 2-5, row 5's
      ID with a wrong check digit (ID_CHECKSUM); 合计 in row 7.
    - 泥工班: title row 1, header row 2 (身份证号码 in A, 性别 in C); workers in rows 3-4, row 4
      a man written 女 (GENDER_MISMATCH).
    """
    wb = openpyxl.Workbook()
    wb.active.title = "填写说明"
    wb.active["A1"] = "每个班组一张表"

    s = wb.create_sheet("钢筋班")
    s["A1"] = "2026年10月钢筋班花名册"
    s.merge_cells("A1:I1")
    for col, text in (("A", "序号"), ("H", "工种"), ("I", "工资卡号")):
        s[f"{col}2"] = text
        s.merge_cells(f"{col}2:{col}3")
    s["B2"], s["F2"] = "基本信息", "单位信息"
    s.merge_cells("B2:E2")
    s.merge_cells("F2:G2")
    for col, text in zip("BCDEFG", ("姓名", "性别", "身份证号码", "手机号码", "用工单位", "用工单位统一社会信用代码")):
        s[f"{col}3"] = text
    for n in range(3):
        worker = make_id(birth="19800101", seq=100 + 2 * n)
        s.append([n + 1, f"钢筋{n}", "男", _wide(worker) if n == 0 else worker, "13800138000", "某劳务公司",
                  TEAM_CREDIT, "钢筋工", make_card(n=n + 1)])
    s["A7"] = "合计"

    s = wb.create_sheet("木工班")
    s.append(["工种", "工人姓名", "用工单位统一社会信用代码", "性别", "工资卡号", "身份证号码"])
    for n in range(4):
        worker = make_id(birth="19810101", seq=200 + 2 * n)
        if n == 3:
            worker = worker[:17] + ("0" if worker[17] != "0" else "1")
        s.append(["木工", f"木工{n}", TEAM_CREDIT, "男", make_card(n=10 + n), worker])
    s["A7"] = "合计"

    s = wb.create_sheet("泥工班")
    s["A1"] = "泥工班花名册"
    s.append(["身份证号码", "姓名", "性别", "工种", "用工单位统一社会信用代码", "工资卡号"])
    for n in range(2):
        s.append([make_id(birth="19820101", seq=300 + 2 * n), f"泥工{n}", "女" if n == 1 else "男", "砌筑工",
                  TEAM_CREDIT, make_card(n=20 + n)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


TEAM_FINDINGS = [
    finding("ID_CHECKSUM", "error", 5, "身份证号码", "校验位错误", sheet="木工班"),
    finding("GENDER_MISMATCH", "warning", 4, "性别", "性别不符", sheet="泥工班"),
    finding("DUPLICATE_WORKER", "error", 3, None, "重复", sheet="泥工班"),
    finding("PHONE_FORMAT", "warning", 5, "手机号码", "手机号码不对", sheet="钢筋班"),
    finding("COLUMN_UNKNOWN", "warning", None, "工人姓名", "未知列", sheet="木工班"),
    finding("FOOTER_ROWS_SKIPPED", "info", None, None, "第 7 行已跳过", sheet="钢筋班"),
    finding("FOOTER_ROWS_SKIPPED", "info", None, None, "第 7 行已跳过", sheet="木工班"),
]


def comments(ws) -> dict[str, str]:
    return {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment is not None}


def test_each_finding_is_marked_on_its_own_sheet():
    wb = load(annotate_workbook(team_roster(), "teams.xlsx", TEAM_FINDINGS))
    rebar, wood, mason = wb["钢筋班"], wb["木工班"], wb["泥工班"]
    # each sheet's own header row and column order: 木工班's ID is column F, 泥工班's 性别 column C
    assert comments(wood) == {"F5": "ID_CHECKSUM: 校验位错误", "B1": "COLUMN_UNKNOWN: 未知列"}
    assert fill_of(wood["F5"]) == RED and fill_of(wood["B1"]) == YELLOW
    assert comments(mason) == {"C4": "GENDER_MISMATCH: 性别不符", "A3": "DUPLICATE_WORKER: 重复"}
    assert fill_of(mason["C4"]) == YELLOW and fill_of(mason["A3"]) == RED
    assert comments(rebar) == {"E5": "PHONE_FORMAT: 手机号码不对"}  # not 木工班's bad ID on D5
    assert fill_of(rebar["D5"]) is None
    assert comments(wb["填写说明"]) == {}
    # each row number of the findings sheet links to the cell on the finding's own sheet
    links = {(r[1].value, r[3].value): r[4].hyperlink for r in wb["问题清单"].iter_rows(min_row=4) if r[1].value}
    assert links["ID_CHECKSUM", "木工班"].location == "'木工班'!F5"
    assert links["GENDER_MISMATCH", "泥工班"].location == "'泥工班'!C4"
    assert links["COLUMN_UNKNOWN", "木工班"].location == "'木工班'!B1"
    assert links["FOOTER_ROWS_SKIPPED", "木工班"] is None  # marks no cell


def test_findings_sheet_names_the_sheet_next_to_the_row():
    wb = load(annotate_workbook(team_roster(), "teams.xlsx", TEAM_FINDINGS + [finding("NOT_PAID", "error", None, None)]))
    ws = wb["问题清单"]
    assert [c.value for c in ws[3]] == ["序号", "规则代码", "级别", "工作表", "行号", "列", "值", "工人", "说明"]
    rows = summary_rows(ws)
    assert [(r[1], r[3]) for r in rows] == [(f["rule"], f.get("sheet")) for f in TEAM_FINDINGS] + [("NOT_PAID", None)]
    assert rows[0][4] == 5 and rows[0][5] == "身份证号码"
    footers = [(r[3], r[8]) for r in rows if r[1] == "FOOTER_ROWS_SKIPPED"]
    assert footers == [("钢筋班", "第 7 行已跳过"), ("木工班", "第 7 行已跳过")]  # no longer two identical lines
    english = load(annotate_workbook(team_roster(), "teams.xlsx", TEAM_FINDINGS, lang="en"))["Findings"]
    assert [c.value for c in english[3]][3:5] == ["Sheet", "Row"]


def test_findings_without_a_sheet_mark_the_first_data_sheet_and_an_unknown_sheet_marks_nothing():
    findings = [finding("NOT_IN_ROSTER", "error", 5, "身份证号码", "跨文件"),
                finding("ID_CHECKSUM", "error", 5, "身份证号码", "别的文件", sheet="没有这张表")]
    wb = load(annotate_workbook(team_roster(), "teams.xlsx", findings))
    assert comments(wb["钢筋班"]) == {"D5": "NOT_IN_ROSTER: 跨文件"}  # as before: the first sheet of a kind
    assert comments(wb["木工班"]) == {} and comments(wb["泥工班"]) == {}
    assert [r[1] for r in summary_rows(wb["问题清单"])] == ["NOT_IN_ROSTER", "ID_CHECKSUM"]


def test_reannotating_a_team_report_replaces_the_marks_of_every_sheet():
    first = annotate_workbook(team_roster(), "teams.xlsx", TEAM_FINDINGS)
    second = load(annotate_workbook(first, "teams.xlsx", [finding("ID_CHECKSUM", "error", 2, "身份证号码", "x", sheet="木工班")]))
    assert comments(second["木工班"]) == {"F2": "ID_CHECKSUM: x"} and fill_of(second["木工班"]["F5"]) is None
    assert comments(second["泥工班"]) == {} and comments(second["钢筋班"]) == {}


def test_column_finding_on_a_merged_two_row_header_marks_the_sub_header():
    findings = [
        finding("VALUE_NORMALISED", "info", None, "身份证号码", "已统一", sheet="钢筋班"),
        finding("COLUMN_UNKNOWN", "warning", None, "用工单位", "x", sheet="钢筋班"),
        finding("VALUE_NORMALISED", "info", None, "序号", "y", sheet="钢筋班"),  # one title over both rows
    ]
    ws = load(annotate_workbook(team_roster(), "teams.xlsx", findings))["钢筋班"]
    assert comments(ws) == {"D3": "VALUE_NORMALISED: 已统一", "F3": "COLUMN_UNKNOWN: x", "A2": "VALUE_NORMALISED: y"}
    assert fill_of(ws["D3"]) == BLUE and fill_of(ws["B2"]) is None and fill_of(ws["F2"]) is None


# --------------------------------------------------------------------------------------------
# annotate: csv


def test_csv_becomes_a_workbook_with_text_cells_and_the_same_row_numbers():
    data = (FIXTURES / "payments.csv").read_bytes()
    lines = data.decode("utf-8-sig").splitlines()
    wb = load(
        annotate_workbook(
            data,
            "payments.csv",
            [
                finding("TXN_CONFLICT", "error", 5, "银行流水号", "流水号重复"),
                finding("AMOUNT_INVALID", "warning", 7, "实发金额", "金额不对"),
            ],
        )
    )
    assert wb.sheetnames == ["问题清单", "payments"]
    ws = wb["payments"]
    assert [c.value for c in ws[1]] == lines[0].split(",")
    for n in (2, 5, len(lines)):  # every csv line at the Excel row of the same number
        assert [c.value for c in ws[n]] == lines[n - 1].split(","), n
    for row in ws.iter_rows(min_row=1, max_row=len(lines)):
        for cell in row:
            assert cell.data_type == "s" and cell.number_format == "@", cell.coordinate
    # IDs and 19-digit accounts keep every digit; amounts keep their two decimals
    assert ws["B2"].value == "51162319691030937X"
    assert ws["G2"].value == "6217995510134498343"
    assert ws["D2"].value == "8400.00"
    txn = col_letter(ws, 1, "银行流水号")
    assert fill_of(ws[f"{txn}5"]) == RED and "TXN_CONFLICT" in ws[f"{txn}5"].comment.text
    assert fill_of(ws[f"{col_letter(ws, 1, '实发金额')}7"]) == YELLOW
    assert fill_of(ws[f"{txn}6"]) is None


def test_gbk_csv_with_title_line_keeps_rows():
    text = "2026年10月考勤\r\n身份证号码,姓名,日期,工时\r\n\r\n110105194912310029,刘䶮,2026/10/08,8\r\n"
    wb = load(annotate_workbook(text.encode("gb18030"), "考勤 10月.csv", [finding("HOURS_INVALID", "error", 4, "工时", "x")]))
    ws = wb.worksheets[1]
    assert ws.title == "考勤 10月"
    assert ws["A1"].value == "2026年10月考勤"
    assert [c.value for c in ws[2]] == ["身份证号码", "姓名", "日期", "工时"]
    assert [c.value for c in ws[4]] == ["110105194912310029", "刘䶮", "2026/10/08", "8"]
    assert fill_of(ws["D4"]) == RED


def test_csv_with_a_line_break_in_a_cell_keeps_one_row_per_record_as_excel_does():
    """Excel opens a quoted line break as a break inside the cell, not a new row: the finding's
    row and the annotated workbook's row are the record's row in Excel."""
    text = '姓名,身份证号码,备注\n甲,110105194912310029,"两行\n备注"\n乙,110105194912310029,x\n'
    data = text.encode()
    table = read_table(data, "r.csv", header_hints=header_hints())
    assert table.frame.get_column("__row__").to_list() == [2, 3]
    ws = load(annotate_workbook(data, "r.csv", [finding("NAME_MISSING", "error", 3, "姓名", "x")])).worksheets[1]
    assert [c.value for c in ws[2]] == ["甲", "110105194912310029", "两行\n备注"]
    assert [c.value for c in ws[3]] == ["乙", "110105194912310029", "x"] and fill_of(ws["A3"]) == RED


# --------------------------------------------------------------------------------------------
# annotate: formula injection, unreadable files


def sheet_xml(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name).decode()


def test_text_starting_like_a_formula_stays_text(roster_bytes):
    evil = '=HYPERLINK("http://evil.example","点我")'
    data = annotate_workbook(
        roster_bytes, "roster.xlsx", [finding("NAME_MISSING", "error", 5, "姓名", evil, value="+1-2", worker="@SUM(A1)")]
    )
    xml = sheet_xml(data, "xl/worksheets/sheet1.xml")  # the findings sheet is the first one
    assert "<f>" not in xml and "<f " not in xml
    ws = load(data)["问题清单"]
    row = summary_rows(ws)[0]
    assert row[8] == evil and row[6] == "+1-2" and row[7] == "@SUM(A1)"
    for col in "GHI":
        assert ws[f"{col}4"].data_type == "s"
        assert ws[f"{col}4"].quotePrefix


def test_csv_cell_starting_with_equals_is_not_a_formula():
    data = (
        "姓名,身份证号码,工资所属期\r\n=cmd|' /C calc'!A0,11010519491231002X,2026-10\r\n-2+3,110105194912310029,2026-10\r\n"
    ).encode()
    out = annotate_workbook(data, "p.csv", [])
    for member in ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"):
        xml = sheet_xml(out, member)
        assert "<f>" not in xml and "<f " not in xml
    ws = load(out)["p"]
    assert ws["A2"].value == "=cmd|' /C calc'!A0" and ws["A2"].data_type == "s"
    assert ws["A3"].value == "-2+3" and ws["A3"].data_type == "s"


@pytest.mark.parametrize("name", ["not_a_spreadsheet.xlsx", "empty.csv", "empty.xlsx"])
def test_unreadable_file_gives_the_findings_sheet_only(name):
    wb = load(
        annotate_workbook((FIXTURES / name).read_bytes(), name, [finding("FILE_UNREADABLE", "error", None, None, "文件无法读取")])
    )
    assert wb.sheetnames == ["问题清单"]
    assert summary_rows(wb["问题清单"])[0][1] == "FILE_UNREADABLE"


def test_no_findings_still_gives_a_report(roster_bytes):
    wb = load(annotate_workbook(roster_bytes, "roster.xlsx", []))
    assert wb.sheetnames == ["问题清单", "花名册"]
    assert "未发现问题" in wb["问题清单"]["A1"].value
    assert summary_rows(wb["问题清单"]) == []


def test_finding_with_unknown_column_or_odd_row_does_not_fail(roster_bytes):
    findings = [
        finding("X", "error", 7, "没有这一列", "a"),
        finding("Y", "warning", "oops", "姓名", "b"),
        finding("Z", "bogus", 8, "姓名", "c\x00d"),
    ]
    wb = load(annotate_workbook(roster_bytes, "roster.xlsx", findings))
    assert len(summary_rows(wb["问题清单"])) == 3
    ws = wb["花名册"]
    assert fill_of(ws[f"{col_letter(ws, 3, '身份证号码')}7"]) == RED  # row known, column not: the ID cell


def test_openpyxl_is_defused():
    assert openpyxl.DEFUSEDXML is True


# --------------------------------------------------------------------------------------------
# templates

ID = "51162319691030937X"
CREDIT = "91440300MA5DL7K25W"
CARD = "6217995510134498343"
ACCOUNT = "4425010020239361300"

FILLED = {
    "roster": {
        "身份证号码": ID,
        "姓名": "夏福光",
        "性别": "男",
        "手机号码": "14734623756",
        "用工单位统一社会信用代码": CREDIT,
        "用工单位": "深圳市鹏城建筑劳务有限公司",
        "班组": "钢筋班",
        "工种": "钢筋工",
        "进场日期": dt.datetime(2026, 4, 19),
        "工资卡号": CARD,
        "开户银行": "中国建设银行",
    },
    "contracts": {
        "身份证号码": ID,
        "姓名": "夏福光",
        "合同编号": "HT-2026-001",
        "用工单位统一社会信用代码": CREDIT,
        "合同开始日期": dt.datetime(2026, 4, 19),
        "计薪方式": "日薪",
        "工资标准": 350,
        "工资发放日": 15,
        "签订日期": dt.datetime(2026, 4, 18),
    },
    "attendance": {"姓名": "夏福光", "身份证号码": ID, **{f"{d}日": ("√" if d % 2 else 8) for d in range(1, 32) if d % 7}},
    "payments": {
        "姓名": "夏福光",
        "身份证号码": ID,
        "工资所属期": "2026-10",
        "实发金额": 8400,
        "发放日期": dt.datetime(2026, 11, 14),
        "付款账号": ACCOUNT,
        "收款账号": CARD,
        "收款人": "夏福光",
        "发放渠道": "银行卡",
        "银行流水号": "HX202611144998840011",
    },
}
SHEETS = {"roster": "花名册", "contracts": "劳动合同", "attendance": "考勤表", "payments": "银行代发结果"}


def fill_template(kind: str) -> bytes:
    wb = load(template_workbook(kind))
    ws = wb[SHEETS[kind]]
    headers = {c.value: c.column for c in ws[3]}
    for header, value in FILLED[kind].items():
        ws.cell(row=4, column=headers[header], value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("kind", list(SHEETS))
def test_template_layout(kind):
    wb = load(template_workbook(kind))
    assert wb.sheetnames[0] == SHEETS[kind]
    ws = wb[SHEETS[kind]]
    assert ws.freeze_panes in ("A4", "C4")
    headers = [c.value for c in ws[3]]
    if kind == "attendance":
        assert headers == ["姓名", "身份证号码"] + [f"{d}日" for d in range(1, 32)]
        assert "√" in " ".join(str(c.value) for c in ws[2] if c.value)
    else:
        assert headers == [c.label for c in SCHEMAS[kind]]
    # ID column formatted as text all the way down; required columns marked by colour only
    id_col = headers.index("身份证号码") + 1
    assert all(ws.cell(row=r, column=id_col).number_format == "@" for r in range(4, 1004))
    assert "必填" in ws.cell(row=2, column=id_col).value
    required = {fill_of(ws.cell(row=3, column=i + 1)) for i, h in enumerate(headers) if h in ("身份证号码", "姓名")}
    assert len(required) == 1 and None not in required
    assert all("*" not in h for h in headers)


@pytest.mark.parametrize("kind", list(SHEETS))
def test_template_round_trips(kind):
    table = read_table(fill_template(kind), f"{kind}.xlsx", header_hints=header_hints())
    assert isinstance(table, Table), table
    assert table.header_row == 3
    assert table.frame.height == 1 and table.frame.get_column("__row__").to_list() == [4]
    hm = map_headers(kind, table.headers)
    assert hm.unknown == () and hm.missing == ()
    if kind == "attendance":
        assert sorted(hm.days) == list(range(1, 32))
    row = table.frame.row(0, named=True)
    assert row["身份证号码"] == ID
    if kind in ("roster", "payments"):
        card_header = "工资卡号" if kind == "roster" else "收款账号"
        assert row[card_header] == CARD


@pytest.mark.parametrize("kind", list(SHEETS))
def test_filled_template_passes_the_file_checks(kind):
    from sitereg.validate.filecheck import Context, validate_file
    from sitereg.validate.rules import RULES

    severity = {r.code: r.severity for r in RULES}
    table = read_table(fill_template(kind), f"{kind}.xlsx", header_hints=header_hints())
    result = validate_file(table, kind, Context(period="2026-10", today=dt.date(2026, 11, 27)))
    errors = [r for r in result.findings.iter_rows(named=True) if severity.get(r["rule"]) == "error"]
    assert errors == []
    assert result.rows_rejected == 0 and result.rows.height >= 1


def validations(ws) -> dict[str, object]:
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            out[rng.coord.split(":")[0].rstrip("0123456789")] = dv
    return out


def test_template_drop_downs():
    roster = load(template_workbook("roster"))
    ws = roster["花名册"]
    headers = {c.value: c.column_letter for c in ws[3]}
    dvs = validations(ws)
    assert dvs[headers["性别"]].formula1 == '"男,女"'
    job = dvs[headers["工种"]]
    assert job.type == "list" and "代码表" in job.formula1
    codes = roster["代码表"]
    assert codes.sheet_state == "hidden"
    names = [c.value for c in codes["A"][1:]]
    assert "钢筋工" in names and "砌筑工" in names
    assert str(job.sqref) == f"{headers['工种']}4:{headers['工种']}1003"

    ws = load(template_workbook("contracts"))["劳动合同"]
    headers = {c.value: c.column_letter for c in ws[3]}
    dvs = validations(ws)
    assert dvs[headers["计薪方式"]].formula1 == '"日薪,月薪,计件"'
    pay_day = dvs[headers["工资发放日"]]
    assert (pay_day.type, pay_day.operator, pay_day.formula1, pay_day.formula2) == ("whole", "between", "1", "31")
    assert ws[f"{headers['合同开始日期']}4"].number_format == "yyyy-mm-dd"
    assert ws[f"{headers['用工单位统一社会信用代码']}500"].number_format == "@"

    ws = load(template_workbook("payments"))["银行代发结果"]
    headers = {c.value: c.column_letter for c in ws[3]}
    assert validations(ws)[headers["发放渠道"]].formula1 == '"银行卡,社保卡"'
    assert validations(ws)[headers["交易状态"]].formula1 == '"成功,失败"'  # a coded column (api.md)
    doc = validations(ws)[headers["证件类型"]]
    assert "护照" in doc.formula1 and doc.showErrorMessage is False  # offered, other documents allowed
    for h in ("收款账号", "付款账号", "银行流水号", "身份证号码"):
        assert ws[f"{headers[h]}1003"].number_format == "@", h
    assert ws[f"{headers['发放日期']}4"].number_format == "yyyy-mm-dd"


def test_template_rejects_unknown_kind():
    with pytest.raises(ValueError):
        template_workbook("timesheets")


def test_template_english_keeps_chinese_headers():
    ws = load(template_workbook("roster", lang="en"))["花名册"]
    assert [c.value for c in ws[3]] == [c.label for c in SCHEMAS["roster"]]
    assert "Required" in ws["A2"].value


def test_manifest_rows_match_report(roster_bytes):
    """Every planted problem of the roster fixture lands on the cell the manifest names."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["file"] == "roster.xlsx")
    planted = [p for p in entry["planted"] if p.get("row") and p.get("column")]
    wb = load(
        annotate_workbook(roster_bytes, "roster.xlsx", [finding(p["rule"], "error", p["row"], p["column"], "x") for p in planted])
    )
    ws = wb["花名册"]
    for p in planted:
        cell = ws[f"{col_letter(ws, 3, p['column'])}{p['row']}"]
        assert fill_of(cell) == RED and p["rule"] in cell.comment.text
