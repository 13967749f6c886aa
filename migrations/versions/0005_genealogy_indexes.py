"""genealogy indexes: accepted, unreversed scans by lot and by batch

The forward trace walks lot -> batches that used it; the backward trace walks batch -> lots it
consumed. Partial indexes on exactly the scans that count make both walks index-only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USED = sa.text("outcome = 'accepted' AND reversed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_scan_used_lot", "scan", ["lot_id", "batch_id"], postgresql_where=USED, sqlite_where=USED
    )
    op.create_index(
        "ix_scan_used_batch",
        "scan",
        ["batch_id", "lot_id"],
        postgresql_where=USED,
        sqlite_where=USED,
    )


def downgrade() -> None:
    op.drop_index("ix_scan_used_batch", "scan")
    op.drop_index("ix_scan_used_lot", "scan")
