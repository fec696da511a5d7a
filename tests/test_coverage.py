"""Coverage of domain.md: per project-period from its tables, and region totals as summed fractions."""

from __future__ import annotations

import csv
import io

import openpyxl

import golden
from conftest import service
from ruleharness import ACCOUNT, ID_B, PERIOD, TODAY, WORKDAYS, attendance_rows, contract_row, payment_row, roster_row, tables_of
from sitereg.validate import coverage as cov
from sitereg.validate.crosscheck import prepare


def coverage_of(roster, contracts, attendance, payments, today=TODAY):
    return cov.rates(cov.counts(prepare(tables_of(roster, contracts, attendance, payments), PERIOD, ACCOUNT, today), today))


def test_clean_worker_is_fully_covered():
    c = coverage_of([roster_row()], [contract_row()], attendance_rows(), [payment_row()])
    assert c["workers_active"] == 1 and c["realname_rate"] == 1.0 and c["contract_rate"] == 1.0
    assert c["full_pay_rate"] == 1.0 and c["on_time_rate"] == 1.0
    assert c["wages_paid"] == f"{400 * len(WORKDAYS)}.00" and c["arrears_estimate"] == "0.00"


def test_shortfall_is_the_arrears_estimate_and_rates_follow_domain_definitions():
    b_att = attendance_rows(ID_B, "李梅", WORKDAYS[:10])
    c = coverage_of(
        [roster_row()],  # B is not on the roster
        [contract_row()],  # and has no contract
        attendance_rows() + b_att,
        [payment_row(实发金额="8000.00")],  # A is 800 short; B unpaid but has no expected amount
    )
    assert c["workers_active"] == 2
    assert c["fractions"]["realname_rate"] == {"numerator": 1, "denominator": 2}
    assert c["fractions"]["contract_rate"] == {"numerator": 1, "denominator": 2}
    assert c["fractions"]["full_pay_rate"] == {"numerator": 0, "denominator": 1}
    assert c["arrears_estimate"] == "800.00"


def test_empty_denominators_are_null_and_on_time_waits_for_the_deadline():
    c = coverage_of([roster_row()], [], [], [])
    assert c["workers_active"] == 0 and c["realname_rate"] is None and c["contract_rate"] is None
    assert c["ssc_payouts"]["share"] is None
    import datetime as dt

    early = coverage_of([roster_row()], [contract_row()], attendance_rows(), [payment_row()], today=dt.date(2026, 11, 12))
    assert early["on_time_rate"] is None and early["full_pay_rate"] == 1.0


def test_ssc_payouts_count_amount_and_share():
    b = roster_row(身份证号码=ID_B, 姓名="李梅", 性别="女", 工资卡号=None, 社保卡金融账号="6217000000000000013")
    pays = [payment_row(), payment_row(身份证号码=ID_B, 姓名="李梅", 收款账号="6217000000000000013", 收款人="李梅",
                                       发放渠道="社保卡", 实发金额="100.00", 银行流水号="T2")]
    c = coverage_of([roster_row(), b], [contract_row()], attendance_rows(), pays)
    assert c["ssc_payouts"] == {"count": 1, "amount": "100.00", "share": 0.5}


def _load_month(client, admin, project, workers):
    assert client.post("/api/v1/projects", json=project, headers=admin).status_code == 201
    for kind, (name, data) in golden.files(workers, {"roster": [], "attendance": [], "payments": [], "roster_columns": []}).items():
        r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"kind": kind, "period": PERIOD},
                        files={"file": (name, data)}, headers=admin)
        assert r.status_code == 201


