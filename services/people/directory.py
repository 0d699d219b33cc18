"""The people directory: roles per person, the active members of each role, people's rows and other readers'
settings, kept for the whole process and cleared at the commit of any change to them, in every worker."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from db.models import User

log = logging.getLogger(__name__)

DIRECTORY = "people_directory"  # the key of the process's `PeopleDirectory` in every session's `info`
CHANGED = "people_changed"  # set in a session's `info` once its transaction changed roles or who is active
ROWS_CHANGED = "people_rows_changed"  # … once it changed another column of a person the directory copies
CHANNEL = "konveyer_people"  # PostgreSQL NOTIFY channel: some worker changed people or roles


class PeopleDirectory:
    """Roles per person and the active members of each role, cached for the whole process: every step asks
    who may do what, and these change only when an admin grants, revokes or someone registers. The admins'
    notification settings (`channel_settings`, `message_templates`) are kept here too, by their readers
    (`services.channels`), and invalidated the same way: read once per process, not once per step.

    Invalidation: a transaction that touches users or roles (ORM flush or Core statement, seen by session
    events below) bypasses the cache for itself, clears it in this process when it commits and, on
    PostgreSQL, sends NOTIFY within the transaction so every other worker's directory clears at that commit
    too (`listen`). Without a live LISTEN connection, a PostgreSQL process reads the database every time: a
    stale role must never decide who may act.
    """

    def __init__(self, *, live: bool) -> None:
        self.live = live
        self.generation = 0  # a read that raced an invalidation must not store what it read
        self.roles: dict[int, frozenset[str]] = {}
        self.members: dict[str, tuple[int, ...]] = {}
        self.settings: dict[str, Any] = {}  # other readers' process-wide values, by their own keys
        # People as a step reads them (names, languages, where to write): copies in no session, by id. What
        # changes all day long (a form's progress, a pending question) is not kept in them; see `_VOLATILE`.
        self.people: dict[int, User] = {}
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        # This process's NOTIFY payload: its own commits have cleared its cache already (`after_commit`).
        self.token = secrets.token_hex(8)

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        token, _space, what = payload.partition(" ")
        if token != self.token:
            if what == ROWS:
                self.forget_people()
            else:
                self.invalidate()

    def forget_people(self) -> None:
        """A person's name, language, reachability or addresses changed: the copies go, the roles stay."""
        self.generation += 1
        self.people.clear()

    def invalidate(self, *_args: Any) -> None:
        self.generation += 1
        self.roles.clear()
        self.members.clear()
        self.settings.clear()
        self.people.clear()

    async def listen(self, db: AsyncEngine) -> None:
        """PostgreSQL: one connection LISTENs for other workers' changes for the life of the process."""
        connection = await db.connect()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.add_listener(CHANNEL, self._notified)
        driver.add_termination_listener(self._lost)
        self._connection, self._driver = connection, driver
        self.invalidate()
        self.live = True

    def _lost(self, *_args: Any) -> None:
        log.warning("people: the LISTEN connection is gone; roles are read from the database from now on")
        self.live = False
        self.invalidate()

    async def close(self) -> None:
        self.live = False
        if self._connection is not None:
            self._driver.remove_termination_listener(self._lost)
            await self._connection.close()
            self._connection = self._driver = None


def directory_of(session: AsyncSession, *, rows: bool = False) -> PeopleDirectory | None:
    """The process's cache, if this session may read from it (see `PeopleDirectory`); `rows`: its copies of
    people too (not once this transaction changed a column they copy)."""
    directory = session.info.get(DIRECTORY)
    if not isinstance(directory, PeopleDirectory) or not directory.live or session.info.get(CHANGED):
        return None  # no cache, or this transaction changed people: it must see its own changes
    if rows and session.info.get(ROWS_CHANGED):
        return None
    return directory


ROWS = "rows"  # the NOTIFY payload's word for «only people's rows changed»

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")
_Read = Callable[[AsyncSession], Awaitable[dict[_Key, _Value]]]  # a read of a value kept by `cached_setting`


def cached_setting(key: str) -> Callable[[_Read[_Key, _Value]], _Read[_Key, _Value]]:
    """A read of a process-wide value of another reader (the notification settings and templates), kept in the
    directory by `key` and cleared with it (see `PeopleDirectory`); the read runs when the value is not kept or may
    not be read. Each caller gets a copy of its own; a read that raced an invalidation is not kept. A decorator, so
    that a kept value costs one call, as a read written out by hand would."""

    def keep(read: _Read[_Key, _Value]) -> _Read[_Key, _Value]:
        @functools.wraps(read)
        async def cached(session: AsyncSession) -> dict[_Key, _Value]:
            directory = directory_of(session)
            if directory is None:
                return await read(session)
            kept = directory.settings.get(key)
            if kept is not None:
                return dict(kept)
            generation = directory.generation
            found = await read(session)
            if directory.generation == generation:
                directory.settings[key] = dict(found)
            return found

        return cached

    return keep


