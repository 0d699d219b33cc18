"""the catalogue kept in step with 1C, and 1C's exchange sessions

Revision ID: 0012_catalogue
Revises: 0011_leadbuckets
Create Date: 2026-11-30 16:30:00

`catalog_groups` (nested by `parent_id`), `catalog_properties`, `catalog_products` (with variants by
`variant_of_id`), `catalog_price_types`, `catalog_prices` (product × price type), `catalog_warehouses`,
`catalog_stock` (product × warehouse): every row keeps 1C's id as `external_id`. `catalog_imports` records each
import (and answers 1C's repeated `mode=import`); `onec_sessions` holds the exchange's sessions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = "0012_catalogue"
down_revision: str | None = "0011_leadbuckets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalog_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["catalog_groups.id"],
            name=op.f("fk_catalog_groups_parent_id_catalog_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_groups")),
        sa.UniqueConstraint("external_id", name=op.f("uq_catalog_groups_external_id")),
    )
    op.create_index(op.f("ix_catalog_groups_parent_id"), "catalog_groups", ["parent_id"], unique=False)
    op.create_table(
        "catalog_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("choices", JSON, nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_properties")),
        sa.UniqueConstraint("external_id", name=op.f("uq_catalog_properties_external_id")),
    )
    op.create_table(
        "catalog_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("variant_of_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("article", sa.String(length=100), nullable=True),
        sa.Column("barcode", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("images", JSON, nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.Column("offer_run", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["catalog_groups.id"],
            name=op.f("fk_catalog_products_group_id_catalog_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["variant_of_id"],
            ["catalog_products.id"],
            name=op.f("fk_catalog_products_variant_of_id_catalog_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_products")),
        sa.UniqueConstraint("external_id", name=op.f("uq_catalog_products_external_id")),
    )
    op.create_index("ix_catalog_products_active_name", "catalog_products", ["active", "name"], unique=False)
    op.create_index(op.f("ix_catalog_products_article"), "catalog_products", ["article"], unique=False)
    op.create_index(op.f("ix_catalog_products_barcode"), "catalog_products", ["barcode"], unique=False)
    op.create_index(op.f("ix_catalog_products_group_id"), "catalog_products", ["group_id"], unique=False)
    op.create_table(
        "catalog_price_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_price_types")),
        sa.UniqueConstraint("external_id", name=op.f("uq_catalog_price_types_external_id")),
    )
    op.create_table(
        "catalog_prices",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("price_type_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_type_id"],
            ["catalog_price_types.id"],
            name=op.f("fk_catalog_prices_price_type_id_catalog_price_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["catalog_products.id"],
            name=op.f("fk_catalog_prices_product_id_catalog_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "price_type_id", name=op.f("pk_catalog_prices")),
    )
    op.create_index("ix_catalog_prices_type_value", "catalog_prices", ["price_type_id", "value"], unique=False)
    op.create_table(
        "catalog_warehouses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_warehouses")),
        sa.UniqueConstraint("external_id", name=op.f("uq_catalog_warehouses_external_id")),
    )
    op.create_table(
        "catalog_stock",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("import_run", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["catalog_products.id"],
            name=op.f("fk_catalog_stock_product_id_catalog_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["catalog_warehouses.id"],
            name=op.f("fk_catalog_stock_warehouse_id_catalog_warehouses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "warehouse_id", name=op.f("pk_catalog_stock")),
    )
    op.create_index(op.f("ix_catalog_stock_warehouse_id"), "catalog_stock", ["warehouse_id"], unique=False)
    op.create_table(
        "catalog_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("only_changes", sa.Boolean(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("heartbeat_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_imports")),
    )
    op.create_index(op.f("ix_catalog_imports_session"), "catalog_imports", ["session"], unique=False)
    op.create_table(
        "onec_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_onec_sessions")),
    )
    op.create_index(op.f("ix_onec_sessions_expires_at"), "onec_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_onec_sessions_expires_at"), table_name="onec_sessions")
    op.drop_table("onec_sessions")
    op.drop_index(op.f("ix_catalog_imports_session"), table_name="catalog_imports")
    op.drop_table("catalog_imports")
    op.drop_index(op.f("ix_catalog_stock_warehouse_id"), table_name="catalog_stock")
    op.drop_table("catalog_stock")
    op.drop_table("catalog_warehouses")
    op.drop_index("ix_catalog_prices_type_value", table_name="catalog_prices")
    op.drop_table("catalog_prices")
    op.drop_table("catalog_price_types")
    op.drop_index(op.f("ix_catalog_products_group_id"), table_name="catalog_products")
    op.drop_index(op.f("ix_catalog_products_barcode"), table_name="catalog_products")
    op.drop_index(op.f("ix_catalog_products_article"), table_name="catalog_products")
    op.drop_index("ix_catalog_products_active_name", table_name="catalog_products")
    op.drop_table("catalog_products")
    op.drop_table("catalog_properties")
    op.drop_table("catalog_groups")