def test_region_totals_sum_fractions_and_bureaus_see_their_region_only(client, admin, tokens):
    base = {"name": "=HYPERLINK(\"http://x\")", "investment_type": "government", "contractor_credit_code": golden.CREDIT,
            "dedicated_account": golden.ACCOUNT, "guarantee": {"form": "cash", "amount": "1.00"}, "notice_board": True}
    small = [golden.base(i) for i in range(1, 3)]
    for w in small[:1]:
        w.contract = None  # one of two without a contract
    big = [golden.base(i) for i in range(10, 20)]  # ten, all with contracts
    _load_month(client, admin, {**base, "code": "A-1", "region_code": "440304"}, small)
    _load_month(client, admin, {**base, "code": "B-1", "region_code": "440305", "investment_type": "other"}, big)
    _load_month(client, admin, {**base, "code": "C-1", "region_code": "310101"}, big[:3])

    bureau = tokens.issue("bureau", "4403")
    body = client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()
    assert sorted(p["project"] for p in body["projects"]) == ["A-1", "B-1"]
    # 11 of 12 active workers have contracts: 11/12, not the average of 1/2 and 10/10.
    assert body["totals"]["fractions"]["contract_rate"] == {"numerator": 11, "denominator": 12}
    assert body["totals"]["contract_rate"] == round(11 / 12, 6)
    assert body["by_investment_type"]["government"]["contract_rate"] == 0.5
    assert body["by_investment_type"]["state_owned"]["contract_rate"] is None
    assert body["totals"]["five_systems"]["notice_board"] == 2

    one = client.get(f"/api/v1/projects/A-1/periods/{PERIOD}/coverage", headers=bureau).json()
    assert one["contract_rate"] == 0.5 and one["five_systems"]["guarantee"] is True
    assert client.get(f"/api/v1/projects/C-1/periods/{PERIOD}/coverage", headers=bureau).status_code == 404

    exported = client.get(f"/api/v1/coverage?period={PERIOD}", headers={**bureau, "Accept": "text/csv"}).text
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[0][0] == "project" and len(rows) == 3
    assert all(row[1].startswith("'=") for row in rows[1:])  # formula injection guarded

    xlsx = client.get(f"/api/v1/coverage.xlsx?period={PERIOD}", headers=bureau)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    lines = [row for row in wb["项目明细"].iter_rows() if isinstance(row[0].value, int)]  # 序号, 项目编码, 项目名称, ...
    assert lines and all(isinstance(row[2].value, str) and row[2].value.startswith("=") for row in lines)
    assert all(row[2].data_type == "s" for row in lines)

    risks = client.get(f"/api/v1/risks?period={PERIOD}", headers=bureau).json()
    assert [p["project"] for p in risks["projects"]][0] in ("A-1", "B-1")
    assert {p["project"] for p in risks["projects"]} == {"A-1", "B-1"}
    a = next(p for p in risks["projects"] if p["project"] == "A-1")
    assert a["by_rule"].get("NO_CONTRACT") == 1

    trend = client.get("/api/v1/coverage?period_from=2026-09&period_to=2026-11", headers=bureau).json()["trend"]
    assert [t["period"] for t in trend] == [PERIOD]


def test_contractor_sees_own_projects_and_banks_none(client, admin, tokens):
    _load_month(client, admin, {"code": "A-1", "name": "x", "region_code": "440304", "investment_type": "other",
                                "contractor_credit_code": golden.CREDIT, "dedicated_account": golden.ACCOUNT}, [golden.base(1)])
    mine = tokens.issue("contractor", golden.CREDIT)
    assert len(client.get(f"/api/v1/coverage?period={PERIOD}", headers=mine).json()["projects"]) == 1
    other = tokens.issue("contractor", "91440106618704536K")
    assert client.get(f"/api/v1/coverage?period={PERIOD}", headers=other).json()["projects"] == []
    assert client.get(f"/api/v1/coverage?period={PERIOD}", headers=tokens.issue("bank", golden.ACCOUNT)).status_code == 403
    assert client.get("/api/v1/coverage?period=2026-13", headers=mine).status_code == 400


def test_on_time_is_judged_per_deadline_when_read(tmp_path):
    """A snapshot written before the deadline is judged again when read after it."""
    import datetime as dt

    day = {"today": dt.date(2026, 11, 5)}
    project = {"code": "T-1", "name": "x", "region_code": "440304", "investment_type": "other",
               "contractor_credit_code": golden.CREDIT, "dedicated_account": golden.ACCOUNT}
    with service(tmp_path, today=lambda: day["today"]) as (client, admin):
        _load_month(client, admin, project, [golden.base(1), golden.base(2)])
        before = client.get(f"/api/v1/coverage?period={PERIOD}", headers=admin).json()["totals"]
        assert before["on_time_rate"] is None and before["full_pay_rate"] == 1.0
        day["today"] = dt.date(2026, 11, 16)
        after = client.get(f"/api/v1/coverage?period={PERIOD}", headers=admin).json()["totals"]
        assert after["on_time_rate"] == 1.0 and after["fractions"]["on_time_rate"] == {"numerator": 2, "denominator": 2}


