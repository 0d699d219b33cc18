"""catalogue prices and stock no longer carry foreign keys to their products

Revision ID: 0020_catalog_offer_fks
Revises: 0019_timer_task_index

offers.xml writes two prices and a stock row per warehouse for every offer: 400,000 rows for 100,000 offers. Each
row inserted ran a foreign-key check against `catalog_products` (PostgreSQL: a trigger per row, a lookup in the
products' key and a row lock; SQLite: a lookup per row), about 60 % of inserting a price or stock row. Those two
constraints are dropped; their one duty, removing a product's prices and stock with it (ON DELETE CASCADE), is the
code's now: `services.catalogue_import.delete_products` is how a product is deleted (the application itself never
deletes one: 1C's deletions and a full package's sweep deactivate). The import writes prices and stock only for
product ids it has just read or created in the same transaction. The foreign keys to the price types and the
warehouses (a handful of rows) stay.

SQLite rebuilds both tables (batch mode) without the constraints; neither is `catalog_products`, so its FTS5
triggers (0018_sqlite_search) are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_catalog_offer_fks"
down_revision: str | None = "0019_timer_task_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS = (
    ("catalog_prices", "fk_catalog_prices_product_id_catalog_products"),
    ("catalog_stock", "fk_catalog_stock_product_id_catalog_products"),
)


def upgrade() -> None:
    for table, name in FOREIGN_KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, _ in FOREIGN_KEYS:
        # Rows left pointing at no product (possible without the constraint) would refuse it.
        op.execute(f"DELETE FROM {table} WHERE product_id NOT IN (SELECT id FROM catalog_products)")
    for table, name in FOREIGN_KEYS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(name, "catalog_products", ["product_id"], ["id"], ondelete="CASCADE")
