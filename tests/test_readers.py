"""read_table: bytes of an upload -> exact text cells with the row numbers the user sees."""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import subprocess
import sys
import zipfile

import openpyxl
import polars as pl
import pytest

from sitereg.validate.readers import ReadFailure, Table, read_table

HINTS = frozenset(
    {"姓名", "身份证号码", "身份证号", "证件号码", "性别", "手机号码", "班组", "工种", "进场日期", "工资卡号",
     "实发金额", "name", "idnumber", "序号", "出勤天数"}
    | {str(d) for d in range(1, 32)} | {f"{d}日" for d in range(1, 32)}
)


def read(data: bytes, name: str = "upload.xlsx", **kw) -> Table | ReadFailure:
    return read_table(data, name, header_hints=HINTS, **kw)


def ok(data: bytes, name: str = "upload.xlsx", **kw) -> Table:
    t = read(data, name, **kw)
    assert isinstance(t, Table), t
    return t


def fail(data: bytes, code: str, name: str = "upload.xlsx", **kw) -> ReadFailure:
    t = read(data, name, **kw)
    assert isinstance(t, ReadFailure), t
    assert t.code == code, t
    return t


def xlsx(rows=None, build=None, title: str = "Sheet") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows or []:
        ws.append(list(r))
    if build:
        build(wb, ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def col(t: Table, name: str) -> list:
    return t.frame.get_column(name).to_list()


# --- hand-written workbooks (exact XML, hostile shapes) -------------------------------------

_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
         '</Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
       '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>')


def hand_xlsx(sheet_data: str, dimension: str | None = None, pad: int = 0, prefix: str = "") -> bytes:
    """A minimal xlsx written by hand; ``pad`` spaces inflate the sheet XML cheaply."""
    ns = f' xmlns:{prefix[:-1]}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' if prefix else ""
    dim = f'<{prefix}dimension ref="{dimension}"/>' if dimension else ""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><{prefix}worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"{ns}>'
             f'{dim}<{prefix}sheetData>{sheet_data}</{prefix}sheetData>{" " * pad}</{prefix}worksheet>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def istr(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEADER_CELLS = istr("A1", "姓名") + istr("B1", "身份证号码")


# --- xlsx: header row, row numbers ------------------------------------------------------------

def _template(wb, ws):
    ws["A1"] = "某某项目农民工花名册（2026年10月）"
    ws.merge_cells("A1:F1")
    ws["A2"] = "填表说明：带 * 为必填；身份证号码请设为文本"
    ws.merge_cells("A2:F2")
    ws.append(["序号", "姓名*", "身份证\n号码（必填）", "性别", "手机号码", "备注"])
    ws.append([1, "张三", "110101199003071234", "男", "13800000000", None])
    ws.append([])
    ws.append([None, None, None, None, None, None])
    ws.append([2, "李四", "11010119900307123X", "女", "13900000000", "夜班"])


def test_title_and_notes_above_header_with_merged_cells():
    t = ok(xlsx(build=_template))
    assert t.header_row == 3
    assert t.headers == ["序号", "姓名*", "身份证号码（必填）", "性别", "手机号码", "备注"]
    assert t.frame.columns == ["__row__", *t.headers]
    assert t.frame.schema["__row__"] == pl.Int64
    assert all(t.frame.schema[h] == pl.String for h in t.headers)
    assert col(t, "__row__") == [4, 7]  # rows 5 and 6 blank: dropped, numbering keeps the gap
    assert col(t, "身份证号码（必填）") == ["110101199003071234", "11010119900307123X"]
    assert col(t, "备注") == [None, "夜班"]
    assert col(t, "序号") == ["1", "2"]
    assert t.sheet == "Sheet" and t.encoding is None
    assert set(t.numeric) == {"序号"}


