"""Alembic environment: runs on the connection the application hands over (async engines run it in run_sync)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from db import schema_compare
from db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
        # Autogenerate writes the models' own column types (`UTCDateTime`) as `db.models.UTCDateTime`, as every
        # released revision has them (and script.py.mako imports db.models), not by the module of the package
        # that defines them.
        user_module_prefix="db.models.",
        **schema_compare.options(connection.dialect.name),  # type: ignore[attr-defined]
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
