"""catalogue products leave room in their pages for the offers' update

Revision ID: 0017_catalog_fillfactor
Revises: 0016_onecdocs

offers.xml updates every product it names (its stock total, `quantity`, and `offer_run`), none of them indexed
columns, so PostgreSQL can write the new row version into the same page without touching the table's seven indexes
(a "HOT" update) — if the page has room. Full pages (the default fillfactor, 100) made each of those updates a new
entry in every index, the trigram one among them: most of the database's work in an import of offers. SQLite has
no such setting.

Existing rows keep their pages until they are next rewritten; new pages are filled to half.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017_catalog_fillfactor"
down_revision: str | None = "0016_onecdocs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE catalog_products SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE catalog_products RESET (fillfactor)")
