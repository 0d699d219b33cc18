"""an index on settings.key in byte order (PostgreSQL), for reading keys by their prefix

Revision ID: 0021_follow_key_index
Revises: 0020_catalog_offer_fks

Every step of a case reads the case's followers with it (`follow:<case>:<person>` rows, services/following.py), and
the scheduler's every tick the digest subscriptions (`digest:<person>`). Read as `key LIKE 'follow:' || id || ':%'`
that was a scan of the settings table (one row per follower and case: at 100,000 followed cases, every step): a
btree index serves LIKE only for a constant prefix, and only one whose order is byte order (the C collation, or
an operator class `*_pattern_ops`). Now they are read as a range, `key ~>=~ 'follow:<case>:' AND key ~<~
'follow:<case>;'` (the pattern class's operators: bytes compared, whatever the database's collation), which this
index serves. The primary key's index stays for lookups of one key.

SQLite needs none: the primary key's own index is in BINARY collation, byte order already, and serves the range.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021_follow_key_index"
down_revision: str | None = "0020_catalog_offer_fks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_settings_key_pattern"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(INDEX, "settings", ["key"], postgresql_ops={"key": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(INDEX, table_name="settings")
