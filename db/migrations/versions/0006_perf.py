"""the case row's version

Revision ID: 0006_perf
Revises: 0005_escalate
Create Date: 2026-11-30 13:30:00

A case's state is its row, written once per step; `version` grows with every write and the write checks it
(`UPDATE … WHERE id = :id AND version = :read`), so two writers can never both build on the same state
even where the row is read without a lock.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_perf"
down_revision: str | None = "0005_escalate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("version")
