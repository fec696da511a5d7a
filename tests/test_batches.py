"""Bank batches: idempotent, scoped to the dedicated account, never double-counting a payout."""

from __future__ import annotations

import concurrent.futures

import polars as pl
import pytest

from conftest import FIXTURES, upload

ACCOUNT = "4425010020239361300"
PERIOD = "2026-10"


def fixture_records() -> list[dict]:
    df = pl.read_csv(FIXTURES / "payments.csv", infer_schema=False, encoding="utf8")
    df = df.rename({c: c.lstrip("\ufeff") for c in df.columns})
    channel = {"银行卡": "bank_card", "社保卡": "ssc"}
    return [{"bank_txn_id": r["银行流水号"], "project": "XM-440305-2026-001", "period": r["工资所属期"],
             "id_number": r["身份证号码"], "name": r["姓名"], "payee_account": r["收款账号"], "payee_name": r["收款人"],
             "channel": channel[r["发放渠道"]], "amount": r["实发金额"], "paid_at": r["发放日期"]} for r in df.iter_rows(named=True)]


@pytest.fixture
def bank(tokens):
    return tokens.issue("bank", ACCOUNT)


def push(client, headers, batch, key=None):
    return client.post("/api/v1/payment-batches", json=batch,
                       headers={**headers, "Idempotency-Key": batch["batch_id"] if key is None else key})


def batch(records=None, batch_id="B-20261114-001"):
    return {"batch_id": batch_id, "payer_account": ACCOUNT, "records": fixture_records() if records is None else records}


def stored_payments(client, code="XM-440305-2026-001"):
    from sitereg import period

    tables, _ = period.load(client.app.state.catalog, code, PERIOD)
    return tables.payments


def test_push_replay_and_conflict(client, project, bank):
    first = push(client, bank, batch())
    assert first.status_code == 201, first.text
    assert first.json()["accepted"] == 37 and first.json()["rejected"] == 0
    again = push(client, bank, batch())
    assert again.status_code == 200 and again.json() == first.json()
    changed = batch(fixture_records()[:5])
    conflict = push(client, bank, changed)
    assert conflict.status_code == 409 and conflict.json()["code"] == "BATCH_CONFLICT"
    assert client.get("/api/v1/payment-batches/B-20261114-001", headers=bank).json() == first.json()
    assert stored_payments(client).height == 37


def test_idempotency_key_must_equal_batch_id(client, project, bank):
    r = push(client, bank, batch(), key="other")
    assert r.status_code == 400 and r.json()["code"] == "IDEMPOTENCY_KEY_MISMATCH"
    r = client.post("/api/v1/payment-batches", json=batch(), headers=bank)
    assert r.status_code == 400


def test_scope_and_dedicated_account(client, project, tokens, admin, project_body):
    other_bank = tokens.issue("bank", "6222000011112222333")
    r = push(client, other_bank, batch())
    assert r.status_code == 403
    assert client.get("/api/v1/payment-batches/B-20261114-001", headers=admin).status_code == 404
    # A project whose dedicated account is another one: its records are rejected exactly as an
    # unregistered project's are (the answer must not tell a bank which codes exist).
    other = {**project_body, "code": "XM-OTHER", "dedicated_account": "6222000011112222333"}
    client.post("/api/v1/projects", json=other, headers=admin)
    records = fixture_records()
    records[0] = {**records[0], "project": "XM-OTHER"}
    r = push(client, tokens.issue("bank", ACCOUNT), batch(records))
    assert r.status_code == 201 and r.json()["rejected"] == 1
    assert [f["rule"] for f in r.json()["records"][0]["findings"]] == ["PROJECT_UNKNOWN"]
    assert stored_payments(client).height == 36
    assert client.get("/api/v1/projects", headers=tokens.issue("contractor", "x")).status_code == 200
    for role in ("contractor", "bureau"):
        assert push(client, tokens.issue(role, "44"), batch()).status_code == 403


def test_partial_rejection_keeps_every_well_formed_record(client, project, bank):
    records = fixture_records()
    records[0] = {**records[0], "id_number": records[0]["id_number"][:-1] + ("0" if records[0]["id_number"][-1] != "0" else "1")}
    records[1] = {**records[1], "amount": "12.5"}
    records[2] = {**records[2], "project": "NO-SUCH-PROJECT"}
    records[3] = {**records[3], "payee_account": records[4]["payee_account"], "payee_name": "包工头"}  # paid to someone else
    r = push(client, bank, batch(records))
    assert r.status_code == 201
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (34, 3)
    status = {rec["bank_txn_id"]: rec for rec in body["records"]}
    assert [f["rule"] for f in status[records[0]["bank_txn_id"]]["findings"]] == ["ID_CHECKSUM"]
    assert [f["rule"] for f in status[records[1]["bank_txn_id"]]["findings"]] == ["AMOUNT_INVALID"]
    assert [f["rule"] for f in status[records[2]["bank_txn_id"]]["findings"]] == ["PROJECT_UNKNOWN"]
    assert status[records[3]["bank_txn_id"]]["status"] == "accepted"  # a compliance breach is still a real payout
    assert stored_payments(client).height == 34
    assert "ID_CHECKSUM" in str(client.get("/api/v1/payment-batches/B-20261114-001", headers={**bank, "Accept-Language": "en"}).json())


