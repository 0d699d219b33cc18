"""an index on timers.task_id

Revision ID: 0019_timer_task_index
Revises: 0018_sqlite_search

A step cancels the pending timers of the task it closes (`UPDATE timers … WHERE status = 'pending' AND task_id =
…`): without an index on `task_id` that walked every pending timer (the (status, due_at) index gives no better),
a cost growing with the number of open cases — at 100,000 of them, every step. Deleting a task (its foreign key
cascades to its timers) had the same walk.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019_timer_task_index"
down_revision: str | None = "0018_sqlite_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_timers_task_id", "timers", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_timers_task_id", table_name="timers")
