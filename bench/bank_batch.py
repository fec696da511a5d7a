"""Time one large bank payment batch through sitereg.batches.ingest (and optionally over HTTP).

    uv run python bench/bank_batch.py                       # 100,000 workers x 1 payout
    uv run python bench/bank_batch.py --workers 4000 --payouts 25
    uv run python bench/bank_batch.py --http                # also POST it through a TestClient

Prints (never asserts). The batch is valid: one project (fixtures/project.json, registered in a
fresh LocalStore in a temp dir), one period (2026-10), each worker with a valid 18-digit ID and
a Luhn-valid 19-digit card, each payout with its own bank_txn_id. Figures printed:

- build: making the records and the msgspec structs (not the service's work);
- ingest: the first push (validation, transaction claims, Parquet tables, receipt, and the
  project-period re-check, which with no roster uploaded reports every payee as not on the roster);
- replay: the same batch again (the stored receipt is returned);
- re-push: the same payouts under a new batch_id (every record acknowledged as already stored);
- peak RSS (ru_maxrss, the process high-water mark; also VmRSS / VmHWM from /proc) after each
  phase, so the growth from one line to the next is what that phase added at most.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from sitereg import batches
from sitereg.catalog import Catalog, Project
from sitereg.db import open_database
from sitereg.settings import Settings
from sitereg.storage_factory import open_store

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "4425010020239361300"
TODAY = dt.date(2026, 11, 27)

from _data import make_card, make_id  # noqa: E402  (bench/ is on sys.path when run as a script)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红春海波成林辉文荣德福贵生"


def workers(n: int) -> list[tuple[str, str, str]]:
    """(id_number, name, card) of n distinct workers: 500 birth dates x 500 sequence numbers
    (each sequence number's last digit fixes the sex, so make_id keeps it as given)."""
    base = dt.date(1970, 1, 1)
    out = []
    for i in range(n):
        birth = (base + dt.timedelta(days=(i // 500) * 37 % 11000)).strftime("%Y%m%d")
        seq = (i % 500) * 2 + (i // 500 // 300)  # 0..999; distinct for each (birth, seq) pair used
        id_number = make_id(birth, seq % 1000, male=(seq % 2 == 1))
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)] + GIVEN[(i * 7) % len(GIVEN)]
        out.append((id_number, name, make_card("622202", i + 1)))
    return out


def build_batch(n_workers: int, payouts: int, batch_id: str) -> dict:
    people = workers(n_workers)
    assert len({p[0] for p in people}) == n_workers, "worker IDs must be distinct"
    records = []
    for k in range(payouts):
        for i, (id_number, name, card) in enumerate(people):
            cents = 600000 + (i * 37 + k * 11) % 600000  # 6,000.00 .. 11,999.99
            records.append({
                "bank_txn_id": f"HX20261114{k:03d}{i:07d}", "project": "XM-440305-2026-001", "period": "2026-10",
                "id_number": id_number, "name": name, "payee_account": card, "payee_name": name,
                "channel": "bank_card" if i % 10 else "ssc", "amount": f"{cents // 100}.{cents % 100:02d}",
                "paid_at": f"2026-11-{1 + (i + k) % 14:02d}",
            })
    return {"batch_id": batch_id, "payer_account": ACCOUNT, "records": records}


# --- measurement --------------------------------------------------------------------------------------------------


def rss() -> str:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    extra = ""
    try:
        status = Path("/proc/self/status").read_text()
        fields = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))}
        extra = f" (VmRSS now {fields['VmRSS'] / 1024:,.0f} MB, VmHWM {fields['VmHWM'] / 1024:,.0f} MB)"
    except (OSError, KeyError, ValueError):
        pass
    return f"peak RSS {peak_mb:,.0f} MB{extra}"


def timed(label: str, n: int, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    rate = f"{n / seconds:,.0f} records/s" if n else ""
    print(f"{label:<34} {seconds:8.2f} s  {rate:>20}   {rss()}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=100_000, help="distinct workers (default %(default)s)")
    parser.add_argument("--payouts", type=int, default=1, help="payouts per worker in the period (default %(default)s)")
    parser.add_argument("--http", action="store_true", help="also push the batch over HTTP through a TestClient")
    args = parser.parse_args(argv)
    n = args.workers * args.payouts
    print(f"sitereg bank batch bench: {n:,} records = {args.workers:,} workers x {args.payouts} payout(s), "
          f"one project, one period; python {sys.version.split()[0]}")
    print(f"{'start (imports done)':<34} {'':>8}    {'':>20}   {rss()}")

    batch_dict = timed("build records", 0, lambda: build_batch(args.workers, args.payouts, "BENCH-0001"))
    body = json.dumps(batch_dict, ensure_ascii=False).encode()
    del batch_dict  # only the JSON bytes and the decoded structs stay alive
    print(f"  JSON body {len(body) / 1e6:,.1f} MB ({len(body) / n:,.0f} bytes/record)")
    batch = timed("decode into batches.Batch", n, lambda: msgspec.json.decode(body, type=batches.Batch))

    with tempfile.TemporaryDirectory(prefix="sitereg-bench-") as tmp:
        settings = Settings(data_dir=str(Path(tmp) / "data"))
        catalog = Catalog(open_store(settings), open_database(settings))
        project = msgspec.json.decode((ROOT / "fixtures" / "project.json").read_bytes(), type=Project)
        catalog.create_project(project)
        scope = (ACCOUNT,)

        def ingest(b: batches.Batch) -> batches.Outcome:
            return batches.ingest(catalog, settings, b, scope=scope, actor="bench", today=TODAY)

        first = timed("ingest (first push)", n, lambda: ingest(batch))
        receipt = first.receipt
        print(f"  created={first.created} accepted={receipt['accepted']:,} rejected={receipt['rejected']:,} "
              f"findings in receipt={sum(len(r['findings']) for r in receipt['records']):,}")
        again = timed("replay (same batch again)", n, lambda: ingest(batch))
        print(f"  created={again.created} same receipt={again.receipt == receipt}")
        other = msgspec.structs.replace(batch, batch_id="BENCH-0002")
        second = timed("re-push under a new batch_id", n, lambda: ingest(other))
        dup = sum(1 for r in second.receipt["records"] if r.get("duplicate_of_stored"))
        print(f"  accepted={second.receipt['accepted']:,} acknowledged as already stored={dup:,}")
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        print(f"  store on disk: {size / 1e6:,.1f} MB")

    if args.http:
        http(body, n, project)
    return 0


def http(body: bytes, n: int, project: Project) -> None:
    """The same batch over HTTP (TestClient: the whole ASGI app, no socket) into a fresh store."""
    from litestar.testing import TestClient

    from sitereg.api import create_app

    with tempfile.TemporaryDirectory(prefix="sitereg-bench-http-") as tmp:
        settings = Settings(data_dir=str(Path(tmp) / "data"))
        store, db = open_store(settings), open_database(settings)
        Catalog(store, db).create_project(project)
        token = Catalog(store, db).issue_token("bank", (ACCOUNT,))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": "BENCH-0001"}
        with TestClient(create_app(settings, store, today=lambda: TODAY, db=db), timeout=600) as client:
            def post():
                r = client.post("/api/v1/payment-batches", content=body, headers=headers)
                assert r.status_code in (200, 201), r.text[:500]
                return r

            r = timed("HTTP POST (TestClient, fresh store)", n, post)
            print(f"  HTTP {r.status_code}, response body {len(r.content) / 1e6:,.1f} MB")
            r = timed("HTTP replay", n, post)
            print(f"  HTTP {r.status_code}")


if __name__ == "__main__":
    sys.exit(main())
