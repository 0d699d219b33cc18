"""The application's sessions (db/sessions.py `StepSession`) begin, find their connection and close in place when
that does no I/O; everything else must stay as AsyncSession does it: a rollback on error with the connection back
in the pool, the ORM objects' state after a commit (expire_on_commit off) and after a rollback, savepoints, the
errors SQLAlchemy raises, and the connection the session uses being the one its transaction holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import object_session

from db.models import User
from db.sessions import StepSession

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


def _user(user_id: int, name: str = "A") -> User:
    return User(id=user_id, tg_id=user_id, name=name, language="ru", is_admin=False, active=True, created_at=NOW)


async def _names(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        return list((await session.execute(select(User.name).order_by(User.id))).scalars())


def _checked_out(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    bind = sessionmaker.kw["bind"]
    return int(bind.sync_engine.pool.checkedout())


async def test_a_commit_keeps_the_objects_loaded_and_gives_the_connection_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        assert isinstance(session, StepSession)
        user = _user(1)
        session.add(user)
    assert _checked_out(sessionmaker) == 0
    assert object_session(user) is None  # closed: detached
    assert user.name == "A" and user.id == 1  # not expired by the commit, readable detached
    assert await _names(sessionmaker) == ["A"]


async def test_an_error_rolls_back_and_raises_what_sqlalchemy_raises(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(_user(1))
    with pytest.raises(IntegrityError):
        async with sessionmaker() as session, session.begin():
            session.add(_user(2, "B"))
            await session.flush()
            await session.execute(insert(User).values(id=1, tg_id=1, name="C", language="ru", is_admin=False,
                                                      active=True, created_at=NOW))  # fmt: skip
    with pytest.raises(ValueError, match="refused"):
        async with sessionmaker() as session, session.begin():
            session.add(_user(3, "D"))
            await session.flush()
            raise ValueError("refused")
    assert _checked_out(sessionmaker) == 0
    assert await _names(sessionmaker) == ["A"]


async def test_the_connection_found_in_place_is_the_transactions(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        first = await session.connection()
        assert await session.connection() is first
        assert first.sync_connection is session.sync_session.get_transaction().bound_connection()  # type: ignore[union-attr]
        async with session.begin_nested():  # a savepoint: SQLAlchemy's path, the same connection
            session.add(_user(1))
            assert (await session.connection()).sync_connection is first.sync_connection
        nested = await session.begin_nested()
        session.add(_user(2, "B"))
        await session.flush()
        await nested.rollback()
    assert await _names(sessionmaker) == ["A"]
    with pytest.raises(InvalidRequestError):  # a transaction already begun, as AsyncSession says it
        async with sessionmaker() as session, session.begin():
            await session.begin()


async def test_a_session_closed_with_its_transaction_open_or_cancelled_rolls_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    session = sessionmaker()
    session.add(_user(1))
    await session.flush()  # an autobegun transaction holding a connection
    assert _checked_out(sessionmaker) == 1
    await session.close()
    assert _checked_out(sessionmaker) == 0
    started = asyncio.Event()

    async def step() -> None:
        async with sessionmaker() as session, session.begin():
            session.add(_user(2, "B"))
            await session.flush()
            started.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(step())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _checked_out(sessionmaker) == 0
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
