"""panel sessions and the wrong-token throttle

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:20:00

The web panel's server-side sessions (only a hash of the cookie's id is stored) and wrong admin tokens per
client address, shared by every worker.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import db.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panel_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_panel_sessions")),
    )
    with op.batch_alter_table("panel_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_panel_sessions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "panel_login_failures",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_panel_login_failures")),
    )


def downgrade() -> None:
    op.drop_table("panel_login_failures")
    with op.batch_alter_table("panel_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_panel_sessions_expires_at"))
    op.drop_table("panel_sessions")
