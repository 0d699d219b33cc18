"""an index of a process's cases by status, newest first

Revision ID: 0030_cases_process_status
Revises: 0029_case_titles

«My cases» lists, besides the cases a person started or worked on, the cases of the processes they are told about
or get a digest of (a director: every registered claim; `services/access.py` `told_processes`), open ones and closed
ones apart. Each such process is read as `process = … AND status = … ORDER BY updated_at DESC, id DESC LIMIT 10`:
with this index a short range from its end, where `ix_cases_process_stage` would read every case of the process
(100,000 at the scale bench) to sort them for ten.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030_cases_process_status"
down_revision: str | None = "0029_case_titles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_cases_process_status_updated"


def upgrade() -> None:
    op.create_index(INDEX, "cases", ["process", "status", "updated_at", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="cases")