def test_concurrent_replays_store_the_batch_once(client, project, bank):
    body = batch()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: push(client, bank, body), range(8)))
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.text for r in results}) == 1
    assert stored_payments(client).height == 37
    keys = client.app.state.store.list("tables/bank/")
    assert len(keys) == 1


def test_same_transaction_in_a_second_batch_is_not_counted_twice(client, project, bank):
    records = fixture_records()
    assert push(client, bank, batch(records[:10], "B1")).status_code == 201
    second = push(client, bank, batch(records[5:15], "B2")).json()
    assert second["accepted"] == 10  # the 5 repeated payouts are acknowledged, stored once
    assert stored_payments(client).height == 15
    changed = [{**records[0], "amount": "1.00"}]
    third = push(client, bank, batch(changed, "B3")).json()
    assert third["rejected"] == 1 and third["records"][0]["findings"][0]["rule"] == "TXN_CONFLICT"
    assert "首次出现于：B1。" in third["records"][0]["findings"][0]["message"]  # the batch that holds the id


def test_bank_sees_its_own_batches_only(client, project, bank, tokens):
    push(client, bank, batch())
    assert client.get("/api/v1/payment-batches/B-20261114-001", headers=tokens.issue("bank", "999")).status_code == 404
    assert client.get("/api/v1/payment-batches/B-20261114-001", headers=tokens.issue("contractor", "x")).status_code == 404


def test_csv_batch_with_chinese_headers(client, project, bank):
    data = (FIXTURES / "payments.csv").read_bytes().decode("utf-8-sig")
    lines = data.splitlines()
    csv_text = "\n".join([lines[0] + ",项目编码"] + [line + ",XM-440305-2026-001" for line in lines[1:]])
    r = client.post("/api/v1/payment-batches?batch_id=CSV-1&payer_account=" + ACCOUNT, content=csv_text.encode("gb18030"),
                    headers={**bank, "Content-Type": "text/csv", "Idempotency-Key": "CSV-1"})
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 37
    # The same payouts as JSON under another batch id: acknowledged, not double-counted.
    assert push(client, bank, batch(batch_id="JSON-1")).json()["accepted"] == 37
    assert stored_payments(client).height == 37


def test_bank_payments_count_like_an_uploaded_wage_sheet(client, project, contractor, bank):
    for kind, name in (("roster", "roster.xlsx"), ("contracts", "contracts.xlsx"), ("attendance", "attendance_wide.xlsx")):
        upload(client, contractor, project["code"], kind, PERIOD, name)
    path = f"/api/v1/projects/{project['code']}/periods/{PERIOD}/findings"
    before = client.get(path, headers=contractor).json()["counts"]["by_rule"]
    assert before.get("NOT_PAID") == 37
    push(client, bank, batch())
    after = client.get(path, headers=contractor).json()["counts"]["by_rule"]
    assert "NOT_PAID" not in after and "UNDERPAID" not in after
    # The contractor's own wage sheet with the same transactions changes nothing.
    upload(client, contractor, project["code"], "payments", PERIOD, "payments.csv")
    assert stored_payments(client).height == 37
    assert client.get(path, headers=contractor).json()["counts"]["by_rule"] == after


def test_malformed_json_is_400(client, project, bank):
    r = client.post("/api/v1/payment-batches", content=b"{not json", headers={**bank, "Idempotency-Key": "x",
                                                                            "Content-Type": "application/json"})
    assert r.status_code == 400
    bad = batch()
    bad["records"][0]["extra_field"] = 1
    assert push(client, bank, bad).status_code == 400


