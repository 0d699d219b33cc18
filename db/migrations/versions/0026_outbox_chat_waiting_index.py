"""an index of each chat's waiting and in-flight messages

Revision ID: 0026_outbox_chat_waiting_index
Revises: 0025_inbox_waiting_index

An update's messages are claimed right after its commit (`services/delivery/queue.py` `_HANDED_PG`,
`_HANDED_SQLITE`): the chat's first waiting row, where no older row of the chat waits and none is being sent, and
whether rows wait behind it; then those rows are read (`_WAITING_IN`). Each finds the chat's rows by chat_id and
status, and the only chat index held every message the chat ever had: each read walked a person's whole history
(3,000 messages: ~3,000 index entries a statement, ~6,000 under a generic plan with a burst's statistics, which
took the status indexes instead). A partial index of the waiting and in-flight rows by chat holds a few entries a
chat; a message leaves it when it is sent (or fails). By chat_id alone: on SQLite the rowid (the id) follows it in
every entry, so `id < …` is still a range there, and SQLite chose a (chat_id, id) index with this condition for the
conditions on older rows but not for the claim itself (the plain chat index tied with it); on PostgreSQL the few
waiting rows of a chat are filtered by id. Its condition is spelt as two equalities joined by OR, not IN: SQLite
uses a partial index only when a term of the query's WHERE is one of the condition's OR terms (`status = 'pending'`
does not imply `status IN (…)` by its rules: with IN it used the plain chat index everywhere); PostgreSQL proves
either. The plain chat index goes: nothing reads a chat's whole history, and with statistics taken while a
broadcast waited PostgreSQL still preferred it (3,000 entries a claim).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_outbox_chat_waiting_index"
down_revision: str | None = "0025_inbox_waiting_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_chat_waiting"
WAITING = sa.text("status = 'pending' OR status = 'sending'")


def upgrade() -> None:
    op.create_index(INDEX, "outbox", ["chat_id"], postgresql_where=WAITING, sqlite_where=WAITING)
    op.drop_index("ix_outbox_chat_id", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_chat_id", "outbox", ["chat_id"])
    op.drop_index(INDEX, table_name="outbox")
