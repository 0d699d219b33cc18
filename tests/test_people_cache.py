"""Roles are cached per process, and a change made anywhere reaches every worker's cache at its commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event

from app.container import build_core
from app.settings import Settings
from services import channels, people
from services.core import Core


async def _roles(core: Core, user_id: int) -> set[str]:
    async with core.sessionmaker() as session:
        return await people.roles_of(session, user_id)


async def _members(core: Core, role: str) -> tuple[int, ...]:
    async with core.sessionmaker() as session:
        return await people.member_ids(session, role)


async def _eventually(check: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, "the other worker never saw the change"
        await asyncio.sleep(0.02)


async def test_roles_are_read_once_and_a_change_is_seen_at_its_commit(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url))
    statements = {"count": 0}

    def counted(*_args: object) -> None:
        statements["count"] += 1

    event.listen(core.db.sync_engine, "before_cursor_execute", counted)
    try:
        async with core.sessionmaker() as session, session.begin():
            boris = await people.register(session, tg_id=502, name="Борис", username=None, language="ru",
                                          now=core.clock.now())  # fmt: skip
            await people.grant(session, boris.id, ["service_manager"])
        assert await _roles(core, boris.id) == {"service_manager"}
        assert await _members(core, "service_manager") == (boris.id,)
        before = statements["count"]
        for _ in range(3):
            assert await _roles(core, boris.id) == {"service_manager"}
            assert await _members(core, "service_manager") == (boris.id,)
        assert statements["count"] == before  # every step asks; the database is asked once
        # A person's everyday changes (the form they are filling, their language) leave the roles cached.
        async with core.sessionmaker() as session, session.begin():
            row = await people.user_for_update(session, boris.id)
            assert row is not None
            row.language = "en"
            await session.flush()
        before = statements["count"]
        assert await _roles(core, boris.id) == {"service_manager"}
        assert statements["count"] == before
        async with core.sessionmaker() as session, session.begin():
            await people.revoke(session, boris.id, ["service_manager"])
            await people.grant(session, boris.id, ["director"])
            assert await _roles(core, boris.id) == {"service_manager"}  # not committed yet
        assert await _roles(core, boris.id) == {"director"}
        assert await _members(core, "service_manager") == ()
    finally:
        event.remove(core.db.sync_engine, "before_cursor_execute", counted)
        await core.close()


async def test_a_role_granted_by_one_worker_reaches_the_other_at_its_commit(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers share one database on PostgreSQL only (SQLite runs one bot process)")
    worker_a = await build_core(Settings(data_dir=tmp_path / "a", database_url=database_url))
    worker_b = await build_core(Settings(data_dir=tmp_path / "b", database_url=database_url))
    statements = {"count": 0}

    def counted(*_args: object) -> None:
        statements["count"] += 1

    event.listen(worker_a.db.sync_engine, "before_cursor_execute", counted)
    try:
        now = worker_a.clock.now()
        async with worker_a.sessionmaker() as session, session.begin():
            anna = await people.register(session, tg_id=501, name="Анна", username=None, language="ru", now=now)
            await people.grant(session, anna.id, ["accountant"])
        assert await _roles(worker_a, anna.id) == {"accountant"}
        assert await _members(worker_a, "director") == ()
        before = statements["count"]
        assert await _roles(worker_a, anna.id) == {"accountant"}  # from the cache: no statement
        assert await _members(worker_a, "director") == ()
        assert statements["count"] == before

        # The other worker makes Anna a director; until its commit, worker A still sees her as she was.
        async with worker_b.sessionmaker() as session, session.begin():
            await people.grant(session, anna.id, ["director"])
            assert await people.roles_of(session, anna.id) == {"accountant", "director"}  # its own change
            assert await _roles(worker_a, anna.id) == {"accountant"}

        async def a_sees_director() -> bool:
            return await _roles(worker_a, anna.id) == {"accountant", "director"}

        await _eventually(a_sees_director)
        assert await _members(worker_a, "director") == (anna.id,)

        # A revocation (a Core DELETE, not an ORM flush) travels the same way.
        async with worker_b.sessionmaker() as session, session.begin():
            await people.revoke(session, anna.id, ["accountant"])

        async def a_sees_revoked() -> bool:
            return await _roles(worker_a, anna.id) == {"director"}

        await _eventually(a_sees_revoked)

        # A change rolled back changes nothing anywhere.
        async with worker_b.sessionmaker() as session:
            async with session.begin():
                await people.grant(session, anna.id, ["warehouse_head"])
                await session.rollback()
        assert await _roles(worker_a, anna.id) == {"director"}
        assert await _roles(worker_b, anna.id) == {"director"}
    finally:
        event.remove(worker_a.db.sync_engine, "before_cursor_execute", counted)
        await worker_a.close()
        await worker_b.close()


async def _email_on(core: Core, kind: str) -> bool:
    async with core.sessionmaker() as session:
        return (await channels.settings(session))[kind].email


async def test_notification_settings_are_read_once_and_a_change_reaches_every_worker(
    tmp_path: Path, database_url: str
) -> None:
    workers = [await build_core(Settings(data_dir=tmp_path / "a", database_url=database_url))]
    if database_url.startswith("postgresql"):  # a second worker shares the database on PostgreSQL only
        workers.append(await build_core(Settings(data_dir=tmp_path / "b", database_url=database_url)))
    worker_a, worker_b = workers[0], workers[-1]
    kind = channels.KINDS[0]
    statements = {"count": 0}

    def counted(*_args: object) -> None:
        statements["count"] += 1

    event.listen(worker_a.db.sync_engine, "before_cursor_execute", counted)
    try:
        assert not await _email_on(worker_a, kind)
        before = statements["count"]
        for _ in range(3):  # every notification asks; the database is asked once
            assert not await _email_on(worker_a, kind)
        assert statements["count"] == before

        async with worker_b.sessionmaker() as session, session.begin():
            await channels.save_settings(session, channels.KindChannels(kind, email=True), worker_b.clock.now())
            assert await channels.settings(session) and (await channels.settings(session))[kind].email  # its own
            if worker_b is not worker_a:
                assert not await _email_on(worker_a, kind)  # not committed yet

        async def a_sees_email() -> bool:
            return await _email_on(worker_a, kind)

        await _eventually(a_sees_email)
    finally:
        event.remove(worker_a.db.sync_engine, "before_cursor_execute", counted)
        for worker in workers:
            await worker.close()
