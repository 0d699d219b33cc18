"""A revision's way down and up again, for the tests of the migrations that add an index (tests/test_follow_index.py,
tests/test_my_cases.py): an empty database migrated to the newest revision and down to the revision under test, down
to the one before it, and up to it again, with a table's indexes read (inspected) at each of the three."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ClauseElement

from db.engine import alembic_config, make_engine, migrate

Indexes = dict[str, dict[str, Any]]


async def indexes_down_and_up(
    empty_database_url: str, table: str, down_to: str, at: str
) -> tuple[Indexes, Indexes, Indexes]:
    """`table`'s indexes by name: at the revision under test `at` (migrated to the newest, then down to it: a later
    revision's indexes do not count), after the downgrade to `down_to`, after the upgrade back to `at`."""
    return (await tables_down_and_up(empty_database_url, (table,), down_to, at))[table]


async def tables_down_and_up(
    empty_database_url: str, tables: tuple[str, ...], down_to: str, at: str
) -> dict[str, tuple[Indexes, Indexes, Indexes]]:
    """`indexes_down_and_up` for several tables of one revision, on one way down and up."""
    engine = make_engine(empty_database_url)
    url = engine.url.render_as_string(hide_password=False)

    def indexes(connection: Connection, table: str) -> Indexes:
        # SQLite's partial index condition comes back as a clause object, compared by identity: its text instead.
        return {
            index["name"]: {
                **index,
                "dialect_options": {
                    key: str(value) if isinstance(value, ClauseElement) else value
                    for key, value in index.get("dialect_options", {}).items()
                },
            }
            for index in inspect(connection).get_indexes(table)
        }

    def moved(connection: Connection, revision: str, down: bool) -> dict[str, Indexes]:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        return {table: indexes(connection, table) for table in tables}

    try:
        await migrate(engine)
        async with engine.begin() as connection:
            at_revision = await connection.run_sync(moved, at, True)
            below = await connection.run_sync(moved, down_to, True)
            again = await connection.run_sync(moved, at, False)
    finally:
        await engine.dispose()
    return {table: (at_revision[table], below[table], again[table]) for table in tables}


def partial_condition(indexes: Indexes, name: str, url: str) -> str:
    """A partial index's condition as both databases report it, without PostgreSQL's casts and parentheses."""
    where = "postgresql_where" if url.startswith("postgresql") else "sqlite_where"
    condition: str = indexes[name]["dialect_options"][where]  # PostgreSQL's: ((status)::text = 'pending'::text)
    return condition.replace("::text", "").replace("(", "").replace(")", "")


async def migrate_down(engine: AsyncEngine, revision: str) -> None:
    """Down to `revision` (the revisions' own downgrades, as `alembic downgrade` runs them)."""
    url = engine.url.render_as_string(hide_password=False)

    def down(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(down)
