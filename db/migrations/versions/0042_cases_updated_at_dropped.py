"""`ix_cases_updated_at` dropped: `ix_cases_search_stale` begins with its columns and serves what it served

Revision ID: 0042_cases_updated_at_dropped
Revises: 0041_case_search

`ix_cases_updated_at` (updated_at, id; revision 0027) is the first two columns of `ix_cases_search_stale`
(updated_at, id, version; revision 0041), so every range or order the one gives the other gives too: the panel's case
list and its filters, its search, the admins' list of cases needing attention, «my cases» walked from the newest, the
search's stale cases. Measured with 5,000 cases (EXPLAIN on both databases, with both indexes and with the newer one
alone): each query's plan is the same with the newer index in its place; both databases already chose the newer one
while both were there. Every write of a case changes its `updated_at` (and `version`), so each of the two took an
entry at every step: one index fewer is one entry fewer a step. On PostgreSQL the newer index's entries are no wider
(a timestamp and two integers take the alignment the timestamp and one integer took).

Downgrade creates it again (for a release that reads it by name; none does).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0042_cases_updated_at_dropped"
down_revision: str | None = "0041_case_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_cases_updated_at"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="cases")


def downgrade() -> None:
    op.create_index(INDEX, "cases", ["updated_at", "id"])
