"""an index of the open tasks, by case

Revision ID: 0024_tasks_open_case_index
Revises: 0023_outbox_waiting_index

A case step loads its case with its open tasks. Through `ix_tasks_case_id` it read every task the case ever had,
done or not, and tested each one's status: a long case (a medical order's hundreds of item tracks, nearly all
done) paid for all of them on every step (two loads of a claim with 500 done tasks read 1,006 entries). A partial
index of the open tasks alone, by case, answers the load with the case's open tasks only; a task leaves it when it
closes. The load writes `status = 'open'` into its SQL, so the index's condition is provably implied. The same on
SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_tasks_open_case_index"
down_revision: str | None = "0023_outbox_waiting_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tasks_open_case"
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index(INDEX, "tasks", ["case_id"], postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="tasks")
