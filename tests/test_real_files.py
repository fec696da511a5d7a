"""Real files in, with no renaming and no row deleted: the national platform's import templates
(03 人员, 04 进退场, 05 合同, 06 考勤 gate punches, 07 工资), a site's multi-sheet wage sheet, a
wide attendance report of clock times, and the refusals (a PDF, the wrong kind, the wrong month)
that must never displace a file that can be used."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, upload

MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
FILES = {f["file"]: f for f in MANIFEST["files"]}
PERIOD = MANIFEST["period"]
VALID = MANIFEST["summary"]["valid_workers"]


def _report(client, headers, receipt):
    return client.get(f"/api/v1/uploads/{receipt['upload_id']}/report", headers=headers).json()["findings"]


def _rules(findings):
    return sorted(f["rule"] for f in findings)


def _coverage(client, headers, code, period=PERIOD):
    r = client.get(f"/api/v1/projects/{code}/periods/{period}/coverage", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _period_findings(client, headers, code, period=PERIOD):
    r = client.get(f"/api/v1/projects/{code}/periods/{period}/findings", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["findings"]


def test_platform_roster_is_taken_whole_and_its_personal_columns_are_one_info(client, project, contractor):
    r = upload(client, contractor, project["code"], "roster", PERIOD, "platform_roster.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_total"], body["rows_accepted"], body["errors"], body["warnings"]) == (VALID, VALID, 0, 0)
    findings = _report(client, contractor, body)
    assert _rules(findings) == ["COLUMNS_NOT_STORED"]
    (info,) = findings
    assert info["severity"] == "info" and "民族" in info["message"] and "证件有效期结束日期" in info["message"]


def test_platform_contracts_in_the_templates_terms(client, project, contractor):
    assert upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").status_code == 201
    r = upload(client, contractor, project["code"], "contracts", PERIOD, "platform_contracts.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_accepted"], body["errors"], body["warnings"]) == (VALID, 0, 0)
    # 天 / 月 give an expected amount, 平方米 is piece work: full pay is judged for the first two only.
    for kind, name in (("attendance", "attendance_wide.xlsx"), ("payments", "payments.csv")):
        assert upload(client, contractor, project["code"], kind, PERIOD, name).status_code == 201
    cov = _coverage(client, contractor, project["code"])
    assert cov["contract_rate"] == 1.0
    assert cov["full_pay_rate"] == 1.0
    assert cov["arrears_estimate"] == "0.00"


def test_platform_entry_exit_log_is_taken(client, project, contractor):
    r = upload(client, contractor, project["code"], "entry_exit", PERIOD, "platform_entry_exit.xlsx")
    assert r.status_code == 201, r.text
    assert (r.json()["rows_accepted"], r.json()["errors"], r.json()["warnings"]) == (VALID, 0, 0)


def test_gate_punches_become_worker_days_with_hours(client, project, contractor):
    f = FILES["platform_punches.xlsx"]
    upload(client, contractor, project["code"], "roster", PERIOD, "platform_roster.xlsx")
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "platform_punches.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_total"], body["rows_rejected"], body["errors"], body["warnings"]) == (f["rows_total"], 0, 0, 0)
    assert _rules(_report(client, contractor, body)) == ["PUNCH_UNPAIRED"] * f["unpaired_days"]
    from sitereg import tables

    receipt = client.app.state.catalog.receipt(body["upload_id"])
    days = tables.read(client.app.state.store, receipt.table_key)
    assert days.height == f["worker_days"]
    assert days.get_column("hours").drop_nulls().min() > 9  # 07:xx in to 17:xx out


def test_platform_payroll_without_ids_resolves_workers_through_the_roster(client, project, contractor):
    f = FILES["platform_payroll.xlsx"]
    assert upload(client, contractor, project["code"], "roster", PERIOD, "platform_roster.xlsx").status_code == 201
    r = upload(client, contractor, project["code"], "payroll", PERIOD, "platform_payroll.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_accepted"], body["errors"], body["warnings"]) == (f["rows_total"], 0, 0)
    # paid exactly what the payroll says, into the workers' own accounts: nothing owed
    for k, n in (("attendance", "attendance_wide.xlsx"), ("payments", "payments.csv")):
        assert upload(client, contractor, project["code"], k, PERIOD, n).status_code == 201
    rules = {x["rule"] for x in _period_findings(client, contractor, project["code"])}
    assert not rules & {"PAID_BELOW_PAYROLL", "NOT_ON_PAYROLL", "PAYROLL_DAYS_DIFFER", "WORKER_UNRESOLVED"}


def test_a_payroll_line_whose_card_matches_no_rostered_worker_is_rejected(client, project, contractor):
    from ruleharness import CARD_C

    assert upload(client, contractor, project["code"], "roster", PERIOD, "platform_roster.xlsx").status_code == 201
    rows = ["员工姓名,工人工资卡号,应发金额(元),实发金额（元）", f"王五,{CARD_C},8800.00,8800.00"]
    r = upload(client, contractor, project["code"], "payroll", PERIOD, "工资.csv", "\n".join(rows).encode())
    assert r.status_code == 422, r.text
    assert _rules(r.json()["findings"]) == ["WORKER_UNRESOLVED"]


def test_site_wage_sheet_every_team_sheet_read_totals_and_signatures_skipped(client, project, contractor):
    f = FILES["site_payroll.xlsx"]
    r = upload(client, contractor, project["code"], "工资表", PERIOD, "site_payroll.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "payroll"
    assert (body["rows_accepted"], body["errors"], body["warnings"]) == (VALID, 0, 0)
    findings = _report(client, contractor, body)
    assert set(_rules(findings)) == {"FOOTER_ROWS_SKIPPED"}  # no NAME_MISSING for 合计, no AMOUNT_INVALID for 333.33
    assert len(findings) == len(f["sheets"])  # one per team sheet


def test_wide_report_of_clock_times_counts_each_time_as_present(client, project, contractor):
    f = FILES["attendance_clock.xlsx"]
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "attendance_clock.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_accepted"], body["errors"], body["warnings"]) == (10, 0, 1)
    assert _rules(_report(client, contractor, body)) == ["CLOCK_ANOMALY"]
    from sitereg import tables

    receipt = client.app.state.catalog.receipt(body["upload_id"])
    assert tables.read(client.app.state.store, receipt.table_key).height == f["worker_days"]


def test_kind_left_out_is_detected_and_named_in_the_receipt(client, project, contractor):
    for name, kind in (("platform_roster.xlsx", "roster"), ("platform_contracts.xlsx", "contracts"),
                       ("platform_entry_exit.xlsx", "entry_exit"), ("site_payroll.xlsx", "payroll"),
                       ("attendance_clock.xlsx", "attendance"), ("payments.csv", "payments")):
        r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"period": PERIOD},
                        files={"file": (name, (FIXTURES / name).read_bytes())}, headers=contractor)
        assert r.status_code == 201, (name, r.text)
        assert r.json()["kind"] == kind, name


def test_a_pdf_sent_as_a_roster_is_refused_and_never_becomes_current(client, project, contractor):
    good = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx")
    assert good.status_code == 201
    before = _coverage(client, contractor, project["code"])
    r = upload(client, contractor, project["code"], "roster", PERIOD, "roster.pdf")
    assert r.status_code == 422, r.text
    assert r.json()["findings"][0]["rule"] == "FILE_UNREADABLE"
    assert _coverage(client, contractor, project["code"]) == before
    assert {f.get("upload_id") for f in _period_findings(client, contractor, project["code"])
            if f["kind"] == "roster"} == {good.json()["upload_id"]}


def test_a_roster_sent_as_a_wage_sheet_says_what_it_looks_like(client, project, contractor):
    r = upload(client, contractor, project["code"], "payroll", PERIOD, "roster.xlsx")
    assert r.status_code == 422, r.text
    findings = r.json()["findings"]
    assert {"KIND_MISMATCH", "COLUMN_MISSING"} <= set(_rules(findings))
    mismatch = next(f for f in findings if f["rule"] == "KIND_MISMATCH")
    assert "花名册" in mismatch["message"]
    missing = next(f for f in findings if f["rule"] == "COLUMN_MISSING")
    assert "实发" in missing["message"] and "最接近" in missing["message"]


def test_an_october_sheet_uploaded_for_august_is_a_period_mismatch(client, project, contractor):
    r = upload(client, contractor, project["code"], "attendance", "2026-08", "attendance_clock.xlsx")
    assert r.status_code == 422, r.text
    assert _rules(r.json()["findings"]) == ["PERIOD_MISMATCH"]
    assert _coverage(client, contractor, project["code"], "2026-08")["workers_active"] == 0


def test_resending_an_earlier_uploads_bytes_makes_it_current_again(client, project, contractor):
    first = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").json()
    second = upload(client, contractor, project["code"], "roster", PERIOD, "platform_roster.xlsx").json()
    roster_uploads = lambda: {f.get("upload_id") for f in _period_findings(client, contractor, project["code"])  # noqa: E731
                              if f["kind"] == "roster"}
    assert roster_uploads() == {second["upload_id"]}
    again = upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx")
    assert again.status_code == 200 and again.json()["upload_id"] == first["upload_id"]
    assert roster_uploads() == {first["upload_id"]}


def test_long_form_zero_hours_is_absent(client, project, contractor):
    from ruleharness import ID_A

    rows = ["身份证号码,姓名,日期,工时", f"{ID_A},张建国,2026-10-05,8", f"{ID_A},张建国,2026-10-06,0"]
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "a.csv", "\n".join(rows).encode())
    assert r.status_code == 201, r.text
    assert _coverage(client, contractor, project["code"])["workers_active"] == 1
    from sitereg import tables

    receipt = client.app.state.catalog.receipt(r.json()["upload_id"])
    assert tables.read(client.app.state.store, receipt.table_key).height == 1


def test_arrears_come_from_the_payroll_where_no_contract_gives_an_amount(client, project, contractor):
    assert upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").status_code == 201
    assert upload(client, contractor, project["code"], "attendance", PERIOD, "attendance_wide.xlsx").status_code == 201
    assert _coverage(client, contractor, project["code"])["arrears_estimate"] == "0.00"
    r = upload(client, contractor, project["code"], "payroll", PERIOD, "site_payroll.xlsx")
    assert r.status_code == 201, r.text
    arrears = _coverage(client, contractor, project["code"])["arrears_estimate"]
    assert float(arrears) > 0
    rules = {f["rule"] for f in _period_findings(client, contractor, project["code"])}
    assert "PAYMENT_PENDING" in rules  # without a contract the deadline is the end of the next month


REFUSED = [
    ("roster", PERIOD, "roster.pdf"),
    ("payroll", PERIOD, "roster.xlsx"),
    ("attendance", "2026-10", None),  # the clock sheet re-titled for September
    ("payments", PERIOD, "platform_payroll.xlsx"),
]


@pytest.mark.parametrize(("kind", "period", "name"), REFUSED)
def test_a_refused_upload_never_changes_any_coverage_figure(client, project, contractor, kind, period, name):
    for k, n in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx"),
                 ("payments", "payments.csv")):
        assert upload(client, contractor, project["code"], k, PERIOD, n).status_code == 201
    before = _coverage(client, contractor, project["code"])
    findings_before = _period_findings(client, contractor, project["code"])
    if name is None:
        data = (FIXTURES / "attendance_clock.xlsx").read_bytes().replace("2026年10月".encode(), "2026年09月".encode())
        r = upload(client, contractor, project["code"], kind, period, "attendance.xlsx", data)
    else:
        r = upload(client, contractor, project["code"], kind, period, name)
    assert r.status_code == 422, r.text
    assert _coverage(client, contractor, project["code"]) == before
    assert _period_findings(client, contractor, project["code"]) == findings_before


def _csv(*lines: str) -> bytes:
    return "\n".join(lines).encode()


def test_a_gate_log_keyed_by_worker_number_resolves_through_the_roster(client, project, contractor):
    from ruleharness import CARD_A, CREDIT, ID_A

    roster = _csv("工人姓名,证件号码,人员编号,企业统一社会信用代码,当前工种,发放工资银行卡号",
                  f"张建国,{ID_A},GZ-0001,{CREDIT},钢筋工,{CARD_A}")
    assert upload(client, contractor, project["code"], "roster", PERIOD, "r.csv", roster).status_code == 201
    log = _csv("人员编号,人员姓名,刷卡时间,刷卡进出方向",
               "GZ-0001,张建国,2026-10-08 07:31:00,入场", "GZ-0001,张建国,2026-10-08 17:40:00,出场",
               "GZ-0002,李四,2026-10-08 07:35:00,入场")
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "gate.csv", log)
    assert r.status_code == 201, r.text
    assert (r.json()["rows_accepted"], r.json()["rows_rejected"]) == (2, 1)
    assert _rules(_report(client, contractor, r.json())) == ["WORKER_UNRESOLVED"]
    assert _coverage(client, contractor, project["code"])["workers_active"] == 1


def test_clock_columns_give_hours_and_no_times_is_absent(client, project, contractor):
    from ruleharness import ID_A

    sheet = _csv("姓名,身份证号码,考勤日期,上班打卡时间,下班打卡时间",
                 f"张建国,{ID_A},2026-10-08,07:30,17:30", f"张建国,{ID_A},2026-10-09,,")
    r = upload(client, contractor, project["code"], "attendance", PERIOD, "clock.csv", sheet)
    assert r.status_code == 201, r.text
    from sitereg import tables

    receipt = client.app.state.catalog.receipt(r.json()["upload_id"])
    days = tables.read(client.app.state.store, receipt.table_key)
    assert days.select("hours").to_series().to_list() == [10.0]


def test_realname_rate_counts_a_rostered_worker_paid_without_attendance(client, project, contractor):
    assert upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").status_code == 201
    assert upload(client, contractor, project["code"], "payments", PERIOD, "payments.csv").status_code == 201
    cov = _coverage(client, contractor, project["code"])
    assert cov["workers_active"] == 0 and cov["realname_rate"] == 1.0


def test_the_entry_exit_log_decides_who_was_on_site(client, project, contractor):
    from ruleharness import ID_A

    assert upload(client, contractor, project["code"], "roster", PERIOD, "roster.xlsx").status_code == 201
    assert upload(client, contractor, project["code"], "payments", PERIOD, "payments.csv").status_code == 201
    first = _coverage(client, contractor, project["code"])["realname_rate"]
    rows = (FIXTURES / "payments.csv").read_text(encoding="utf-8-sig").splitlines()[1:3]
    ids = [row.split(",")[1] for row in rows]
    log = _csv("工人姓名,证件号码,进退场日期,类型", *[f"某,{i},2026-03-01,进场" for i in ids],
               *[f"某,{i},2026-09-20,退场" for i in ids])
    r = upload(client, contractor, project["code"], "entry_exit", "2026-09", "log.csv", log)
    assert r.status_code == 201, r.text
    assert _rules(_report(client, contractor, r.json())) == []
    later = _coverage(client, contractor, project["code"])
    assert later["realname_rate"] < first  # two paid workers left the site in September
    assert ID_A  # the harness's worker is not involved


def test_a_banks_result_file_stores_only_the_payments_that_went_through(client, project, contractor):
    text = (FIXTURES / "payments.csv").read_bytes().decode("utf-8-sig").splitlines()
    header = text[0].replace("银行流水号", "交易流水号").replace("发放日期", "交易日期").replace("收款账号", "收款人账号") + ",交易状态"
    lines = [header] + [line + (",失败" if i == 0 else ",成功") for i, line in enumerate(text[1:])]
    r = upload(client, contractor, project["code"], "payments", PERIOD, "代发结果.csv", "\n".join(lines).encode())
    assert r.status_code == 201, r.text
    from sitereg import tables

    receipt = client.app.state.catalog.receipt(r.json()["upload_id"])
    assert tables.read(client.app.state.store, receipt.table_key).height == len(text) - 2
    assert _coverage(client, contractor, project["code"])["workers_paid"] == len(text) - 2


def test_a_batch_transfer_sheet_is_a_payroll_not_a_payment(client, project, contractor):
    from ruleharness import ACCOUNT

    assert upload(client, contractor, project["code"], "roster", PERIOD, "platform_roster.xlsx").status_code == 201
    manifest_roster = (FIXTURES / "payments.csv").read_bytes().decode("utf-8-sig").splitlines()[1:4]
    rows = ["收款人账号,收款人名称,金额,付款人账号,汇款用途"]
    for line in manifest_roster:
        f = line.split(",")
        if f[8] == "银行卡":  # the roster's bank card
            rows.append(f"{f[6]},{f[0]},{f[3]},{ACCOUNT},2026年10月工资")
    r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"period": PERIOD},
                    files={"file": ("网银批量转账.csv", "\n".join(rows).encode())}, headers=contractor)
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "payroll" and r.json()["errors"] == 0
    assert _coverage(client, contractor, project["code"])["workers_paid"] == 0  # an instruction is not money that moved


@pytest.mark.parametrize(("kind", "sheet"), [("payroll", "工资表"), ("entry_exit", "进退场记录")])
def test_templates_of_the_new_kinds_come_back_as_their_kind(client, project, contractor, kind, sheet):
    r = client.get(f"/api/v1/templates/{kind}.xlsx", headers=contractor)
    assert r.status_code == 200
    import io

    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames[0] == sheet
    up = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"period": PERIOD},
                     files={"file": (f"{kind}.xlsx", r.content)}, headers=contractor)
    assert up.status_code == 422  # a blank template holds no rows: nothing becomes current
    assert up.json()["extra"]["receipt"]["kind"] == kind


def test_the_marked_workbook_of_a_site_wage_sheet(client, project, contractor):
    r = upload(client, contractor, project["code"], "payroll", PERIOD, "site_payroll.xlsx")
    assert r.status_code == 201
    x = client.get(f"/api/v1/uploads/{r.json()['upload_id']}/report.xlsx", headers=contractor)
    assert x.status_code == 200, x.text
    import io

    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert {"钢筋班", "木工班", "汇总"} <= set(wb.sheetnames)


def test_a_saved_column_map_lets_the_same_refused_file_in(client, project, contractor, catalog):
    """A site's own header the service does not know refuses the file; once the contractor has
    saved a column map for it, sending the very same file again reads it anew and takes it
    (a refused upload does not hold its bytes' place), while accepted bytes stay deduplicated."""
    import idgen

    ids = [idgen.make_id(seq=100 + i) for i in range(2)]
    data = ("姓名,工人证件,日期,工时\n" + "".join(f"工人{i},{x},{PERIOD}-0{d},8\n" for i, x in enumerate(ids) for d in (5, 6))).encode()
    first = upload(client, contractor, project["code"], "attendance", PERIOD, "考勤.csv", data)
    assert first.status_code == 422, first.text
    assert "COLUMN_MISSING" in _rules(_report(client, contractor, first.json()))
    catalog.db.save_column_map(project["code"], "attendance", {"工人证件": "id_number"})
    again = upload(client, contractor, project["code"], "attendance", PERIOD, "考勤.csv", data)
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["upload_id"] != first.json()["upload_id"] and body["rows_accepted"] == 4
    assert "COLUMN_UNKNOWN" not in _rules(_report(client, contractor, body))
    repeat = upload(client, contractor, project["code"], "attendance", PERIOD, "考勤.csv", data)
    assert repeat.status_code == 200 and repeat.json()["upload_id"] == body["upload_id"]


def _region(client, headers):
    r = client.get(f"/api/v1/coverage?period={PERIOD}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


_KINDS = ("roster", "contracts", "attendance", "payroll", "payments", "entry_exit")
_header_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)


@st.composite
def _unusable_file(draw) -> tuple[str | None, str, bytes]:
    """A file no kind can use: random bytes, a text table whose headers name nothing sitereg
    knows, a real fixture cut to its first bytes, or a real file of one kind sent as another."""
    shape = draw(st.sampled_from(["bytes", "headers", "truncated", "wrong_kind"]))
    kind = draw(st.sampled_from((*_KINDS, None)))
    if shape == "bytes":
        return kind, draw(st.sampled_from(["a.xlsx", "a.csv", "a.pdf"])), draw(st.binary(max_size=3000))
    if shape == "headers":
        heads = draw(st.lists(_header_text.filter(lambda h: "," not in h and "\n" not in h and "\r" not in h
                                                  and '"' not in h), min_size=1, max_size=6, unique=True))
        rows = draw(st.lists(st.lists(st.integers(0, 10**6).map(str), min_size=len(heads), max_size=len(heads)), max_size=5))
        return kind, "表.csv", "\n".join(",".join(r) for r in [heads, *rows]).encode()
    if shape == "truncated":
        name = draw(st.sampled_from(["roster.xlsx", "attendance_wide.xlsx", "platform_payroll.xlsx"]))
        data = (FIXTURES / name).read_bytes()
        return kind, name, data[: draw(st.integers(0, len(data) // 2))]
    kind, name = draw(st.sampled_from([("payroll", "roster.xlsx"), ("payments", "platform_payroll.xlsx"),
                                       ("roster", "attendance_wide.xlsx"), ("contracts", "payments.csv")]))
    return kind, name, (FIXTURES / name).read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_unusable_file())
def test_property_a_refused_upload_never_changes_any_figure(client, project, contractor, admin, refused):
    """Whatever unusable file arrives, of whichever kind or none, it is refused (422, the
    original kept) and no figure moves: the project's coverage and findings, the region's."""
    if _coverage(client, contractor, project["code"])["workers_active"] == 0:  # the first example: a good month
        for k, n in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx"),
                     ("payments", "payments.csv")):
            assert upload(client, contractor, project["code"], k, PERIOD, n).status_code in (200, 201)
    before = (_coverage(client, contractor, project["code"]), _period_findings(client, contractor, project["code"]),
              _region(client, admin))
    kind, name, data = refused
    form = {"period": PERIOD} if kind is None else {"kind": kind, "period": PERIOD}
    r = client.post(f"/api/v1/projects/{project['code']}/uploads", data=form, files={"file": (name, data)}, headers=contractor)
    assert r.status_code == 422, (kind, name, r.status_code, r.text[:300])
    assert r.json()["upload_id"]  # the original is kept and named
    after = (_coverage(client, contractor, project["code"]), _period_findings(client, contractor, project["code"]),
             _region(client, admin))
    assert after == before
