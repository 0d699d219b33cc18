"""an index of the outbox's waiting rows, in id order

Revision ID: 0023_outbox_waiting_index
Revises: 0022_tasks_done_by_index

The sender reads the first thousand waiting messages in id order on every pass. Through `(status, not_before)` or
the primary key, PostgreSQL's choice hung on its statistics: when they promised many waiting rows (taken during a
burst, or guessed for a bound status in a generic plan) it walked the primary key in id order and tested every
message ever sent (5.5–7.9 ms a pass at 13,000 messages in the bot bench's open loop, against 0.5 ms otherwise).
A partial index of the waiting rows alone, by id, answers the read as a short ordered range whatever they say; a
message leaves it when it is claimed. The same on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_outbox_waiting_index"
down_revision: str | None = "0022_tasks_done_by_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_waiting"
WAITING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(INDEX, "outbox", ["id"], postgresql_where=WAITING, sqlite_where=WAITING)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="outbox")
