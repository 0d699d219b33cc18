"""an index of the outbox by case and chat

Revision ID: 0032_outbox_case
Revises: 0031_started_before

A card that brings a case's files (a judge's photos, the accompanying document) leaves out those the person was
already sent in that case (services/outbox.py `files_sent`): the chat's rows about the case, read at each such
card. Partial: most messages name no case, and those would be an entry written at every insert for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_outbox_case"
down_revision: str | None = "0031_started_before"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_case"
ABOUT_A_CASE = sa.text("case_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(INDEX, "outbox", ["case_id", "chat_id"], postgresql_where=ABOUT_A_CASE, sqlite_where=ABOUT_A_CASE)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="outbox")
