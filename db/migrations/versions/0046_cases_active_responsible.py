"""an index on the open cases by their responsible and stage, for «my tasks»

Revision ID: 0046_cases_active_responsible
Revises: 0045_picker_on_person

«My tasks» lists, beside a person's tasks, the cases they lead that wait at a stage only their hand move takes on
(seed 3's pipelines: no task there, only the responsible's buttons). Nothing indexed `responsible_id`: the read would
take every case of those stages (`ix_cases_process_stage`) to keep the person's. Partial (active cases only, the only
ones that wait): a case leaves it when it closes, and the table's history does not grow it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046_cases_active_responsible"
down_revision: str | None = "0045_picker_on_person"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_cases_active_responsible"
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_index(
        INDEX, "cases", ["responsible_id", "process", "stage"], postgresql_where=ACTIVE, sqlite_where=ACTIVE
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="cases")
