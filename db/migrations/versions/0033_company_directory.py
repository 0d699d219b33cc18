"""a company's directory: the form fields that offer it

Revision ID: 0033_company_directory
Revises: 0032_outbox_case

A company added from a form's company field belongs to that field's directory (`directory:` on the field, by
default the process's key); the field offers the companies of its directory and those of none (added by an admin,
from 1C, or before this revision). One bot running several businesses' processes (`konveyer demo`) offered a meat
plant's clients to a fulfillment warehouse's managers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_company_directory"
down_revision: str | None = "0032_outbox_case"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("directory", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("directory")
