"""Coverage figures as typed columns, on-time pay per deadline, per-month region rollups, and
project names as a column (region views join them instead of decoding every project).

A region's month or a 12-month trend then reads a few hundred summed rows, and a range's
per-project figures are one GROUP BY, instead of parsing every project-month's JSON.
Existing rows are filled in from their ``counts`` JSON.

Revision ID: 0003
Revises: 0002
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

key = sa.String().with_variant(sa.String(collation="C"), "postgresql")
COUNTS = ("w_n", "a_n", "paid_n", "realname_n", "contract_n", "dedicated_n", "full_pay_n", "full_pay_d",
          "on_time_n", "on_time_d", "ssc_count", "ssc_fen", "dedicated_count", "wages_fen", "arrears_fen")
FIVE = ("five_realname", "five_dedicated_account", "five_guarantee", "five_bank_payroll", "five_notice_board")
FIGURES = (*COUNTS, *FIVE)


def _figures() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False, server_default="0") for name in FIGURES]


def upgrade() -> None:
    with op.batch_alter_table("coverage") as batch:
        for column in _figures():
            batch.add_column(column)
        batch.add_column(sa.Column("five_key", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("name", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "coverage_on_time",
        sa.Column("project", key, nullable=False), sa.Column("period", key, nullable=False),
        sa.Column("deadline", key, nullable=False), sa.Column("region_code", key, nullable=False),
        sa.Column("investment_type", key, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False), sa.Column("d", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project", "period", "deadline", name="pk_coverage_on_time"),
    )
    op.create_index("ix_coverage_on_time_period_region_code", "coverage_on_time", ["period", "region_code"])
    op.create_table(
        "coverage_rollup",
        sa.Column("period", key, nullable=False), sa.Column("region_code", key, nullable=False),
        sa.Column("investment_type", key, nullable=False), sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("projects", sa.BigInteger(), nullable=False), *_figures(),
        sa.PrimaryKeyConstraint("period", "region_code", "investment_type", name="pk_coverage_rollup"),
    )
    op.create_table(
        "coverage_rollup_on_time",
        sa.Column("period", key, nullable=False), sa.Column("region_code", key, nullable=False),
        sa.Column("investment_type", key, nullable=False), sa.Column("deadline", key, nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False), sa.Column("d", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period", "region_code", "investment_type", "deadline", name="pk_coverage_rollup_on_time"),
    )
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    """Typed figures and on-time rows from each stored row's JSON, then the rollups summed from them."""
    coverage = sa.table("coverage", *[sa.column(n) for n in ("project", "period", "region_code", "investment_type",
                                                             "counts", "five_key", *FIGURES)])
    projects = sa.table("projects", sa.column("code"), sa.column("body"), sa.column("name"))
    names = [{"c": code, "n": json.loads(body).get("name") or ""} for code, body in conn.execute(
        sa.select(projects.c.code, projects.c.body))]
    if names:
        conn.execute(projects.update().where(projects.c.code == sa.bindparam("c")).values(name=sa.bindparam("n")), names)
    on_time = sa.table("coverage_on_time", *[sa.column(n) for n in ("project", "period", "deadline", "region_code",
                                                                   "investment_type", "n", "d")])
    rows = conn.execute(sa.select(coverage.c.project, coverage.c.period, coverage.c.region_code,
                                  coverage.c.investment_type, coverage.c.counts)).all()
    for start in range(0, len(rows), 1000):
        figures, deadlines = [], []
        for r in rows[start:start + 1000]:
            counts = json.loads(r.counts)
            figures.append({"p": r.project, "m": r.period, **{n: int(counts.get(n) or 0) for n in FIGURES},
                            "five_key": int(r.period.replace("-", "")) * 32
                            + sum(1 << i for i, n in enumerate(FIVE) if counts.get(n))})
            for g in counts.get("on_time_by_deadline") or []:
                if g.get("deadline"):
                    deadlines.append({"project": r.project, "period": r.period, "deadline": g["deadline"],
                                      "region_code": r.region_code, "investment_type": r.investment_type,
                                      "n": int(g["n"]), "d": int(g["d"])})
        if figures:
            conn.execute(coverage.update().where(coverage.c.project == sa.bindparam("p"), coverage.c.period == sa.bindparam("m"))
                         .values({n: sa.bindparam(n) for n in (*FIGURES, "five_key")}), figures)
        if deadlines:
            conn.execute(on_time.insert(), deadlines)
    sums = ", ".join(f"SUM({n})" for n in FIGURES)
    conn.execute(sa.text(f"INSERT INTO coverage_rollup (period, region_code, investment_type, version, projects, "
                         f"{', '.join(FIGURES)}) SELECT period, region_code, investment_type, MAX(version), COUNT(*), "
                         f"{sums} FROM coverage GROUP BY period, region_code, investment_type"))
    conn.execute(sa.text("INSERT INTO coverage_rollup_on_time (period, region_code, investment_type, deadline, n, d) "
                         "SELECT period, region_code, investment_type, deadline, SUM(n), SUM(d) FROM coverage_on_time "
                         "GROUP BY period, region_code, investment_type, deadline"))


def downgrade() -> None:
    op.drop_table("coverage_rollup_on_time")
    op.drop_table("coverage_rollup")
    op.drop_index("ix_coverage_on_time_period_region_code", table_name="coverage_on_time")
    op.drop_table("coverage_on_time")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("name")
    with op.batch_alter_table("coverage") as batch:
        for name in (*FIGURES, "five_key"):
            batch.drop_column(name)
