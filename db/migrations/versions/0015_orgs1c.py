"""organisations known by 1C's Ид

Revision ID: 0015_orgs1c
Revises: 0014_search_index
Create Date: 2026-11-30 17:45:00

`companies.onec_id`: the `Ид` of the organisation's `Контрагент` in 1C's CommerceML documents, so that a renamed
organisation or one whose INN 1C corrects is still the same row here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_orgs1c"
down_revision: str | None = "0014_search_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("onec_id", sa.String(length=80), nullable=True))
    op.create_index(op.f("ix_companies_onec_id"), "companies", ["onec_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_companies_onec_id"), table_name="companies")
    op.drop_column("companies", "onec_id")
