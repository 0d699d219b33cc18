"""the outbox's index by case holds only the rows that send files

Revision ID: 0034_outbox_case_files
Revises: 0033_company_directory

A card leaves out the files its person was already sent in the case. Revision 0032 indexed every outbox row about a
case for that read, notices and cards too (hundreds in a long case), and it was a statement of its own at each card
with files. The read now comes with the case's load at every step (services/cases/case_row.py), so its index holds
the case's file rows alone: a few entries, and none for most cases.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034_outbox_case_files"
down_revision: str | None = "0033_company_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As db/models/delivery.py spells it (CASE_FILE_ROWS): the queries' terms must match it for the index to be used.
CASE_FILES = sa.text("case_id IS NOT NULL AND method IN ('sendPhoto', 'sendDocument', 'sendMediaGroup')")
ABOUT_A_CASE = sa.text("case_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_case", table_name="outbox")
    op.create_index("ix_outbox_case_files", "outbox", ["case_id", "chat_id"], postgresql_where=CASE_FILES,
                    sqlite_where=CASE_FILES)  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_outbox_case_files", table_name="outbox")
    op.create_index("ix_outbox_case", "outbox", ["case_id", "chat_id"], postgresql_where=ABOUT_A_CASE,
                    sqlite_where=ABOUT_A_CASE)  # fmt: skip
