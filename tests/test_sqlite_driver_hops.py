"""SQLite's driver (db/sqlite_driver.py): a transaction's BEGIN IMMEDIATE runs on the thread with its first statement,
so a transaction takes SQLite's write lock only once it sends something, a failing BEGIN raises from that statement
and passes the turn, and a transaction that sends nothing ends without touching the file."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import step_writes
from db.engine import writer_turns


@pytest.fixture
def engine(sqlite_log_engine: AsyncEngine) -> AsyncEngine:
    return sqlite_log_engine  # tests/conftest.py


def _other_process_writer(engine: AsyncEngine) -> sqlite3.Connection:
    """Another writer of the file (as a CLI command would be), holding SQLite's write lock."""
    other = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    return other


async def _rows(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(text("SELECT who FROM log ORDER BY rowid"))).scalars())


async def test_the_write_lock_is_taken_with_the_first_statement(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.begin()
        await connection.execute(text("INSERT INTO log VALUES ('mine')"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=0).execute("BEGIN IMMEDIATE")
        await connection.commit()
    assert await _rows(engine) == ["mine"]


async def test_a_transaction_that_sends_nothing_never_waits_for_the_lock(engine: AsyncEngine) -> None:
    other = _other_process_writer(engine)
    try:
        # BEGIN IMMEDIATE would wait for the other writer (busy_timeout, 30 s); nothing ran, so nothing waits.
        async with asyncio.timeout(5):
            async with engine.begin():
                pass
            async with engine.connect() as connection:
                await connection.begin()
                await connection.rollback()
    finally:
        other.rollback()
        other.close()
    turns = writer_turns(engine)
    assert turns is not None and turns.holder is None


async def test_a_failing_begin_raises_from_the_first_statement_and_passes_the_turn(engine: AsyncEngine) -> None:
    other = _other_process_writer(engine)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            await raw.driver_connection.execute("PRAGMA busy_timeout=50")  # not 30 s for the test
            with pytest.raises(OperationalError, match="database is locked"):
                async with connection.begin():
                    await connection.execute(text("INSERT INTO log VALUES ('refused')"))
            await raw.driver_connection.execute("PRAGMA busy_timeout=30000")
        turns = writer_turns(engine)
        assert turns is not None and turns.holder is None
    finally:
        other.rollback()
        other.close()
    async with asyncio.timeout(10):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO log VALUES ('next')"))
    assert await _rows(engine) == ["next"]


async def test_a_rolled_back_transaction_leaves_nothing(engine: AsyncEngine) -> None:
    with pytest.raises(ZeroDivisionError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO log VALUES ('rolled back')"))
            raise ZeroDivisionError
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO log VALUES ('kept')"))
    assert await _rows(engine) == ["kept"]


async def test_a_step_write_is_one_hop_and_one_unit(engine: AsyncEngine) -> None:
    """A case step's rows (db/step_writes.py) go to the thread in one call, their statements one after another
    there: a stale version writes nothing, and a statement failing after others takes them back with it (the
    case's row included) while the transaction goes on; the error is SQLAlchemy's, naming the failed statement."""
    meta = MetaData()
    cases = Table("cases", meta, Column("id", Integer, primary_key=True), Column("version", Integer),
                  Column("title", String))  # fmt: skip
    audit = Table("audit", meta, Column("id", Integer, primary_key=True), Column("action", String))
    tables = {"cases": cases, "audit": audit}
    async with engine.begin() as connection:
        await connection.run_sync(meta.create_all)
        await connection.execute(cases.insert().values(id=1, version=1, title="first"))

    def step(version: int, *actions: str) -> dict[str, object]:
        return {"case": {"id": 1, "version": version, "values": {"version": version + 1, "title": "second"}},
                "audit": [{"id": 7, "action": action} for action in actions]}  # fmt: skip

    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(text("INSERT INTO log VALUES ('before')"))
        _connection, raw = await step_writes.connection_of(session)
        hops = raw.driver_connection._sent
        with pytest.raises(IntegrityError, match="UNIQUE") as failed:
            await step_writes.write(session, step(1, "taken", "the same id again"), tables)  # the second fails
        assert str(failed.value.statement).startswith("INSERT INTO audit")
        assert raw.driver_connection._sent == hops + 1
        with pytest.raises(step_writes.StaleCase):
            await step_writes.write(session, step(5, "stale"), tables)
        state = (await session.execute(text("SELECT version, title FROM cases"))).one()
        assert tuple(state) == (1, "first")
        assert (await session.execute(text("SELECT count(*) FROM audit"))).scalar() == 0
        seen.clear()
        hops = raw.driver_connection._sent
        await step_writes.write(session, step(1, "written"), tables)
        assert raw.driver_connection._sent == hops + 1
        assert len(seen) == 1 and seen[0].startswith("UPDATE cases SET") and "INSERT INTO audit" in seen[0]
    async with engine.connect() as connection:
        assert tuple((await connection.execute(text("SELECT version, title FROM cases"))).one()) == (2, "second")
        assert list((await connection.execute(text("SELECT action FROM audit"))).scalars()) == ["written"]
    assert await _rows(engine) == ["before"]


async def _step_tables(engine: AsyncEngine, trigger: str | None = None) -> dict[str, Table]:
    meta = MetaData()
    cases = Table("cases", meta, Column("id", Integer, primary_key=True), Column("version", Integer),
                  Column("title", String))  # fmt: skip
    audit = Table("audit", meta, Column("id", Integer, primary_key=True), Column("action", String))
    async with engine.begin() as connection:
        await connection.run_sync(meta.create_all)
        await connection.execute(cases.insert().values(id=1, version=1, title="first"))
        if trigger is not None:
            await connection.execute(text(trigger))
    return {"cases": cases, "audit": audit}


async def test_a_step_of_one_statement_and_several_rows_is_one_unit(engine: AsyncEngine) -> None:
    """A step whose only statement inserts several rows (executemany: a statement per row) takes back the rows
    before the one that failed, as a single multi-row INSERT would."""
    tables = await _step_tables(engine)
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(IntegrityError, match="UNIQUE"):
            await step_writes.write(session, {"audit": [{"id": 7, "action": "taken"}, {"id": 7, "action": "again"}]},
                                    tables)
        assert (await session.execute(text("SELECT count(*) FROM audit"))).scalar() == 0


async def test_a_step_that_sqlite_rolled_back_whole_reports_its_own_error(engine: AsyncEngine) -> None:
    """When SQLite itself rolls the whole transaction back (here a trigger's RAISE(ROLLBACK); a full disk does the
    same), no savepoint is left to take the step back to: the caller gets the failing statement's error, not the
    savepoint's, and nothing of the step or the transaction is kept."""
    tables = await _step_tables(engine, "CREATE TRIGGER no_audit BEFORE INSERT ON audit "
                                        "BEGIN SELECT RAISE(ROLLBACK, 'audit is closed'); END")
    step = {"case": {"id": 1, "version": 1, "values": {"version": 2, "title": "second"}},
            "audit": [{"id": 7, "action": "taken"}]}
    async with AsyncSession(engine) as session:
        await session.execute(text("INSERT INTO log VALUES ('before')"))
        with pytest.raises(IntegrityError, match="audit is closed"):
            await step_writes.write(session, step, tables)
        await session.rollback()
    async with engine.connect() as connection:
        assert tuple((await connection.execute(text("SELECT version, title FROM cases"))).one()) == (1, "first")
    assert await _rows(engine) == []
