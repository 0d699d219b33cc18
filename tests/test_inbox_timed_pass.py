"""Webhook workers on PostgreSQL: a timed pass over the shared inbox after a pass that found nothing first asks one
cheap question (is anything pending that is neither leased nor waiting for a retry?) on a connection it keeps, and
leases only when the answer is yes — an idle worker pays the question, not the lease's UPDATE; after a pass that
found work it leases at once. The guarantees stay: an update whose worker died is taken over once its lease runs
out. The webhook's INSERT goes straight to the driver and stores what the statement through SQLAlchemy stores."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.driver import in_autocommit
from db.engine import POOL_RECYCLE
from db.models import InboxUpdate
from flows.clock import FrozenClock
from services import inbox
from services.core import Core
from tests.conftest import ADMIN_ID
from tests.inbox_harness import message as _update
from tests.inbox_harness import postgres_only as _postgres_only
from tests.inbox_harness import webhook_worker as worker
from tgbot.inbox import InboxProcessor

postgres_only = _postgres_only("workers share an inbox on PostgreSQL only (on SQLite one process handles everything)")

QUESTION = "SELECT inbox.update_id FROM inbox "


@contextlib.contextmanager
def counted(engine: AsyncEngine) -> Any:
    """The statements sent through `engine` meanwhile, by their first 34 characters."""
    seen: Counter[str] = Counter()

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        seen[" ".join(sql.split())[:34]] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)


@contextlib.asynccontextmanager
async def running(processor: InboxProcessor, poll_interval: float) -> AsyncIterator[None]:
    processor.poll_interval = poll_interval
    task = asyncio.create_task(processor.run())
    try:
        yield
    finally:
        await processor.stop()
        await asyncio.wait_for(task, timeout=10)


async def _until(predicate: Any, what: str) -> None:
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


@contextlib.asynccontextmanager
async def asking_worker(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> AsyncIterator[tuple[Core, InboxProcessor, Counter[str]]]:
    """A webhook worker's timed passes running every 10 ms, the statements through its engine counted, from once
    it holds the question's connection and has asked at least twice."""
    async with worker(tmp_path, database_url, clock) as (app, mine, _url, _admin):
        assert app.core is not None
        with counted(app.core.db) as seen:
            async with running(mine, 0.01):
                await _until(lambda: mine._asking is not None and seen[QUESTION] >= 2, "no question asked")
                yield app.core, mine, seen


