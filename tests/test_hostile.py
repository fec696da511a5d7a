"""Hostile and odd uploads each get a clear, coded finding; the service keeps the original and stays up."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from conftest import service, upload


def _xlsx_with(extra: dict[str, bytes]) -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号码"])
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        for name, data in extra.items():
            dst.writestr(name, data)
    return out.getvalue()


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   '<sheets><sheet name="s" sheetId="1" r:id="rId1" xmlns:r="r"/></sheets></workbook>')
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData>" + "<row>" + " " * 60_000_000 + "</row></sheetData></worksheet>")
    return out.getvalue()


CASES = [
    ("legacy.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "FILE_UNREADABLE", "xls"),
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 600,
     "FILE_UNREADABLE", "密码"),
    ("macro.xlsm", _xlsx_with({"xl/vbaProject.bin": b"\0" * 64}), "FILE_UNREADABLE", ".xlsm"),
    ("zip.csv", b"PK\x03\x04" + b"\0" * 100, "FILE_UNREADABLE", ""),  # a csv that is really a (broken) zip
    ("utf16.csv", "姓名,身份证号码\n张三,110101199003071234\n".encode("utf-16"), "FILE_UNREADABLE", "UTF-16"),
    ("bomb.xlsx", _bomb(), "FILE_TOO_LARGE", ""),
]


@pytest.mark.parametrize(("name", "data", "code", "hint"), CASES, ids=[c[0] for c in CASES])
def test_hostile_file_is_a_coded_finding_and_kept(tmp_path, project_body, name, data, code, hint):
    with service(tmp_path, project_body, max_xml_bytes=50_000_000) as (client, admin):
        r = upload(client, admin, project_body["code"], "roster", "2026-10", name, data)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == code and hint in body["detail"]
        kept = client.get(f"/api/v1/uploads/{body['upload_id']}/original", headers=admin)
        assert kept.content == data
        assert client.get("/health").status_code == 200


def test_defusedxml_is_active_for_openpyxl():
    import openpyxl as ox

    assert ox.DEFUSEDXML is True