# A person's columns that change all day long (a form's progress, a question asked, a delivery mark, the newest
# «Which process?» list): the directory's copies of people are never read for them (`PeopleCache.user` is not how
# they are read).
_VOLATILE = frozenset({"active_task_id", "prompt", "question_lost_at", "picker_ref", "picker_chosen"})
# What the directory holds depends on these: role rows, whether a person is active (members) and the rest of a
# person's row (the copies a step reads people from: name, language, reachability, addresses, organisation).
_WATCHED_COLUMNS = frozenset({"active"})
_COPIED_COLUMNS = frozenset(column.key for column in User.__table__.columns) - _VOLATILE - _WATCHED_COLUMNS
# Tables whose every change clears the directory (the notification settings kept in it).
_WATCHED_TABLES = frozenset({"user_roles", "channel_settings", "message_templates"})


@event.listens_for(Session, "before_flush")
def _people_flushed(session: Session, _context: UOWTransaction | None, _instances: object) -> None:
    if CHANGED in session.info:
        return
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, User) or _watched(obj):
            session.info[CHANGED] = True
            return
    for obj in session.dirty:
        if _watched(obj) or (
            isinstance(obj, User) and any(inspect(obj).attrs[c].history.has_changes() for c in _WATCHED_COLUMNS)
        ):
            # Not a form's progress (active_task_id) or a delivery mark: those change all day long.
            session.info[CHANGED] = True
            return
        if (ROWS_CHANGED not in session.info and isinstance(obj, User)
                and any(inspect(obj).attrs[c].history.has_changes() for c in _COPIED_COLUMNS)):
            session.info[ROWS_CHANGED] = True  # the directory's copies of people go at the commit; roles stay


def _watched(obj: object) -> bool:
    table = getattr(type(obj), "__tablename__", None)
    return table in _WATCHED_TABLES


def _sets(state: ORMExecuteState) -> set[str]:
    names: set[str] = set()
    values = getattr(state.statement, "_values", None) or {}
    names.update(str(getattr(key, "key", key)) for key in values)
    params = state.parameters
    for row in [params] if isinstance(params, dict) else list(params or []):
        names.update(str(key) for key in row)
    return names


@event.listens_for(Session, "do_orm_execute")
def _people_statement(state: ORMExecuteState) -> None:
    if CHANGED in state.session.info or not (state.is_update or state.is_delete or state.is_insert):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name in _WATCHED_TABLES or (name == "users" and not state.is_update):
        state.session.info[CHANGED] = True
    elif name == "users":
        names = _sets(state)
        if names & _WATCHED_COLUMNS:
            state.session.info[CHANGED] = True
        elif names & _COPIED_COLUMNS:
            state.session.info[ROWS_CHANGED] = True  # a delivery mark (unreachable): the copies go at the commit


@event.listens_for(Session, "before_commit")
def _people_notify(session: Session) -> None:
    directory = session.info.get(DIRECTORY)
    if not isinstance(directory, PeopleDirectory):
        return
    # A commit flushes only after this hook: a change still waiting in the unit of work (a person renamed by
    # setting an attribute) must be judged here as its flush will judge it, or the other workers are never told
    # and keep the old copy. Judged, not flushed: a flush here would write a step's waiting rows apart from its
    # one write (`services/outbox.open_step`).
    _people_flushed(session, None, None)
    changed, rows = session.info.get(CHANGED), session.info.get(ROWS_CHANGED)
    if changed or rows:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            # Delivered to every listener at this commit, not before.
            payload = directory.token if changed else f"{directory.token} {ROWS}"
            connection.exec_driver_sql(f"NOTIFY {CHANNEL}, '{payload}'")


@event.listens_for(Session, "after_commit")
def _people_committed(session: Session) -> None:
    changed, rows = session.info.pop(CHANGED, None), session.info.pop(ROWS_CHANGED, None)
    directory = session.info.get(DIRECTORY)
    if isinstance(directory, PeopleDirectory):
        if changed:
            directory.invalidate()
        elif rows:
            directory.forget_people()


@event.listens_for(Session, "after_rollback")
def _people_rolled_back(session: Session) -> None:
    session.info.pop(CHANGED, None)
    session.info.pop(ROWS_CHANGED, None)
