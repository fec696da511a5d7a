"""The rule catalogue: served by the API, written to docs/rules.md, covering domain.md's codes."""

from __future__ import annotations

import re
from pathlib import Path

from sitereg.rulesdoc import render
from sitereg.validate.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_CODES = {
    "FILE_UNREADABLE", "FILE_EMPTY", "FILE_TOO_LARGE", "COLUMN_MISSING", "COLUMN_UNKNOWN",
    "ID_FORMAT", "ID_CHECKSUM", "ID_BIRTHDATE", "ID_EXCEL_PRECISION", "ID_LEGACY_15", "NAME_MISSING",
    "NAME_ID_CONFLICT", "DUPLICATE_WORKER", "GENDER_MISMATCH", "AGE_UNDER_16", "AGE_MINOR", "AGE_OVER_LIMIT",
    "CREDIT_CODE_INVALID", "BANK_CARD_FORMAT", "BANK_CARD_LUHN", "PHONE_FORMAT", "DATE_INVALID", "DATE_IN_FUTURE",
    "DATE_RANGE", "DATE_OUT_OF_PERIOD", "HOURS_INVALID", "NO_REST_DAY", "AMOUNT_INVALID", "TXN_CONFLICT",
    "JOB_TYPE_UNKNOWN", "NOT_ON_ROSTER", "OUTSIDE_SITE_DATES", "NO_CONTRACT", "NOT_PAID", "PAYMENT_PENDING",
    "UNDERPAID", "OVERPAID", "PAID_LATE", "NOT_DEDICATED_ACCOUNT", "PAYEE_NOT_WORKER", "PAYEE_SHARED",
    "PAID_NOT_ON_ROSTER", "PAID_WITHOUT_ATTENDANCE", "ATTENDANCE_OVERLAP", "PAID_TWICE",
}


def test_every_domain_code_is_in_the_registry_once():
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert set(codes) >= DOMAIN_CODES


def test_every_rule_has_both_messages_and_a_check():
    for rule in RULES:
        assert rule.zh and rule.en and rule.severity in ("error", "warning", "info")
        assert re.search(r"[\u4e00-\u9fff]", rule.zh), rule.code
        # File-level rules come from the reader and mapper, bank ones from the batch intake; all others carry their check.
        assert rule.scope in ("file", "bank") or rule.check is not None or rule.across is not None, rule.code


def test_rules_endpoint_lists_the_registry(client, admin):
    body = client.get("/api/v1/rules", headers=admin).json()
    assert [r["code"] for r in body["rules"]] == [r.code for r in RULES]
    first = body["rules"][0]
    assert set(first) >= {"code", "severity", "message"} and set(first["message"]) == {"zh", "en"}


def test_docs_rules_md_is_current():
    written = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert written == render() + "\n", "docs/rules.md is stale: run `uv run sitereg docs`"
