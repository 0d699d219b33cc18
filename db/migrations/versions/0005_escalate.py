"""a question the bot asked a person outside any form

Revision ID: 0005_escalate
Revises: 0004
Create Date: 2026-11-30 13:30:00

`users.prompt`: what the person's next text message answers when it is not a form's answer (the reason for
moving an escalated task's deadline), kept in the database like a form's draft, so a restart loses nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0005_escalate"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prompt", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("prompt")
