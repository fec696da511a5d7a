"""The state tables (SQLAlchemy Core). Migrations in ``migrations/versions`` create the same.

Records that the service reads whole (projects, tokens, receipts, audit events) are kept as
their msgspec JSON in ``body``, next to the columns that queries and constraints need.
Uniqueness and "which upload is current" are constraints here, never checks in Python.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

# Stable constraint names, so later migrations can refer to them on both databases.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# Codes, periods and ids: no length, since PostgreSQL would enforce one and SQLite would not,
# and the service validates them before they get here. The migration creates them on PostgreSQL
# with COLLATE "C", so they compare byte by byte as SQLite's BINARY does: "ordered by code" is one
# order everywhere, not the server locale's, and prefix searches can use the index. (Not declared
# here: SQLAlchemy would then cast every parameter with COLLATE, which PostgreSQL refuses in BETWEEN.)
Key = String()

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
SerialKey = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Stored in UTC; read back timezone-aware on both databases (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


projects = Table(
    "projects", metadata,
    Column("code", Key, primary_key=True),
    Column("region_code", Key, nullable=False, index=True),
    Column("contractor_credit_code", Key, nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("name", Text, nullable=False, server_default=""),  # for region views (also in body)
    # ISO dates (also in body): which projects a month's 未上传 list expects (0009).
    Column("start_date", Key),
    Column("end_date", Key),
    # A region's names and dates without the bodies (0005, dates 0009).
    Index("ix_projects_names", "region_code", "code", "name", "start_date", "end_date"),
)

tokens = Table(
    "tokens", metadata,
    Column("token_hash", Key, primary_key=True),  # sha256 hex; the token itself is never stored
    Column("body", Text, nullable=False),
)

# seq is the key because only a primary key auto-numbers on SQLite; upload_id is unique.
uploads = Table(
    "uploads", metadata,
    Column("seq", SerialKey, primary_key=True, autoincrement=True),
    Column("upload_id", Key, nullable=False, unique=True),
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("kind", Key, nullable=False),
    Column("sha256", Key, nullable=False),  # refused uploads: "digest:upload_id" (queries.dedupe_key)
    Column("status", Key, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("project", "kind", "period", "sha256"),  # a byte-identical re-upload is the same upload
    Index(None, "project", "period", "kind", "seq"),
    sqlite_autoincrement=True,  # never reuse a seq: it is the order of arrival
)

current = Table(
    "current_uploads", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("kind", Key, nullable=False),
    Column("upload_id", Key, ForeignKey("uploads.upload_id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("project", "period", "kind"),
)

current_history = Table(
    "current_history", metadata,
    Column("seq", SerialKey, primary_key=True, autoincrement=True),
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("kind", Key, nullable=False),
    Column("upload_id", Key, ForeignKey("uploads.upload_id"), nullable=False),
    Column("reason", Key, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "project", "period", "kind", "seq"),
    sqlite_autoincrement=True,
)

# Batch ids are a bank's own, so they are unique per payer account.
batches = Table(
    "batches", metadata,
    Column("payer", Key, nullable=False),
    Column("batch_id", Key, nullable=False),
    Column("sha256", Key, nullable=False),
    Column("body_key", Text, nullable=False),
    Column("receipt", Text),  # JSON, written once the batch is processed
    PrimaryKeyConstraint("payer", "batch_id"),
    Index(None, "batch_id"),  # an admin looks a batch up without its payer
)

batch_parts = Table(
    "batch_parts", metadata,
    Column("seq", SerialKey, primary_key=True, autoincrement=True),
    Column("payer", Key, nullable=False),
    Column("batch_id", Key, nullable=False),
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("table_key", Text, nullable=False),
    UniqueConstraint("project", "period", "table_key"),  # a replayed batch records its part once
    sqlite_autoincrement=True,
)

# One row per bank transaction a payer account has stored: the same payout is kept once.
bank_txns = Table(
    "bank_txns", metadata,
    Column("payer", Key, nullable=False),
    Column("bank_txn_id", Key, nullable=False),
    Column("batch_id", Key, nullable=False),
    Column("digest", Key, nullable=False),
    PrimaryKeyConstraint("payer", "bank_txn_id"),
)

# Append-only: the migration adds triggers that refuse UPDATE and DELETE.
audit_events = Table(
    "audit_events", metadata,
    Column("seq", SerialKey, primary_key=True, autoincrement=True),
    Column("day", Key, nullable=False),  # UTC date of the event, YYYY-MM-DD
    Column("at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),
    Index(None, "day", "seq"),
    sqlite_autoincrement=True,
)

column_maps = Table(
    "column_maps", metadata,
    Column("project", Key, nullable=False),
    Column("kind", Key, nullable=False),
    Column("mapping", Text, nullable=False),
    PrimaryKeyConstraint("project", "kind"),
)

# A counter row per name: next_version takes tickets from 'index_version'.
counters = Table(
    "counters", metadata,
    Column("name", Key, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# The version of the worker index rows currently stored for a project-period.
worker_index = Table(
    "worker_index", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("project", "period"),
)

# One row per worker and project-period; the days present are bits of ``days`` (bit d-1 = day d),
# so a 100,000-row attendance file is a few thousand rows here, and "present on the same day on
# two projects" is a join on (period, id_key) with a bitwise AND.
worker_days = Table(
    "worker_days", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("id_key", BigInteger, nullable=False),  # from the SHA-256 of the ID number, never the number
    Column("days", BigInteger, nullable=False),
    PrimaryKeyConstraint("project", "period", "id_key"),
    Index(None, "period", "id_key"),
    Index(None, "id_key", "period"),  # one worker's months (the ledger)
)

worker_months = Table(
    "worker_months", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("id_key", BigInteger, nullable=False),
    Column("id_masked", Key, nullable=False),
    Column("name", Text, nullable=False),
    Column("days", Integer, nullable=False),
    Column("expected_fen", BigInteger),
    Column("payroll_net_fen", BigInteger),
    Column("paid_fen", BigInteger, nullable=False),
    Column("paid_dedicated_fen", BigInteger, nullable=False),
    Column("paid_at", Text, nullable=False),  # JSON lists
    Column("paid_from", Text, nullable=False),
    Column("findings", Text, nullable=False),  # rule codes up to the pay deadline
    # After it (NOT_PAID in place of PAYMENT_PENDING…); null in rows stored before 0007.
    Column("findings_overdue", Text),
    Column("deadline", Key),  # ISO date
    # Paid into the worker's own account (domain.md's "paid"); null in rows stored before 0008.
    Column("paid_own_fen", BigInteger),
    PrimaryKeyConstraint("project", "period", "id_key"),  # also the (project, period) index
    Index(None, "id_key", "period"),
)

# The numerators and denominators of one project-period (domain.md's rates) and its five systems
# (0/1): typed columns, so a region's figures are sums the database computes, not JSON parsed by
# the reader. ``counts`` keeps the whole row as computed (with the error counts /risks reads).
COUNT_COLUMNS = ("w_n", "a_n", "paid_n", "realname_n", "contract_n", "dedicated_n", "full_pay_n", "full_pay_d",
                 "on_time_n", "on_time_d", "ssc_count", "ssc_fen", "dedicated_count", "wages_fen", "arrears_fen")
FIVE_COLUMNS = ("five_realname", "five_dedicated_account", "five_guarantee", "five_bank_payroll", "five_notice_board")


def _figures() -> list[Column]:
    return [Column(name, BigInteger, nullable=False, server_default="0") for name in (*COUNT_COLUMNS, *FIVE_COLUMNS)]


coverage = Table(
    "coverage", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("region_code", Key, nullable=False),
    Column("investment_type", Key, nullable=False),
    Column("counts", Text, nullable=False),
    *_figures(),
    # yyyymm * 32 + the five systems as bits: the greatest over some months carries the latest
    # month's five systems, for a range's per-project list, in one integer MAX.
    Column("five_key", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("project", "period"),
    # Covering (migration 0005), so a region's month never visits the wide rows with their
    # JSON. A range's per-project sums read coverage_cumulative (0006 dropped the (region,
    # project) index they used); a contractor's few projects are found by the primary key.
    Index("ix_coverage_figures_by_period", "period", "region_code", "project", "investment_type",
          *COUNT_COLUMNS, *FIVE_COLUMNS, "five_key"),
)

# On-time pay of a coverage row per pay deadline: whoever reads it later counts only the
# deadlines passed by then. Region and type are repeated so a region's sums need no join.
coverage_on_time = Table(
    "coverage_on_time", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("deadline", Key, nullable=False),  # ISO date
    Column("region_code", Key, nullable=False),
    Column("investment_type", Key, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("d", BigInteger, nullable=False),
    PrimaryKeyConstraint("project", "period", "deadline"),
    # Covering (0006): a month's on-time rows without visiting the table (0.3 s of a cold view).
    Index("ix_coverage_on_time_by_period", "period", "region_code", "project", "deadline", "n", "d"),
)

# The coverage rows summed per (month, region code, investment type), recomputed in the same
# transaction as every coverage write under a lock on this row: a month's totals and a trend
# read a few hundred rows at any city size. ``version`` is the greatest of the summed rows, so
# (sum of projects, greatest version) over some months changes whenever any of their rows does.
coverage_rollup = Table(
    "coverage_rollup", metadata,
    Column("period", Key, nullable=False),
    Column("region_code", Key, nullable=False),
    Column("investment_type", Key, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("projects", BigInteger, nullable=False),
    *_figures(),
    PrimaryKeyConstraint("period", "region_code", "investment_type"),
)

coverage_rollup_on_time = Table(
    "coverage_rollup_on_time", metadata,
    Column("period", Key, nullable=False),
    Column("region_code", Key, nullable=False),
    Column("investment_type", Key, nullable=False),
    Column("deadline", Key, nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("d", BigInteger, nullable=False),
    PrimaryKeyConstraint("period", "region_code", "investment_type", "deadline"),
)

# Each project's coverage figures summed from its first month up to each month (migration
# 0006), so a range's per-project sums are two rows per project, not one per month: the value at
# its last month less the value before its first. Dense: one row for every month from the
# project's first coverage month to its latest (a month without a row repeats the one before),
# and ``latest`` = 1 marks the latest. ``months`` counts the coverage rows summed, so "had data
# in the range" is a difference too; on-time pay is summed over every deadline (a reader counts
# it only for months whose deadlines have all passed); ``five_key``, region and type are the
# latest summed month's. Rewritten from the project's coverage rows in the transaction of every
# coverage write.
coverage_cumulative = Table(
    "coverage_cumulative", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("region_code", Key, nullable=False),
    Column("investment_type", Key, nullable=False),
    Column("latest", Integer, nullable=False),
    Column("months", BigInteger, nullable=False),
    *[Column(name, BigInteger, nullable=False) for name in COUNT_COLUMNS],
    Column("five_key", BigInteger, nullable=False),
    PrimaryKeyConstraint("project", "period"),
)
CUMULATIVE_READ = ("region_code", "project", "investment_type", "months", *COUNT_COLUMNS, "five_key")
# A month's values in (period, region) order; the projects whose latest month is in a range.
Index("ix_coverage_cumulative_by_period", coverage_cumulative.c.period,
      *[coverage_cumulative.c[n] for n in CUMULATIVE_READ])
Index("ix_coverage_cumulative_latest", coverage_cumulative.c.period,
      *[coverage_cumulative.c[n] for n in CUMULATIVE_READ],
      sqlite_where=text("latest = 1"), postgresql_where=text("latest = 1"))

# A project-period whose inputs changed and whose derived rows (worker index, coverage) are not
# yet recomputed: marked in the same breath as the change, cleared by the recheck that read the
# tables after it. A mark left by a process that died mid-upload is picked up by the next
# reader (views show "updating" meanwhile), so a kill never leaves a view silently stale.
pending_rechecks = Table(
    "pending_rechecks", metadata,
    Column("project", Key, nullable=False),
    Column("period", Key, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("project", "period"),
)