def test_two_banks_may_use_the_same_batch_id(client, admin, project, bank, tokens, project_body):
    other = {**project_body, "code": "XM-OTHER", "dedicated_account": "6222000011112222333"}
    client.post("/api/v1/projects", json=other, headers=admin)
    other_bank = tokens.issue("bank", "6222000011112222333")
    records = [{**r, "project": "XM-OTHER", "bank_txn_id": "O" + r["bank_txn_id"]} for r in fixture_records()[:3]]
    assert push(client, bank, batch()).status_code == 201
    r = push(client, other_bank, {"batch_id": "B-20261114-001", "payer_account": "6222000011112222333", "records": records})
    assert r.status_code == 201 and r.json()["accepted"] == 3
    assert client.get("/api/v1/payment-batches/B-20261114-001", headers=other_bank).json()["accepted"] == 3
    assert client.get("/api/v1/payment-batches/B-20261114-001", headers=bank).json()["accepted"] == 37


def test_one_transaction_twice_in_a_batch_counts_once_even_across_periods(client, project, bank):
    records = fixture_records()[:2]
    records[1] = {**records[1], "bank_txn_id": records[0]["bank_txn_id"], "period": "2026-09"}
    body = push(client, bank, batch(records)).json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["records"][1]["findings"][0]["rule"] == "TXN_CONFLICT"


def test_transaction_ids_are_compared_exactly(client, project, bank):
    records = fixture_records()[:2]
    records[0] = {**records[0], "bank_txn_id": "T-DUP-1"}
    records[1] = {**records[1], "bank_txn_id": "t-dup-1"}
    body = push(client, bank, batch(records)).json()
    assert body["accepted"] == 2


def test_empty_batch_and_bank_reading_projects(client, project, bank):
    assert push(client, bank, batch([])).status_code == 400
    assert client.get("/api/v1/projects", headers=bank).json()["projects"] == []
    assert client.get(f"/api/v1/projects/{project['code']}/periods/{PERIOD}/findings", headers=bank).status_code == 404


def test_csv_payer_column_must_match_the_query(client, project, bank):
    csv_text = ("bank_txn_id,project,period,id_number,name,payee_account,payee_name,channel,amount,paid_at,payer_account\n"
                + ",".join([*fixture_records()[0].values(), "999999"]) + "\n")
    r = client.post(f"/api/v1/payment-batches?batch_id=C1&payer_account={ACCOUNT}", content=csv_text.encode(),
                    headers={**bank, "Content-Type": "text/csv", "Idempotency-Key": "C1"})
    assert r.status_code == 400


def test_a_wage_sheet_row_under_a_bank_transaction_id_with_other_content_is_a_conflict(client, project, contractor,
                                                                                         bank):
    """The bank's record is what moved and is counted; the sheet's row that says otherwise
    under the same transaction id is reported as TXN_CONFLICT on the period, at its row, never
    dropped silently. Either order of arrival."""
    upload(client, contractor, project["code"], "payments", PERIOD, "payments.csv")
    records = fixture_records()
    mine = dict(records[0], amount="1.00")  # the bank says 1.00 went under the sheet's first id
    assert push(client, bank, batch([mine], batch_id="BX2")).status_code == 201
    found = client.get(f"/api/v1/projects/{project['code']}/periods/{PERIOD}/findings", headers=contractor).json()
    hits = [f for f in found["findings"] if f["rule"] == "TXN_CONFLICT"]
    assert len(hits) == 1 and hits[0]["row"] == 2 and "BX2" in hits[0]["message"]
    assert found["counts"]["by_rule"]["TXN_CONFLICT"] == 1
    payments = stored_payments(client)
    assert payments.height == 37
    assert payments.filter(pl.col("bank_txn_id") == mine["bank_txn_id"]).get_column("amount_fen").to_list() == [100]
    # The same content from the bank is the same payout: no conflict.
    same = dict(records[1])
    assert push(client, bank, batch([same], batch_id="BX3")).status_code == 201
    found = client.get(f"/api/v1/projects/{project['code']}/periods/{PERIOD}/findings", headers=contractor).json()
    assert found["counts"]["by_rule"]["TXN_CONFLICT"] == 1


def test_a_wage_sheet_sent_after_the_bank_batch_refuses_the_conflicting_row_in_its_receipt(client, project,
                                                                                          contractor, bank):
    """The bank's batch came first: the sheet's row under the same transaction id with other
    content used to be counted as accepted in the receipt while the period's findings said it
    was not stored. The receipt and the upload's report now say so, once."""
    records = fixture_records()
    assert push(client, bank, batch([dict(records[0], amount="1.00")], batch_id="BX9")).status_code == 201
    r = upload(client, contractor, project["code"], "payments", PERIOD, "payments.csv")
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert (receipt["rows_accepted"], receipt["rows_rejected"], receipt["errors"]) == (36, 1, 1)
    report = client.get(receipt["report"], headers=contractor).json()["findings"]
    hits = [f for f in report if f["rule"] == "TXN_CONFLICT"]
    assert len(hits) == 1 and hits[0]["row"] == 2 and "BX9" in hits[0]["message"] and hits[0]["column"]
    found = client.get(f"/api/v1/projects/{project['code']}/periods/{PERIOD}/findings", headers=contractor).json()
    assert found["counts"]["by_rule"]["TXN_CONFLICT"] == 1
    payments = stored_payments(client)
    assert payments.height == 37
    assert payments.filter(pl.col("bank_txn_id") == records[0]["bank_txn_id"]).get_column("amount_fen").to_list() == [100]