@pytest.mark.parametrize("blank_rows", [0, 1, 3])
@pytest.mark.parametrize("leading", [0, 2])
def test_blank_rows_keep_numbering(blank_rows, leading):
    rows = [[None]] * leading + [["姓名", "身份证号"], ["甲", "1"]] + [[None]] * blank_rows + [["乙", "2"]]
    t = ok(xlsx(rows))
    assert t.header_row == leading + 1
    assert col(t, "__row__") == [leading + 2, leading + 3 + blank_rows]
    assert col(t, "姓名") == ["甲", "乙"]


def test_data_starting_in_column_c_and_whitespace_cells_are_blank():
    def build(wb, ws):
        ws["C4"], ws["D4"] = "姓名", "身份证号码"
        ws["C5"], ws["D5"] = "甲", "001"
        ws["C6"], ws["D6"] = "   ", " "  # whitespace only: a blank row
        ws["C7"], ws["D7"] = " 乙 ", "002"

    t = ok(xlsx(build=build))
    assert t.header_row == 4 and t.headers == ["姓名", "身份证号码"]
    assert col(t, "__row__") == [5, 7]
    assert col(t, "姓名") == ["甲", " 乙 "]  # cell text is exact, not stripped


@pytest.mark.parametrize("text", ["110101199003071234", "11010119900307123X", "000123", "0012345678901234567890",
                                  "6222021234567890123", "013800000000", "1.50", "1e5", "'123", "  spaced  "])
def test_text_cells_are_exact(text):
    t = ok(xlsx([["姓名", "身份证号码"], ["甲", text]]))
    assert col(t, "身份证号码") == [text]
    assert t.numeric == {}


def test_id_typed_as_number_is_marked_and_shown_as_excel_shows_it():
    rows = [
        ["姓名", "身份证号码", "工资卡号"],
        ["甲", "110101199003071234", "6222"],
        ["乙", 110101199003071234, "6223"],  # int: Excel keeps 15 digits
        [None, None, None],
        ["丙", 1.10101199003071e17, 6224],  # float
        ["丁", "110101199003071000", "6225"],  # text that looks like the rendering: not numeric
    ]
    t = ok(xlsx(rows))
    assert col(t, "__row__") == [2, 3, 5, 6]
    assert col(t, "身份证号码") == ["110101199003071234", "110101199003071000", "110101199003071000",
                                 "110101199003071000"]
    assert set(t.numeric) == {"身份证号码", "工资卡号"}
    assert t.numeric["身份证号码"].dtype == pl.Boolean
    assert t.numeric["身份证号码"].to_list() == [False, True, True, False]
    assert t.numeric["工资卡号"].to_list() == [False, False, True, False]
    assert col(t, "工资卡号") == ["6222", "6223", "6224", "6225"]


@pytest.mark.parametrize(("value", "shown"), [
    (123, "123"), (123.0, "123"), (-7, "-7"), (350.5, "350.5"), (0.1 + 0.2, "0.3"), (1e15, "1000000000000000"),
    (123456789012345678, "123456789012346000"), (1.5e-7, "0.00000015"), (0, "0"), (12.3456, "12.3456"),
    (6222021234567890123, "6222021234567890000"),
])
def test_numeric_cells_render_like_excel_general(value, shown):
    t = ok(xlsx([["姓名", "工资卡号"], ["甲", value]]))
    assert col(t, "工资卡号") == [shown]
    assert t.numeric["工资卡号"].to_list() == [True]


@pytest.mark.parametrize(("value", "shown"), [
    (dt.date(2026, 10, 8), "2026-10-08"),
    (dt.datetime(2026, 10, 8), "2026-10-08"),
    (dt.datetime(2026, 10, 8, 7, 30), "2026-10-08 07:30:00"),
    (dt.date(1999, 1, 31), "1999-01-31"),
    ("2026-10-08", "2026-10-08"),  # text stays text
    ("2026/10/8", "2026/10/8"),
])
def test_date_cells_are_iso(value, shown):
    t = ok(xlsx([["姓名", "进场日期"], ["甲", value]]))
    assert col(t, "进场日期") == [shown]
    assert "进场日期" not in t.numeric  # a date is a date, not a typed number


