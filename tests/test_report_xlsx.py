"""The clerk's loop: upload a messy month, download report.xlsx, fix the marked cells, upload again."""

from __future__ import annotations

import io

import openpyxl

from conftest import upload
from idgen import make_id

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
    listed = {(row[1], row[3]) for row in wb["问题清单"].iter_rows(min_row=4, values_only=True) if row[1]}
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
