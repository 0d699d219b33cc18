"""Settings read by the prefix of their keys (`follow:<case>:…`, `digest:…`) as a range of an index: the keys from
`<head>:` up to `<head>;` (';' is the character after ':'), compared byte by byte — an index lookup on both
databases, where `LIKE '<head>:%'` was a scan of every setting (SQLite's LIKE ignores case; PostgreSQL's uses an
index only for a constant prefix, and then only one in byte order). On PostgreSQL that index is
`ix_settings_key_pattern` (`varchar_pattern_ops`, migration 0021_follow_key_index), whose operators `~>=~`, `~<~`
compare bytes under any database collation; on SQLite the key's own index, whose BINARY collation is already byte
order."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, literal

from db.models import Setting


def key_range(head: str | ColumnElement[str], *, sqlite: bool) -> ColumnElement[bool]:
    """Settings whose key starts with `head` + ':' (`head` a string or an SQL expression): the keys from `head:`
    up to `head;` in byte order, a range of an index on both databases (on PostgreSQL by the operators of
    `ix_settings_key_pattern`'s class, not the collation's `>=`, `<`, which that index cannot serve)."""
    low, high = (f"{head}:", f"{head};") if isinstance(head, str) else (head + literal(":"), head + literal(";"))
    if sqlite:
        return and_(Setting.key >= low, Setting.key < high)
    # Bound tighter than `||`, so an expression's bound is put in parentheses (PostgreSQL gives both one precedence).
    at_least, below = (Setting.key.op(name, precedence=100, is_comparison=True) for name in ("~>=~", "~<~"))
    return and_(at_least(low), below(high))
