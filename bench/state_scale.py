"""What the state database buys at a city's and a province's scale (issue 11's figures).

    uv run python bench/state_scale.py                      # SQLite in a temp data directory
    uv run python bench/state_scale.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    uv run python bench/state_scale.py --quick              # 200 others, 1,000 projects x 12 months

Prints (never asserts), side by side with each target:
1. one 400-row attendance csv upload (``pipeline.ingest`` in-process: original, read, validate,
   tables, receipt, current pointer, recheck with the cross-project index join), median of 5,
   as the month's only project and then with --others other projects active in the month (each
   with 400 worker-days in the index); target: ratio <= 1.3;
2. region coverage with --projects projects x --months months of coverage rows: the first
   GET /api/v1/coverage?period=… of a fresh process (a new Python process that builds the app
   and sends the request; its import and start-up are printed separately, not counted), then
   warm p50 of 20 requests in that process (a cache hit: the parsed rows are reused after one
   indexed count/greatest-version query says the months are unchanged), and a 12-month trend (period_from/period_to) as the first request of another fresh
   process; targets 300 ms, 50 ms, 500 ms;
3. a worker's ledger over 36 months (GET /api/v1/workers/{id}/ledger, bureau token), first in a
   fresh process and warm p50; target 50 ms.
Set-up (not timed): projects registered through the service; coverage rows copied from a real
recheck of a probe project, bulk-loaded (``Database.load_coverage``); the other projects'
worker-days written through ``Database.replace_worker_index``, as a recheck writes them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data as D  # noqa: E402

ME = "XM-440305-2026-000"


def months_back(last: str, n: int) -> list[str]:
    y, m = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def upload_cost(catalog, settings, runs: int, others: int) -> tuple[float, float]:
    """Median ingest time of a 400-row attendance csv with 0 and then ``others`` other projects."""
    from sitereg import pipeline

    me = catalog.project(ME)
    ws = D.workers(16)  # 16 workers x 25 days = 400 rows

    def once(variant: int) -> float:
        data = D.to_csv(D.ATTENDANCE_HEADERS, D.attendance_rows(ws, 25, variant=variant))
        t = time.perf_counter()
        pipeline.ingest(catalog, settings, me, "attendance", D.PERIOD, "考勤.csv", data, actor="bench", today=D.TODAY)
        return time.perf_counter() - t

    once(1)  # warm: imports, first Parquet write
    alone = D.median([once(10 + k) for k in range(runs)])
    t0 = time.perf_counter()
    mask = sum(1 << (d.day - 1) for d in D.work_days(0, 25))
    for j in range(others):
        code = f"XM-OTHER-{j:05d}"
        catalog.create_project(D.project(code))
        keys = [(hash((j, w)) & 0x7FFF_FFFF_FFFF_FFFF) for w in range(16)]
        days = [(k, mask) for k in keys]
        months = [{"id_key": k, "id_masked": "110101********0000", "name": "工人", "days": 25, "expected_fen": None,
                   "paid_fen": 0, "paid_dedicated_fen": 0} for k in keys]
        catalog.db.replace_worker_index(code, D.PERIOD, catalog.db.next_version(), days, months)
    print(f"  set-up: {others:,} other projects with 400 worker-days each in the index ({time.perf_counter() - t0:.1f} s)")
    crowded = D.median([once(100 + k) for k in range(runs)])
    return alone, crowded


def seed_coverage(catalog, projects: int, months: list[str]) -> None:
    """``projects`` projects over ``months``, each month's row a copy of the probe's real row."""
    template = catalog.db.coverage(D.PERIOD, D.PERIOD, projects=[ME])[0]
    for k in ("project", "period"):
        template.pop(k)
    t0 = time.perf_counter()
    regions = ["440303", "440304", "440305", "440306", "440307", "440308", "310101", "310104"]
    existing = {p.code for p in catalog.projects()}
    codes = [f"XM-{regions[i % len(regions)]}-{i:05d}" for i in range(projects)]
    for i, code in enumerate(codes):
        if code not in existing:
            catalog.create_project(D.project(code, region=regions[i % len(regions)],
                                             investment_type=("government", "state_owned", "other")[i % 3]))
    t1 = time.perf_counter()
    types = ("government", "state_owned", "other")
    rows = [{"project": code, "period": month, "version": 1, "region_code": regions[i % len(regions)],
             "investment_type": types[i % 3],
             "counts": {**template, "project": code, "period": month, "region_code": regions[i % len(regions)],
                        "investment_type": types[i % 3]}}
            for month in months for i, code in enumerate(codes)]
    for start in range(0, len(rows), 50_000):
        catalog.db.load_coverage(rows[start:start + 50_000])
    print(f"  set-up: {projects:,} projects registered ({t1 - t0:.1f} s), {len(rows):,} coverage rows loaded "
          f"({time.perf_counter() - t1:.1f} s)")


def seed_ledger(catalog, worker_id: str, months: list[str]) -> None:
    """The worker on a different project each month (36 months), as a migrant worker moves."""
    import polars as pl

    from sitereg.validate.crosscheck import id_keys

    key = id_keys(pl.Series([worker_id])).item()
    for i, month in enumerate(months):
        code = f"XM-440305-{i:05d}"
        row = {"id_key": key, "id_masked": worker_id[:6] + "********" + worker_id[-4:], "name": "张建国", "days": 22,
               "expected_fen": 880_000, "paid_fen": 880_000, "paid_dedicated_fen": 880_000,
               "paid_at": [f"{month}-28"], "paid_from": ["****1300"], "findings": []}
        catalog.db.replace_worker_index(code, month, catalog.db.next_version(), [(key, 1 << 2)], [row])


PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from litestar.testing import TestClient
from sitereg.api import create_app
from sitereg.settings import Settings
import datetime as dt
args = json.loads(sys.argv[1])
settings = Settings(data_dir=args["data_dir"], database_url=args["database_url"], reader_isolation=False)
app = create_app(settings, today=lambda: dt.date(2026, 11, 27))
with TestClient(app) as client:
    started = time.perf_counter() - t0
    headers = {"Authorization": "Bearer " + args["token"]}
    out = {"startup_s": started, "first": [], "warm": []}
    for url in args["urls"]:
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        out["first"].append(time.perf_counter() - t)
        assert r.status_code == 200, r.text[:300]
        out.setdefault("sizes", []).append(len(r.content))
    for _ in range(args["warm"]):
        t = time.perf_counter()
        client.get(args["urls"][0], headers=headers)
        out["warm"].append(time.perf_counter() - t)
print(json.dumps(out))
"""


