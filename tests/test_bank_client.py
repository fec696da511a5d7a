"""examples/bank_client.py against the real service on a real socket (uvicorn in a thread).

Transient failures come from a tiny threading HTTP proxy in front of the service that answers
503 (Retry-After: 0), or forwards a request and then drops the connection before answering,
for its first requests, then forwards everything. Whatever happens on the way, the client
must end with the receipt and the batch must be stored exactly once.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import polars as pl
import pytest

from conftest import FIXTURES, TODAY

ACCOUNT = "4425010020239361300"
PROJECT = "XM-440305-2026-001"
PERIOD = "2026-10"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bank_client.py"


def _load_client():
    spec = importlib.util.spec_from_file_location("bank_client_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bank_client = _load_client()


def fixture_records() -> list[dict]:
    df = pl.read_csv(FIXTURES / "payments.csv", infer_schema=False, encoding="utf8")
    df = df.rename({c: c.lstrip("\ufeff") for c in df.columns})
    channel = {"银行卡": "bank_card", "社保卡": "ssc"}
    return [{"bank_txn_id": r["银行流水号"], "project": PROJECT, "period": r["工资所属期"],
             "id_number": r["身份证号码"], "name": r["姓名"], "payee_account": r["收款账号"], "payee_name": r["收款人"],
             "channel": channel[r["发放渠道"]], "amount": r["实发金额"], "paid_at": r["发放日期"]} for r in df.iter_rows(named=True)]


def make_batch(batch_id: str = "CCB-20261114-0001", records: list[dict] | None = None) -> dict:
    return {"batch_id": batch_id, "payer_account": ACCOUNT, "records": fixture_records() if records is None else records}


# --- the real service on a socket ---------------------------------------------------------------------------------


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live(settings, local_store, tokens, project_body):
    """Base URL of the service (uvicorn in a thread), the sample project registered."""
    import uvicorn

    from sitereg.api import create_app

    sock = _bound_socket()
    port = sock.getsockname()[1]
    app = create_app(settings, local_store, today=lambda: TODAY, db=tokens.catalog.db)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    # The socket is bound before the thread starts: no other process can take the port meanwhile.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    r = httpx.post(f"{url}/api/v1/projects", json=project_body, headers=tokens.issue("admin"))
    assert r.status_code == 201, r.text
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def bank_token(tokens) -> str:
    return tokens.issue("bank", ACCOUNT)["Authorization"].removeprefix("Bearer ")


# --- a proxy that fails on purpose --------------------------------------------------------------------------------


class FlakyProxy:
    """Forwards POSTs to ``upstream``; the first requests follow ``plan`` instead:
    "503" answers 503 with Retry-After: 0 without forwarding; "drop" forwards the request
    (so the service stores the batch) and then closes the connection without an answer."""

    def __init__(self, upstream: str, plan: list[str]) -> None:
        self.upstream = upstream
        self.plan = list(plan)
        self.seen: list[dict] = []  # every request: headers and body
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy._lock:
                    index = len(proxy.seen)
                    proxy.seen.append({"headers": dict(self.headers), "body": body})
                action = proxy.plan[index] if index < len(proxy.plan) else "forward"
                if action == "503":
                    payload = json.dumps({"status": 503, "code": "STORE_UNAVAILABLE", "detail": "try again",
                                          "extra": {}}).encode()
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = proxy.forward(self.path, self.headers, body)
                if action == "drop":
                    self.close_connection = True  # the answer is lost on the way back
                    return
                self.send_response(upstream.status_code)
                for name in ("Content-Type", "Retry-After"):
                    if name in upstream.headers:
                        self.send_header(name, upstream.headers[name])
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, path: str, headers, body: bytes) -> httpx.Response:
        keep = {k: v for k, v in headers.items() if k.lower() in
                ("authorization", "content-type", "idempotency-key", "accept-language")}
        with self._lock:
            self.forwarded += 1
        return httpx.post(self.upstream + path, content=body, headers=keep, timeout=60)

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def stored_once(catalog, batch_id: str, records: int) -> None:
    """The batch is kept once: one original, one table file, each payout counted once."""
    from sitereg import period

    assert catalog.store.list("originals/bank/") == [f"originals/bank/payer={ACCOUNT}/batch={batch_id}.json"]
    assert catalog.store.list("tables/bank/") == [f"tables/bank/project={PROJECT}/period={PERIOD}/batch={batch_id}.parquet"]
    tables, _ = period.load(catalog, PROJECT, PERIOD)
    assert tables.payments.height == records


# --- tests --------------------------------------------------------------------------------------------------------


def test_push_creates_then_replays_the_same_receipt(live, bank_token, catalog):
    batch = make_batch()
    status, first = bank_client.push(live, bank_token, batch)
    assert status == 201
    assert (first["batch_id"], first["accepted"], first["rejected"]) == ("CCB-20261114-0001", 37, 0)
    assert all(r["status"] == "accepted" for r in first["records"])
    status, again = bank_client.push(live, bank_token, batch)
    assert status == 200 and again == first
    assert bank_client.push_batch(live, bank_token, batch) == first  # 200 is success too
    got = httpx.get(f"{live}/api/v1/payment-batches/CCB-20261114-0001", headers={"Authorization": f"Bearer {bank_token}"})
    assert got.json() == first
    stored_once(catalog, "CCB-20261114-0001", 37)


def test_retries_503_honouring_retry_after_then_gets_the_receipt(live, bank_token, catalog):
    with FlakyProxy(live, ["503", "503"]) as proxy:
        started = time.monotonic()
        receipt = bank_client.push_batch(proxy.url, bank_token, make_batch())
        elapsed = time.monotonic() - started
    assert receipt["accepted"] == 37 and receipt["rejected"] == 0
    assert len(proxy.seen) == 3 and proxy.forwarded == 1
    # Every attempt carried the same bytes and the batch id as Idempotency-Key.
    assert len({r["body"] for r in proxy.seen}) == 1
    assert {r["headers"]["Idempotency-Key"] for r in proxy.seen} == {"CCB-20261114-0001"}
    assert elapsed < 10  # Retry-After: 0 was honoured instead of a long backoff
    stored_once(catalog, "CCB-20261114-0001", 37)


def test_answer_lost_after_the_batch_was_stored(live, bank_token, catalog):
    """The first attempt reaches the service and is stored, but its answer never comes back:
    the retry gets the stored receipt (200), and nothing is stored twice."""
    with FlakyProxy(live, ["drop"]) as proxy:
        status, receipt = bank_client.push(proxy.url, bank_token, make_batch())
    assert status == 200  # the earlier, lost attempt had created it
    assert receipt["accepted"] == 37
    assert len(proxy.seen) == 2 and proxy.forwarded == 2
    got = httpx.get(f"{live}/api/v1/payment-batches/CCB-20261114-0001", headers={"Authorization": f"Bearer {bank_token}"})
    assert got.json() == receipt
    stored_once(catalog, "CCB-20261114-0001", 37)


def test_client_errors_are_not_retried(live, bank_token, tokens, catalog):
    records = fixture_records()
    bank_client.push_batch(live, bank_token, make_batch(records=records))
    with FlakyProxy(live, []) as proxy:
        with pytest.raises(bank_client.PushError) as conflict:
            bank_client.push_batch(proxy.url, bank_token, make_batch(records=records[:5]))
        assert len(proxy.seen) == 1
        with pytest.raises(bank_client.PushError) as unauthorised:
            bank_client.push_batch(proxy.url, "srg_not-a-token", make_batch("CCB-OTHER"))
        assert len(proxy.seen) == 2
        other_bank = tokens.issue("bank", "6222000011112222333")["Authorization"].removeprefix("Bearer ")
        with pytest.raises(bank_client.PushError) as forbidden:
            bank_client.push_batch(proxy.url, other_bank, make_batch("CCB-OTHER"))
        assert len(proxy.seen) == 3
    assert (conflict.value.status, conflict.value.code) == (409, "BATCH_CONFLICT")
    assert (unauthorised.value.status, unauthorised.value.code) == (401, "UNAUTHORIZED")
    assert (forbidden.value.status, forbidden.value.code) == (403, "FORBIDDEN")
    stored_once(catalog, "CCB-20261114-0001", 37)


def test_gives_up_after_max_attempts_and_stores_nothing(live, bank_token, local_store):
    with FlakyProxy(live, ["503"] * 10) as proxy, pytest.raises(bank_client.PushError) as exc:
        bank_client.push_batch(proxy.url, bank_token, make_batch(), max_attempts=3)
    assert (exc.value.status, exc.value.code) == (503, "STORE_UNAVAILABLE") and "3 attempts" in str(exc.value)
    assert len(proxy.seen) == 3 and proxy.forwarded == 0
    assert local_store.list("originals/bank/") == []


def test_connection_refused_is_retried_then_reported():
    sock = _bound_socket()  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        with pytest.raises(bank_client.PushError) as exc:
            bank_client.push_batch(url, "srg_x", make_batch(), max_attempts=2, timeout=2)
    finally:
        sock.close()
    assert exc.value.status is None and "2 attempts" in str(exc.value) and "ConnectError" in str(exc.value)


def test_retry_delay():
    assert bank_client.retry_delay(1, "0") == 0
    assert bank_client.retry_delay(3, "2") == 2
    assert bank_client.retry_delay(1, "3600") == bank_client.MAX_DELAY  # capped
    assert bank_client.retry_delay(2, "not a number", rand=lambda: 1.0) == 2 * bank_client.BASE_DELAY
    assert bank_client.retry_delay(4, None, rand=lambda: 1.0) == 8 * bank_client.BASE_DELAY
    assert bank_client.retry_delay(40, None, rand=lambda: 1.0) == bank_client.MAX_DELAY
    assert all(0 <= bank_client.retry_delay(5) <= 16 * bank_client.BASE_DELAY for _ in range(100))


def test_main_pushes_a_chinese_csv_and_prints_a_summary(live, bank_token, local_store, capsys, monkeypatch, tmp_path):
    data = (FIXTURES / "payments.csv").read_bytes().decode("utf-8-sig").splitlines()
    csv_path = tmp_path / "batch.csv"
    csv_path.write_bytes("\n".join([data[0] + ",项目编码"] + [f"{line},{PROJECT}" for line in data[1:]]).encode("gb18030"))
    monkeypatch.setenv("SITEREG_TOKEN", bank_token)
    args = ["--url", live, "--csv", str(csv_path), "--batch-id", "CCB-CSV-1", "--payer-account", ACCOUNT]
    assert bank_client.main(args) == 0
    assert "batch CCB-CSV-1: stored now (201): accepted=37 rejected=0" in capsys.readouterr().out
    assert bank_client.main(args) == 0
    assert "already received; same receipt (200)" in capsys.readouterr().out
    batch_path = tmp_path / "batch.json"
    batch_path.write_text(json.dumps(make_batch("CCB-JSON-1")), encoding="utf-8")
    assert bank_client.main(["--url", live, "--file", str(batch_path), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "accepted=37" in out and "37 accepted record(s) were already stored" in out
    tables_ = local_store.list("tables/bank/")
    assert tables_ == [f"tables/bank/project={PROJECT}/period={PERIOD}/batch=CCB-CSV-1.parquet"]