def test_booleans_and_formulas():
    def build(wb, ws):
        ws.append(["姓名", "工种", "班组"])
        ws.append(["甲", True, "true"])
        ws.append(["乙", False, "FALSE"])

    t = ok(xlsx(build=build))
    assert col(t, "工种") == ["TRUE", "FALSE"]
    assert col(t, "班组") == ["true", "FALSE"]  # text unchanged
    header = HEADER_CELLS + istr("C1", "工种")
    data_row = ('<c r="A2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="B2"><f>1+1</f><v>2</v></c>'
                '<c r="C2" t="e"><v>#DIV/0!</v></c>')
    t = ok(hand_xlsx(f'<row r="1">{header}</row><row r="2">{data_row}</row>'))
    assert t.frame.row(0) == (2, "ab", "2", None)
    assert t.numeric["身份证号码"].to_list() == [True]


def test_numeric_detection_with_namespace_prefix_and_attribute_order():
    cells = ('<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>姓名</x:t></x:is></x:c>'
             '<x:c r="B1" t="inlineStr"><x:is><x:t>身份证号码</x:t></x:is></x:c></x:row>'
             '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c>'
             '<x:c r="B2" t="n" s="0"><x:v>110101199003071234</x:v></x:c></x:row>')
    t = ok(hand_xlsx(cells, prefix="x:"))
    assert col(t, "身份证号码") == ["110101199003071000"]
    assert t.numeric["身份证号码"].to_list() == [True]


def test_cells_without_r_use_the_typed_fallback():
    cells = ('<row><c t="inlineStr"><is><t>姓名</t></is></c><c t="inlineStr"><is><t>身份证号码</t></is></c></row>'
             '<row><c t="inlineStr"><is><t>甲</t></is></c><c><v>110101199003071234</v></c></row>'
             '<row><c t="inlineStr"><is><t>乙</t></is></c><c t="inlineStr"><is><t>42</t></is></c></row>')
    t = ok(hand_xlsx(cells))
    assert col(t, "__row__") == [2, 3]
    assert col(t, "身份证号码") == ["110101199003071000", "42"]
    assert t.numeric["身份证号码"].to_list() == [True, False]


# --- header names ------------------------------------------------------------------------------

def test_duplicate_and_blank_headers_are_made_unique():
    rows = [["姓名", "身份证号码", None, "姓名", " 姓名 ", "", "备注"],
            ["甲", "1", "x", "乙", "丙", None, None]]
    t = ok(xlsx(rows))
    # the blank header of column F has no data: dropped; column C's has data: 列3
    assert t.headers == ["姓名", "身份证号码", "列3", "姓名(2)", "姓名(3)", "备注"]
    assert t.frame.row(0) == (2, "甲", "1", "x", "乙", "丙", None)


@pytest.mark.parametrize(("written", "name"), [
    ("身份证\n号码", "身份证号码"), ("  姓 名 ", "姓名"), ("ID\nNumber", "ID Number"), ("手机号码*", "手机号码*"),
    ("工种（必填）", "工种（必填）"), ("__row__", "__row__(2)"),
])
def test_header_text_as_written(written, name):
    t = ok(xlsx([["序号", "姓名" if written != "  姓 名 " else "班组", written], ["1", "a", "b"]]))
    assert t.headers[2] == name


@pytest.mark.parametrize("header", [["姓名*", "身份证号码（必填）"], ["Name", "ID Number"], ["姓 名", "身份证号 (必填)"],
                                    ["name", "id_number"]])
def test_header_found_by_hints_below_a_two_cell_note(header):
    rows = [["说明", "红色为必填"], ["", ""], header, ["甲", "1"]]
    t = ok(xlsx(rows))
    assert t.header_row == 3
    assert col(t, "__row__") == [4]


