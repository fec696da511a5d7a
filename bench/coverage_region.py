"""A bureau's region view over many projects: GET /api/v1/coverage, and what a faster design gives.

    uv run python bench/coverage_region.py                          # 10,000 projects x 12 months
    uv run python bench/coverage_region.py --projects 2000 --requests 20 --budget 120
    uv run python bench/coverage_region.py --quick                  # 500 projects x 12 months

Prints (never asserts). Set-up, not timed: a LocalStore in a temp dir; the projects registered
with ``Catalog.create_project`` (all in Shenzhen, region codes 440303..440311); one coverage
snapshot per project-month (2025-11 .. 2026-10) under ``derived/coverage/`` — the key layout
and the one-row frame that ``sitereg.period.snapshot_coverage`` writes (both taken from a real
snapshot of a probe project, since the layout changes: ``project=…/period=….parquet`` at
3c16b23, ``period=…/project=….parquet`` after 1743865), with plausible
counts generated directly instead of ingesting 120,000 months (columns, order and types are
taken from a real snapshot the pipeline writes for a small project first).

Timed over HTTP (real uvicorn on 127.0.0.1, a bureau token scoped to 4403): the one-month query
``?period=2026-10&region=4403`` and the 12-month range ``?period_from=2025-11&period_to=2026-10
&region=4403``, each repeated up to --requests times or until --budget seconds are spent (at
least once); p50 / p95 / max. Target p50 <= 200 ms. With --range auto (default) the range query
is skipped when one one-month request already took longer than --budget: today's handler reads
every snapshot whatever the period filter, so the range costs at least as much (at 10,000
projects each request takes minutes; --range yes forces it, and the script then runs ~3 minutes
longer).

Then, in-process on the same files, the parts of today's cost and prototypes of a faster
design (nothing here changes sitereg): listing keys, reading project JSON and snapshots, a
glob of one period's snapshots with ``pl.scan_parquet``, and a compacted one-file-per-period
table plus a project index (one Parquet each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data as D  # noqa: E402

DISTRICTS = ("440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310", "440311")
INVESTMENT = ("government", "state_owned", "other")
COUNTS = ("w_n", "a_n", "paid_n", "realname_n", "contract_n", "dedicated_n", "full_pay_n", "full_pay_d",
          "on_time_n", "on_time_d", "ssc_count", "ssc_fen", "dedicated_count", "wages_fen", "arrears_fen")


def months(last: str, n: int) -> list[str]:
    y, m = int(last[:4]), int(last[5:7])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return sorted(out)


def snapshot_rows(codes: list[str], regions: dict[str, str], types: dict[str, str], periods: list[str]) -> pl.DataFrame:
    """One plausible coverage row per project-period, columns in snapshot_coverage's order."""
    rnd = random.Random(20261027)
    recs = []
    for code in codes:
        crew = rnd.randint(20, 400)
        for p in periods:
            a = max(1, int(crew * rnd.uniform(0.8, 1.0)))
            w = a + rnd.randint(0, 5)
            paid = a - rnd.randint(0, max(1, a // 20))
            contract = a - rnd.randint(0, max(1, a // 10))
            dedicated = paid - rnd.randint(0, max(1, paid // 10))
            full = paid - rnd.randint(0, max(1, paid // 8))
            payouts = paid * rnd.choice((1, 1, 2, 4))
            ssc = rnd.randint(0, payouts // 5)
            wages = payouts and paid * rnd.randint(600_000, 1_200_000)
            y, m = int(p[:4]), int(p[5:7])
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            recs.append({
                "w_n": w, "a_n": a, "paid_n": paid, "realname_n": a - rnd.randint(0, 2), "contract_n": contract,
                "dedicated_n": dedicated, "full_pay_n": full, "full_pay_d": a, "on_time_n": full - rnd.randint(0, 3) if full > 3 else full,
                "on_time_d": a, "ssc_count": ssc, "ssc_fen": ssc * 800_000, "dedicated_count": payouts, "wages_fen": wages,
                "arrears_fen": (a - full) * rnd.randint(300_000, 900_000),
                "project": code, "period": p, "region_code": regions[code], "investment_type": types[code],
                "deadline": dt.date(ny, nm, 15),
                "on_time_by_deadline": [{"deadline": dt.date(ny, nm, 15), "n": full - rnd.randint(0, 3) if full > 3 else full,
                                         "d": a}],
                "five_realname": True, "five_dedicated_account": rnd.random() < 0.95,
                "five_guarantee": rnd.random() < 0.9, "five_bank_payroll": rnd.random() < 0.9,
                "five_notice_board": rnd.random() < 0.8,
            })
    return pl.DataFrame(recs)


def shaped(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """The generated rows in the columns, order and types of the pipeline's snapshot (the service
    changes: e.g. a ``deadline`` column became ``on_time_by_deadline``); fails on a column we do
    not generate."""
    missing = [n for n in schema.names() if n not in frame.columns]
    if missing:
        raise SystemExit(f"the pipeline's snapshot has columns this bench does not generate: {missing}")
    return frame.select(pl.col(n).cast(dtype) for n, dtype in schema.items())


def write_snapshots(root: Path, frame: pl.DataFrame, template: str) -> str:
    """Each row to its key (``template`` with {project} and {period}), as tables.write would
    (zstd, statistics)."""
    keyed = frame.with_columns(_p=pl.col("project"), _m=pl.col("period"))
    try:  # one streaming pass (polars' partitioned sink; unstable API): ~0.3 ms per file
        def path(args) -> str:
            p, m = args.partition_keys.row(0)
            return template.format(project=p, period=m)

        keyed.lazy().sink_parquet(pl.PartitionBy(root, key=["_p", "_m"], include_key=False, file_path_provider=path),
                                  mkdir=True, compression="zstd", statistics=True)
        return "polars PartitionBy sink"
    except (AttributeError, TypeError):
        for row in frame.iter_slices(1):
            target = root / template.format(project=row.get_column("project")[0], period=row.get_column("period")[0])
            target.parent.mkdir(parents=True, exist_ok=True)
            row.write_parquet(target, compression="zstd", statistics=True)
        return "one write_parquet per file"


def real_snapshot(tmp: Path) -> tuple[pl.Schema, str]:
    """The schema and key template ({project}, {period}) of the snapshot the pipeline writes for a
    5-worker project."""
    from sitereg import pipeline, tables
    from sitereg.catalog import Catalog
    from sitereg.settings import Settings
    from sitereg.storage.local import LocalStore

    store = LocalStore(tmp / "probe")
    project = D.project("PROBE")
    Catalog(store).create_project(project)
    settings = Settings(data_dir=str(tmp / "probe"))
    for kind, (name, data) in D.month_files(D.workers(5), "csv").items():
        pipeline.ingest(store, settings, project, kind, D.PERIOD, name, data, actor="bench", today=D.TODAY)
    keys = [k for k in store.list("derived/coverage/") if "PROBE" in k]
    if len(keys) != 1 or f"={D.PERIOD}" not in keys[0]:
        raise SystemExit(f"cannot tell the snapshot key layout from {keys}")
    template = keys[0].replace("project=PROBE", "project={project}").replace(f"period={D.PERIOD}", "period={period}")
    if "PROBE" in template or D.PERIOD in template:
        raise SystemExit(f"snapshot key {keys[0]} has parts this bench cannot generate")
    return tables.read(store, keys[0]).schema, template


def timed_requests(client: httpx.Client, url: str, headers: dict, n: int, budget: float) -> tuple[list[float], dict, int]:
    times, body, size = [], {}, 0
    start = time.perf_counter()
    while len(times) < n and (not times or time.perf_counter() - start < budget):
        t = time.perf_counter()
        r = client.get(url, headers=headers)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text[:500]
        size = len(r.content)
    body = r.json()
    return times, body, size


def show(label: str, xs: list[float], target: float | None = None) -> None:
    verdict = ""
    if target is not None:
        verdict = f"  target p50 <= {target * 1000:.0f} ms: {'met' if D.median(xs) <= target else 'NOT met'}"
    print(f"  {label:<44} n={len(xs):<3} p50 {D.median(xs) * 1000:9.1f} ms  p95 {D.pct(xs, 95) * 1000:9.1f} ms  "
          f"max {max(xs) * 1000:9.1f} ms{verdict}")


def clock(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return D.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per query kind (at least one request)")
    ap.add_argument("--range", choices=("auto", "yes", "no"), default="auto", help="time the 12-month query too")
    ap.add_argument("--quick", action="store_true", help="500 projects")
    ap.add_argument("--no-prototypes", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.projects = 500
    print(f"load average at start: {os.getloadavg()}")

    from sitereg.catalog import Catalog
    from sitereg.storage.local import LocalStore

    periods = months(D.PERIOD, args.months)
    with tempfile.TemporaryDirectory(prefix="sitereg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        schema, template = real_snapshot(tmp)
        root = tmp / "data"
        store = LocalStore(root)
        catalog = Catalog(store)
        codes = [f"XM-{DISTRICTS[i % len(DISTRICTS)]}-2026-{i:05d}" for i in range(args.projects)]
        regions = {c: c[3:9] for c in codes}
        types = {c: INVESTMENT[i % 3] for i, c in enumerate(codes)}

        t = time.perf_counter()
        for c in codes:
            catalog.create_project(D.project(c, regions[c], types[c]))
        t_projects = time.perf_counter() - t
        t = time.perf_counter()
        frame = shaped(snapshot_rows(codes, regions, types, periods), schema)
        how = write_snapshots(root, frame, template)
        t_snap = time.perf_counter() - t
        print(f"set-up: {args.projects} projects registered in {t_projects:.1f} s; {frame.height} snapshots "
              f"({len(periods)} months {periods[0]}..{periods[-1]}) written in {t_snap:.1f} s ({how}) at {template}")
        sample = pl.read_parquet(root / template.format(project=codes[0], period=D.PERIOD))
        same = sample.schema == schema
        print(f"snapshot schema identical to the pipeline's: {same}" + ("" if same else f"\n  ours {sample.schema}\n  real {schema}"))

        tok = D.tokens(root)
        one = f"/api/v1/coverage?period={D.PERIOD}&region=4403"
        rng = f"/api/v1/coverage?period_from={periods[0]}&period_to={periods[-1]}&region=4403"
        with D.server(root) as url, httpx.Client(timeout=1800) as client:
            print(f"\nHTTP, bureau scope 4403, up to {args.requests} requests or {args.budget:.0f} s per query:")
            xs, body, size = timed_requests(client, url + one, tok["bureau"], args.requests, args.budget)
            show(f"GET {one[:40]}…", xs, 0.2)
            print(f"    -> {body['totals']['projects']} projects, workers_active {body['totals']['workers_active']}, "
                  f"{len(body['projects'])} project rows, response {size / 1e6:.1f} MB")
            if args.range == "yes" or (args.range == "auto" and xs[0] <= args.budget):
                xs, body, size = timed_requests(client, url + rng, tok["bureau"], args.requests, args.budget)
                show(f"GET ?period_from={periods[0]}&period_to={periods[-1]}", xs, 0.2)
                print(f"    -> {body['totals']['projects']} projects, {len(body['projects'])} project-period rows, "
                      f"{len(body['trend'])} trend months, response {size / 1e6:.1f} MB")
            else:
                print(f"  GET ?period_from={periods[0]}&period_to={periods[-1]}: skipped (one request above took "
                      f"{xs[0]:.0f} s > --budget; the handler reads the same snapshots for any period; --range yes forces it)")

        if not args.no_prototypes:
            prototypes(store, root, periods, template)


def prototypes(store, root: Path, periods: list[str], template: str) -> None:
    """Where today's time goes, and what the suggested design costs, on the same files."""
    import msgspec

    from sitereg import period as period_mod
    from sitereg import tables
    from sitereg.catalog import Catalog

    print("\nin-process parts of today's request:")
    t, keys = clock(lambda: store.list("derived/coverage/"), 1)
    print(f"  LocalStore.list('derived/coverage/')         {t * 1000:9.1f} ms  ({len(keys)} keys)")
    t, pkeys = clock(lambda: store.list("meta/projects/"), 1)
    print(f"  LocalStore.list('meta/projects/')            {t * 1000:9.1f} ms  ({len(pkeys)} keys)")
    t, projects = clock(lambda: Catalog(store).projects(), 1)
    print(f"  Catalog.projects() (list + {len(projects)} JSON reads) {t * 1000:9.1f} ms")
    sample = keys[:: max(1, len(keys) // 2000)][:2000]
    t, parts = clock(lambda: [tables.read(store, k) for k in sample], 1)
    print(f"  tables.read of {len(sample)} snapshots           {t * 1000:9.1f} ms  ({t / len(sample) * 1000:.2f} ms each: "
          f"x {len(keys)} = {t / len(sample) * len(keys):.0f} s)")
    t, _ = clock(lambda: pl.concat(parts, how="diagonal_relaxed"), 1)
    print(f"  pl.concat(diagonal_relaxed) of {len(sample)} one-row frames {t * 1000:6.1f} ms")

    def scandir_list(prefix: str) -> list[str]:
        out, stack = [], [root / prefix]
        while stack:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(Path(e.path))
                    elif e.is_file(follow_symlinks=False):
                        out.append(os.path.relpath(e.path, root))
        return sorted(out)

    print("\nprototypes of a faster design (same files; median of 3):")
    t, k2 = clock(lambda: scandir_list("derived/coverage"))
    print(f"  os.scandir listing of derived/coverage    {t * 1000:9.1f} ms  ({len(k2)} keys; vs LocalStore.list above)")
    pattern = str(root / template.format(project="*", period=D.PERIOD))
    t, g = clock(lambda: pl.read_parquet(sorted(glob.glob(pattern))))
    print(f"  pl.read_parquet(glob of one period's files) {t * 1000:9.1f} ms  ({g.height} rows, one month)")
    # Compacted: one file per period (all projects), a project index (one file).
    compact = root / "derived/coverage-compact"
    compact.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for p in periods:
        pl.read_parquet(sorted(glob.glob(str(root / template.format(project="*", period=p))))).write_parquet(
            compact / f"period={p}.parquet", compression="zstd", statistics=True)
    t_build = time.perf_counter() - t0
    index = pl.DataFrame([msgspec.to_builtins(p) for p in projects]).drop("guarantee")
    index.write_parquet(root / "meta-projects-index.parquet", compression="zstd", statistics=True)
    print(f"  (built {len(periods)} compacted period files and the project index in {t_build:.1f} s)")

    def one_month() -> pl.DataFrame:
        idx = pl.read_parquet(root / "meta-projects-index.parquet", columns=["code", "name", "region_code", "investment_type"])
        visible = idx.filter(pl.col("region_code").str.starts_with("4403"))
        rows = pl.read_parquet(compact / f"period={D.PERIOD}.parquet")
        return rows.join(visible.select("code", "name"), left_on="project", right_on="code", how="semi")

    def twelve_months() -> pl.DataFrame:
        idx = pl.read_parquet(root / "meta-projects-index.parquet", columns=["code", "name", "region_code", "investment_type"])
        visible = idx.filter(pl.col("region_code").str.starts_with("4403"))
        rows = pl.read_parquet([compact / f"period={p}.parquet" for p in periods])
        return rows.join(visible.select("code"), left_on="project", right_on="code", how="semi")

    t, r = clock(one_month, 5)
    print(f"  compacted: index + 1 period file, filtered   {t * 1000:9.1f} ms  ({r.height} rows)")
    t, r = clock(twelve_months, 5)
    print(f"  compacted: index + {len(periods)} period files, filtered  {t * 1000:9.1f} ms  ({r.height} rows)")
    t, r = clock(lambda: pl.scan_parquet(str(compact / "*.parquet"), hive_partitioning=True)
                 .filter(pl.col("period") == D.PERIOD, pl.col("region_code").str.starts_with("4403")).collect(), 5)
    print(f"  compacted: scan_parquet(hive) + predicate   {t * 1000:9.1f} ms  ({r.height} rows)")

    # The JSON the endpoint builds per row (coverage_json for each project): its own cost.
    from sitereg.validate import coverage as cov

    month = pl.read_parquet(compact / f"period={D.PERIOD}.parquet")
    names = dict(zip(index.get_column("code").to_list(), index.get_column("name").to_list()))
    t, _ = clock(lambda: [{**period_mod.coverage_json(row, D.TODAY), "name": names[row["project"]]}
                          for row in month.iter_rows(named=True)])
    print(f"  per-project JSON for one month (coverage_json x {month.height}) {t * 1000:7.1f} ms")
    t, _ = clock(lambda: cov.sum_counts(month))
    print(f"  totals (sum_counts) for one month                {t * 1000:7.1f} ms")

    def vectorised() -> bytes:
        """The same per-project items computed as Polars expressions, encoded by msgspec."""
        from sitereg.validate.checks import fen_text_expr

        c = pl.col
        rate = lambda n, d: pl.when(c(d) == 0).then(None).otherwise((c(n) / c(d)).round(6))  # noqa: E731
        rows = month
        if "on_time_by_deadline" in rows.columns:  # judged as of today, like coverage_json
            due = pl.element().struct.field("deadline") < pl.lit(D.TODAY)
            rows = rows.with_columns(
                on_time_n=c("on_time_by_deadline").list.eval(pl.when(due).then(pl.element().struct.field("n")).otherwise(0))
                .list.sum().fill_null(0),
                on_time_d=c("on_time_by_deadline").list.eval(pl.when(due).then(pl.element().struct.field("d")).otherwise(0))
                .list.sum().fill_null(0))
        items = rows.join(index.select("code", "name"), left_on="project", right_on="code").select(
            "project", "period", "name", "region_code", "investment_type",
            workers_active=c("a_n"), workers_paid=c("paid_n"),
            **{name: rate(n, d) for name, (n, d) in cov.RATES.items()},
            wages_paid=fen_text_expr(c("wages_fen")), arrears_estimate=fen_text_expr(c("arrears_fen")),
            five_systems=pl.struct(**{k: c(f"five_{k}") for k in ("realname", "dedicated_account", "guarantee",
                                                                  "bank_payroll", "notice_board")}),
        )
        return msgspec.json.encode(items.to_dicts())

    t, out = clock(vectorised)
    print(f"  the same items vectorised (Polars) + msgspec   {t * 1000:7.1f} ms  ({len(out) / 1e6:.1f} MB; fewer fields:"
          f" no fractions / ssc)")
    t, out = clock(lambda: msgspec.json.encode([{**period_mod.coverage_json(row, D.TODAY), "name": names[row["project"]]}
                                                for row in month.iter_rows(named=True)]))
    print(f"  today's items + msgspec encode                 {t * 1000:7.1f} ms  ({len(out) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
