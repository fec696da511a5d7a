"""A refused upload no longer holds its bytes' place: the same file sent again is read anew.

The uploads table's sha256 column becomes the dedupe key: the digest for accepted uploads (the
same bytes again are that upload), "digest:upload_id" for refused ones. Receipts keep the digest.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("UPDATE uploads SET sha256 = sha256 || ':' || upload_id WHERE status <> 'accepted'"))


def downgrade() -> None:
    # One refused upload per digest takes the plain digest back, unless that digest was accepted
    # since (the old constraint allowed only one row per digest); the others keep the longer key.
    op.execute(sa.text(
        "UPDATE uploads SET sha256 = substr(sha256, 1, 64) WHERE status <> 'accepted' AND seq IN ("
        "SELECT MIN(r.seq) FROM uploads r WHERE r.status <> 'accepted' AND NOT EXISTS (SELECT 1 FROM uploads a "
        "WHERE a.status = 'accepted' AND a.project = r.project AND a.kind = r.kind AND a.period = r.period "
        "AND a.sha256 = substr(r.sha256, 1, 64)) GROUP BY r.project, r.kind, r.period, substr(r.sha256, 1, 64))"))