def test_no_hint_matches_takes_first_row_with_two_cells():
    t = ok(xlsx([["Title only"], ["colA", "colB"], ["1", "2"]]))
    assert t.header_row == 2 and t.headers == ["colA", "colB"]


def _attendance(wb, ws):
    ws["A1"] = "2026年10月考勤表"
    ws.merge_cells("A1:AI1")
    for c, text in zip("ABC", ["序号", "姓名", "身份证号码"]):
        ws[f"{c}2"] = text
        ws.merge_cells(f"{c}2:{c}3")
    ws["D2"] = "考勤情况"
    ws.merge_cells("D2:AH2")
    ws["AI2"] = "出勤天数"
    ws.merge_cells("AI2:AI3")
    for d in range(1, 32):
        ws.cell(3, 3 + d, d)  # numbers, as templates usually have them
    ws.append([1, "张三", "110101199003071234", *["√"] * 31, 31])
    ws.append([2, "李四", "11010119900307123X", *([None] * 30 + ["√"]), 1])


def test_two_line_header_with_day_numbers():
    t = ok(xlsx(build=_attendance))
    assert t.header_row == 2
    assert t.headers == ["序号", "姓名", "身份证号码", *[str(d) for d in range(1, 32)], "出勤天数"]
    assert col(t, "__row__") == [4, 5]
    assert col(t, "1") == ["√", None] and col(t, "31") == ["√", "√"]
    assert set(t.numeric) == {"序号", "出勤天数"}


def test_two_line_header_group_over_named_columns():
    def build(wb, ws):
        ws.append(["姓名", "身份证号码", "工资", None, None])
        ws.append([None, None, "应发", "扣款", "实发"])
        ws.append(["甲", "1", "100", "0", "100"])

    t = ok(xlsx(build=build))
    assert t.headers == ["姓名", "身份证号码", "应发", "扣款", "实发"]
    assert col(t, "__row__") == [3]


def test_data_row_under_header_is_not_taken_for_a_second_header():
    t = ok(xlsx([["姓名", "身份证号码", None], ["甲", "1", "extra"]]))
    assert t.headers == ["姓名", "身份证号码", "列3"]
    assert col(t, "__row__") == [2]


def test_header_only_gives_an_empty_table():
    t = ok(xlsx([["姓名", "身份证号码"]]))
    assert t.frame.height == 0 and t.headers == ["姓名", "身份证号码"]


# --- sheets --------------------------------------------------------------------------------------

def test_first_sheet_with_data_is_used():
    def build(wb, ws):
        wb.create_sheet("说明")
        data = wb.create_sheet("花名册")
        data.append(["姓名", "身份证号码"])
        data.append(["甲", "1"])
        lists = wb.create_sheet("字典", 0)  # hidden lookup lists before everything
        lists.append(["男", "女"])
        lists.append(["a", "b"])
        lists.sheet_state = "hidden"

    t = ok(xlsx(build=build, title="空白"))
    assert t.sheet == "花名册"
    assert col(t, "姓名") == ["甲"]


@pytest.mark.parametrize("build", [
    None,
    lambda wb, ws: wb.create_sheet("二"),
    lambda wb, ws: ws.cell(3, 3, "   "),
    lambda wb, ws: ws.cell(3, 3, ""),
])
def test_workbook_without_cells_is_empty(build):
    fail(xlsx(build=build), "FILE_EMPTY")


# --- csv --------------------------------------------------------------------------------------------

CSV_TEXT = "花名册\n姓名,身份证号码,手机号码\n王䶮,110101199003071234,013800000000\n\n李四,11010119900307123X,\n"