def probe(data_dir: str, database_url: str | None, token: str, urls: list[str], warm: int) -> dict:
    arg = json.dumps({"data_dir": data_dir, "database_url": database_url, "token": token, "urls": urls, "warm": warm})
    done = subprocess.run([sys.executable, "-c", PROBE, arg], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--others", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", default=None, help="postgresql://…; default: SQLite in the temp data directory")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reuse", metavar="DIR", help="keep the set-up in DIR (created on first use) and skip part 1 "
                    "when it is already there; for iterating on parts 2 and 3")
    args = ap.parse_args()
    if args.quick:
        args.projects, args.months, args.others = 1_000, 12, 200
    from sitereg.settings import Settings

    with (contextlib.nullcontext(args.reuse) if args.reuse else tempfile.TemporaryDirectory(prefix="sitereg-bench-")) as tmp:
        data_dir = str(Path(tmp) / "data")
        reused = args.reuse is not None and Path(data_dir).exists()
        catalog = D.catalog(data_dir, args.database_url)
        settings = Settings(data_dir=data_dir, database_url=args.database_url, reader_isolation=False)
        print(f"database: {catalog.db.describe()}")
        from sitereg import pipeline

        ws = D.workers(16)
        months = months_back(D.PERIOD, args.months)
        if not reused:
            catalog.create_project(D.project(ME))
            for kind, rows in (("roster", D.roster_rows(ws)), ("contracts", D.contract_rows(ws)),
                               ("payments", D.payment_rows(ws, 1, 25))):
                pipeline.ingest(catalog, settings, catalog.project(ME), kind, D.PERIOD, f"{kind}.csv",
                                D.to_csv(D.HEADERS[kind], rows), actor="bench", today=D.TODAY)

            print("\n1. one 400-row attendance upload (in-process ingest, median of %d)" % args.runs)
            alone, crowded = upload_cost(catalog, settings, args.runs, args.others)
            ratio = crowded / alone
            print(f"  {'alone':<34}{alone * 1000:9.1f} ms")
            print(f"  {f'with {args.others:,} other projects':<34}{crowded * 1000:9.1f} ms   ratio {ratio:.2f} "
                  f"(target <= 1.3: {'met' if ratio <= 1.3 else 'NOT met'})")
            seed_coverage(catalog, args.projects, months)
            seed_ledger(catalog, ws[0].id_number, months)

        print(f"\n2. region coverage: {args.projects:,} projects x {args.months} months")
        worker = ws[0].id_number
        bureau = catalog.issue_token("bureau", ("44",))
        one = probe(data_dir, args.database_url, bureau, [f"/api/v1/coverage?period={D.PERIOD}"], 20)
        trend = probe(data_dir, args.database_url, bureau,
                      [f"/api/v1/coverage?period_from={months[-min(12, len(months))]}&period_to={D.PERIOD}"], 5)
        warm = sorted(one["warm"])
        print(f"  fresh process start-up (imports, app, database open; not counted) {one['startup_s']:.2f} s")
        for label, value, target in (
                ("one month, first request of a fresh process", one["first"][0], 0.300),
                ("one month, warm p50 (cache hit, checked per request)", warm[len(warm) // 2], 0.050),
                ("12-month trend, first request of a fresh process", trend["first"][0], 0.500)):
            print(f"  {label:<52}{value * 1000:9.1f} ms   target {target * 1000:.0f} ms: "
                  f"{'met' if value <= target else 'NOT met'}")
        print(f"  response size: one month {one['sizes'][0] / 1e6:.2f} MB, trend {trend['sizes'][0] / 1e6:.2f} MB")

        print("\n3. a worker's ledger over 36 months")
        led = probe(data_dir, args.database_url, bureau,
                    [f"/api/v1/workers/{worker}/ledger?from={months_back(D.PERIOD, 36)[0]}&to={D.PERIOD}"], 20)
        lw = sorted(led["warm"])
        for label, value in (("first request of a fresh process", led["first"][0]), ("warm p50", lw[len(lw) // 2])):
            print(f"  {label:<52}{value * 1000:9.1f} ms   target 50 ms: {'met' if value <= 0.050 else 'NOT met'}")


if __name__ == "__main__":
    main()