@postgres_only
async def test_an_idle_timed_pass_asks_whether_anything_is_due_and_does_not_lease(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with worker(tmp_path, database_url, clock) as (app, mine, _url, _admin):
        assert app.core is not None
        with counted(app.core.db) as seen:
            async with running(mine, 0.01):
                await _until(lambda: seen[QUESTION] >= 1, "the timed passes did not ask")
                seen.clear()  # the run's first pass leases as ever (it is no timed pass): from the first question on
                await _until(lambda: seen[QUESTION] >= 5, "the timed passes stopped asking")
                # An update leased to a live worker (it has not handled it yet) is no answer of «yes» either.
                async with app.core.db.begin() as connection:
                    assert await inbox.store_leased(connection, inbox.Incoming(700031, ADMIN_ID, _update(
                        700031, "/start")), clock.now())
                    # Nor is the person's next update, stored behind it: its turn comes when the first one ends.
                    assert not await inbox.store_leased(connection, inbox.Incoming(700032, ADMIN_ID, _update(
                        700032, "/users")), clock.now())
                asked = seen[QUESTION]
                await _until(lambda: seen[QUESTION] >= asked + 5, "the timed passes stopped asking")
        leases = [shape for shape in seen if shape.startswith("UPDATE inbox")]
        assert not leases, f"an idle timed pass leased: {seen}"
        assert not mine._busy and mine._asking is None  # the question's connection went back with the worker


@postgres_only
async def test_a_timed_pass_takes_over_an_update_whose_lease_ran_out(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with worker(tmp_path, database_url, clock) as (app, mine, _url, admin):
        assert app.core is not None
        async with app.core.db.begin() as connection:  # another worker stored and leased it, then died
            assert await inbox.store_leased(connection, inbox.Incoming(700041, ADMIN_ID, _update(
                700041, "/start")), clock.now())
        with counted(app.core.db) as seen:
            async with running(mine, 0.01):
                await _until(lambda: seen[QUESTION] >= 3, "the timed passes did not ask")
                assert not mine._busy  # its lease holds: the question said no
                async with app.core.db.begin() as connection:  # … until it runs out
                    await connection.execute(update(InboxUpdate).values(
                        not_before=inbox.wall_clock() - timedelta(seconds=1)))
                await admin.expect("администратор")
                await _until(lambda: not mine._busy, "the worker did not finish")
        async with app.core.sessionmaker() as session:
            row = (await session.execute(select(InboxUpdate).where(InboxUpdate.update_id == 700041))).scalar_one()
        assert row.status == "done" and row.attempts == 0


@postgres_only
async def test_a_timed_pass_after_one_that_found_work_leases_without_asking_first(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    """Under a stream of updates a pass that found work is likely followed by one that finds more: asking first
    would only add a statement before the lease. So the question comes only after a pass that found nothing."""
    async with worker(tmp_path, database_url, clock) as (app, mine, _url, admin):
        assert app.core is not None
        order: list[str] = []

        def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
            shape = " ".join(sql.split())
            if shape.startswith(QUESTION):
                order.append("ask")
            elif shape.startswith("UPDATE inbox SET") and "SKIP LOCKED" in shape:
                order.append("lease")

        async with app.core.db.begin() as connection:  # another worker stored and leased it, then died
            assert await inbox.store_leased(connection, inbox.Incoming(700071, ADMIN_ID, _update(
                700071, "/start")), clock.now())
        async with running(mine, 0.01):
            await _until(lambda: mine._asking is not None, "the timed passes did not ask")
            event.listen(app.core.db.sync_engine, "before_cursor_execute", statement)
            try:
                async with app.core.db.begin() as connection:  # its lease runs out
                    await connection.execute(update(InboxUpdate).values(
                        not_before=inbox.wall_clock() - timedelta(seconds=1)))
                await admin.expect("администратор")
                await _until(lambda: "lease" in order and order[order.index("lease"):].count("ask") >= 2,
                             "the questions did not resume")
            finally:
                event.remove(app.core.db.sync_engine, "before_cursor_execute", statement)
        taken = order.index("lease")  # the pass that took the update over, after a question answered «yes»
        assert order[taken - 1] == "ask", order
        # The next timed pass leases at once (and finds nothing: the update is its own); then the questions resume.
        assert order[taken + 1: taken + 4] == ["lease", "ask", "ask"], order


@postgres_only
async def test_a_lost_question_connection_is_replaced_at_the_next_timed_pass(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with asking_worker(tmp_path, database_url, clock) as (core, mine, seen):
        held = mine._asking
        assert held is not None
        driver = (await held.get_raw_connection()).driver_connection
        assert driver is not None
        async with core.db.connect() as connection:  # the server drops it (a restart, a pooler)
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": driver.get_server_pid()})
        await _until(lambda: mine._asking is not None and mine._asking is not held, "not replaced")
        asked = seen[QUESTION]
        await _until(lambda: seen[QUESTION] >= asked + 3, "the new connection does not ask")


@postgres_only
async def test_the_question_connection_goes_back_to_the_pool_once_older_than_the_pools_recycle_time(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    """Kept out of the pool, the question's connection would never be recycled: a firewall or a pooler that cuts
    old connections would cost a failed pass. It is given back once it is older than the pool's recycle time."""
    async with asking_worker(tmp_path, database_url, clock) as (_core, mine, seen):
        held = mine._asking
        asked = seen[QUESTION]
        await _until(lambda: seen[QUESTION] >= asked + 3, "the timed passes stopped asking")
        assert mine._asking is held  # young enough: kept
        mine._asking_since -= POOL_RECYCLE + 1  # as if taken longer ago than the pool keeps its own
        await _until(lambda: mine._asking is not held, "an old connection was kept")
        asked = seen[QUESTION]
        await _until(lambda: seen[QUESTION] >= asked + 3, "the new connection does not ask")
        assert held is not None and held.closed


@postgres_only
async def test_the_webhook_insert_on_the_driver_stores_what_sqlalchemys_statement_stores(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    engine = sessionmaker.kw["bind"]
    first = _update(700051, "/start")
    raw = json.dumps(first, ensure_ascii=False, indent=1)  # as it came: its own spacing, Cyrillic unescaped
    with counted(engine) as seen:
        async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            assert in_autocommit(connection)
            assert await inbox.store_leased(connection, inbox.Incoming(700051, ADMIN_ID, first), clock.now(), raw)
            assert await inbox.store_leased(connection, inbox.Incoming(700051, ADMIN_ID, first), clock.now(),
                                            raw) is None  # a repeat
            later = _update(700052, "/users")
            assert await inbox.store_leased(connection, inbox.Incoming(700052, ADMIN_ID, later),
                                            clock.now()) is False  # behind 700051, still pending
    assert seen["INSERT INTO inbox (update_id, pers"] == 3  # the listeners are told (the bench counts statements)
    # The same updates through SQLAlchemy's statement, in a transaction: the rows must match.
    async with engine.begin() as connection:
        assert not in_autocommit(connection)
        assert await inbox.store_leased(connection, inbox.Incoming(700061, ADMIN_ID + 1, first), clock.now())
        assert await inbox.store_leased(connection, inbox.Incoming(700062, ADMIN_ID + 1, later),
                                        clock.now()) is False
    async with engine.connect() as connection:
        rows = {r.update_id: r for r in (await connection.execute(select(InboxUpdate.__table__))).all()}
    for driver_id, orm_id in ((700051, 700061), (700052, 700062)):
        a, b = rows[driver_id], rows[orm_id]
        assert a.payload == b.payload and (a.status, a.attempts, a.received_at) == (b.status, b.attempts,
                                                                                    b.received_at)
        assert (a.not_before is None) == (b.not_before is None)
    assert rows[700051].payload == first and rows[700051].not_before is not None
    assert rows[700052].not_before is None


async def test_the_lost_questions_sweep_finds_the_same_people_on_the_driver_and_through_sqlalchemy(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from db.engine import autocommit
    from db.models import User

    engine = sessionmaker.kw["bind"]
    cutoff = inbox.wall_clock() - timedelta(seconds=20)
    async with engine.begin() as connection:
        for tg, lost, task in ((900001, cutoff - timedelta(seconds=1), 7), (900002, cutoff - timedelta(seconds=1),
                               None), (900003, cutoff + timedelta(seconds=1), 7), (900004, None, 7)):
            await connection.execute(User.__table__.insert().values(  # type: ignore[attr-defined]
                tg_id=tg, name=f"P{tg}", question_lost_at=lost, active_task_id=task, created_at=cutoff))
        expected = list((await connection.execute(select(User.id).where(User.tg_id == 900001))).scalars())
    async with engine.connect() as connection:
        assert await inbox.lost_questions(connection, cutoff) == expected
    plain = autocommit(engine)
    if plain is not None:  # PostgreSQL: the prebuilt statement on the driver
        async with plain.connect() as connection:
            assert in_autocommit(connection)
            assert await inbox.lost_questions(connection, cutoff) == expected