@pytest.mark.parametrize(("encoded", "encoding"), [
    (CSV_TEXT.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8"), "utf-8-sig"),
    (CSV_TEXT.encode("gb18030"), "gb18030"),
    (CSV_TEXT.replace("\n", "\r\n").encode("gb18030"), "gb18030"),
])
def test_csv_encodings(encoded, encoding):
    t = ok(encoded, "roster.csv")
    assert t.encoding == encoding
    assert t.sheet is None and t.numeric == {}
    assert t.header_row == 2
    assert t.headers == ["姓名", "身份证号码", "手机号码"]
    assert col(t, "__row__") == [3, 5]
    assert col(t, "姓名") == ["王䶮", "李四"]
    assert col(t, "身份证号码") == ["110101199003071234", "11010119900307123X"]
    assert col(t, "手机号码") == ["013800000000", None]


def test_gbk_is_not_enough_for_rare_names():
    with pytest.raises(UnicodeEncodeError):
        "䶮".encode("gbk")


@pytest.mark.parametrize("delim", [";", "\t", "|", ","])
def test_csv_delimiters(delim):
    text = delim.join(["姓名", "身份证号码", "金额"]) + "\n" + delim.join(["甲", "001", "1,5" if delim != "," else "15"]) + "\n"
    t = ok(text.encode(), "x.csv")
    assert t.headers == ["姓名", "身份证号码", "金额"]
    assert t.frame.row(0) == (2, "甲", "001", "1,5" if delim != "," else "15")


def test_csv_quoted_fields_and_line_numbers():
    text = ('姓名,身份证号码,备注\n'
            '甲,001,"地址, 含逗号"\n'
            '乙,002,"两行\n备注"\n'
            '丙,003,"三\r\n行\n备注"\n'
            '\n'
            '丁,004,"引号""内"\n')
    t = ok(text.encode(), "x.csv")
    assert col(t, "备注") == ["地址, 含逗号", "两行\n备注", "三\r\n行\n备注", '引号"内']
    assert col(t, "__row__") == [2, 3, 4, 6]  # as Excel shows them: a line break stays in its cell


def test_csv_stray_quote_falls_back_to_tolerant_parser():
    text = '姓名,身份证号码\n甲,0"01\n乙,"a\nb"\n丙,003\n'
    t = ok(text.encode(), "x.csv")
    assert col(t, "身份证号码") == ['0"01', "a\nb", "003"]
    assert col(t, "__row__") == [2, 3, 4]


def test_csv_ragged_rows():
    text = "标题\n姓名,身份证号码\n甲,001,多出来的\n乙\n"
    t = ok(text.encode(), "x.csv")
    assert t.headers == ["姓名", "身份证号码", "列3"]
    assert t.frame.rows() == [(3, "甲", "001", "多出来的"), (4, "乙", None, None)]


def test_renamed_csv_is_read_as_csv():
    t = ok("姓名,身份证号码\n甲,001\n".encode(), "roster.xlsx")
    assert t.encoding == "utf-8" and col(t, "身份证号码") == ["001"]


def test_csv_many_rows_keep_line_numbers():
    # Speed is measured in bench/read_speed.py, not asserted here.
    body = "姓名,身份证号码,电话\n" + "".join(f"工人{i},1101011990030{i:05d},138{i:08d}\n" for i in range(100_000))
    t = ok(body.encode(), "big.csv")
    assert t.frame.height == 100_000 and col(t, "__row__")[-1] == 100_001


# --- failures ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n\n"])
def test_empty_input(data):
    fail(data, "FILE_EMPTY", "x.csv")


@pytest.mark.parametrize("data", [b",,,\n,,\n", b" ; ;\n"])
def test_csv_without_non_blank_row(data):
    fail(data, "FILE_EMPTY", "x.csv")


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed):
    data = random.Random(seed).randbytes(4096)
    f = fail(data, "FILE_UNREADABLE", "x.xlsx")
    assert f.reason


