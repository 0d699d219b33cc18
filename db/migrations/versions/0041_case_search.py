"""the panel's case search as one query over every case: `case_search` and its indexes

Revision ID: 0041_case_search
Revises: 0040_file_paths

The panel (and an admin's /find) read the newest 5,000 cases and matched the words they show in Python: an older
case was never found. `case_search` holds, per case, those words (every language, case-folded) and its amounts, as
of the case's `version`; the scheduler's tick writes the rows of cases that have none or an older one, a bounded
batch a tick, newest first, and a search the newest of them before it asks (services/case_search.py), so this
revision fills nothing: a fresh upgrade is written in the background within minutes. Which rows are stale is read
from two indexes, `ix_cases_search_stale` (a case's `updated_at`, `id`, `version`) and `ix_case_search_version`,
never from a case's JSON.

Indexes for `LIKE '%word%'` over 100,000 cases: on PostgreSQL trigram GIN indexes on `words` and `amounts`
(pg_trgm, created by 0014_search_index); on SQLite an FTS5 trigram table over `words` (`case_search_fts`, external
content, `detail=none`, kept in step by triggers, as 0018_sqlite_search does for the catalogue).

Downgrade drops the table (and on SQLite the FTS table and its triggers) and the index on `cases`: nothing
references `case_search`, and `cases` is not rebuilt, so it steps down on a database in use.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041_case_search"
down_revision: str | None = "0040_file_paths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "case_search"
FTS = "case_search_fts"
TRIGGERS = ("case_search_fts_insert", "case_search_fts_delete", "case_search_fts_update")
TRIGRAMS = {"ix_case_search_words_trgm": "words", "ix_case_search_amounts_trgm": "amounts"}

_ADD = f"INSERT INTO {FTS} (rowid, words) VALUES (new.case_id, new.words);"
_REMOVE = f"INSERT INTO {FTS} ({FTS}, rowid, words) VALUES ('delete', old.case_id, old.words);"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("amounts", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_search_case_id_cases", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_search"),
    )
    op.create_index("ix_cases_search_stale", "cases", ["updated_at", "id", "version"])
    op.create_index("ix_case_search_version", TABLE, ["case_id", "version"])
    if op.get_bind().dialect.name == "postgresql":
        for index, column in TRIGRAMS.items():
            op.execute(f"CREATE INDEX {index} ON {TABLE} USING gin ({column} gin_trgm_ops)")
        return
    # case_sensitive 0 folds non-ASCII letters too: a superset of what LIKE matches on folded text, narrowed by
    # the search's own LIKE conditions.
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS} USING fts5(words, content='{TABLE}', content_rowid='case_id', "
        "tokenize='trigram case_sensitive 0', detail='none')"
    )
    insert, delete, update = TRIGGERS
    op.execute(f"CREATE TRIGGER {insert} AFTER INSERT ON {TABLE} BEGIN {_ADD} END")
    op.execute(f"CREATE TRIGGER {delete} AFTER DELETE ON {TABLE} BEGIN {_REMOVE} END")
    op.execute(
        f"CREATE TRIGGER {update} AFTER UPDATE OF case_id, words ON {TABLE} "
        f"WHEN old.case_id != new.case_id OR old.words IS NOT new.words BEGIN {_REMOVE} {_ADD} END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    op.drop_table(TABLE)  # its GIN indexes go with it
    op.drop_index("ix_cases_search_stale", table_name="cases")
