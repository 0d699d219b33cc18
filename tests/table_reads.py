"""Rows a PostgreSQL transaction has read from some tables so far, for the tests that bound what a statement reads
(tests/test_case_store.py, tests/test_my_cases.py, tests/test_outbox_driver_rows.py), and the entries it has read from
their indexes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, text

_READ = text(
    "SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) "
    "FROM pg_stat_xact_user_tables WHERE relname IN :tables"
).bindparams(bindparam("tables", expanding=True))

_INDEX_ENTRIES = text(
    "SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(i.indexrelid)), 0) "
    "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN :tables"
).bindparams(bindparam("tables", expanding=True))


async def rows_read(session: Any, *tables: str) -> int:
    """This transaction's reads of `tables` so far (PostgreSQL counts them per transaction as it goes): rows
    scanned plus rows fetched through an index."""
    row = (await session.execute(_READ, {"tables": list(tables)})).first()
    return int(row[0]) if row else 0


async def index_entries_read(session: Any, *tables: str) -> int:
    """This transaction's index entries read so far from every index of `tables`: what a bitmap scan of a whole
    status index costs though it fetches few rows (`rows_read` counts the rows fetched, not the entries read)."""
    row = (await session.execute(_INDEX_ENTRIES, {"tables": list(tables)})).first()
    return int(row[0]) if row else 0
