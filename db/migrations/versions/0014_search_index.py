"""Inline search over a large catalogue on PostgreSQL: a trigram index on `catalog_products.search_text`, so a
word anywhere in a name, article or barcode (`LIKE '%word%'`) is found without reading every product.

SQLite has no such index; its catalogue stays a scan (it serves small installations and the tests).

Revision ID: 0014_search_index
Revises: 0013_portal
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_search_index"
down_revision: str | None = "0013_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_catalog_products_search_trgm"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_products USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
