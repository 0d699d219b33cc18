"""a case's title in the other languages of its process's title

Revision ID: 0029_case_titles
Revises: 0028_indexes_without_history

`start.title` may be one template or one per language ({ru: …, en: …}). `cases.title` keeps the title in the
default language (Russian), as lists, search and exports read it; `cases.titles` holds the other languages' titles
({"en": "…"}), written by the same statement of the step that renders them, and NULL for a process with one title.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029_case_titles"
down_revision: str | None = "0028_indexes_without_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("titles", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("titles")
