"""an index of the inbox's waiting updates, in update_id order

Revision ID: 0025_inbox_waiting_index
Revises: 0024_tasks_open_case_index

A pass reads the due updates in update_id order, at most 200 (`services/inbox/leasing.py` `_pending`, and `_lease`
for webhook workers), and the timed pass asks whether there is one (`_ANY_DUE`). Through `(status, person_id,
update_id)` or the primary key, PostgreSQL's choice hung on its statistics: when they promised more than a few
waiting updates (taken during a burst or a backlog, or guessed in a generic plan) it walked the primary key in
update_id order and tested every update ever received — ~10,000 index entries a pass, 3.6–5.6 ms, in the bot bench.
A partial index of the waiting updates alone, by update_id, answers the read as a short ordered range whatever they
say; an update leaves it when it is handled. The same on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_inbox_waiting_index"
down_revision: str | None = "0024_tasks_open_case_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_inbox_waiting"
WAITING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(INDEX, "inbox", ["update_id"], postgresql_where=WAITING, sqlite_where=WAITING)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="inbox")
