"""the version new cases start with is marked, not taken to be the newest

Revision ID: 0038_current_definition
Revises: 0037_order_cancel_export

The panel's «Roll back to this version» stored a copy of version N as a new, newest version: every rollback added a
row (N+1, N+2, …) to the versions list and to the migrate form's choices, labelled «version N». Now version N itself
becomes current again: `definitions.is_current` marks the one version of each process new cases start with (one per
process, held by a partial unique index). Until now the current version was the newest, so that one is marked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038_current_definition"
down_revision: str | None = "0037_order_cancel_export"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("is_current")
definitions = sa.table("definitions", sa.column("id", sa.Integer), sa.column("process", sa.String),
                       sa.column("is_current", sa.Boolean))  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("definitions") as batch:
        batch.add_column(sa.Column("is_current", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    newest = sa.select(sa.func.max(definitions.c.id)).group_by(definitions.c.process)
    op.execute(definitions.update().where(definitions.c.id.in_(newest)).values(is_current=True))
    op.create_index("ux_definitions_current", "definitions", ["process"], unique=True, postgresql_where=CURRENT,
                    sqlite_where=CURRENT)  # fmt: skip


def downgrade() -> None:
    # Before this revision the newest version was current: an earlier one made current again is no longer so.
    op.drop_index("ux_definitions_current", table_name="definitions")
    # Plain DROP COLUMNs (SQLite has them since 3.35), not a batch: a batch copies the table and drops the old one,
    # which SQLite refuses while rows of other tables point at it.
    op.drop_column("definitions", "is_current")
