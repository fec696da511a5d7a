"""The initial state tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Written out rather than taken from schema.py, so this revision stays what it was when
# schema.py changes; tests compare the migrated database with schema.py.
serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
when = sa.DateTime(timezone=True)
key = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # byte order on both databases


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("code", key, nullable=False),
        sa.Column("region_code", key, nullable=False),
        sa.Column("contractor_credit_code", key, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_projects"),
    )
    op.create_index("ix_projects_region_code", "projects", ["region_code"])
    op.create_index("ix_projects_contractor_credit_code", "projects", ["contractor_credit_code"])

    op.create_table(
        "tokens",
        sa.Column("token_hash", key, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_tokens"),
    )

    op.create_table(
        "uploads",
        sa.Column("seq", serial, autoincrement=True, nullable=False),
        sa.Column("upload_id", key, nullable=False),
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("kind", key, nullable=False),
        sa.Column("sha256", key, nullable=False),
        sa.Column("status", key, nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_uploads"),
        sa.UniqueConstraint("upload_id", name="uq_uploads_upload_id"),
        sa.UniqueConstraint("project", "kind", "period", "sha256", name="uq_uploads_project_kind_period_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_uploads_project_period_kind_seq", "uploads", ["project", "period", "kind", "seq"])

    op.create_table(
        "current_uploads",
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("kind", key, nullable=False),
        sa.Column("upload_id", key, nullable=False),
        sa.Column("at", when, nullable=False),
        sa.PrimaryKeyConstraint("project", "period", "kind", name="pk_current_uploads"),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.upload_id"], name="fk_current_uploads_upload_id_uploads"),
    )

    op.create_table(
        "current_history",
        sa.Column("seq", serial, autoincrement=True, nullable=False),
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("kind", key, nullable=False),
        sa.Column("upload_id", key, nullable=False),
        sa.Column("reason", key, nullable=False),
        sa.Column("at", when, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_current_history"),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.upload_id"], name="fk_current_history_upload_id_uploads"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_current_history_project_period_kind_seq", "current_history", ["project", "period", "kind", "seq"])

    op.create_table(
        "batches",
        sa.Column("payer", key, nullable=False),
        sa.Column("batch_id", key, nullable=False),
        sa.Column("sha256", key, nullable=False),
        sa.Column("body_key", sa.Text(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("payer", "batch_id", name="pk_batches"),
    )
    op.create_index("ix_batches_batch_id", "batches", ["batch_id"])

    op.create_table(
        "batch_parts",
        sa.Column("seq", serial, autoincrement=True, nullable=False),
        sa.Column("payer", key, nullable=False),
        sa.Column("batch_id", key, nullable=False),
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("table_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_batch_parts"),
        sa.UniqueConstraint("project", "period", "table_key", name="uq_batch_parts_project_period_table_key"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "bank_txns",
        sa.Column("payer", key, nullable=False),
        sa.Column("bank_txn_id", key, nullable=False),
        sa.Column("batch_id", key, nullable=False),
        sa.Column("digest", key, nullable=False),
        sa.PrimaryKeyConstraint("payer", "bank_txn_id", name="pk_bank_txns"),
    )

    op.create_table(
        "audit_events",
        sa.Column("seq", serial, autoincrement=True, nullable=False),
        sa.Column("day", key, nullable=False),
        sa.Column("at", when, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_day_seq", "audit_events", ["day", "seq"])
    # The trail cannot be rewritten through any connection, not only through the service.
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} ON audit_events "
                       "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
    else:
        op.execute("CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$")
        op.execute("CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
                   "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()")
        op.execute("CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()")

    op.create_table(
        "column_maps",
        sa.Column("project", key, nullable=False),
        sa.Column("kind", key, nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("project", "kind", name="pk_column_maps"),
    )

    counters = op.create_table(
        "counters",
        sa.Column("name", key, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.bulk_insert(counters, [{"name": "index_version", "value": 0}])

    op.create_table(
        "worker_index",
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project", "period", name="pk_worker_index"),
    )

    op.create_table(
        "worker_days",
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("id_key", sa.BigInteger(), nullable=False),
        sa.Column("days", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project", "period", "id_key", name="pk_worker_days"),
    )
    op.create_index("ix_worker_days_period_id_key", "worker_days", ["period", "id_key"])

    op.create_table(
        "worker_months",
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("id_key", sa.BigInteger(), nullable=False),
        sa.Column("id_masked", key, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("expected_fen", sa.BigInteger(), nullable=True),
        sa.Column("payroll_net_fen", sa.BigInteger(), nullable=True),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_dedicated_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sa.Text(), nullable=False),
        sa.Column("paid_from", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("project", "period", "id_key", name="pk_worker_months"),
    )
    op.create_index("ix_worker_months_id_key_period", "worker_months", ["id_key", "period"])

    op.create_table(
        "coverage",
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("region_code", key, nullable=False),
        sa.Column("investment_type", key, nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("project", "period", name="pk_coverage"),
    )
    op.create_index("ix_coverage_period_region_code", "coverage", ["period", "region_code"])


def downgrade() -> None:
    for table in ("coverage", "worker_months", "worker_days", "worker_index", "counters", "column_maps", "audit_events",
                  "bank_txns", "batch_parts", "batches", "current_history", "current_uploads", "uploads", "tokens",
                  "projects"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_append_only()")
