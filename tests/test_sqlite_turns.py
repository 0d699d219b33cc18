"""SQLite: one writer at a time is the file's nature. A process's own transactions take turns in the order they
asked for one, the turn passing at once when a transaction ends, however it ends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import WriterTurns, writer_turns


@pytest.fixture
def engine(sqlite_log_engine: AsyncEngine) -> AsyncEngine:
    return sqlite_log_engine  # tests/conftest.py


def _turns(engine: AsyncEngine) -> WriterTurns:
    turns = writer_turns(engine)
    assert turns is not None
    return turns


async def _until_waiting(turns: WriterTurns, count: int) -> None:
    """Until `count` transactions queue. A waiter first opens its connection on aiosqlite's thread, which a loaded
    machine may not run for a while (ten thousand bare turns of the loop were not enough at a load of 15, with
    twelve test workers): bounded by ten seconds of the loop's time, not by a number of turns."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        if turns.waiting >= count:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"{turns.waiting} transactions queued, not {count}")


async def _write(engine: AsyncEngine, who: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO log VALUES (:who)"), {"who": who})


async def test_transactions_take_turns_in_the_order_they_asked(engine: AsyncEngine) -> None:
    turns = _turns(engine)
    first = await engine.connect()
    await first.begin()  # holds the write lock
    await first.execute(text("INSERT INTO log VALUES ('first')"))
    queued = []
    for n in range(3):  # the pool's other connections
        queued.append(asyncio.create_task(_write(engine, f"waiter {n}")))
        await _until_waiting(turns, n + 1)
    await first.commit()
    await first.close()
    await asyncio.gather(*queued)
    async with engine.connect() as connection:
        order = list((await connection.execute(text("SELECT who FROM log ORDER BY rowid"))).scalars())
    assert order == ["first", *(f"waiter {n}" for n in range(3))]
    assert turns.waiting == 0 and turns.holder is None


async def test_a_failed_or_abandoned_transaction_passes_its_turn(engine: AsyncEngine) -> None:
    turns = _turns(engine)
    with pytest.raises(ZeroDivisionError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO log VALUES ('rolled back')"))
            raise ZeroDivisionError
    assert turns.holder is None
    abandoned = await engine.connect()
    await abandoned.begin()
    await abandoned.execute(text("INSERT INTO log VALUES ('abandoned')"))
    await abandoned.invalidate()  # the connection is gone mid-transaction
    assert turns.holder is None
    await asyncio.wait_for(_write(engine, "next"), timeout=10)  # not SQLite's 30 s busy wait: nobody holds it
    async with engine.connect() as connection:
        assert list((await connection.execute(text("SELECT who FROM log"))).scalars()) == ["next"]