def test_csv_batch_failed_line_is_rejected_not_stored(client, project, bank):
    """A bank's result export marks each line 成功 / 失败: a failed line is not a payment. It is
    rejected in the receipt with the reason (never dropped silently), and neither stored nor counted."""
    ok, failed = fixture_records()[:2]
    head = "bank_txn_id,project,period,id_number,name,payee_account,payee_name,channel,amount,paid_at,交易状态"
    line = ",".join(["{bank_txn_id}", "{project}", "{period}", "{id_number}", "{name}", "{payee_account}",
                     "{payee_name}", "{channel}", "{amount}", "{paid_at}"])
    csv_text = "\n".join([head, line.format(**ok) + ",成功", line.format(**failed) + ",失败"])
    r = client.post(f"/api/v1/payment-batches?batch_id=CSV-F1&payer_account={ACCOUNT}", content=csv_text.encode(),
                    headers={**bank, "Content-Type": "text/csv", "Idempotency-Key": "CSV-F1"})
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert (receipt["accepted"], receipt["rejected"]) == (1, 1)
    first, second = receipt["records"]
    assert first["bank_txn_id"] == ok["bank_txn_id"] and first["status"] == "accepted"
    assert second["bank_txn_id"] == failed["bank_txn_id"] and second["status"] == "rejected"
    assert [(f["rule"], f["row"], f["column"], f["value"]) for f in second["findings"]] == [
        ("PAYMENT_FAILED", 2, "status", "失败")]
    assert "不是一笔发放" in second["findings"][0]["message"] and second["findings"][0]["severity"] == "info"
    assert stored_payments(client).get_column("bank_txn_id").to_list() == [ok["bank_txn_id"]]
    # A replay answers the same receipt; the failed line's id claimed nothing, so a later
    # successful transaction under it is stored.
    again = client.post(f"/api/v1/payment-batches?batch_id=CSV-F1&payer_account={ACCOUNT}", content=csv_text.encode(),
                        headers={**bank, "Content-Type": "text/csv", "Idempotency-Key": "CSV-F1"})
    assert again.status_code == 200 and again.json() == receipt
    assert push(client, bank, batch([failed], batch_id="J-F2")).json()["accepted"] == 1
    assert sorted(stored_payments(client).get_column("bank_txn_id").to_list()) == sorted(
        [ok["bank_txn_id"], failed["bank_txn_id"]])


def test_csv_batch_status_is_read_as_an_uploaded_result_file_reads_it(client, project, bank):
    """The values that mean failed are filecheck's (退回, 交易失败 …); other statuses and a JSON
    batch (no status field) are stored as before; within a batch a failed line does not make a
    later line under its transaction id a repeat."""
    records = fixture_records()[:4]
    head = "银行流水号,项目编码,工资所属期,身份证号码,姓名,收款账号,收款人,发放渠道,实发金额,发放日期,状态"
    rows = [(records[0], "退回"), (records[1], " 交易成功 "), (records[2], "交易失败"), (records[3], "")]
    rows.append((records[0], "成功"))  # the returned payout paid again under the same id
    csv_text = "\n".join([head] + [",".join([r["bank_txn_id"], r["project"], r["period"], r["id_number"], r["name"],
                                             r["payee_account"], r["payee_name"], r["channel"], r["amount"],
                                             r["paid_at"], status]) for r, status in rows])
    r = client.post(f"/api/v1/payment-batches?batch_id=CSV-F2&payer_account={ACCOUNT}", content=csv_text.encode("gb18030"),
                    headers={**bank, "Content-Type": "text/csv", "Idempotency-Key": "CSV-F2"})
    assert r.status_code == 201, r.text
    assert [x["status"] for x in r.json()["records"]] == ["rejected", "accepted", "rejected", "accepted", "accepted"]
    assert [[f["rule"] for f in x["findings"] if f["rule"] == "PAYMENT_FAILED"] for x in r.json()["records"]] == [
        ["PAYMENT_FAILED"], [], ["PAYMENT_FAILED"], [], []]
    assert sorted(stored_payments(client).get_column("bank_txn_id").to_list()) == sorted(
        [records[0]["bank_txn_id"], records[1]["bank_txn_id"], records[3]["bank_txn_id"]])