@pytest.mark.parametrize("data", [
    "姓名,身份证号码\n".encode("utf-16"),
    b"\x00\x01\x02PK",
    b"\x1b\x07\x08" * 100 + "姓名,身份证号码\n".encode(),
    b"<html><body><table><tr><td>\xe5\xa7\x93\xe5\x90\x8d</td></tr></table></body></html>",
])
def test_binary_or_other_text_formats(data):
    fail(data, "FILE_UNREADABLE", "x.xls")


def test_ole2_is_refused():
    f = fail(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "FILE_UNREADABLE", "old.xls")
    assert f.reason == "legacy .xls or encrypted workbook, save as .xlsx"
    enc = fail(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le"),
               "FILE_UNREADABLE")
    assert "encrypted" in enc.reason


@pytest.mark.parametrize(("members", "reason"), [
    ({"hello.txt": "hi"}, "xl/workbook.xml"),
    ({"xl/workbook.bin": "x", "[Content_Types].xml": "x"}, "xlsb"),
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"}, "OpenDocument"),
])
def test_zip_that_is_not_an_xlsx(members, reason):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    assert reason in fail(buf.getvalue(), "FILE_UNREADABLE").reason


@pytest.mark.parametrize("cut", [30, 200, 600, 1000, -500, -100, -22, -1])
def test_truncated_xlsx_never_raises(cut):
    data = xlsx([["姓名", "身份证号码"], ["甲", "1"]])
    assert isinstance(read(data[:cut]), ReadFailure)


@pytest.mark.parametrize("seed", range(12))
def test_corrupted_xlsx_never_raises(seed):
    data = bytearray(xlsx([["姓名", "身份证号码"], ["甲", "1"], ["乙", 2]]))
    rnd = random.Random(seed)
    for _ in range(8):
        data[rnd.randrange(40, len(data))] = rnd.randrange(256)
    assert isinstance(read(bytes(data)), Table | ReadFailure)


def test_workbook_xml_with_entities_is_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets>'
            '<sheet name="&lol2;" sheetId="1"/></sheets></workbook>')
    data = hand_xlsx(f'<row r="1">{HEADER_CELLS}</row>')
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, bomb if info.filename == "xl/workbook.xml" else src.read(info))
    fail(buf.getvalue(), "FILE_UNREADABLE")


# --- hostile sizes ----------------------------------------------------------------------------------------

A1 = '<c r="A1" t="inlineStr"><is><t>x</t></is></c>'


@pytest.mark.parametrize(("sheet_data", "dimension"), [
    # the classic: two cells, calamine would allocate 1,048,576 x 16,384 cells and abort
    (f'<row r="1">{A1}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', "A1:XFD1048576"),
    (f'<row r="1">{A1}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', None),
    (f'<row r="1">{A1}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', "A1"),  # lying dimension
    (f'<row r="1">{A1}<c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row>', None),  # ref beyond its row
    (f'<row r="1">{A1}<c s="0" r="XFD1048576"><v>1</v></c></row>', None),  # r not the first attribute
    (f'<row r="1">{A1}<c r="ZZ99999"><v>1</v></c></row>', None),  # 702 x 99,999 cells > 50 million
    (f'<row r="1">{A1}</row><row r="2000000"><c r="A2000000"><v>1</v></c></row>', None),  # past Excel's last row
    (f'<row r="1">{A1}<c r="XFE1"><v>1</v></c></row>', None),  # past Excel's last column
    (f'<row r="1">{A1}<c r="AAAA1"><v>1</v></c></row>', None),
    (f'<row r="1">{A1}<c r="A99999999999"><v>1</v></c></row>', None),
    (f'<row r="1">{A1}</row>', "A1:XFD1048576"),  # the dimension alone is refused too
    # cells without r=: calamine places them one after another
    ('<row r="1">' + "<c><v>1</v></c>" * 800 + '</row><row r="99999"><c><v>1</v></c></row>', None),
])
def test_sheet_range_bombs_are_refused_before_calamine(sheet_data, dimension):
    fail(hand_xlsx(sheet_data, dimension), "FILE_TOO_LARGE")


