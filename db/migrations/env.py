"""Alembic environment: runs on the connection the application hands over (async engines run it in run_sync)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from db.models import Base

config = context.config
target_metadata = Base.metadata

# SQLite's FTS5 index of the catalogue and its shadow tables (migration 0018_sqlite_search) are not in the models:
# autogenerate must not offer to drop them.
_NOT_MODELLED = "catalog_products_fts"


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(_NOT_MODELLED))


def _configure(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
else:
    # `alembic revision --autogenerate` from the command line: a plain sync engine on the configured URL.
    url = str(config.get_main_option("sqlalchemy.url")).replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
    with create_engine(url).connect() as sync_connection:
        _configure(sync_connection)
