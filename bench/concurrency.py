"""Parallel uploads of several projects to one real server, with /health measured meanwhile.

    uv run python bench/concurrency.py                         # 8 projects x 1,000 workers x 25 days, xlsx
    uv run python bench/concurrency.py --format csv --server-workers 2
    uv run python bench/concurrency.py --projects 16 --workers 500
    uv run python bench/concurrency.py --quick                 # 8 projects x 200 workers

Prints (never asserts). Set-up, not timed: a LocalStore in a temp dir; --projects projects
(different crews, same region, same month 2026-10), each with its roster and contracts ingested;
a real uvicorn on 127.0.0.1 (``bench/_data.py serve``; --server-workers > 1 runs that many
uvicorn worker processes over the one store, as several API servers over one bucket would).

Timed:
1. sequential: each project's attendance uploaded one after the other (httpx);
2. parallel: the same number of uploads (other bytes) started together from one thread each.
While each phase runs, another thread GETs /health every 50 ms. Printed per phase: errors
(anything but 201, or an exception — must be 0), wall time, rows/s and files/s, each upload's
latency, and /health p50 / p95 / max (also at idle, before the uploads).

The cost of an upload as the month's other projects grow is measured by bench/state_scale.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data as D  # noqa: E402


class HealthProbe(threading.Thread):
    def __init__(self, url: str, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url + "/health", every
        self.times: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                t = time.perf_counter()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.times.append(time.perf_counter() - t)
                self.errors += not ok
                self.stop.wait(max(0.0, self.every - (time.perf_counter() - t)))


def health_line(label: str, probe: HealthProbe) -> str:
    xs = probe.times
    return (f"  /health {label:<22} n={len(xs):<4} p50 {D.median(xs) * 1000:7.1f} ms  p95 {D.pct(xs, 95) * 1000:7.1f} ms  "
            f"max {max(xs) * 1000:7.1f} ms  errors {probe.errors}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1000, help="workers per project")
    ap.add_argument("--days", type=int, default=25)
    ap.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    ap.add_argument("--server-workers", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="200 workers per project")
    args = ap.parse_args()
    if args.quick:
        args.workers = 200

    from sitereg import pipeline
    from sitereg.settings import Settings

    print(f"load average at start: {os.getloadavg()}; {os.cpu_count()} CPUs")
    codes = [f"XM-440305-2026-{100 + i:03d}" for i in range(args.projects)]
    make = D.to_xlsx if args.format == "xlsx" else D.to_csv
    with tempfile.TemporaryDirectory(prefix="sitereg-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        catalog, settings = D.catalog(data_dir), Settings(data_dir=str(data_dir))
        t0 = time.perf_counter()
        blobs: dict[str, list[bytes]] = {}
        for i, code in enumerate(codes):
            project = D.project(code)
            catalog.create_project(project)
            ws = D.workers(args.workers, offset=i * args.workers)
            for kind, rows in (("roster", D.roster_rows(ws)), ("contracts", D.contract_rows(ws))):
                pipeline.ingest(catalog, settings, project, kind, D.PERIOD, f"{kind}.csv", D.to_csv(D.HEADERS[kind], rows),
                                actor="bench", today=D.TODAY)
            blobs[code] = [make(D.ATTENDANCE_HEADERS, D.attendance_rows(ws, args.days, variant=v)) for v in (1, 2)]
        rows_each = args.workers * args.days
        print(f"set-up: {args.projects} projects x {args.workers} workers, attendance {rows_each:,} rows each "
              f"({args.format}, {len(blobs[codes[0]][0]) / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s; "
              f"server workers: {args.server_workers}")
        tok = D.tokens(data_dir)

        with D.server(data_dir, workers=args.server_workers) as url:
            probe = HealthProbe(url)
            probe.start()
            time.sleep(3)
            probe.stop.set()
            probe.join()
            print(health_line("idle", probe))

            def one(client: httpx.Client, code: str, blob: bytes, out: list) -> None:
                t = time.perf_counter()
                try:
                    r = D.upload(client, url, tok["contractor"], code, "attendance", D.PERIOD, f"考勤.{args.format}", blob)
                    ok = r.status_code == 201
                    detail = r.json().get("rows_accepted") if ok else f"{r.status_code} {r.text[:200]}"
                except httpx.HTTPError as e:
                    ok, detail = False, repr(e)
                out.append((code, ok, time.perf_counter() - t, detail))

            summary = {}
            for phase, variant in (("sequential", 0), ("parallel", 1)):
                results: list = []
                probe = HealthProbe(url)
                probe.start()
                start = time.perf_counter()
                if phase == "sequential":
                    with httpx.Client(timeout=1800) as client:
                        for code in codes:
                            one(client, code, blobs[code][variant], results)
                else:
                    barrier = threading.Barrier(len(codes))

                    def worker(code: str, barrier=barrier, variant=variant, results=results) -> None:
                        with httpx.Client(timeout=1800) as client:
                            barrier.wait()
                            one(client, code, blobs[code][variant], results)

                    threads = [threading.Thread(target=worker, args=(c,)) for c in codes]
                    for th in threads:
                        th.start()
                    for th in threads:
                        th.join()
                wall = time.perf_counter() - start
                probe.stop.set()
                probe.join()
                errors = [r for r in results if not r[1]]
                lat = [r[2] for r in results]
                total_rows = rows_each * (len(results) - len(errors))
                summary[phase] = wall
                print(f"\n{phase}: {len(results)} uploads, errors {len(errors)}, wall {wall:.2f} s -> "
                      f"{total_rows / wall:,.0f} rows/s, {len(results) / wall:.2f} files/s")
                print(f"  upload latency p50 {D.median(lat):.2f} s, max {max(lat):.2f} s")
                for e in errors:
                    print(f"  ERROR {e[0]}: {e[3]}")
                print(health_line(f"during {phase}", probe))
            print(f"\nparallel vs sequential wall time: {summary['parallel'] / summary['sequential']:.2f}x "
                  f"({summary['sequential'] / summary['parallel']:.2f}x the throughput)")



def clock(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
