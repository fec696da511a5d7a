"""A 1,000,000-row wage sheet through ``sitereg.pipeline.ingest``: throughput and peak memory.

    uv run python bench/big_payments.py                            # 40,000 workers x 25 payouts
    uv run python bench/big_payments.py --workers 100000 --payouts 10
    uv run python bench/big_payments.py --quick                    # 2,000 workers x 25 payouts

Prints (never asserts). The shape chosen: 40,000 workers on one project, each paid 25 times in
the month (one payout per day worked, as sites that settle daily do): 1,000,000 payment rows,
each its own bank transaction, from the dedicated account into the worker's own card, adding
up to exactly what the contract owes — so the file is valid and the cross-file checks run over
the full month rather than stopping at "not on the roster".

Set-up, not timed (in this process): a LocalStore in a temp dir with the project, its roster
(40,000), contracts (40,000) and long-form attendance (40,000 x 25 days = 1,000,000 rows)
ingested for 2026-10; the payments csv (UTF-8 with BOM) written to a file.

Timed, in a fresh subprocess per run (so ru_maxrss is that ingest's own high-water mark): read
the file, ``pipeline.ingest`` it (store the original, read, validate, write the table and
findings, receipt, and the project-period re-check: cross-file findings and the coverage
snapshot over 1,000,000 attendance and 1,000,000 payment rows). Printed: wall time, rows/s,
peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), the RSS after imports + file read
(the floor that is not the ingest's), and — since sitereg reads untrusted files in a forkserver
child whose memory is not in that figure — the peak of the reader child and of the whole
process tree, sampled every 20 ms from /proc. Target: peak RSS <= 1.5 GB. Each run uploads different
bytes (one amount changes by 0.01 yuan), as identical bytes would return the stored receipt.
With --phases, one more subprocess times read / validate / re-check separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data as D  # noqa: E402

CODE = "XM-440305-2026-001"


class TreeRss:
    """Samples every 20 ms the RSS of this process and of all its descendants (sitereg reads
    untrusted files in a forkserver child: its memory is not in this process's ru_maxrss)."""

    def __init__(self) -> None:
        import threading

        self.peak_total = self.peak_child = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def _tree() -> dict[int, float]:
        parents, rss = {}, {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                parents[int(name)] = int(fields["PPid"])
                rss[int(name)] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
            except (OSError, KeyError, ValueError):
                continue
        me, mine = os.getpid(), {}
        for pid in rss:
            p = pid
            while p and p != me and p in parents:
                p = parents[p]
            if p == me:
                mine[pid] = rss[pid]
        return mine

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.is_set():
            tree = self._tree()
            self.peak_total = max(self.peak_total, sum(tree.values()))
            self.peak_child = max([self.peak_child] + [v for pid, v in tree.items() if pid != me])
            self.stop.wait(0.02)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def child(data_dir: str, path: str, phases: bool) -> None:
    """Runs in the fresh subprocess: one ingest, figures as JSON on stdout."""
    from sitereg import pipeline
    from sitereg.settings import Settings

    def rss_now() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    catalog = D.catalog(data_dir)
    settings = Settings(data_dir=data_dir)
    try:  # start the reader's fork server first, as the API does at start-up
        from sitereg.sandbox import warm_up

        warm_up()
    except ImportError:
        pass
    project = catalog.project(CODE)
    data = Path(path).read_bytes()
    floor = rss_now()
    out: dict = {"floor_mb": floor, "bytes": len(data)}
    tree = TreeRss()
    if phases:
        from sitereg.validate.filecheck import Context, validate_file
        from sitereg.validate.readers import read_table

        t = time.perf_counter()
        table = read_table(data, "工资发放表.csv", header_hints=pipeline._HINTS, max_rows=settings.max_rows)
        out["read_table_s"] = time.perf_counter() - t
        if hasattr(pipeline, "read"):
            t = time.perf_counter()
            pipeline.read(settings, data, "工资发放表.csv")
            out["read_isolated_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ctx = Context(period=D.PERIOD, today=D.TODAY, job_types=pipeline._JOBS)
        checked = validate_file(table, "payments", ctx)
        out["validate_file_s"] = time.perf_counter() - t
        out["findings"] = checked.findings.height
        del table, checked
        t = time.perf_counter()
        pipeline.recheck(catalog, settings, project, D.PERIOD, D.TODAY)
        out["recheck_s"] = time.perf_counter() - t
    else:
        t = time.perf_counter()
        outcome = pipeline.ingest(catalog, settings, project, "payments", D.PERIOD, "工资发放表.csv", data, actor="bench",
                                  today=D.TODAY)
        out["ingest_s"] = time.perf_counter() - t
        r = outcome.receipt
        out.update(rows_total=r.rows_total, rows_accepted=r.rows_accepted, errors=r.errors, warnings=r.warnings)
    tree.close()
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["tree_peak_mb"], out["child_peak_mb"] = tree.peak_total, tree.peak_child
    print(json.dumps(out))


def run_child(data_dir: Path, path: Path, phases: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", str(data_dir), str(path)] + (["--phases"] if phases else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=40_000)
    ap.add_argument("--payouts", type=int, default=25)
    ap.add_argument("--days", type=int, default=25)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--phases", action="store_true", help="also time read / validate / re-check in a separate subprocess")
    ap.add_argument("--quick", action="store_true", help="2,000 workers")
    ap.add_argument("--child", nargs=2, metavar=("DATA_DIR", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.phases)
        return
    if args.quick:
        args.workers = 2000

    from sitereg import pipeline
    from sitereg.settings import Settings

    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="sitereg-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        catalog, settings = D.catalog(data_dir), Settings(data_dir=str(data_dir))
        project = D.project(CODE)
        catalog.create_project(project)
        t0 = time.perf_counter()
        ws = D.workers(args.workers)
        for kind, rows in (("roster", D.roster_rows(ws)), ("contracts", D.contract_rows(ws)),
                           ("attendance", D.attendance_rows(ws, args.days))):
            t = time.perf_counter()
            data = D.to_csv(D.HEADERS[kind], rows)
            r = pipeline.ingest(catalog, settings, project, kind, D.PERIOD, f"{kind}.csv", data, actor="bench",
                                today=D.TODAY).receipt
            print(f"set-up: {kind:<10} {r.rows_accepted:>9,} rows accepted, {r.errors} errors "
                  f"({time.perf_counter() - t:.1f} s)")
        pay_rows = D.payment_rows(ws, args.payouts, args.days)
        n = len(pay_rows)
        print(f"set-up done in {time.perf_counter() - t0:.1f} s; payments: {args.workers:,} workers x "
              f"{args.payouts} payouts = {n:,} rows")

        results = []
        for k in range(args.runs):
            rows = [list(r) for r in pay_rows] if k else pay_rows
            if k:  # different bytes: the first payout is k fen more
                a = rows[0][3]
                rows[0][3] = f"{float(a) + 0.01 * k:.2f}"
            path = Path(tmp) / f"payments_{k}.csv"
            path.write_bytes(D.to_csv(D.PAYMENT_HEADERS, rows))
            res = run_child(data_dir, path)
            results.append(res)
            print(f"run {k + 1}: {res['bytes'] / 1e6:.0f} MB csv, ingest {res['ingest_s']:.2f} s = "
                  f"{res['rows_total'] / res['ingest_s']:,.0f} rows/s; accepted {res['rows_accepted']:,}, errors "
                  f"{res['errors']}, warnings {res['warnings']}")
            print(f"       peak RSS: ingest process {res['peak_rss_mb']:,.0f} MB (ru_maxrss; after imports + reading the "
                  f"file {res['floor_mb']:,.0f} MB), reader child {res['child_peak_mb']:,.0f} MB, whole process tree "
                  f"{res['tree_peak_mb']:,.0f} MB (sampled every 20 ms)")
        peak = max(r["peak_rss_mb"] for r in results)
        tree = max(r["tree_peak_mb"] for r in results)
        secs = D.median([r["ingest_s"] for r in results])
        print(f"\n{n:,} payment rows: ingest median {secs:.2f} s, {n / secs:,.0f} rows/s; peak RSS {peak:,.0f} MB "
              f"(ru_maxrss), {tree:,.0f} MB with the reader child (target <= 1,536 MB: "
              f"{'met' if max(peak, tree) <= 1536 else 'NOT met'})")
        if args.phases:
            res = run_child(data_dir, Path(tmp) / "payments_0.csv", phases=True)
            iso = f", isolated read {res['read_isolated_s']:.2f} s" if "read_isolated_s" in res else ""
            print(f"phases (fresh subprocess): read_table {res['read_table_s']:.2f} s{iso}, validate_file "
                  f"{res['validate_file_s']:.2f} s, recheck {res['recheck_s']:.2f} s; peak RSS {res['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
