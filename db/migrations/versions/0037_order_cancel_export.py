"""an order 1C has, cancelled here, goes to 1C again marked «Отменен»

Revision ID: 0037_order_cancel_export
Revises: 0036_search_codes

A dealer's order request 1C had (sent in a query, or accepted) and that was then cancelled here left 1C holding it:
the next `type=sale&mode=query` was empty. Its cancellation now takes the way the order took, with its own pair of
marks: `cancel_queried_at` when a query carried it, `cancel_exported_at` once 1C confirmed that query.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0037_order_cancel_export"
down_revision: str | None = "0036_search_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("order_exports") as batch:
        batch.add_column(sa.Column("cancel_queried_at", db.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancel_exported_at", db.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite has them since 3.35), not a batch: a batch copies the table and drops the old one,
    # which SQLite refuses while rows of other tables point at it.
    op.drop_column("order_exports", "cancel_exported_at")
    op.drop_column("order_exports", "cancel_queried_at")