def test_a_range_lists_each_project_once_with_summed_fractions():
    import datetime as dt

    import polars as pl

    base = {k: 1 for k in cov.COUNT_COLUMNS} | {"region_code": "440304", "investment_type": "other"} | {
        f"five_{k}": True for k in ("realname", "dedicated_account", "guarantee", "bank_payroll", "notice_board")}
    rows = pl.DataFrame([
        {**base, "project": "A", "period": "2026-09", "contract_n": 1, "a_n": 2,
         "on_time_by_deadline": [{"deadline": dt.date(2026, 10, 15), "n": 1, "d": 2}]},
        {**base, "project": "A", "period": "2026-10", "contract_n": 3, "a_n": 3,
         "on_time_by_deadline": [{"deadline": dt.date(2026, 11, 15), "n": 2, "d": 2}]},
    ])
    summed = cov.sum_by_project(rows, "2026-09..2026-10")
    assert summed.height == 1 and summed["period"][0] == "2026-09..2026-10"
    item = cov.project_items(summed, dt.date(2026, 11, 1)).to_dicts()[0]
    assert item["fractions"]["contract_rate"] == {"numerator": 4, "denominator": 5}
    assert item["fractions"]["on_time_rate"] == {"numerator": 1, "denominator": 2}  # November's deadline not yet passed


def test_every_scope_sees_totals_trend_and_projects_that_agree(client, admin, tokens):
    """Totals and the trend come from the database's per-month rollups (bureaus, admin) or from
    the caller's own rows (a contractor); whichever way, they equal the sums of the projects
    listed, and a trend month equals that month asked alone, for every kind of scope."""
    base = {"name": "x", "investment_type": "government", "contractor_credit_code": golden.CREDIT,
            "dedicated_account": golden.ACCOUNT, "notice_board": True}
    _load_month(client, admin, {**base, "code": "A-1", "region_code": "440304"}, [golden.base(i) for i in range(1, 4)])
    _load_month(client, admin, {**base, "code": "B-1", "region_code": "440305", "investment_type": "other",
                                "contractor_credit_code": "91440106618704536K"}, [golden.base(i) for i in range(5, 7)])
    _load_month(client, admin, {**base, "code": "C-1", "region_code": "310101"}, [golden.base(9)])
    scopes = {"admin": (admin, {"A-1", "B-1", "C-1"}),
              "bureau 4403": (tokens.issue("bureau", "4403"), {"A-1", "B-1"}),
              "bureau 310101+440305": (tokens.issue("bureau", "310101", "440305"), {"B-1", "C-1"}),
              "contractor": (tokens.issue("contractor", golden.CREDIT), {"A-1", "C-1"})}
    for label, (headers, expected) in scopes.items():
        for url in (f"/api/v1/coverage?period={PERIOD}", f"/api/v1/coverage?period_from=2026-08&period_to={PERIOD}"):
            body = client.get(url, headers=headers).json()
            assert {p["project"] for p in body["projects"]} == expected, (label, url)
            assert body["totals"]["projects"] == len(expected)
            for rate, fraction in body["totals"]["fractions"].items():
                assert fraction == {k: sum(p["fractions"][rate][k] for p in body["projects"])
                                    for k in ("numerator", "denominator")}, (label, url, rate)
            if "trend" in body:
                month = client.get(f"/api/v1/coverage?period={PERIOD}", headers=headers).json()["totals"]
                assert body["trend"] == [{"period": PERIOD, **month}], label
    narrowed = client.get(f"/api/v1/coverage?period={PERIOD}&region=440305", headers=scopes["bureau 4403"][0]).json()
    assert [p["project"] for p in narrowed["projects"]] == ["B-1"]
    assert client.get(f"/api/v1/coverage?period={PERIOD}&region=5101", headers=admin).json()["totals"]["projects"] == 0
    # A bureau asking for a region outside its own: 404, as for every read outside scope (api.md).
    # A wider region too: 440305's figures under the name 4403 (a new-user trial) would
    # mislabel a report the bureau hands on.
    for region, label in (("5101", "bureau 4403"), ("4403", "bureau 310101+440305"), ("44", "bureau 4403")):
        for path in (f"/api/v1/coverage?period={PERIOD}&region={region}",
                     f"/api/v1/coverage.xlsx?period={PERIOD}&region={region}",
                     f"/api/v1/risks?period={PERIOD}&region={region}", f"/api/v1/bulletins/{region}/{PERIOD}.docx"):
            r = client.get(path, headers=scopes[label][0])
            assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", (path, label)


