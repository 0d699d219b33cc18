"""notification channels: per-kind switches and fallback, templates, phones and e-mails

Revision ID: 0010_channels
Revises: 0009_comments
Create Date: 2026-11-30 16:40:00

`channel_settings`: per notification kind, which of Telegram, e-mail and SMS it goes by and the fallback order;
`message_templates`: admins' templates per kind and part (subject, text, html, sms); a phone and an e-mail per
person, a contact e-mail per organisation; an SMS gateway's message id and delivery report per outbox row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = "0010_channels"
down_revision: str | None = "0009_comments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("report", sa.String(length=200), nullable=True))
        batch.create_index(batch.f("ix_outbox_external_id"), ["external_id"], unique=False)
    op.create_table(
        "channel_settings",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("telegram", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column(
            "fallback", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_channel_settings")),
    )
    op.create_table(
        "message_templates",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "part", name=op.f("pk_message_templates")),
    )


def downgrade() -> None:
    op.drop_table("message_templates")
    op.drop_table("channel_settings")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_external_id"))
        batch.drop_column("report")
        batch.drop_column("external_id")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
        batch.drop_column("phone")
