"""PostgreSQL: a step's prebuilt statements run on asyncpg directly (db/driver.py `fetch`), past
SQLAlchemy's execution path, yet a database error reaches the caller as the very exception `session.execute`
raises for it (an IntegrityError for a broken constraint, with the connection's session left usable to roll
back), and a connection the server dropped is invalidated as SQLAlchemy does it. The path leans on SQLAlchemy's
internals (pyproject.toml holds it to one series): an upgrade that moves them fails here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import driver, pg_step_writes
from db.models import Case, Definition, User
from flows.status import CaseStatus

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


@pytest.fixture
async def cases(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the statements run on asyncpg directly on PostgreSQL only (SQLite: db/step_writes.py)")
    async with sessionmaker() as session, session.begin():
        await session.execute(insert(User).values(id=1, tg_id=1, name="A", language="ru", is_admin=False,
                                                  active=True, created_at=NOW))  # fmt: skip
        for version in (1, 2):
            await session.execute(insert(Definition).values(id=version, process="p", version=version, digest="d",
                                                            source="", path="p.yaml", created_at=NOW))  # fmt: skip
        await session.execute(insert(Case).values(id=1, definition_id=1, process="p", title="", stage="s",
                                                  status=CaseStatus.ACTIVE, visit=1, data={}, initiator_id=1,
                                                  created_at=NOW, updated_at=NOW))  # fmt: skip
    yield sessionmaker


def _case_row(**values: Any) -> dict[str, Any]:
    return {pg_step_writes.CASE_ROW: json.dumps({"id": 1, **values}), pg_step_writes.CASE_VERSION: 1}


# Each a statement of the module's own and values the database refuses: a foreign key (no such person), a check
# constraint (no such status), a unique constraint (the definitions table has a version column too: process p's
# version 2 renumbered to the 1 it already has) and a value that is no JSON at all (SQLAlchemy's asyncpg adapter
# maps that to no narrower class than DBAPIError).
BROKEN: dict[str, tuple[Callable[[], Any], dict[str, Any], type[DBAPIError], str]] = {
    "foreign key": (
        lambda: pg_step_writes.case_update(Case.__table__, ("initiator_id",)), _case_row(initiator_id=999),
        IntegrityError, "23503",
    ),
    "check": (
        lambda: pg_step_writes.case_update(Case.__table__, ("status",)), _case_row(status="bogus"),
        IntegrityError, "23514",
    ),
    "unique": (
        lambda: pg_step_writes.case_update(Definition.__table__, ("version",)),
        {pg_step_writes.CASE_ROW: json.dumps({"id": 2, "version": 1}), pg_step_writes.CASE_VERSION: 2},
        IntegrityError, "23505",
    ),
    "not json": (
        lambda: pg_step_writes.case_update(Case.__table__, ("stage",)),
        {pg_step_writes.CASE_ROW: "{not json", pg_step_writes.CASE_VERSION: 1}, DBAPIError, "22P02",
    ),
}  # fmt: skip


async def _raised(session: AsyncSession, run: Callable[[], Awaitable[Any]]) -> DBAPIError:
    # The step's transaction is begun by its read, as in services/cases/case_row.py.
    assert (await session.execute(select(Case.stage).where(Case.id == 1))).scalar_one() == "s"
    with pytest.raises(DBAPIError) as raised:
        await run()
    return raised.value


@pytest.mark.parametrize("broken", list(BROKEN))
async def test_a_refused_write_raises_what_the_orm_path_raises(
    cases: async_sessionmaker[AsyncSession], broken: str
) -> None:
    build, params, expected, sqlstate = BROKEN[broken]
    statement = build()
    async with cases() as session:
        direct = await _raised(session, lambda: driver.fetch(session, statement, params))
        assert id(statement) in driver._SQL  # it did take the driver's path
        await session.rollback()
        # The session goes on: a new transaction on the same (still valid) connection.
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 1
    async with cases() as session:
        through_orm = await _raised(session, lambda: session.execute(statement, params))
        await session.rollback()
    assert type(direct) is type(through_orm) and isinstance(direct, expected)
    assert type(direct.orig) is type(through_orm.orig)
    assert direct.orig.sqlstate == through_orm.orig.sqlstate == sqlstate  # type: ignore[union-attr]
    assert type(direct.orig.__cause__) is type(through_orm.orig.__cause__)  # asyncpg's own, under the adapter's
    assert not direct.connection_invalidated and not through_orm.connection_invalidated
    assert direct.statement == through_orm.statement
    async with cases() as session:  # nothing was written
        case = (await session.execute(select(Case.initiator_id, Case.status, Case.stage))).one()
        assert tuple(case) == (1, CaseStatus.ACTIVE, "s")
        versions = (await session.execute(select(Definition.version).order_by(Definition.id))).scalars().all()
        assert versions == [1, 2]


async def _terminated(cases: async_sessionmaker[AsyncSession], session: AsyncSession) -> int:
    """The server ends the backend of `session`'s connection; its pid. pg_terminate_backend returns before the client
    has seen its socket close, and a statement sent in between fails with whatever asyncpg is doing at that instant:
    this waits (bounded) for the client to know."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert raw is not None
    pid = int(raw.get_server_pid())
    async with cases() as other, other.begin():
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    for _ in range(500):
        if raw.is_closed():
            break
        await asyncio.sleep(0.01)
    assert raw.is_closed()
    return pid


async def test_a_write_on_a_dropped_connection_invalidates_it_as_the_orm_path_does(
    cases: async_sessionmaker[AsyncSession],
) -> None:
    statement = pg_step_writes.case_update(Case.__table__, ("stage",))
    params = _case_row(stage="t")

    async def dropped(run: Callable[[AsyncSession], Awaitable[Any]]) -> DBAPIError:
        async with cases() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await _terminated(cases, session)
            with pytest.raises(DBAPIError) as raised:
                await run(session)
            await session.rollback()  # no error: the connection is invalidated, not rolled back on the server
            # The session goes on, on a fresh connection from the pool.
            assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
            return raised.value

    direct = await dropped(lambda session: driver.fetch(session, statement, params))
    assert id(statement) in driver._SQL
    through_orm = await dropped(lambda session: session.execute(statement, params))
    assert type(direct) is type(through_orm)
    assert direct.connection_invalidated and through_orm.connection_invalidated
    async with cases() as session:
        assert (await session.execute(select(Case.stage))).scalar_one() == "s"


async def test_a_transaction_begun_on_a_dropped_connection_invalidates_it_as_the_orm_path_does(
    cases: async_sessionmaker[AsyncSession],
) -> None:
    """The transaction's first statement begins it on the driver (an update's claim, a case's load): a connection
    the server dropped while it sat in the pool (no pre-ping) fails at that BEGIN, and is invalidated as SQLAlchemy's
    own BEGIN would have it — not handed back to the pool to fail the next update too."""
    statement = pg_step_writes.case_update(Case.__table__, ("stage",))
    params = _case_row(stage="t")

    async def dropped_before_begin(run: Callable[[AsyncSession], Awaitable[Any]]) -> DBAPIError:
        async with cases() as session:
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            assert raw is not None and not raw.is_in_transaction()  # checked out, nothing sent yet
            pid = await _terminated(cases, session)
            with pytest.raises(DBAPIError) as raised:
                await run(session)
            await session.rollback()
            assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
            return raised.value

    direct = await dropped_before_begin(lambda session: driver.fetch(session, statement, params, begin=True))
    through_orm = await dropped_before_begin(lambda session: session.execute(statement, params))
    assert type(direct) is type(through_orm)
    assert direct.connection_invalidated and through_orm.connection_invalidated
