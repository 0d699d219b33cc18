"""`catalog_products.unit_code`: the OKEI code 1C gave a product's unit, sent back with an order's line

Revision ID: 0043_catalog_unit_code
Revises: 0042_cases_updated_at_dropped

An order went to 1C with a unit other than a piece by its short name alone («компл»), though 1C finds a unit by its
code first. The catalogue now keeps the code import.xml gives (`БазоваяЕдиница Код="839"`, or the classifier's unit
it names); products imported before have none until the next full import, and their orders say OKEI's code for
the unit's name (`flows.units.OKEI`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043_catalog_unit_code"
down_revision: str | None = "0042_cases_updated_at_dropped"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("catalog_products", sa.Column("unit_code", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("catalog_products", "unit_code")
