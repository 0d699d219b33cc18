"""the catalogue's search text also holds its codes written solid

Revision ID: 0036_search_codes
Revises: 0035_kept_files

People type an article without its dashes or spaces («gm46» for «GM-46S»). `catalog_products.search_text` now
ends with each word of it holding a dash, dot, slash or backslash, and a spaced article or barcode, written solid
(services/catalogue.search_text), and a query's code is written solid too (`catalogue.terms`). This revision adds
them to the products already stored; both databases' indexes (0014's trigrams, 0018's FTS5 table through its
update trigger) follow the change. The rule is copied here as it is today, so that a later change of the search
does not change what this revision did.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036_search_codes"
down_revision: str | None = "0035_kept_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEPARATORS = re.compile(r"[-./\\\s]+")
CHUNK = 1000

products = sa.table(
    "catalog_products",
    sa.column("id", sa.Integer),
    sa.column("search_text", sa.Text),
    sa.column("article", sa.String),
    sa.column("barcode", sa.String),
)


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def with_codes(text: str, article: str | None, barcode: str | None) -> str:
    words = text.split()
    codes = [word for word in words if SEPARATORS.search(word)]
    codes += [_fold(code) for code in (article, barcode) if code and len(_fold(code).split()) > 1]
    solid = [s for s in dict.fromkeys(SEPARATORS.sub("", code) for code in codes) if s and s not in words]
    return " ".join([text, *solid])


def upgrade() -> None:
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(products.c.id, products.c.search_text, products.c.article, products.c.barcode)
            .where(products.c.id > last)
            .order_by(products.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        changed = [
            {"pid": row.id, "text": new}
            for row in rows
            if (new := with_codes(row.search_text, row.article, row.barcode)) != row.search_text
        ]
        if changed:
            bind.execute(
                products.update().where(products.c.id == sa.bindparam("pid")).values(search_text=sa.bindparam("text")),
                changed,
            )


def downgrade() -> None:
    # The solid codes stay: the text is still name, article and barcode, and the older search reads it as well.
    pass
