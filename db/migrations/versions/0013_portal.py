"""the dealer portal: carts and order exports to 1C

Revision ID: 0013_portal
Revises: 0012_catalogue
Create Date: 2026-11-30 16:30:00

`cart_lines`: the products a person put into their cart (one row per product, with a quantity).
`order_exports`: which order requests 1C has fetched (`queried_at`) and confirmed (`exported_at`) over the
CommerceML exchange.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0013_portal"
down_revision: str | None = "0012_catalogue"  # after the catalogue (merged from onec)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cart_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=80), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("added_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cart_lines_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_lines")),
        sa.UniqueConstraint("user_id", "product", name=op.f("uq_cart_lines_user_id")),
    )
    op.create_index(op.f("ix_cart_lines_user_id"), "cart_lines", ["user_id"], unique=False)
    op.create_table(
        "order_exports",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("queried_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exported_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_order_exports_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_order_exports")),
    )
    op.create_index(op.f("ix_order_exports_exported_at"), "order_exports", ["exported_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_exports_exported_at"), table_name="order_exports")
    op.drop_table("order_exports")
    op.drop_index(op.f("ix_cart_lines_user_id"), table_name="cart_lines")
    op.drop_table("cart_lines")
