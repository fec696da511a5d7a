"""A small client that pushes payment batches to sitereg, as a bank's payroll system would.

    uv run python examples/bank_client.py --url http://127.0.0.1:8000 --token "$BANK" --file batch.json
    uv run python examples/bank_client.py --url http://127.0.0.1:8000 --token "$BANK" \\
        --csv batch.csv --batch-id CCB-CSV-20261114-01 --payer-account 4425010020239361300

The token may also come from the SITEREG_TOKEN environment variable. Only dependency: httpx.

Why retrying is safe
--------------------
A batch is identified by its ``batch_id`` and the request carries ``Idempotency-Key: <batch_id>``.
The service stores the batch under that id with a write-once create: the first request that
gets there stores it, and every later request with the same id and the same content gets the
stored receipt back (200) instead of storing it again. So when a request times out, the
connection drops, or the service answers 502/503/504, we cannot know whether the batch was
stored -- and we do not need to: we send the *same bytes* again and either the batch is stored
now (201) or the earlier attempt had stored it and we get its receipt (200). No payout is ever
counted twice. A batch that was stored half-way (the service crashed mid-request) is finished
by the retry.

What must never happen is sending *different* content under a batch_id that may already have
been received: the service answers 409 BATCH_CONFLICT and changes nothing. That is why the body
is encoded once, before the first attempt, and the very same bytes are re-sent; and why a new
batch (even a corrected one) needs a new batch_id.

4xx answers (other than 429) are final: the request itself is wrong (bad token, scope, JSON,
batch_id...) and sending it again would get the same answer, so they are raised at once. So is
500 (a bug on the server, logged there): retrying it would be safe but is unlikely to help.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

PATH = "/api/v1/payment-batches"
RETRY_STATUS = frozenset({429, 502, 503, 504})  # transient: the same request may succeed later
BASE_DELAY = 0.5  # seconds before the 2nd attempt (doubled each time, with jitter)
MAX_DELAY = 30.0  # cap of one wait, including a server's Retry-After


class PushError(Exception):
    """The service refused the batch (a final answer), or every attempt failed.

    ``status`` is the HTTP status of the (last) answer, None when the last attempt got no answer
    at all; ``body`` the error body ``{"status", "code", "detail", "extra"}`` when there was one;
    ``code`` its code.
    """

    def __init__(self, message: str, status: int | None = None, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}
        self.code = self.body.get("code")


def retry_delay(attempt: int, retry_after: str | None = None, *, base: float = BASE_DELAY, cap: float = MAX_DELAY,
                rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

    A server's ``Retry-After`` (seconds or an HTTP date) wins, capped at ``cap``. Otherwise
    exponential backoff with "full jitter": uniform in [0, min(cap, base * 2**(attempt-1))], so
    that many clients retrying after the same outage do not all come back at the same instant.
    """
    if retry_after is not None:
        seconds = _parse_retry_after(retry_after)
        if seconds is not None:
            return min(cap, max(0.0, seconds))
    return rand() * min(cap, base * 2 ** (attempt - 1))


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def push_batch(base_url: str, token: str, batch: dict, *, timeout: float = 30, max_attempts: int = 6,
               lang: str | None = None) -> dict:
    """Push a JSON batch ``{"batch_id", "payer_account", "records": [...]}`` and return its receipt.

    201 (stored now) and 200 (stored before: the same receipt) are both success. Retries
    timeouts, connection errors, 429 and 502/503/504; raises :class:`PushError` on any other
    answer or when ``max_attempts`` attempts all failed. ``lang="en"`` asks for English messages.
    """
    _, receipt = push(base_url, token, batch, timeout=timeout, max_attempts=max_attempts, lang=lang)
    return receipt


def push(base_url: str, token: str, batch: dict, *, timeout: float = 30, max_attempts: int = 6,
         lang: str | None = None) -> tuple[int, dict]:
    """As :func:`push_batch`, also returning the status: 201 stored now, 200 received before."""
    # Encode once: every attempt must carry byte-for-byte the same batch (see the module notes).
    body = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    return _send(base_url, token, str(batch["batch_id"]), body, headers, None, timeout, max_attempts, lang)


def push_csv(base_url: str, token: str, data: bytes, batch_id: str, payer_account: str, *, timeout: float = 30,
             max_attempts: int = 6, lang: str | None = None) -> tuple[int, dict]:
    """Push a bank CSV export (UTF-8 or GBK, Chinese or English headers, one 项目编码/project
    column) as batch ``batch_id`` from ``payer_account``. Returns (status, receipt)."""
    params = {"batch_id": batch_id, "payer_account": payer_account}
    return _send(base_url, token, batch_id, data, {"Content-Type": "text/csv"}, params, timeout, max_attempts, lang)


