"""GET/PUT /api/v1/projects/{code}/column-maps/{kind}: a project's own headers -> canonical columns."""

from __future__ import annotations

import datetime as dt

import pytest

from sitereg.validate.columns import KINDS, SCHEMAS


def _url(code: str, kind: str = "roster") -> str:
    return f"/api/v1/projects/{code}/column-maps/{kind}"


def test_round_trip(client, project, contractor, admin):
    code = project["code"]
    empty = client.get(_url(code), headers=contractor)
    assert empty.status_code == 200, empty.text
    body = empty.json()
    assert body["project"] == code and body["kind"] == "roster" and body["mapping"] == {}
    assert [c["name"] for c in body["columns"]] == [c.name for c in SCHEMAS["roster"]]
    assert {"name": "id_number", "label": "身份证号码", "required": True} in body["columns"]

    mapping = {"工人名字": "name", "身份证号（18位）": "id_number", " 银行卡号码 ": "bank_card"}
    r = client.put(_url(code), headers=contractor, json={"mapping": mapping})
    assert r.status_code == 200, r.text
    assert r.json()["mapping"] == mapping
    assert client.get(_url(code), headers=contractor).json()["mapping"] == mapping  # headers kept as written
    assert client.get(_url(code, "attendance"), headers=contractor).json()["mapping"] == {}  # per kind

    # A PUT replaces the whole map; {} clears it.
    assert client.put(_url(code), headers=admin, json={"mapping": {"名字": "name"}}).status_code == 200
    assert client.get(_url(code), headers=admin).json()["mapping"] == {"名字": "name"}
    assert client.put(_url(code), headers=admin, json={"mapping": {}}).status_code == 200
    assert client.get(_url(code), headers=admin).json()["mapping"] == {}


def test_every_kind_offers_its_columns(client, project, contractor):
    for kind in KINDS:
        r = client.get(_url(project["code"], kind), headers=contractor)
        assert r.status_code == 200
        assert {c["name"] for c in r.json()["columns"]} == {c.name for c in SCHEMAS[kind]}


def test_who_may_read_and_write(client, project, contractor, tokens):
    code = project["code"]
    bureau = tokens.issue("bureau", project["region_code"][:4])
    elsewhere = tokens.issue("bureau", "3101")
    other = tokens.issue("contractor", "91310000MA1FL0XX8Q")
    bank = tokens.issue("bank", project["dedicated_account"])
    assert client.put(_url(code), headers=contractor, json={"mapping": {"名字": "name"}}).status_code == 200

    assert client.get(_url(code), headers=bureau).json()["mapping"] == {"名字": "name"}  # its region: may read
    r = client.put(_url(code), headers=bureau, json={"mapping": {}})
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"  # ... but not write
    for outsider in (elsewhere, other, bank):  # cannot see the project: 404 for reads, 403 for writes (api.md)
        assert client.get(_url(code), headers=outsider).status_code == 404
        assert client.put(_url(code), headers=outsider, json={"mapping": {}}).status_code == 403
    assert client.get(_url("NO-SUCH-1"), headers=contractor).status_code == 404
    assert client.get(_url(code)).status_code == 401
    assert client.put(_url(code), json={"mapping": {}}).status_code == 401
    assert client.get(_url(code), headers=contractor).json()["mapping"] == {"名字": "name"}  # unchanged


