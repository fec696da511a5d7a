"""sitereg's roster validation against frictionless-py on the same csv.

    uv run --with frictionless python bench/peer_frictionless.py              # 4,000 and 100,000 rows
    uv run --with frictionless python bench/peer_frictionless.py 20000 --runs 5
    uv run --with frictionless python bench/peer_frictionless.py --quick      # 1,000 and 4,000 rows

frictionless is not a dependency of sitereg: ``uv run --with frictionless`` installs it for this
run only (pyproject.toml and uv.lock are not touched). Without it the script still times
sitereg and says that frictionless is missing.

Prints (never asserts). The roster csv (UTF-8, 13 columns as Chinese templates have them) has
valid workers plus one planted problem every 1,000 rows, rotating: an ID with 17 digits, a
repeated ID, an empty name, the date 2026-02-30 — both validators must report them.

- frictionless: ``Resource(path, schema).validate()`` with a Table Schema saying what a schema
  can: types (integer, string, date), required, unique 身份证号码, patterns for the ID
  (``^\\d{17}[\\dX]$``), phone, credit code and card, enum for 性别; every error collected.
- sitereg: ``read_table`` (encoding, header row, all-text cells) + ``validate_file`` for
  kind roster, with the Context ``pipeline.ingest`` builds: every file rule of the registry,
  including what a Table Schema cannot say (ID checksum and birth date, age limits by sex,
  sex against the ID, card Luhn check, credit-code checksum, job-type table, date order).

Median of --runs for each (frictionless at 100,000 rows: until --budget seconds are spent,
at least once). Target: sitereg >= 20x faster.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data as D  # noqa: E402

SCHEMA = {
    "fields": [
        {"name": "序号", "type": "integer"},
        {"name": "姓名", "type": "string", "constraints": {"required": True}},
        {"name": "性别", "type": "string", "constraints": {"enum": ["男", "女"]}},
        {"name": "身份证号码", "type": "string",
         "constraints": {"required": True, "unique": True, "pattern": r"^\d{17}[\dX]$"}},
        {"name": "手机号码", "type": "string", "constraints": {"pattern": r"^1[3-9]\d{9}$"}},
        {"name": "用工单位统一社会信用代码", "type": "string",
         "constraints": {"required": True, "pattern": r"^[0-9A-HJ-NPQRTUWXY]{18}$"}},
        {"name": "用工单位", "type": "string"},
        {"name": "班组", "type": "string"},
        {"name": "工种", "type": "string", "constraints": {"required": True}},
        {"name": "进场日期", "type": "date", "constraints": {"required": True}},
        {"name": "退场日期", "type": "date"},
        {"name": "工资卡号", "type": "string", "constraints": {"required": True, "pattern": r"^\d{16,19}$"}},
        {"name": "开户银行", "type": "string"},
    ]
}


def roster_csv(n: int) -> tuple[bytes, int]:
    ws = D.workers(n)
    rows = D.roster_rows(ws)
    planted = 0
    for i in range(999, n, 1000):
        k = (i // 1000) % 4
        if k == 0:
            rows[i][3] = rows[i][3][:17]  # 17 digits
        elif k == 1:
            rows[i][3] = rows[i - 1][3]  # the previous worker's ID again
        elif k == 2:
            rows[i][1] = None  # no name
        else:
            rows[i][9] = "2026-02-30"  # no such date
        planted += 1
    return D.to_csv(D.ROSTER_HEADERS, rows, encoding="utf-8"), planted


def run_sitereg(data: bytes):
    from sitereg.pipeline import _JOBS, age_limits
    from sitereg.settings import Settings
    from sitereg.validate.columns import header_hints
    from sitereg.validate.filecheck import Context, validate_file
    from sitereg.validate.readers import read_table

    settings = Settings()
    men, women = age_limits(settings, "440305", dt.date(2026, 10, 1))
    ctx = Context(period=D.PERIOD, today=D.TODAY, age_limit_men=men, age_limit_women=women, job_types=_JOBS)
    table = read_table(data, "花名册.csv", header_hints=header_hints(), max_rows=settings.max_rows,
                       max_xml_bytes=settings.max_xml_bytes)
    return validate_file(table, "roster", ctx)


def run_frictionless(path: Path):
    from frictionless import Resource, Schema

    resource = Resource(path=path.name, basepath=str(path.parent), schema=Schema.from_descriptor(SCHEMA),
                        encoding="utf-8", format="csv")
    return resource.validate(limit_errors=1_000_000)


def timed(fn, runs: int, budget: float) -> tuple[list[float], object]:
    times, out = [], None
    start = time.perf_counter()
    while len(times) < runs and (not times or time.perf_counter() - start < budget):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rows", nargs="*", type=int, default=[4000, 100_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds for frictionless per size (at least one run)")
    ap.add_argument("--quick", action="store_true", help="1,000 and 4,000 rows")
    args = ap.parse_args()
    sizes = [1000, 4000] if args.quick else args.rows
    try:
        import frictionless
        have = frictionless.__version__
    except ImportError:
        have = None
        print("frictionless is not installed in this environment: run with `uv run --with frictionless ...`;"
              " timing sitereg only")
    import polars as pl

    print(f"frictionless {have}, polars {pl.__version__}; load average {os.getloadavg()}")
    summary = []
    with tempfile.TemporaryDirectory(prefix="sitereg-bench-") as tmp:
        for n in sizes:
            data, planted = roster_csv(n)
            path = Path(tmp) / f"roster_{n}.csv"
            path.write_bytes(data)
            print(f"\nroster csv: {n} rows, {len(data) / 1e6:.1f} MB, {planted} planted problems")
            # Interleave: one sitereg run, then frictionless, so both see the same noise.
            s_times, f_times = [], []
            checked = report = None
            start = time.perf_counter()
            for k in range(args.runs):
                t, checked = timed(lambda data=data: run_sitereg(data), 1, 0)
                s_times += t
                if have and (k == 0 or time.perf_counter() - start < args.budget):
                    t, report = timed(lambda path=path: run_frictionless(path), 1, 0)
                    f_times += t
            rules = collections.Counter(checked.findings.get_column("rule").to_list())
            print(f"  sitereg      median {D.median(s_times):8.3f} s  (n={len(s_times)}, min {min(s_times):.3f})  "
                  f"{checked.rows_total} rows, {checked.rows_rejected} rejected, findings {dict(sorted(rules.items()))}")
            if have:
                errs = collections.Counter(e.type for task in report.tasks for e in task.errors)
                print(f"  frictionless median {D.median(f_times):8.3f} s  (n={len(f_times)}, min {min(f_times):.3f})  "
                      f"valid={report.valid}, errors {dict(sorted(errs.items()))}")
                ratio = D.median(f_times) / D.median(s_times)
                print(f"  -> sitereg is {ratio:.1f}x faster (target >= 20x: {'met' if ratio >= 20 else 'NOT met'}); "
                      f"{n / D.median(s_times):,.0f} vs {n / D.median(f_times):,.0f} rows/s")
                summary.append((n, D.median(s_times), D.median(f_times), ratio))
    if summary:
        print("\nrows      sitereg    frictionless   ratio")
        for n, s, f, r in summary:
            print(f"{n:<8} {s:8.3f} s  {f:10.3f} s  {r:6.1f}x")


if __name__ == "__main__":
    main()
