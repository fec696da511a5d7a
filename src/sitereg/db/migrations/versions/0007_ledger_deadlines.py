"""The worker ledger judged on the day it is read, and its cross-project codes from the index.

A ledger row kept the finding codes of the day its project-period was last rechecked: a
worker unpaid then showed PAYMENT_PENDING for ever, although the period's findings say
NOT_PAID once the deadline has passed. Rows now keep the codes after the deadline too, and the
deadline. Rows stored before this revision have neither and are shown as stored until their
project-period is rechecked (any upload or batch, or ``sitereg rebuild-index``).

The ledger also reads the worker's days on every project from ``worker_days`` (for
ATTENDANCE_OVERLAP): an (id_key, period) index, as ``worker_months`` has, makes that one
worker's rows instead of a scan of every worker of the months.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

key = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.add_column("worker_months", sa.Column("findings_overdue", sa.Text(), nullable=True))
    op.add_column("worker_months", sa.Column("deadline", key, nullable=True))
    op.create_index("ix_worker_days_id_key_period", "worker_days", ["id_key", "period"])


def downgrade() -> None:
    op.drop_index("ix_worker_days_id_key_period", table_name="worker_days")
    op.drop_column("worker_months", "deadline")
    op.drop_column("worker_months", "findings_overdue")
