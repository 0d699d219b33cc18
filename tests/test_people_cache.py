"""Roles are cached per process, and a change made anywhere reaches every worker's cache at its commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import event
from sqlalchemy.engine import AdaptedConnection, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

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


# A read that raced a change: its SELECT saw the value before the change, the change's commit cleared the cache,
# and only then did the read come back to store what it saw. The directory's counter (`generation`) is what keeps
# that stale value out of the cache; these tests hold a real read at that point while a real change commits.
_NO_RACE_ON_SQLITE = (
    "on SQLite every transaction, a read's too, takes this process's one writer's turn (db.engine.WriterTurns): "
    "no commit lands between a read's SELECT and its store"
)
_WRITERS = ["this worker", "another worker"]


class _HeldRead:
    """The first SELECT on `engine` whose text (on one line) has `wanted`, held once its rows have come back (read,
    not yet returned to the code that asked) until `release` is set: a read in flight, for a change to commit
    meanwhile. SQLAlchemy's own event and its documented way of awaiting inside one (`AdaptedConnection.run_async`)."""

    def __init__(self, engine: AsyncEngine, wanted: str) -> None:
        self.engine, self.wanted = engine.sync_engine, wanted
        self.rows_read = asyncio.Event()
        self.release = asyncio.Event()
        self.armed = True
        event.listen(self.engine, "after_cursor_execute", self._hold)

    def _hold(self, connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if not (self.armed and statement.startswith("SELECT") and self.wanted in " ".join(statement.split())):
            return
        self.armed = False
        self.rows_read.set()
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, AdaptedConnection)
        raw.run_async(lambda _driver: self.release.wait())

    async def wait(self) -> None:
        async with asyncio.timeout(5):
            await self.rows_read.wait()

    def close(self) -> None:
        self.release.set()
        event.remove(self.engine, "after_cursor_execute", self._hold)


async def _cleared_since(core: Core, generation: int) -> None:
    """Until the core's directory has been cleared (at once for its own commit, at the NOTIFY for another's)."""
    directory = core.people
    assert directory is not None

    async def cleared() -> bool:
        return directory.generation != generation

    await _eventually(cleared)


async def _workers(tmp_path: Path, database_url: str, writer: str) -> tuple[Core, Core]:
    if not database_url.startswith("postgresql"):
        pytest.skip(_NO_RACE_ON_SQLITE)
    reader = await build_core(Settings(data_dir=tmp_path / "a", database_url=database_url))
    if writer == "this worker":
        return reader, reader
    return reader, await build_core(Settings(data_dir=tmp_path / "b", database_url=database_url))


async def _close(worker_a: Core, worker_b: Core) -> None:
    await worker_a.close()
    if worker_b is not worker_a:
        await worker_b.close()


_Seen = TypeVar("_Seen")


async def _raced(
    reader: Core, wanted: str, read: Callable[[], Awaitable[_Seen]], change: Callable[[], Awaitable[None]]
) -> _Seen:
    """What `read` (on `reader`, whose cache must not hold its value) returns when its SELECT of `wanted` has seen
    the database before `change` and comes back only once `change` has committed and cleared `reader`'s cache."""
    directory = reader.people
    assert directory is not None
    held = _HeldRead(reader.db, wanted)
    reading = asyncio.create_task(read())
    try:
        await held.wait()  # its SELECT has seen the database as it was; it has not stored that yet
        generation = directory.generation
        await change()
        await _cleared_since(reader, generation)
        held.release.set()
        return await reading
    finally:
        held.close()
        await asyncio.wait([reading])


@pytest.mark.parametrize("writer", _WRITERS)
async def test_a_settings_read_that_raced_a_change_is_not_kept(tmp_path: Path, database_url: str, writer: str) -> None:
    worker_a, worker_b = await _workers(tmp_path, database_url, writer)
    kind = channels.KINDS[0]

    async def switch_email_on() -> None:
        async with worker_b.sessionmaker() as session, session.begin():
            await channels.save_settings(session, channels.KindChannels(kind, email=True), worker_b.clock.now())

    try:
        # Nothing is kept yet: the read asks the database, sees e-mail off, and comes back after the change.
        assert not await _raced(worker_a, "FROM channel_settings", lambda: _email_on(worker_a, kind), switch_email_on)
        assert await _email_on(worker_a, kind)  # it did not keep what it saw: the next read sees the change
        assert await _email_on(worker_a, kind)
    finally:
        await _close(worker_a, worker_b)


