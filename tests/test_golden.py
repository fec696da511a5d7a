"""Golden months through the API: a clean month has no error or warning; a month with one
planted breach per rule yields exactly the planted findings."""

from __future__ import annotations

from collections import Counter

import pytest

import golden
from sitereg.validate.rules import RULES

PROJECT = {"code": "GOLDEN-1", "name": "黄金测试项目", "region_code": "440304", "investment_type": "state_owned",
           "contractor_credit_code": golden.CREDIT, "dedicated_account": golden.ACCOUNT, "guarantee": {"form": "cash", "amount": "100000.00"},
           "start_date": "2026-01-01", "status": "active", "notice_board": True}


def run_month(client, admin, plants: bool):
    assert client.post("/api/v1/projects", json=PROJECT, headers=admin).status_code == 201
    workers, expected, extra = golden.month(plants)
    for kind, (name, data) in golden.files(workers, extra).items():
        r = client.post(f"/api/v1/projects/{PROJECT['code']}/uploads", data={"kind": kind, "period": golden.PERIOD},
                        files={"file": (name, data)}, headers=admin)
        assert r.status_code == 201, r.text
    found = client.get(f"/api/v1/projects/{PROJECT['code']}/periods/{golden.PERIOD}/findings", headers=admin).json()
    assert not found["truncated"]
    return found, expected


def test_clean_month_has_no_error_or_warning(client, admin):
    found, _ = run_month(client, admin, plants=False)
    assert found["counts"]["error"] == 0 and found["counts"]["warning"] == 0, found["findings"]


def test_planted_month_yields_exactly_the_planted_findings(client, admin):
    found, expected = run_month(client, admin, plants=True)
    got = Counter(f["rule"] for f in found["findings"])
    assert got == expected


def test_golden_plants_cover_every_rule_but_file_failures_and_cross_project():
    _, expected, _ = golden.month(True)
    left = {r.code for r in RULES} - set(expected)
    assert left == {"FILE_UNREADABLE", "FILE_EMPTY", "FILE_TOO_LARGE", "COLUMN_MISSING", "ATTENDANCE_OVERLAP", "PAID_TWICE",
                    "PROJECT_UNKNOWN", "FORMULA_REMOVED",
                    # the real layouts' rules: covered by test_rules_file and test_real_files
                    "COLUMNS_NOT_STORED", "FOOTER_ROWS_SKIPPED", "VALUE_NORMALISED", "KIND_MISMATCH", "PERIOD_MISMATCH",
                    "WORKER_UNRESOLVED", "PAYMENT_FAILED", "PROJECT_MISMATCH",
                    # a month nobody worked: test_site_sheets
                    "NO_DAYS_PRESENT",
                    "PAYROLL_ARITHMETIC", "DEDUCTION_HIGH", "EXIT_WITHOUT_ENTRY", "PUNCH_UNPAIRED", "CLOCK_ANOMALY",
                    # payroll against contract, attendance and payments: covered by test_rules_cross
                    "PAYROLL_BELOW_EXPECTED", "PAYROLL_DAYS_DIFFER", "NOT_ON_PAYROLL", "PAID_BELOW_PAYROLL"}
    # the rest: covered by test_uploads, test_batches, test_pentest_reports
    # and the cross-project test below


@pytest.mark.parametrize("what", ["attendance", "payments"])
def test_cross_project_overlap_is_flagged_on_both_projects(client, admin, what):
    other = {**PROJECT, "code": "GOLDEN-2", "dedicated_account": "4425010020239361399"}
    assert client.post("/api/v1/projects", json=other, headers=admin).status_code == 201
    workers, _, extra = golden.month(False)
    mine, theirs = golden.files(workers, extra), golden.files(workers[:1], extra)
    for project, files in ((PROJECT, mine), (other, theirs)):
        if project is PROJECT:
            assert client.post("/api/v1/projects", json=PROJECT, headers=admin).status_code == 201
        kinds = ("roster", "contracts", "attendance", "payments") if project is PROJECT else ("roster", what)
        for kind in kinds:
            name, data = files[kind]
            r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"kind": kind, "period": golden.PERIOD},
                            files={"file": (name, data)}, headers=admin)
            assert r.status_code == 201
    rule = "ATTENDANCE_OVERLAP" if what == "attendance" else "PAID_TWICE"
    for code, other_code in (("GOLDEN-1", "GOLDEN-2"), ("GOLDEN-2", "GOLDEN-1")):
        found = client.get(f"/api/v1/projects/{code}/periods/{golden.PERIOD}/findings", headers=admin).json()["findings"]
        hits = [f for f in found if f["rule"] == rule]
        assert len(hits) == 1 and other_code in hits[0]["message"]


def test_a_worker_paid_by_one_project_only_is_not_paid_twice(client, admin):
    """GOLDEN-2 has the worker's attendance but paid nothing; GOLDEN-1 paid them: no PAID_TWICE
    on either (domain.md: paid for the same period by two projects)."""
    other = {**PROJECT, "code": "GOLDEN-2", "dedicated_account": "4425010020239361399"}
    for project in (PROJECT, other):
        assert client.post("/api/v1/projects", json=project, headers=admin).status_code == 201
    workers, _, extra = golden.month(False)
    for project, files, kinds in ((PROJECT, golden.files(workers, extra), ("roster", "contracts", "attendance", "payments")),
                                  (other, golden.files(workers[:1], extra), ("roster", "attendance"))):
        for kind in kinds:
            name, data = files[kind]
            r = client.post(f"/api/v1/projects/{project['code']}/uploads", data={"kind": kind, "period": golden.PERIOD},
                            files={"file": (name, data)}, headers=admin)
            assert r.status_code == 201
    for code in ("GOLDEN-1", "GOLDEN-2"):
        found = client.get(f"/api/v1/projects/{code}/periods/{golden.PERIOD}/findings", headers=admin).json()["findings"]
        rules = {f["rule"] for f in found}
        assert "ATTENDANCE_OVERLAP" in rules and "PAID_TWICE" not in rules
