"""case comment threads

Revision ID: 0009_comments
Revises: 0008_leads
Create Date: 2026-11-30 16:40:00

`comments`: what a case's participants say about it in chat (text, a photo or a file, a reply to another
comment); `internal` marks a note the external side never sees. `companies.active`: an organisation an admin
deactivated (offered nowhere, its people see nothing).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0009_comments"
down_revision: str | None = "0008_leads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("reply_to_id", sa.Integer(), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_comments_case_id_cases"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_comments_author_id_users")),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_comments_file_id_files"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["reply_to_id"], ["comments.id"], name=op.f("fk_comments_reply_to_id_comments"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    op.create_index(op.f("ix_comments_case_id"), "comments", ["case_id"], unique=False)
    with op.batch_alter_table("companies") as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch_op:
        batch_op.drop_column("active")
    op.drop_index(op.f("ix_comments_case_id"), table_name="comments")
    op.drop_table("comments")
