"""`invites.picker_ref`: the `/invite` picker message an invite was made from, one invite per message

Revision ID: 0044_invite_picker
Revises: 0043_catalog_unit_code

«Create link» pressed twice on one picker message (a double tap, or a press Telegram delivers again as a new update)
made two invites, each letting in as many people as the admin chose. The invite now keeps the outbox row of the
picker message it was made from, and a unique index over (created_by, picker_ref) lets only one be made for it, on
both databases and whichever worker handles the press; invites made before have none (NULLs never collide).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044_invite_picker"
down_revision: str | None = "0043_catalog_unit_code"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ux_invites_picker"


def upgrade() -> None:
    op.add_column("invites", sa.Column("picker_ref", sa.Integer(), nullable=True))
    op.create_index(INDEX, "invites", ["created_by", "picker_ref"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="invites")
    # A plain DROP COLUMN (SQLite has it since 3.35), not a batch: a batch copies the table and drops the old one.
    op.drop_column("invites", "picker_ref")
