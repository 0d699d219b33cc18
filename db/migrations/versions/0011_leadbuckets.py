"""lead rate limits kept in the database

Revision ID: 0011_leadbuckets
Revises: 0010_channels
Create Date: 2026-11-30 16:45:00

`lead_buckets`: one row per site form, a token bucket of the submissions it may still make, so that the limit
holds across restarts and across workers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0011_leadbuckets"
down_revision: str | None = "0010_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_buckets",
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("form", name=op.f("pk_lead_buckets")),
    )


def downgrade() -> None:
    op.drop_table("lead_buckets")
