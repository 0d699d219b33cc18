"""files people sent that no case took are found by an index of their own, to be deleted a day after they came

Revision ID: 0039_stray_files
Revises: 0038_current_definition

A file sent when no question asked for one (`users.kept_files`, revision 0035) stays a row of `files` with no case
if no form took it: stale after a day, declined, or pushed out by newer ones, it was kept for ever, on disk too. The
scheduler now deletes those a day old (`services.kept_files.drop_stale`). They are the files with Telegram's unique
id and no case (a form's and a comment's files are their case's from the start); most rows with no case are the
bot's own (exports, diagrams, the catalogue's pictures), so a partial index holds just these, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039_stray_files"
down_revision: str | None = "0038_current_definition"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STRAY = sa.text("case_id IS NULL AND tg_unique_id IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_files_stray", "files", ["created_at"], postgresql_where=STRAY, sqlite_where=STRAY)


def downgrade() -> None:
    op.drop_index("ix_files_stray", table_name="files")