@pytest.mark.parametrize("body, field", [
    (b"{not json", None),
    (b"[]", None),
    (b'{"mapping": []}', None),
    (b'{"mapping": {}, "extra": 1}', None),
    (b'{"mapping": {"\\u59d3\\u540d": "full_name"}}', "headers"),  # not a roster column
    (b'{"mapping": {"\\u59d3\\u540d": 3}}', "headers"),
    (b'{"mapping": {"\\u59d3\\u540d": "date"}}', "headers"),  # an attendance column, not a roster one
    (b'{"mapping": {"A": "name", "B": "name"}}', "columns"),  # one column from two headers
    (b'{"mapping": {"   ": "name"}}', "headers"),
    (b'{"mapping": {"a\\u0000b": "name"}}', "headers"),
])
def test_bad_bodies_are_coded_400s_in_chinese(client, project, contractor, body, field):
    r = client.put(_url(project["code"]), headers={**contractor, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 400, r.text
    out = r.json()
    assert out["code"] == "COLUMN_MAP_INVALID"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out["detail"])
    if field:
        assert out["extra"][field]
        assert "name" in out["extra"]["allowed"]  # docs/exports.md: the allowed columns come with it
    assert client.get(_url(project["code"]), headers=contractor).json()["mapping"] == {}  # nothing saved


def test_bad_kind_and_size(client, project, contractor):
    r = client.get(_url(project["code"], "invoice"), headers=contractor)
    assert r.status_code == 400 and r.json()["code"] == "KIND_INVALID" and r.json()["extra"]["allowed"] == list(KINDS)
    assert client.put(_url(project["code"], "invoice"), headers=contractor, json={"mapping": {}}).status_code == 400
    many = {f"列{i}": "name" for i in range(201)}
    r = client.put(_url(project["code"]), headers=contractor, json={"mapping": many})
    assert r.status_code == 400 and r.json()["extra"]["max_entries"] == 200
    r = client.put(_url(project["code"]), headers=contractor, json={"mapping": {"长" * 101: "name"}})
    assert r.status_code == 400 and r.json()["code"] == "COLUMN_MAP_INVALID"
    r = client.put(_url(project["code"]), headers={**contractor, "Content-Type": "application/json"}, content=b"x" * 70_000)
    assert r.status_code == 413


def test_english_detail_on_request(client, project, contractor):
    r = client.put(_url(project["code"]), headers={**contractor, "Accept-Language": "en"}, json={"mapping": {"x": "nope"}})
    assert r.status_code == 400 and "canonical column" in r.json()["detail"]


def test_a_change_is_audited(client, project, contractor, admin):
    mapping = {"工人名字": "name"}
    assert client.put(_url(project["code"]), headers=contractor, json={"mapping": mapping}).status_code == 200
    day = dt.datetime.now(dt.UTC).date().isoformat()
    events = client.get(f"/api/v1/audit?date={day}", headers=admin).json()["events"]
    saved = [e for e in events if e["action"] == "save_column_map"]
    assert saved and saved[-1]["target"] == project["code"] and saved[-1]["role"] == "contractor"
    assert saved[-1]["detail"] == {"kind": "roster", "mapping": mapping}


def test_documented_in_openapi(client):
    doc = client.get("/schema/openapi.json").json()
    item = doc["paths"]["/api/v1/projects/{code}/column-maps/{kind}"]
    assert item["get"]["operationId"] == "getColumnMap" and item["put"]["operationId"] == "putColumnMap"
    body = item["put"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["mapping"]
    assert next(iter(body["examples"].values()))["value"]["mapping"]["工人名字"] == "name"


def test_an_accepted_file_sent_again_after_a_map_names_its_unknown_column_is_read_anew(client, project, contractor):
    """README's 列名对应 flow on a file that was accepted: the same bytes used to return the old
    receipt, COLUMN_UNKNOWN and all, so the saved map could never apply to them."""
    import io

    import openpyxl

    from conftest import FIXTURES, upload

    code = project["code"]
    wb = openpyxl.load_workbook(FIXTURES / "roster.xlsx")
    ws = wb.active
    header_row = next(r for r in ws.iter_rows() if any(c.value == "工资卡号" for c in r))
    next(c for c in header_row if c.value == "工资卡号").value = "工资银行卡"
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    first = upload(client, contractor, code, "roster", "2026-10", "花名册.xlsx", data)
    assert first.status_code == 201, first.text  # accepted: the 社保卡 column is the payout account of some
    report = client.get(f"/api/v1/uploads/{first.json()['upload_id']}/report", headers=contractor).json()["findings"]
    assert any(f["rule"] == "COLUMN_UNKNOWN" and f["column"] == "工资银行卡" for f in report)

    assert client.put(_url(code), headers=contractor, json={"mapping": {"工资银行卡": "bank_card"}}).status_code == 200
    second = upload(client, contractor, code, "roster", "2026-10", "花名册.xlsx", data)
    assert second.status_code == 201, second.text
    assert second.json()["upload_id"] != first.json()["upload_id"]
    report = client.get(f"/api/v1/uploads/{second.json()['upload_id']}/report", headers=contractor).json()["findings"]
    assert not any(f["rule"] == "COLUMN_UNKNOWN" and f["column"] == "工资银行卡" for f in report)
    # Once read under the map, the same bytes are that upload again; with the map unchanged, no third read.
    third = upload(client, contractor, code, "roster", "2026-10", "花名册.xlsx", data)
    assert third.status_code == 200 and third.json()["upload_id"] == second.json()["upload_id"]
