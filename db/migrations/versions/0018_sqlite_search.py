"""an index for words in the catalogue on SQLite (FTS5, trigrams)

Revision ID: 0018_sqlite_search
Revises: 0017_catalog_fillfactor

SQLite had no index for `LIKE '%word%'`: the inline search over a large catalogue walked every product for an
article or a barcode. `catalog_products_fts` is an FTS5 table with the `trigram` tokenizer over
`catalog_products.search_text` (name, article and barcode, already case-folded in Python), an "external content"
table: it keeps only the index, the text stays in `catalog_products`. Three triggers keep it in step with every
insert, delete (foreign-key cascades included) and change of `search_text`, whoever writes (the 1C import, the
ORM, tests). The index holds which products contain each trigram and nothing more (`detail=none`: a third of the
size of positions, and a third of the work per product inserted); services/catalogue.search asks it for the
products holding every trigram of the words of 3+ characters (a trigram index cannot serve shorter ones), a
superset of the matches, and keeps its LIKE conditions on them, so the results are the same as without it.

PostgreSQL: nothing (its trigram index is migration 0014_search_index).

A later migration that rebuilds `catalog_products` in batch mode on SQLite (a copy, DROP, rename) drops these
triggers with the old table: it must create them again (`create_sqlite_search()` below) and rebuild the index.
tests/test_catalogue_fts.py checks that they exist at the head revision.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018_sqlite_search"
down_revision: str | None = "0017_catalog_fillfactor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "catalog_products_fts"
TRIGGERS = ("catalog_products_fts_insert", "catalog_products_fts_delete", "catalog_products_fts_update")

_ADD = f"INSERT INTO {FTS} (rowid, search_text) VALUES (new.id, new.search_text);"
_REMOVE = f"INSERT INTO {FTS} ({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text);"


def create_sqlite_search() -> None:
    # case_sensitive 0 also folds non-ASCII letters (Cyrillic among them): a superset of what LIKE matches on text
    # that is already folded, which the search's own LIKE conditions then narrow exactly.
    op.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(search_text, content='catalog_products', "
        "content_rowid='id', tokenize='trigram case_sensitive 0', detail='none')"
    )
    insert, delete, update = TRIGGERS
    op.execute(f"CREATE TRIGGER IF NOT EXISTS {insert} AFTER INSERT ON catalog_products BEGIN {_ADD} END")
    op.execute(f"CREATE TRIGGER IF NOT EXISTS {delete} AFTER DELETE ON catalog_products BEGIN {_REMOVE} END")
    # Only when the text (or the id) really changes: the offers' update of every product's stock total, and
    # 1C's upsert of products it already has with the same names, leave the index alone.
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS {update} AFTER UPDATE OF id, search_text ON catalog_products "
        f"WHEN old.id != new.id OR old.search_text IS NOT new.search_text BEGIN {_REMOVE} {_ADD} END"
    )
    op.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    create_sqlite_search()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute(f"DROP TABLE IF EXISTS {FTS}")
