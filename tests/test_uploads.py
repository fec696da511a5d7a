"""A contractor uploads the fixture files and gets receipts and reports a clerk can act on."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import FIXTURES, service, upload

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
READABLE = [f for f in MANIFEST["files"] if f["rows_total"]]
BROKEN = [f for f in MANIFEST["files"] if not f["rows_total"]]
PERIOD = MANIFEST["period"]


@pytest.mark.parametrize("entry", READABLE, ids=[f["file"] for f in READABLE])
def test_fixture_uploads_with_rows_and_planted_findings(client, project, contractor, entry):
    for name in entry.get("requires", []):  # e.g. the roster that resolves a payroll without ID numbers
        assert upload(client, contractor, project["code"], "roster", PERIOD, name).status_code == 201
    r = upload(client, contractor, project["code"], entry["kind"], PERIOD, entry["file"])
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["rows_total"] == entry["rows_total"]
    planted_rejects = [p for p in entry["planted"] if p["row"] is not None and p.get("rejects", True)]
    assert receipt["rows_rejected"] == len(planted_rejects)
    assert receipt["rows_accepted"] == entry["rows_total"] - len(planted_rejects)
    assert receipt["sha256"] == hashlib.sha256((FIXTURES / entry["file"]).read_bytes()).hexdigest()

    report = client.get(receipt["report"], headers=contractor).json()
    got = {(f["rule"], f["row"], f["column"]) for f in report["findings"] if f["severity"] != "info"}
    want = {(p["rule"], p["row"], p["column"]) for p in entry["planted"]}
    assert got == want
    assert report["counts"]["total"] == len(report["findings"])


def test_wide_attendance_becomes_worker_days(client, project, contractor):
    entry = next(f for f in MANIFEST["files"] if f["file"] == "attendance_wide.xlsx")
    from sitereg import tables

    r = upload(client, contractor, project["code"], "attendance", PERIOD, entry["file"])
    store = client.app.state.store
    receipt = client.app.state.catalog.receipt(r.json()["upload_id"])
    frame = tables.read(store, receipt.table_key)
    assert frame.height == entry["worker_days"]
    assert frame["date"].min().isoformat() >= f"{PERIOD}-01"


@pytest.mark.parametrize("entry", BROKEN, ids=[f["file"] for f in BROKEN])
def test_unreadable_file_answers_422_and_keeps_the_original(client, project, contractor, entry):
    data = (FIXTURES / entry["file"]).read_bytes()
    r = upload(client, contractor, project["code"], "roster", PERIOD, entry["file"])
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == entry["planted"][0]["rule"]
    assert [f["rule"] for f in body["findings"]] == [entry["planted"][0]["rule"]]
    assert body["detail"]  # Chinese message by default
    original = client.get(f"/api/v1/uploads/{body['upload_id']}/original", headers=contractor)
    assert original.status_code == 200 and original.content == data


def test_identical_reupload_returns_existing_receipt(client, project, contractor):
    first = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx")
    again = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()


def test_original_is_the_exact_bytes(client, project, contractor):
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "attendance_long_gbk.csv")
    got = client.get(f"/api/v1/uploads/{r.json()['upload_id']}/original", headers=contractor)
    assert got.content == (FIXTURES / "attendance_long_gbk.csv").read_bytes()


def test_newer_upload_becomes_current_and_older_is_kept(client, project, contractor):

    a = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    b = upload(client, contractor, project["code"], "roster", PERIOD, "roster_en.csv").json()
    catalog = client.app.state.catalog
    assert catalog.current_upload("roster", project["code"], PERIOD) == b["upload_id"]
    # A later period without its own roster uses the latest earlier one.
    assert catalog.current_upload("roster", project["code"], "2026-11") == b["upload_id"]
    assert client.get(f"/api/v1/uploads/{a['upload_id']}", headers=contractor).status_code == 200


def test_report_in_english_on_request(client, project, contractor):
    r = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    zh = client.get(r["report"], headers=contractor).json()["findings"][0]["message"]
    en = client.get(r["report"], headers={**contractor, "Accept-Language": "en-US,en;q=0.9"}).json()["findings"][0]["message"]
    assert zh != en
    assert "Excel" in en and "Text" in en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_report_values_are_masked(client, project, contractor):
    r = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    text = client.get(r["report"], headers=contractor).text
    import re

    assert not re.search(r"\d{15,}", text.replace(r["sha256"], "").replace(r["upload_id"], ""))


def test_bad_form_fields_are_4xx_with_codes(client, project, contractor):
    code = project["code"]
    r = client.post(f"/api/v1/projects/{code}/uploads", data={"kind": "salary", "period": PERIOD},
                    files={"file": ("a.csv", b"x")}, headers=contractor)
    assert r.status_code == 400 and r.json()["code"] == "KIND_INVALID"
    r = client.post(f"/api/v1/projects/{code}/uploads", data={"kind": "roster", "period": "2026-13"},
                    files={"file": ("a.csv", b"x")}, headers=contractor)
    assert r.status_code == 400 and r.json()["code"] == "PERIOD_INVALID"
    r = client.post(f"/api/v1/projects/{code}/uploads", data={"kind": "roster", "period": PERIOD}, headers=contractor)
    assert r.status_code == 400 and r.json()["code"] in ("FILE_MISSING", "VALIDATION", "BAD_REQUEST")
    assert r.json()["detail"]


def test_upload_over_the_size_limit_is_413(tmp_path, project_body):
    with service(tmp_path, project_body, max_upload_bytes=20_000) as (c, admin):
        r = upload(c, admin, project_body["code"], "roster", PERIOD, "roster.xlsx")
        assert r.status_code == 413
        assert r.json()["code"] == "FILE_TOO_LARGE"


def test_counts_stay_complete_when_the_list_is_capped(tmp_path, project_body):
    with service(tmp_path, project_body, report_limit=2) as (c, admin):
        up = upload(c, admin, project_body["code"], "roster", PERIOD, "roster.xlsx").json()
        report = c.get(up["report"], headers=admin).json()
    assert len(report["findings"]) == 2 and report["truncated"] is True
    assert report["counts"]["total"] == 5 and report["counts"]["error"] == 4 and report["counts"]["warning"] == 1
    assert report["findings"][0]["severity"] == "error"  # worst first


def test_wide_attendance_with_date_headers_and_a_weekday_line(client, project, contractor):
    """A sheet as many sites keep it: dates as header cells (10月1日 or real date cells) and a
    line of weekdays under them. The weekday line is header, not a worker."""
    import datetime as dt
    import io

    import openpyxl

    from ruleharness import ID_A

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2026年10月考勤表"])
    ws.append(["姓名", "身份证号码"] + [f"10月{d}日" if d % 2 else dt.datetime(2026, 10, d) for d in range(1, 32)])
    ws.append([None, None] + ["四五六日一二三"[(d - 1) % 7] for d in range(1, 32)])
    ws.append(["张建国", ID_A] + ["√" if dt.date(2026, 10, d).weekday() < 5 else None for d in range(1, 32)])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "考勤.xlsx", buf.getvalue())
    assert r.status_code == 201, r.text
    assert (r.json()["rows_total"], r.json()["rows_rejected"], r.json()["errors"]) == (1, 0, 0)
    from sitereg import tables

    receipt = client.app.state.catalog.receipt(r.json()["upload_id"])
    assert tables.read(client.app.state.store, receipt.table_key).height == 22  # October 2026's weekdays


def test_wage_sheet_without_a_period_column_takes_the_uploads_period(client, project, contractor):
    text = (FIXTURES / "payments.csv").read_bytes().decode("utf-8-sig").splitlines()
    header = text[0].split(",")
    drop = header.index("工资所属期")
    stripped = "\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != drop) for line in text)
    r = upload(client, contractor, project["code"], "payments", PERIOD, "工资.csv", stripped.encode())
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "payments" and r.json()["rows_accepted"] == 37 and r.json()["errors"] == 0


def test_a_form_field_that_is_not_utf8_is_400_not_500(client, project, contractor):
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n\x89\xc4\r\n"
            b"--XX\r\nContent-Disposition: form-data; name=\"period\"\r\n\r\n2026-10\r\n--XX--\r\n")
    r = client.post(f"/api/v1/projects/{project['code']}/uploads", content=body,
                    headers={**contractor, "Content-Type": "multipart/form-data; boundary=XX"})
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"


def test_roster_entry_dates_are_required_until_the_project_has_an_entry_exit_log(client, project, contractor):
    """A blank 进场日期 rejects the row (domain.md: required); once the project's 进退场 log is in,
    the log gives the on-site dates and the same roster is taken whole (formats.md)."""
    text = (FIXTURES / "roster_en.csv").read_text(encoding="utf-8").splitlines()
    header, first, *rest = text
    entry = header.split(",").index("entry_date")
    cells = first.split(",")
    cells[entry] = ""
    data = "\n".join([header, ",".join(cells), *rest]).encode()
    before = upload(client, contractor, project["code"], "roster", "2026-10", "roster_blank_entry.csv", data).json()
    assert before["rows_rejected"] == 1 and before["rows_accepted"] == len(rest)
    assert upload(client, contractor, project["code"], "entry_exit", "2026-10", "platform_entry_exit.xlsx").status_code == 201
    after = upload(client, contractor, project["code"], "roster", "2026-10", "roster_blank_entry2.csv",
                   data + b"\n").json()
    assert after["rows_rejected"] == 0 and after["rows_accepted"] == len(rest) + 1


def test_period_findings_say_which_uploads_they_were_computed_from(client, project, contractor):
    """An empty month answers no findings and no uploads, not a clean bill; the roster of
    October carries over to November, attendance does not."""
    url = f"/api/v1/projects/{project['code']}/periods/2026-11/findings"
    empty = client.get(url, headers=contractor).json()
    assert empty["findings"] == [] and empty["current_uploads"] == {}
    roster = upload(client, contractor, project["code"], "roster", "2026-10", "roster.xlsx").json()
    upload(client, contractor, project["code"], "attendance", "2026-10", "attendance_wide.xlsx")
    assert client.get(url, headers=contractor).json()["current_uploads"] == {"roster": roster["upload_id"]}


def test_a_worker_on_two_sheets_of_one_roster_is_a_duplicate_naming_the_first_sheet(client, project, contractor):
    """One sheet per 班组 is common (formats.md); the same ID on two of them is the same worker
    listed twice (domain.md: DUPLICATE_WORKER), and the finding says where the first one is."""
    import io

    from openpyxl import Workbook

    header, *lines = (FIXTURES / "roster_en.csv").read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in lines[:4]]
    wb = Workbook()
    first = wb.active
    first.title = "钢筋班"
    second = wb.create_sheet("木工班")
    for ws, part in ((first, rows[:2]), (second, [rows[2], rows[0], rows[3]])):
        ws.append(header.split(","))
        for r in part:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    receipt = upload(client, contractor, project["code"], "roster", "2026-10", "roster_teams.xlsx", buf.getvalue())
    assert receipt.status_code == 201, receipt.text
    body = receipt.json()
    assert (body["rows_total"], body["rows_accepted"], body["rows_rejected"]) == (5, 4, 1)
    for lang, where in (("zh", "工作表「钢筋班」第 2 行"), ("en", "row 2 of sheet '钢筋班'")):
        report = client.get(body["report"], headers={**contractor, "Accept-Language": lang}).json()
        dup = [f for f in report["findings"] if f["rule"] == "DUPLICATE_WORKER"]
        assert [(f["sheet"], f["row"], f["column"]) for f in dup] == [("木工班", 3, "id_number")]
        assert where in dup[0]["message"]
        assert rows[0][header.split(",").index("id_number")] not in json.dumps(report, ensure_ascii=False)


def test_a_projects_uploads_are_listed_refused_ones_too_with_the_current_one(client, project, contractor, tokens):
    """api.md keeps a refused file "so the bureau can see what was sent": without a list, its id
    was nowhere to be found."""
    code = project["code"]
    good = upload(client, contractor, code, "roster", PERIOD, "roster.xlsx").json()
    refused = upload(client, contractor, code, "roster", PERIOD, "scan.pdf", b"%PDF-1.4 not a table").json()
    later = upload(client, contractor, code, "roster", PERIOD, "roster_en.csv").json()
    bureau = tokens.issue('bureau', '4403')
    r = client.get(f"/api/v1/projects/{code}/uploads?period={PERIOD}&kind=花名册", headers=bureau)
    assert r.status_code == 200, r.text
    listed = r.json()["uploads"]
    assert [u["upload_id"] for u in listed] == [good["upload_id"], refused["upload_id"], later["upload_id"]]
    assert [u["status"] for u in listed] == ["accepted", "unreadable", "accepted"]
    assert [u["current"] for u in listed] == [False, False, True]
    assert client.get(f"/api/v1/projects/{code}/uploads?period=2026-11", headers=bureau).json()["uploads"] == []
    elsewhere = tokens.issue('bureau', '5101')
    assert client.get(f"/api/v1/projects/{code}/uploads", headers=elsewhere).status_code == 404
    assert client.get(f"/api/v1/projects/{code}/uploads?period=2026-13", headers=bureau).json()["code"] == "PERIOD_INVALID"