def test_region_json_lists_the_projects_that_uploaded_nothing(client, admin, tokens):
    """The xlsx said 项目数 2, 未上传 1 while the JSON simply left the silent project out (and a
    project's own coverage of an empty month was zeros with no sign that nothing came)."""
    base = {"name": "有数据项目", "investment_type": "government", "contractor_credit_code": golden.CREDIT,
            "dedicated_account": golden.ACCOUNT, "guarantee": None, "notice_board": True, "region_code": "440304"}
    _load_month(client, admin, {**base, "code": "A-1"}, [golden.base(i) for i in range(3)])
    assert client.post("/api/v1/projects", json={**base, "code": "Z-9", "name": "静默项目"}, headers=admin).status_code == 201
    bureau = tokens.issue("bureau", base["region_code"][:4])
    body = client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()
    assert [p["project"] for p in body["projects"]] == ["A-1"]
    assert body["not_uploaded"] == [{"project": "Z-9", "name": "静默项目"}]
    assert body["totals"]["projects"] == 1
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/coverage.xlsx?period={PERIOD}", headers=bureau).content))
    assert any("未上传" in str(c) for row in sheet["项目明细"].iter_rows(values_only=True) for c in row if c)
    # A project registered later shows at once (the cached answer is keyed on the projects too).
    assert client.post("/api/v1/projects", json={**base, "code": "Z-8", "name": "新项目"}, headers=admin).status_code == 201
    again = client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()
    assert [p["project"] for p in again["not_uploaded"]] == ["Z-8", "Z-9"]
    empty = client.get(f"/api/v1/projects/Z-9/periods/{PERIOD}/coverage", headers=bureau).json()
    assert empty["current_uploads"] == {} and empty["workers_active"] == 0
    loaded = client.get(f"/api/v1/projects/A-1/periods/{PERIOD}/coverage", headers=bureau).json()
    assert set(loaded["current_uploads"]) >= {"roster", "attendance"}


def test_a_project_not_yet_started_or_already_ended_is_not_listed_as_not_uploaded(client, admin, tokens):
    base = {"name": "有数据项目", "investment_type": "government", "contractor_credit_code": golden.CREDIT,
            "dedicated_account": golden.ACCOUNT, "guarantee": None, "notice_board": True, "region_code": "440304"}
    _load_month(client, admin, {**base, "code": "A-1"}, [golden.base(i) for i in range(3)])
    for code, start, end in (("LATER-1", "2026-11-01", None), ("DONE-1", "2025-01-01", "2026-09-30"),
                             ("NOW-1", "2026-10-31", None)):
        body = {**base, "code": code, "name": code, "start_date": start, "end_date": end}
        assert client.post("/api/v1/projects", json=body, headers=admin).status_code == 201
    bureau = tokens.issue("bureau", "4403")
    body = client.get(f"/api/v1/coverage?period={PERIOD}", headers=bureau).json()
    assert [p["project"] for p in body["not_uploaded"]] == ["NOW-1"]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/coverage.xlsx?period={PERIOD}", headers=bureau).content))
    listed = {c for row in sheet["项目明细"].iter_rows(values_only=True) for c in row if isinstance(c, str)}
    assert "NOW-1" in listed and "LATER-1" not in listed and "DONE-1" not in listed
    # Over a range reaching its first month, the later project is expected.
    ranged = client.get(f"/api/v1/coverage?period_from={PERIOD}&period_to=2026-11", headers=bureau).json()
    assert [p["project"] for p in ranged["not_uploaded"]] == ["LATER-1", "NOW-1"]
