"""leads from web site forms

Revision ID: 0008_leads
Revises: 0007_orgs
Create Date: 2026-11-30 14:20:00

`leads`: one row per submission of a site's form that started a case, unique by (form, idempotency key), so a
double submit makes one case.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0008_leads"
down_revision: str | None = "0007_orgs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_leads_case_id_cases"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("form", "key", name=op.f("uq_leads_form")),
    )


def downgrade() -> None:
    op.drop_table("leads")
