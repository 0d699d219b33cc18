"""1C's documents on order requests

Revision ID: 0016_onecdocs
Revises: 0015_orgs1c
Create Date: 2026-11-30 22:30:00

`onec_documents`: each version of a document 1C sent for an order request over the exchange (an invoice, a
shipment's papers, a UPD): 1C's `Ид`, `НомерВерсии`, what it is, its number and date, the digest of what it said,
and the printable file made of it. A repeated import of the same version finds its row and attaches nothing; a
changed document gets a new row and a new file, which replaces the older on the case.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0016_onecdocs"
down_revision: str | None = "0015_orgs1c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onec_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("onec_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("doc_date", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_onec_documents_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_onec_documents_file_id_files"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onec_documents")),
        sa.UniqueConstraint("case_id", "onec_id", "digest", name=op.f("uq_onec_documents_case_id")),
    )
    op.create_index(op.f("ix_onec_documents_case_id"), "onec_documents", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_onec_documents_case_id"), table_name="onec_documents")
    op.drop_table("onec_documents")
