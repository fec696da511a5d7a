"""A region's per-project figures over a range of months come from each project's cumulative
sums (its values at the range's end less those before its start). They must be what summing
the project's month rows gives, which is how a contractor's own list of projects is still
summed: on SQLite and PostgreSQL, whatever the gaps, spans, late writes and deadlines."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sitereg import period as P
from sitereg.db import schema as t
from sitereg.grammar import add_months, months

CODES = [f"XM-4403{k % 3:02d}-2026-{k:03d}" for k in range(16)]
MONTHS = months("2025-10", "2026-12")
TYPES = ("government", "other")


def counts(rng: random.Random, month: str) -> dict:
    row = {k: rng.randint(0, 40) for k in t.COUNT_COLUMNS} | {k: rng.random() < 0.5 for k in t.FIVE_COLUMNS}
    deadlines = rng.sample([f"{add_months(month, 1)}-15", f"{add_months(month, 2)}-05", f"{add_months(month, 1)}-30"],
                           rng.randint(0, 2))
    row["on_time_by_deadline"] = [{"deadline": d, "n": rng.randint(0, 9), "d": 9} for d in deadlines] or None
    return row


def write_random_months(db, seed: int) -> None:
    """Each project has its own span of months, with gaps; some stop early, some start late;
    some writes carry an older version and must change nothing."""
    rng = random.Random(seed)
    version = 0
    for i, code in enumerate(CODES):
        kind = TYPES[i % 2]  # fixed when the project is registered, as region is
        lo = rng.randrange(len(MONTHS))
        hi = rng.randrange(lo, len(MONTHS)) + 1
        span = MONTHS[lo:hi]
        for _ in range(rng.randint(1, 2 * len(span))):
            version += rng.randint(-2, 6)
            db.put_coverage(code, rng.choice(span), max(version, 1), code[3:9], kind, counts(rng, "2026-01"))


def by_rows(catalog, first: str, last: str, today: dt.date, codes: list[str], kind: str | None = None) -> pl.DataFrame:
    """The same figures summed from the month rows (the path a list of projects takes)."""
    _, items = P.region_figures(catalog, first, last, today, None, kind, codes)
    return items.sort("project")


@pytest.mark.parametrize("seed", [1, 2])
def test_range_sums_from_cumulative_rows_equal_the_month_rows(catalog, seed):
    write_random_months(catalog.db, seed)
    for first, last in [("2025-11", "2026-10"), ("2026-01", "2026-12"), ("2025-10", "2025-12"), ("2026-06", "2026-07"),
                        ("2026-12", "2027-03"), ("2024-01", "2025-10")]:
        for today in (dt.date(2025, 12, 20), dt.date(2026, 9, 1), dt.date(2027, 6, 1)):
            _, items = P.region_figures(catalog, first, last, today, None, None, None)
            assert_frame_equal(items.sort("project"), by_rows(catalog, first, last, today, CODES),
                               check_column_order=True)
            _, scoped = P.region_figures(catalog, first, last, today, ("440301",), None, None)
            assert_frame_equal(scoped.sort("project"),
                               by_rows(catalog, first, last, today, [c for c in CODES if c[3:9] == "440301"]))
            _, typed = P.region_figures(catalog, first, last, today, ("4403",), "other", None)
            assert_frame_equal(typed.sort("project"), by_rows(catalog, first, last, today, CODES, "other"))


def test_a_range_counts_what_happened_in_it(catalog):
    """By hand: a project that stopped before the range, one with a gap, one that stopped
    inside it, and on-time pay counted only where its deadline has passed."""
    db = catalog.db
    a, b, c = CODES[:3]

    def put(code: str, month: str, n: int, deadline: str | None, version: int, **kw) -> None:
        row = {k: n for k in t.COUNT_COLUMNS} | {k: True for k in t.FIVE_COLUMNS} | kw
        row["on_time_by_deadline"] = [{"deadline": deadline, "n": n, "d": n}] if deadline else None
        db.put_coverage(code, month, version, code[3:9], "government", row)

    put(a, "2026-01", 5, "2026-02-15", 1)             # before the range
    put(b, "2026-02", 1, "2026-03-15", 2)
    put(b, "2026-05", 2, "2026-06-15", 3, five_guarantee=False)  # after a two-month gap
    put(c, "2026-03", 4, "2026-04-15", 4)
    put(c, "2026-04", 8, "2026-05-15", 5)             # its last month, inside the range
    put(c, "2026-03", 3, "2026-04-15", 6)             # March written again
    put(b, "2026-02", 7, "2026-03-15", 1)             # an older computation: refused
    _, items = P.region_figures(catalog, "2026-02", "2026-05", dt.date(2026, 6, 1), None, None, None)
    got = {r["project"]: r for r in items.to_dicts()}
    assert set(got) == {b, c}
    assert got[b]["a_n"] == 3 and got[c]["a_n"] == 11
    assert got[b]["five_guarantee"] == 0 and got[c]["five_guarantee"] == 1  # the latest month's
    # On 2026-06-01 May's deadline (06-15) is still to come: b is on time for February only.
    assert (got[b]["on_time_n"], got[b]["on_time_d"]) == (1, 1)
    assert (got[c]["on_time_n"], got[c]["on_time_d"]) == (11, 11)
    _, items = P.region_figures(catalog, "2026-02", "2026-05", dt.date(2026, 7, 1), None, None, None)
    assert {r["project"]: r["on_time_n"] for r in items.to_dicts()} == {b: 3, c: 11}


def test_migration_0006_sums_the_stored_months(tmp_path):
    """A data directory written before the cumulative rows existed is upgraded in place: its
    coverage rows are summed into them, so a range's view answers as before."""
    from alembic import command
    from alembic.config import Config

    from sitereg.catalog import Catalog
    from sitereg.db import engine as eng
    from sitereg.db import open_database
    from sitereg.settings import Settings
    from sitereg.storage_factory import open_store

    settings = Settings(data_dir=str(tmp_path / "data"))
    db = open_database(settings)
    catalog = Catalog(open_store(settings), db)
    write_random_months(db, 3)
    today = dt.date(2026, 9, 1)
    _, before = P.region_figures(catalog, "2025-11", "2026-10", today, None, None, None)
    db.close()
    engine = eng.create(f"sqlite:///{tmp_path / 'data' / 'sitereg.db'}")
    config = Config()
    config.set_main_option("script_location", str(eng._MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    engine.dispose()
    db = open_database(settings)
    try:
        _, after = P.region_figures(Catalog(open_store(settings), db), "2025-11", "2026-10", today, None, None, None)
        assert before.height > 5
        assert_frame_equal(after.sort("project"), before.sort("project"))
    finally:
        db.close()
