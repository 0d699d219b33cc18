"""status columns constrained to their declared values

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000

Case, task, timer and outbox statuses were unconstrained VARCHAR(16). Each gets a CHECK constraint listing
the values of its enum in `flows/status.py` (written out here: a migration is a snapshot, a later change to
an enum is a new revision). The column type stays VARCHAR(16). On SQLite the tables are rebuilt (batch mode);
their indexes, partial ones included, are created again as they were.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES: dict[str, tuple[str, ...]] = {
    "cases": ("draft", "active", "done", "cancelled"),
    "tasks": ("open", "done", "cancelled"),
    "timers": ("pending", "fired", "failed", "cancelled"),
    "outbox": ("pending", "sending", "sent", "failed", "uncertain"),
}


def upgrade() -> None:
    for table, values in STATUSES.items():
        allowed = ", ".join(f"'{value}'" for value in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_status"), f"status IN ({allowed})")


def downgrade() -> None:
    for table in reversed(STATUSES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
