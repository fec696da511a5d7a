"""Project-periods waiting for a recheck (so a process killed mid-upload leaves no stale view).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

key = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pending_rechecks",
        sa.Column("project", key, nullable=False),
        sa.Column("period", key, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "period", name="pk_pending_rechecks"),
    )


def downgrade() -> None:
    op.drop_table("pending_rechecks")
