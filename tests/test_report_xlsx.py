"""The clerk's loop: upload a messy month, download report.xlsx, fix the marked cells, upload again."""

from __future__ import annotations

import io

import openpyxl

from conftest import upload
from idgen import make_id
from test_workbook import team_roster

RED = "FFC7CE"


def _column(ws, header_row: int, header: str) -> str:
    for cell in ws[header_row]:
        if isinstance(cell.value, str) and cell.value.strip() == header:
            return cell.column_letter
    raise AssertionError(header)


def test_fix_the_marked_cells_and_the_findings_are_gone(client, project, contractor):
    first = upload(client, contractor, project["code"], "roster", "2026-10", "roster.xlsx").json()
    r = client.get(f"/api/v1/uploads/{first['upload_id']}/report.xlsx", headers=contractor)
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == "问题清单"
    listed = {(row[1], row[4]) for row in wb["问题清单"].iter_rows(min_row=4, values_only=True) if row[1]}
    assert {("ID_EXCEL_PRECISION", 15), ("ID_LEGACY_15", 31), ("ID_CHECKSUM", 38), ("DUPLICATE_WORKER", 45)} <= listed

    ws = wb["花名册"]
    id_col = _column(ws, 3, "身份证号码")
    marked = [row for row in range(4, ws.max_row + 1) if ws[f"{id_col}{row}"].fill.fgColor.rgb[-6:] == RED]
    assert marked == [15, 31, 38, 45]
    assert "ID_CHECKSUM" in ws[f"{id_col}38"].comment.text

    # The clerk types correct IDs as text and deletes the duplicated row.
    for n, row in enumerate(marked[:3]):
        sex = ws[f"{_column(ws, 3, '性别')}{row}"].value
        ws[f"{id_col}{row}"].number_format = "@"
        ws[f"{id_col}{row}"].value = make_id(birth="19800101", seq=500 + n * 2, male=sex == "男", region="440304")
    ws.delete_rows(45)
    buf = io.BytesIO()
    wb.save(buf)

    second = upload(client, contractor, project["code"], "roster", "2026-10", "fixed.xlsx", buf.getvalue())
    assert second.status_code == 201, second.text
    assert second.json()["rows_rejected"] == 0 and second.json()["rows_accepted"] == 40
    report = client.get(second.json()["report"], headers=contractor).json()
    assert {f["rule"] for f in report["findings"]} == {"COLUMN_UNKNOWN"}


def test_csv_report_keeps_ids_as_text(client, project, contractor):
    up = upload(client, contractor, project["code"], "payments", "2026-10", "payments.csv").json()
    r = client.get(f"/api/v1/uploads/{up['upload_id']}/report.xlsx", headers=contractor)
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    data = wb.worksheets[1]
    ids = [c.value for c in data[_column(data, 1, "身份证号码")][1:] if c.value]
    assert len(ids) == 37 and all(isinstance(v, str) and len(v) == 18 for v in ids)


def test_report_xlsx_is_not_for_other_contractors(client, project, contractor, tokens):
    up = upload(client, contractor, project["code"], "roster", "2026-10", "roster.xlsx").json()
    other = tokens.issue("contractor", "91440106618704536K")
    assert client.get(f"/api/v1/uploads/{up['upload_id']}/report.xlsx", headers=other).status_code == 404


def test_templates_have_text_id_columns_and_drop_downs(client, contractor):
    for kind in ("roster", "contracts", "attendance", "payments"):
        r = client.get(f"/api/v1/templates/{kind}.xlsx", headers=contractor)
        assert r.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
        assert ws[f"{_column(ws, 3, '身份证号码')}4"].number_format == "@"
        if kind in ("roster", "contracts", "payments"):
            assert ws.data_validations.dataValidation
    assert client.get("/api/v1/templates/wages.xlsx", headers=contractor).status_code == 404
    # By the kind's Chinese name too, as uploads take it (api.md).
    zh = client.get("/api/v1/templates/花名册.xlsx", headers=contractor)
    assert zh.status_code == 200 and zh.content[:2] == b"PK"
    assert "roster" in zh.headers["content-disposition"]