@pytest.mark.parametrize("writer", _WRITERS)
async def test_a_members_read_that_raced_a_grant_is_not_kept(tmp_path: Path, database_url: str, writer: str) -> None:
    worker_a, worker_b = await _workers(tmp_path, database_url, writer)
    try:
        async with worker_a.sessionmaker() as session, session.begin():  # its commit clears the cache
            anna = await people.register(session, tg_id=503, name="Анна", username=None, language="ru",
                                         now=worker_a.clock.now())  # fmt: skip

        async def make_anna_director() -> None:
            async with worker_b.sessionmaker() as session, session.begin():
                await people.grant(session, anna.id, ["director"])

        raced = await _raced(worker_a, "FROM users JOIN user_roles", lambda: _members(worker_a, "director"),
                             make_anna_director)  # fmt: skip
        assert raced == ()  # what the read saw …
        assert await _members(worker_a, "director") == (anna.id,)  # … it did not keep
        assert await _members(worker_a, "director") == (anna.id,)
    finally:
        await _close(worker_a, worker_b)


@pytest.mark.parametrize("writer", _WRITERS)
async def test_a_roles_read_that_raced_a_grant_is_not_kept(tmp_path: Path, database_url: str, writer: str) -> None:
    worker_a, worker_b = await _workers(tmp_path, database_url, writer)
    try:
        async with worker_a.sessionmaker() as session, session.begin():
            boris = await people.register(session, tg_id=504, name="Борис", username=None, language="ru",
                                          now=worker_a.clock.now())  # fmt: skip

        async def make_boris_accountant() -> None:
            async with worker_b.sessionmaker() as session, session.begin():
                await people.grant(session, boris.id, ["accountant"])

        raced = await _raced(worker_a, "FROM user_roles WHERE", lambda: _roles(worker_a, boris.id),
                             make_boris_accountant)  # fmt: skip
        assert raced == set()  # what the read saw …
        assert await _roles(worker_a, boris.id) == {"accountant"}  # … it did not keep
        assert await _roles(worker_a, boris.id) == {"accountant"}
    finally:
        await _close(worker_a, worker_b)


async def _name_seen(core: Core, user_id: int) -> str:
    """A person's name as a step reads it: through a unit of work's `PeopleCache`, from the process's copies."""
    async with core.sessionmaker() as session:
        return await people.PeopleCache(session).name(user_id)


@pytest.mark.parametrize("writer", _WRITERS)
async def test_a_persons_row_read_that_raced_a_rename_is_not_kept(
    tmp_path: Path, database_url: str, writer: str
) -> None:
    worker_a, worker_b = await _workers(tmp_path, database_url, writer)
    try:
        async with worker_a.sessionmaker() as session, session.begin():
            vera = await people.register(session, tg_id=505, name="Вера", username=None, language="ru",
                                         now=worker_a.clock.now())  # fmt: skip

        async def rename_vera() -> None:
            async with worker_b.sessionmaker() as session, session.begin():
                row = await people.user_for_update(session, vera.id, lock=True)
                assert row is not None
                row.name = "Вера Павловна"

        raced = await _raced(worker_a, "FROM users WHERE users.id IN", lambda: _name_seen(worker_a, vera.id),
                             rename_vera)  # fmt: skip
        assert raced == "Вера"  # what the read saw …
        assert await _name_seen(worker_a, vera.id) == "Вера Павловна"  # … it did not keep
        assert await _name_seen(worker_a, vera.id) == "Вера Павловна"  # and now it is kept, the new name
        directory = worker_a.people
        assert directory is not None and directory.people[vera.id].name == "Вера Павловна"
    finally:
        await _close(worker_a, worker_b)
