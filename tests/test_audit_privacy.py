"""The audit trail records writes and downloads; personal numbers never leave unmasked."""

from __future__ import annotations

import logging
import re

import openpyxl

from conftest import FIXTURES, upload


def test_writes_and_downloads_are_audited(client, project, contractor, admin, tokens):
    up = upload(client, contractor, project["code"], "roster", "2026-10", "roster.xlsx").json()
    client.get(f"/api/v1/uploads/{up['upload_id']}/original", headers=contractor)
    client.get(f"/api/v1/uploads/{up['upload_id']}/report.xlsx", headers=contractor)
    events = client.get("/api/v1/audit", headers=admin).json()["events"]
    actions = [(e["action"], e["target"], e["role"]) for e in events]
    assert ("create_project", project["code"], "admin") in actions
    assert ("upload", up["upload_id"], "contractor") in actions
    assert ("download_original", up["upload_id"], "contractor") in actions
    assert ("download_report_xlsx", up["upload_id"], "contractor") in actions
    assert all(e["at"] and e["client"] for e in events)
    assert client.get("/api/v1/audit", headers=contractor).status_code == 403
    # Append-only: the store refuses to overwrite an event.
    from sitereg.storage import AlreadyExists

    key = client.app.state.store.list("audit/")[0]
    try:
        client.app.state.store.create(key, b"{}")
        raise AssertionError("overwrote an audit event")
    except AlreadyExists:
        pass


FULL_ID = re.compile(r"(?<![0-9A-Za-z])[1-8]\d{16}[\dXx](?![0-9])")
CARD = re.compile(r"(?<![0-9A-Za-z])\d{16,19}(?![0-9A-Za-z])")  # credit codes (digits then letters) are public


def test_no_full_id_or_card_in_any_response_or_log_line(client, project, contractor, admin, tokens, caplog):
    """A full scenario; every response body and log line is scanned. Only the uploader's own
    original and annotated workbook may carry the file's own numbers."""
    caplog.set_level(logging.DEBUG)
    bureau = tokens.issue("bureau", "4403")
    bank = tokens.issue("bank", project["dedicated_account"])
    bodies = []

    def keep(r):
        bodies.append(r.text)
        return r

    ids = {}
    for kind, name in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx"),
                       ("payments", "payments.csv"), ("attendance", "attendance_long_gbk.csv"), ("roster", "empty.csv")):
        r = keep(upload(client, contractor, project["code"], kind, "2026-10", name))
        ids[name] = r.json().get("upload_id")
    up = ids["roster.xlsx"]
    for path in (f"/api/v1/uploads/{up}", f"/api/v1/uploads/{up}/report", "/api/v1/projects",
                 f"/api/v1/projects/{project['code']}/periods/2026-10/findings",
                 f"/api/v1/projects/{project['code']}/periods/2026-10/coverage", "/api/v1/coverage?period=2026-10",
                 "/api/v1/risks?period=2026-10", "/api/v1/rules"):
        for who in (contractor, bureau, admin):
            keep(client.get(path, headers=who))
    keep(client.get("/api/v1/coverage?period=2026-10", headers={**bureau, "Accept": "text/csv"}))
    record = {"bank_txn_id": "T1", "project": project["code"], "period": "2026-10", "id_number": "110101199003071234",
              "name": "张三", "payee_account": "6222021234567890128", "payee_name": "张三", "channel": "bank_card",
              "amount": "100.00", "paid_at": "2026-11-10"}
    keep(client.post("/api/v1/payment-batches", json={"batch_id": "B1", "payer_account": project["dedicated_account"],
                                                      "records": [record]}, headers={**bank, "Idempotency-Key": "B1"}))
    keep(client.get("/api/v1/payment-batches/B1", headers=bank))
    keep(client.get("/api/v1/audit", headers=admin))

    text = "\n".join(bodies) + "\n" + "\n".join(r.getMessage() for r in caplog.records)
    text = re.sub(r"U\d{20}[0-9a-f]{6}", "", text)  # upload ids are not personal numbers
    text = re.sub(r"[0-9a-f]{64}", "", text)  # sha256
    assert project["dedicated_account"] not in text
    assert not FULL_ID.findall(text), FULL_ID.findall(text)[:3]
    assert not CARD.findall(text), CARD.findall(text)[:3]

    # The uploader's own annotated workbook does show its own values.
    import io

    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/api/v1/uploads/{up}/report.xlsx", headers=contractor).content))
    cells = " ".join(str(c.value) for row in wb["花名册"].iter_rows() for c in row if c.value)
    assert FULL_ID.search(cells)
    assert (FIXTURES / "roster.xlsx").exists()