def _send(base_url: str, token: str, batch_id: str, body: bytes, headers: dict[str, str], params: dict | None,
          timeout: float, max_attempts: int, lang: str | None) -> tuple[int, dict]:
    url = base_url.rstrip("/") + PATH
    headers = {**headers, "Authorization": f"Bearer {token}", "Idempotency-Key": batch_id}
    if lang:
        headers["Accept-Language"] = lang
    last, last_status, last_body = "", None, None
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0))) as client:
        for attempt in range(1, max_attempts + 1):
            retry_after = None
            try:
                r = client.post(url, content=body, headers=headers, params=params)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                # No answer: the batch may or may not have been stored. Sending it again is safe.
                last, last_status, last_body = f"{type(exc).__name__}: {exc}", None, None
            else:
                if r.status_code in (200, 201):
                    return r.status_code, r.json()
                error = _json_or_none(r)
                if r.status_code not in RETRY_STATUS:
                    code = (error or {}).get("code", "")
                    detail = (error or {}).get("detail", r.text[:200])
                    raise PushError(f"batch {batch_id}: HTTP {r.status_code} {code}: {detail}", r.status_code, error)
                last, last_status, last_body = f"HTTP {r.status_code} {(error or {}).get('code', '')}".rstrip(), r.status_code, error
                retry_after = r.headers.get("retry-after")
            if attempt == max_attempts:
                break
            time.sleep(retry_delay(attempt, retry_after))
    raise PushError(f"batch {batch_id}: gave up after {max_attempts} attempts (last: {last}); "
                    f"pushing the same batch again later is safe", last_status, last_body)


def _json_or_none(r: httpx.Response) -> dict | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def summarise(status: int, receipt: dict) -> str:
    """A few lines for a log: counts, then each rejected record with its rule codes."""
    state = "stored now (201)" if status == 201 else "already received; same receipt (200)"
    lines = [f"batch {receipt['batch_id']}: {state}: accepted={receipt['accepted']} rejected={receipt['rejected']}"]
    duplicates = sum(1 for r in receipt["records"] if r.get("duplicate_of_stored"))
    if duplicates:
        lines.append(f"  {duplicates} accepted record(s) were already stored by an earlier batch (kept once)")
    for rec in receipt["records"]:
        rules = ", ".join(f"{f['rule']}({f['severity']})" for f in rec["findings"])
        if rec["status"] == "rejected":
            lines.append(f"  REJECTED {rec['bank_txn_id']}: {rules}")
            for f in rec["findings"]:
                lines.append(f"    {f['message']}")
        elif rules:
            lines.append(f"  accepted {rec['bank_txn_id']} with findings: {rules}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Push a payment batch to sitereg and print the receipt's summary.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="service base URL (default %(default)s)")
    parser.add_argument("--token", default=os.environ.get("SITEREG_TOKEN"), help="bank token (or SITEREG_TOKEN)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", type=Path, help="a JSON batch {batch_id, payer_account, records}")
    source.add_argument("--csv", type=Path, help="a bank CSV export (needs --batch-id and --payer-account)")
    parser.add_argument("--batch-id", help="batch id of a CSV push")
    parser.add_argument("--payer-account", help="dedicated account the CSV's payouts came from")
    parser.add_argument("--lang", choices=["zh", "en"], default=None, help="language of messages (service default zh)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per attempt (default %(default)s)")
    parser.add_argument("--attempts", type=int, default=6, help="attempts before giving up (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the whole receipt as JSON instead of a summary")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or SITEREG_TOKEN) is required")
    try:
        if args.csv:
            if not args.batch_id or not args.payer_account:
                parser.error("--csv needs --batch-id and --payer-account")
            status, receipt = push_csv(args.url, args.token, args.csv.read_bytes(), args.batch_id, args.payer_account,
                                       timeout=args.timeout, max_attempts=args.attempts, lang=args.lang)
        else:
            batch = json.loads(args.file.read_text(encoding="utf-8"))
            status, receipt = push(args.url, args.token, batch, timeout=args.timeout, max_attempts=args.attempts,
                                   lang=args.lang)
    except PushError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.body:
            print(json.dumps(exc.body, ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps(receipt, ensure_ascii=False, indent=2) if args.json else summarise(status, receipt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