# --------------------------------------------------------------------------------------------
# a workbook of one sheet per 班组 (layout in test_workbook.team_roster)


def _comments(ws) -> dict[str, str]:
    return {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment is not None}


def _codes(text: str) -> set[str]:
    return {line.split(":")[0] for line in text.split("\n") if ":" in line}


def _team_report(client, project, contractor, lang="zh"):
    up = upload(client, contractor, project["code"], "roster", "2026-10", "teams.xlsx", team_roster())
    assert up.status_code == 201, up.text
    findings = client.get(up.json()["report"], headers=contractor).json()["findings"]
    r = client.get(f"/api/v1/uploads/{up.json()['upload_id']}/report.xlsx", headers={**contractor, "Accept-Language": lang})
    assert r.status_code == 200, r.text
    return findings, openpyxl.load_workbook(io.BytesIO(r.content))


def test_each_team_sheet_is_marked_with_its_own_findings(client, project, contractor):
    findings, wb = _team_report(client, project, contractor)
    wood, mason, rebar = wb["木工班"], wb["泥工班"], wb["钢筋班"]
    # 木工班 row 5's bad ID: on 木工班 in its own ID column F, not on 钢筋班!D5 (a valid worker's cell)
    assert wood["F5"].fill.fgColor.rgb[-6:] == RED and "ID_CHECKSUM" in wood["F5"].comment.text
    assert rebar["D5"].comment is None
    assert "GENDER_MISMATCH" in mason["C4"].comment.text
    # every sheet carries exactly its own findings, none of another sheet stacked in (those that
    # name no sheet, cross-file ones, go to the first sheet of a table as before)
    for ws in (wood, mason, rebar):
        own = {f["rule"] for f in findings if f.get("sheet", "钢筋班") == ws.title and (f["row"] or f["column"])}
        marked = set().union(*map(_codes, _comments(ws).values()))
        assert marked == own, ws.title
    assert len({f["sheet"] for f in findings}) == 3


def test_a_column_finding_under_a_merged_group_header_marks_its_sub_header(client, project, contractor):
    findings, wb = _team_report(client, project, contractor)
    assert {"rule": "VALUE_NORMALISED", "sheet": "钢筋班", "row": None, "column": "身份证号码"}.items() <= next(
        f for f in findings if f["rule"] == "VALUE_NORMALISED").items()
    ws = wb["钢筋班"]
    assert ws["D3"].value == "身份证号码" and "VALUE_NORMALISED" in ws["D3"].comment.text
    assert ws["B2"].value == "基本信息" and ws["B2"].comment is None


def test_the_findings_sheet_says_which_sheet_each_row_is_on(client, project, contractor):
    findings, wb = _team_report(client, project, contractor)
    ws = wb["问题清单"]
    head = [c.value for c in ws[3]]
    assert head[3:5] == ["工作表", "行号"]
    lines = [row for row in ws.iter_rows(min_row=4) if row[1].value]
    assert [(r[1].value, r[3].value) for r in lines] == [(f["rule"], f.get("sheet")) for f in findings]
    bad_id = next(r for r in lines if r[1].value == "ID_CHECKSUM")
    assert (bad_id[3].value, bad_id[4].value) == ("木工班", 5) and bad_id[4].hyperlink.location == "'木工班'!F5"
    footers = sorted(r[3].value for r in lines if r[1].value == "FOOTER_ROWS_SKIPPED")
    assert footers == ["木工班", "钢筋班"]  # two lines that no longer read the same
    _, english = _team_report(client, project, contractor, lang="en")
    assert [c.value for c in english["Findings"][3]][3:5] == ["Sheet", "Row"]