def test_range_bomb_with_namespace_prefix():
    cells = ('<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
             '<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>')
    fail(hand_xlsx(cells, prefix="x:"), "FILE_TOO_LARGE")


def test_range_bomb_in_child_process_exits_cleanly():
    """calamine aborts the whole process on this file; read_table must refuse it first."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from test_readers import hand_xlsx, A1, read\n"
        "r = read(hand_xlsx(f'<row r=\"1\">{A1}</row><row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row>'))\n"
        "print(r.code)\n"
    ) % str(__import__("pathlib").Path(__file__).parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "FILE_TOO_LARGE"


def test_a_wide_but_reasonable_sheet_is_accepted():
    cells = f'<row r="1">{istr("A1", "姓名")}{istr("B1", "身份证号码")}<c r="AZ1"><v>5</v></c></row>'
    cells += "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="AZ{r}"><v>1</v></c></row>' for r in range(2, 2001))
    t = ok(hand_xlsx(cells))
    assert t.frame.height == 1999 and t.headers[-1] == "5"


def test_xml_expanding_past_the_budget_is_refused():
    data = hand_xlsx(f'<row r="1">{HEADER_CELLS}</row>', pad=3_000_000)
    assert len(data) < 50_000
    assert "MB" in fail(data, "FILE_TOO_LARGE", max_xml_bytes=1_000_000).reason
    assert isinstance(read(data, max_xml_bytes=10_000_000), Table)


def test_lying_zip_header_sizes_do_not_help():
    data = bytearray(hand_xlsx(f'<row r="1">{HEADER_CELLS}</row>', pad=3_000_000))
    # claim the sheet inflates to 100 bytes, in the central directory and the local header
    name = b"xl/worksheets/sheet1.xml"
    cd = next(i for i in range(len(data)) if data[i:i + 4] == b"PK\x01\x02" and data[i + 46:i + 46 + len(name)] == name)
    struct.pack_into("<I", data, cd + 24, 100)
    lh = next(i for i in range(len(data)) if data[i:i + 4] == b"PK\x03\x04" and data[i + 30:i + 30 + len(name)] == name)
    struct.pack_into("<I", data, lh + 22, 100)
    r = read(bytes(data), max_xml_bytes=1_000_000)
    assert isinstance(r, ReadFailure) and r.code in ("FILE_TOO_LARGE", "FILE_UNREADABLE")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rows_beyond_max_rows(fmt):
    rows = [["姓名", "身份证号码"]] + [[f"w{i}", str(i)] for i in range(60)]
    data = xlsx(rows) if fmt == "xlsx" else "\n".join(",".join(r) for r in rows).encode()
    fail(data, "FILE_TOO_LARGE", max_rows=50)
    assert ok(data, max_rows=61).frame.height == 60


def test_guard_passes_ordinary_large_row_numbers():
    cells = f'<row r="1">{HEADER_CELLS}</row><row r="150000"><c r="A150000"><v>1</v></c><c r="B150000"><v>2</v></c></row>'
    t = ok(hand_xlsx(cells))
    assert col(t, "__row__") == [150000]
    assert t.frame.row(0) == (150000, "1", "2")


# --- random sheets against an oracle --------------------------------------------------------------

def _general(v: float) -> str:
    """Excel General for a number, written independently of the reader: %.15g, never exponent.
    Of the value as openpyxl stores it: ``"%.16g" % v`` (it drops the 17th digit)."""
    from decimal import Decimal

    stored = float("%.16g" % v)
    out = format(Decimal("%.15g" % stored), "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


def _random_value(rnd: random.Random):
    kind = rnd.randrange(9)
    if kind == 0:
        return None, None, False
    if kind == 1:
        v = rnd.randrange(10**17, 10**18)
        return v, _general(float(v)), True
    if kind == 2:
        v = round(rnd.uniform(-1e6, 1e6), rnd.randrange(0, 4))
        return v, _general(v), True
    if kind == 3:
        v = rnd.randrange(0, 10**6)
        return v, str(v), True
    if kind == 4:
        d = dt.date(2000, 1, 1) + dt.timedelta(days=rnd.randrange(10_000))
        return d, d.isoformat(), False
    if kind == 5:
        s = "".join(rnd.choice("0123456789") for _ in range(rnd.choice([6, 11, 18, 19])))
        return s, s, False
    if kind == 6:
        s = rnd.choice(["张三", "李 四", "x", "0.50", "-0", "1e3", "TRUE", "2026-10-08 00:00:00"])
        return s, s, False
    if kind == 7:
        b = rnd.random() < 0.5
        return b, "TRUE" if b else "FALSE", False
    v = rnd.choice([0.1 + 0.2, 1 / 3, 2.5, 1e-5])
    return v, _general(v), True


@pytest.mark.parametrize("seed", range(25))
def test_random_sheets_match_the_oracle(seed):
    rnd = random.Random(seed)
    ncols = rnd.randint(2, 8)
    first_row, first_col = rnd.randint(1, 6), rnd.randint(1, 4)
    headers = ["姓名", "身份证号码", *[f"列头{i}" for i in range(ncols - 2)]]
    expected: list[tuple] = []
    numeric: dict[str, list[bool]] = {h: [] for h in headers}

    def build(wb, ws):
        for j, h in enumerate(headers):
            ws.cell(first_row, first_col + j, h)
        r = first_row
        for _ in range(rnd.randint(1, 40)):
            r += rnd.choice([1, 1, 1, 2, 4])
            cells = [_random_value(rnd) for _ in headers]
            if all(v is None for v, _, _ in cells):
                continue
            for j, (v, _, _) in enumerate(cells):
                if v is not None:
                    ws.cell(r, first_col + j, v)
            expected.append((r, *[shown for _, shown, _ in cells]))
            for h, (_, _, is_num) in zip(headers, cells):
                numeric[h].append(is_num)

    t = ok(xlsx(build=build))
    assert t.header_row == first_row
    assert t.headers == headers
    assert t.frame.rows() == expected
    for h in headers:
        if any(numeric[h]):
            assert t.numeric[h].to_list() == numeric[h], h
        else:
            assert h not in t.numeric


@pytest.mark.parametrize("seed", range(40))
def test_mangled_sheet_xml_never_raises(seed):
    rnd = random.Random(seed)
    base = xlsx(build=_attendance if seed % 2 else _template)
    src = zipfile.ZipFile(io.BytesIO(base))
    files = {i.filename: src.read(i) for i in src.infolist()}
    x = bytearray(files["xl/worksheets/sheet1.xml"])
    tokens = [b'r="XFD1048576"', b't="b"', b't="d"', b"<v>1e308</v>", b'r=""', b"<c>", b"\xff\xfe", b"<", b"&"]
    for _ in range(rnd.randint(1, 6)):
        i = rnd.randrange(len(x))
        if rnd.random() < 0.5:
            x[i:i] = rnd.choice(tokens)
        else:
            del x[i:i + rnd.randint(1, 30)]
    files["xl/worksheets/sheet1.xml"] = bytes(x)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in files.items():
            z.writestr(k, v)
    assert isinstance(read(buf.getvalue()), Table | ReadFailure)


def test_csv_long_line_after_the_sample():
    lines = ["姓名,身份证号码"] + [f"w{i},{i:06d}" for i in range(8000)] + ["last,999,extra,more"]
    t = ok("\n".join(lines).encode(), "x.csv")
    assert t.frame.height == 8001 and t.headers == ["姓名", "身份证号码", "列3", "列4"]
    assert t.frame.row(-1) == (8002, "last", "999", "extra", "more")
