"""One large attendance upload end to end over HTTP, against a bare Polars read of the same bytes.

    uv run python bench/upload_e2e.py                  # 4,000 workers x 25 days = 100,000 rows
    uv run python bench/upload_e2e.py --workers 8000 --days 25 --runs 5
    uv run python bench/upload_e2e.py --quick          # 400 workers (10,000 rows)

Prints (never asserts). Set-up, not timed: a fresh LocalStore in a temp dir, a real uvicorn
(``bench/_data.py serve``) on 127.0.0.1 in a subprocess, the project registered, its roster and
contracts for the month uploaded over HTTP (every worker valid, contracted at a daily rate).

Timed, interleaved so that both sides see the same machine noise:
- e2e: httpx POST /api/v1/projects/{code}/uploads of a long-form attendance file (身份证号码,
  姓名, 日期, 工时; one row per worker-day) until the 201 receipt is back: multipart, the original
  stored, read, validated, the Parquet table and findings written, receipt and marker, and the
  project-period re-check (cross-file findings over roster/contracts/attendance, coverage
  snapshot);
- bare: ``polars.read_excel`` (calamine) / ``polars.read_csv`` of the same bytes in this process.

Each run uploads different bytes (run k sets the hours of row k to 9), since identical bytes
would return the stored receipt. Targets: xlsx e2e <= 2x the bare read, csv e2e <= 5x.
With --breakdown (default) the stages are then timed in-process on the same store.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data as D  # noqa: E402

# httpx is imported in main(), not here: sitereg's reader runs in a forkserver child, and such a
# child re-imports the __main__ module (this file) — heavy imports here would be timed as part of
# every isolated read of the in-process breakdown, which `sitereg serve` does not pay.

CODE = "XM-440305-2026-001"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=4000)
    ap.add_argument("--days", type=int, default=25)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="400 workers")
    ap.add_argument("--no-breakdown", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.workers = 400
    import httpx
    import polars as pl

    t0 = time.perf_counter()
    ws = D.workers(args.workers)
    files = D.month_files(ws, "csv", days=args.days)
    xlsx = [D.to_xlsx(D.ATTENDANCE_HEADERS, D.attendance_rows(ws, args.days, variant=k + 1)) for k in range(args.runs)]
    csvs = [D.to_csv(D.ATTENDANCE_HEADERS, D.attendance_rows(ws, args.days, variant=1000 + k)) for k in range(args.runs)]
    rows = args.workers * args.days
    print(f"attendance: {args.workers} workers x {args.days} days = {rows} rows; xlsx {len(xlsx[0]) / 1e6:.2f} MB, "
          f"csv {len(csvs[0]) / 1e6:.2f} MB (built in {time.perf_counter() - t0:.1f} s)")

    with tempfile.TemporaryDirectory(prefix="sitereg-bench-") as tmp:
        data_dir = Path(tmp) / "data"

        D.catalog(data_dir).create_project(D.project(CODE))
        tok = D.tokens(data_dir)
        with D.server(data_dir) as url, httpx.Client(timeout=600) as client:
            for kind in ("roster", "contracts"):
                name, data = files[kind]
                r = D.upload(client, url, tok["contractor"], CODE, kind, D.PERIOD, name, data)
                assert r.status_code == 201, r.text
                print(f"set-up: {kind} {r.json()['rows_accepted']} rows accepted, {r.json()['errors']} errors")

            results = {}
            for fmt, blobs, bare in (("xlsx", xlsx, lambda b: pl.read_excel(b)),
                                     ("csv", csvs, lambda b: pl.read_csv(io.BytesIO(b)))):
                e2e, base = [], []
                for k, blob in enumerate(blobs):
                    start = time.perf_counter()
                    frame = bare(blob)
                    base.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    r = D.upload(client, url, tok["contractor"], CODE, "attendance", D.PERIOD, f"考勤{k}.{fmt}", blob)
                    e2e.append(time.perf_counter() - start)
                    body = r.json()
                    assert r.status_code == 201, r.text
                    assert frame.height == rows, frame.shape
                    print(f"  {fmt} run {k + 1}: e2e {e2e[-1]:.3f} s (accepted {body['rows_accepted']}, errors "
                          f"{body['errors']}, warnings {body['warnings']}), bare {base[-1]:.3f} s")
                results[fmt] = (D.median(e2e), D.median(base), min(e2e), min(base))

        print()
        print(f"{'':<6}{'e2e HTTP (median)':>20}{'bare polars (median)':>24}{'ratio':>8}{'target':>8}  met")
        for fmt, target in (("xlsx", 2.0), ("csv", 5.0)):
            e, b, emin, bmin = results[fmt]
            print(f"{fmt:<6}{e:>18.3f} s{b:>22.3f} s{e / b:>8.2f}{target:>7.1f}x  {'yes' if e / b <= target else 'NO'}"
                  f"   (min: {emin:.3f} / {bmin:.3f} s = {emin / bmin:.2f}x; {rows / e:,.0f} rows/s e2e)")

        if not args.no_breakdown:
            breakdown(D.catalog(data_dir), data_dir, ws, args.days, args.runs)


def breakdown(catalog, data_dir: Path, ws, days: int, runs: int) -> None:
    """The stages of one upload, in this process, on the same store (median of ``runs``)."""
    from sitereg import pipeline
    from sitereg.settings import Settings
    from sitereg.validate.codes import work_type_lookup
    from sitereg.validate.columns import header_hints
    from sitereg.validate.filecheck import Context, validate_file
    from sitereg.validate.readers import read_table

    settings = Settings(data_dir=str(data_dir))
    project = catalog.project(CODE)
    try:  # start the reader's fork server first, as the API does at start-up
        from sitereg.sandbox import warm_up

        warm_up()
    except ImportError:
        pass
    hints = header_hints()
    ctx = Context(period=D.PERIOD, today=D.TODAY, job_types=work_type_lookup())
    print("\nbreakdown, in-process (median of %d):" % runs)
    for fmt in ("xlsx", "csv"):
        stages: dict[str, list[float]] = {}

        def lap(name: str, start: float, stages=stages) -> float:
            now = time.perf_counter()
            stages.setdefault(name, []).append(now - start)
            return now

        for k in range(runs):
            rows = D.attendance_rows(ws, days, variant=5000 + k + (100 if fmt == "csv" else 0))
            blob = D.to_xlsx(D.ATTENDANCE_HEADERS, rows) if fmt == "xlsx" else D.to_csv(D.ATTENDANCE_HEADERS, rows)
            t = time.perf_counter()
            table = read_table(blob, "a." + fmt, header_hints=hints)
            t = lap("read_table (in this process)", t)
            if hasattr(pipeline, "read"):  # the reader in a limited child process, as ingest runs it
                pipeline.read(settings, blob, "a." + fmt)
                t = lap("pipeline.read (isolated reader child)", t)
            checked = validate_file(table, "attendance", ctx)
            t = lap("validate_file", t)
            buf = io.BytesIO()
            checked.rows.write_parquet(buf, compression="zstd", statistics=True)
            t = lap("table to Parquet (in memory)", t)
            pipeline.recheck(catalog, settings, project, D.PERIOD, D.TODAY)
            t = lap("recheck (findings, worker index, coverage row)", t)
            start = time.perf_counter()
            pipeline.ingest(catalog, settings, project, "attendance", D.PERIOD, "b." + fmt, blob, actor="bench", today=D.TODAY)
            lap("pipeline.ingest total (in-process, no HTTP)", start)
        print(f"  {fmt}:")
        for name, xs in stages.items():
            print(f"    {name:<48} {D.median(xs):7.3f} s")


if __name__ == "__main__":
    main()
