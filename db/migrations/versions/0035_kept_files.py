"""files a person sent when no question asked for one, kept to be offered at the next question that takes a file

Revision ID: 0035_kept_files
Revises: 0034_outbox_case_files

`users.kept_files`: {"at": when the last one came, "album": its media_group_id, "files": [file refs]}: the files
themselves are rows of `files` with no case yet. On the person's row, read with every update anyway: a question for
a file looks at it with no statement of its own, and an ordinary update reads one NULL more.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0035_kept_files"
down_revision: str | None = "0034_outbox_case_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kept_files",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite has it since 3.35), not a batch: a batch copies `users` into a new
    # table and drops the old one, which every table pointing at people (audit, tasks, cases …) forbids on SQLite
    # once any of their rows refers to a person.
    op.drop_column("users", "kept_files")
