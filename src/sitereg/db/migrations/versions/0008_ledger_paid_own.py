"""The ledger's "paid" is what reached the worker's own account.

domain.md counts as paid only what went into the worker's own account (the roster's bank card
or social-security card, in the worker's name). The ledger showed every payment for the worker,
so 1400.00 paid to a foreman's card read as paid beside an UNDERPAID finding saying 0.00
arrived. Rows now keep the own-account sum too; rows stored before this revision have none and
are shown as stored until their project-period is rechecked (any upload or batch, or
``sitereg rebuild-index``).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("worker_months", sa.Column("paid_own_fen", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("worker_months", "paid_own_fen")
