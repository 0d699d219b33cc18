"""an index on tasks.done_by, for «my cases»

Revision ID: 0022_tasks_done_by_index
Revises: 0021_follow_key_index

«My cases» lists the cases a person started or took part in: took part is a task assigned to them or done by them.
Nothing indexed `done_by`, so every press read the whole tasks table (at 1,000,000 tasks, 160–180 ms for a shop
manager, with every case tested against what it read: the query is now a union, each part through its index).
Partial (done tasks only, the only ones with a `done_by`): a new task's row does not touch it. The same on SQLite,
whose planner also reads `done_by = ?` as implying `done_by IS NOT NULL`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_tasks_done_by_index"
down_revision: str | None = "0021_follow_key_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tasks_done_by"
DONE = sa.text("done_by IS NOT NULL")


def upgrade() -> None:
    op.create_index(INDEX, "tasks", ["done_by"], postgresql_where=DONE, sqlite_where=DONE)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="tasks")
