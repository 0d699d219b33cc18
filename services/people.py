"""People, their roles and invites."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Select, Table, bindparam, delete, event, inspect, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.util import identity_key

from db.models import Case, Invite, Task, User, UserRole
from flows.i18n import _

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


def directory_of(session: AsyncSession) -> PeopleDirectory | None:
    """The process's cache, if this session may read from it (see `PeopleDirectory`)."""
    return _directory(session)


def _directory(session: AsyncSession, *, rows: bool = False) -> PeopleDirectory | None:
    directory = session.info.get(DIRECTORY)
    if not isinstance(directory, PeopleDirectory) or not directory.live or session.info.get(CHANGED):
        return None  # no cache, or this transaction changed people: it must see its own changes
    if rows and session.info.get(ROWS_CHANGED):
        return None
    return directory


ROWS = "rows"  # the NOTIFY payload's word for «only people's rows changed»

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


async def cached_setting(
    session: AsyncSession, key: str, read: Callable[[AsyncSession], Awaitable[dict[_Key, _Value]]]
) -> dict[_Key, _Value]:
    """A process-wide value of another reader (the notification settings and templates), kept in the directory by
    `key` and cleared with it (see `PeopleDirectory`): `read(session)` when it is not kept or may not be read.
    Each caller gets a copy of its own; a read that raced an invalidation is not kept."""
    directory = _directory(session)
    if directory is None:
        return await read(session)
    cached = directory.settings.get(key)
    if cached is not None:
        return dict(cached)
    generation = directory.generation
    found = await read(session)
    if directory.generation == generation:
        directory.settings[key] = dict(found)
    return found


# A person's columns that change all day long (a form's progress, a question asked, a delivery mark): the
# directory's copies of people are never read for them (`PeopleCache.user` is not how they are read).
_VOLATILE = frozenset({"active_task_id", "prompt", "question_lost_at"})
# What the directory holds depends on these: role rows, whether a person is active (members) and the rest of a
# person's row (the copies a step reads people from: name, language, reachability, addresses, organisation).
_WATCHED_COLUMNS = frozenset({"active"})
_COPIED_COLUMNS = frozenset(column.key for column in User.__table__.columns) - _VOLATILE - _WATCHED_COLUMNS
# Tables whose every change clears the directory (the notification settings kept in it).
_WATCHED_TABLES = frozenset({"user_roles", "channel_settings", "message_templates"})


@event.listens_for(Session, "before_flush")
def _people_flushed(session: Session, _context: UOWTransaction, _instances: object) -> None:
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
    changed, rows = session.info.get(CHANGED), session.info.get(ROWS_CHANGED)
    if (changed or rows) and isinstance(directory, PeopleDirectory):
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


class InviteError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def user_by_tg(session: AsyncSession, tg_id: int, *, lock: bool = False) -> User | None:
    query = select(User).where(User.tg_id == tg_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(slots=True)
class FormTask:
    """The task of the form a person is filling, as a plain row read with the person (no ORM entity: the form's
    answers read it and write its draft through `services.outbox.with_draft`). The same attributes as `Task`."""

    id: int
    case_id: int
    key: str
    stage: str
    visit: int
    kind: str
    role: str | None
    assignee_id: int | None
    status: str
    outcome: str | None
    draft: dict[str, Any] | None
    due_at: datetime | None
    created_at: datetime
    claimed_at: datetime | None
    done_at: datetime | None
    done_by: int | None


@dataclass(slots=True, frozen=True)
class FormCase:
    """What a form needs of its case, read with the person: its definition, its data, its organisation."""

    id: int
    definition_id: int
    data: dict[str, Any]
    company_id: int | None


@dataclass(slots=True)
class PersonRead:
    """Who sent an update (a `User` in the session, persistent and clean: handlers change it), their roles, and the
    task of the form they fill with its case, as plain rows."""

    user: User | None = None
    roles: set[str] = field(default_factory=set)
    task: FormTask | None = None
    case: FormCase | None = None


_USERS: Table = User.__table__  # type: ignore[assignment]
_ROLES: Table = UserRole.__table__  # type: ignore[assignment]
_TASKS: Table = Task.__table__  # type: ignore[assignment]
_CASES: Table = Case.__table__  # type: ignore[assignment]
_USER_KEYS = tuple(prop.key for prop in inspect(User).column_attrs)
_USER_COLUMNS = tuple(prop.columns[0].name for prop in inspect(User).column_attrs)
_TASK_COLUMNS = tuple(f.name for f in fields(FormTask))
_CASE_COLUMNS = tuple(f.name for f in fields(FormCase))


def person_query(*, lock: bool, claim: Any = None) -> Select[Any]:
    """One Core statement (built once by its callers, compiled once per process): the person by `:tg`, a row per
    role, each with the form's task and its case. `lock`: the person's row locked (PostgreSQL). `claim`: a
    one-row subquery joined first (the inbox's claim), its columns first in the row; the person then comes from
    a locking CTE, so the row read is the newest one after any wait."""
    tg: BindParameter[int] = bindparam("tg", type_=_USERS.c.tg_id.type)
    head: list[Any] = []
    person: Any = _USERS
    if claim is not None:
        person = select(_USERS).where(_USERS.c.tg_id == tg).with_for_update().cte("person")
        head = list(claim.c)
    columns = [
        *head,
        *(person.c[name] for name in _USER_COLUMNS),
        _ROLES.c.role,
        *(_TASKS.c[name] for name in _TASK_COLUMNS),
        *(_CASES.c[name] for name in _CASE_COLUMNS),
    ]
    joined = (
        (claim.outerjoin(person, true()) if claim is not None else person)
        .outerjoin(_ROLES, _ROLES.c.user_id == person.c.id)
        .outerjoin(_TASKS, _TASKS.c.id == person.c.active_task_id)
        .outerjoin(_CASES, _CASES.c.id == _TASKS.c.case_id)
    )
    query = select(*columns).select_from(joined)
    if claim is None:
        query = query.where(_USERS.c.tg_id == tg)
        if lock:
            query = query.with_for_update(of=_USERS)  # the person's row only; roles and the form are read
    return query


def person_of_rows(session: AsyncSession, rows: Sequence[Any], offset: int = 0) -> PersonRead:
    """The rows of `person_query` (from column `offset`) as the person, attached to the session as a loaded row
    would be, their roles and the form's task and case as plain rows."""
    if not rows or rows[0][offset] is None:
        return PersonRead()
    first = rows[0]
    users, tasks = offset + len(_USER_COLUMNS), offset + len(_USER_COLUMNS) + 1
    cases = tasks + len(_TASK_COLUMNS)
    user = _attached_user(session, dict(zip(_USER_KEYS, first[offset:users], strict=True)))
    task = FormTask(*first[tasks:cases]) if first[tasks] is not None else None
    case = FormCase(*first[cases : cases + len(_CASE_COLUMNS)]) if first[cases] is not None else None
    return PersonRead(user, {row[users] for row in rows if row[users] is not None}, task, case)


def _attached_user(session: AsyncSession, values: dict[str, Any]) -> User:
    """The person's row as a `User` in the session, persistent and clean (its changes are flushed as ever) — made
    from the values read, without the ORM's loading of a query's rows. One already in the session is kept."""
    sync = session.sync_session
    held = sync.identity_map.get(identity_key(User, values["id"]))
    if isinstance(held, User):
        return held
    user: User = _USER_MANAGER.new_instance()
    user.__dict__.update(values)
    make_transient_to_detached(user)
    sync.add(user)
    return user


_USER_MANAGER = manager_of_class(User)


async def user_and_roles(session: AsyncSession, tg_id: int, *, lock: bool = False) -> PersonRead:
    """The person, their roles, and the task of the form they are filling with its case: what every update
    needs, in one round trip (a Core statement on the session's connection)."""
    connection = await session.connection()
    rows = (await connection.execute(_PERSON_LOCKED if lock else _PERSON, {"tg": tg_id})).all()
    return person_of_rows(session, rows)


_PERSON = person_query(lock=False)
_PERSON_LOCKED = person_query(lock=True)


async def user_for_update(session: AsyncSession, user_id: int, *, lock: bool = False) -> User | None:
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def roles_of(session: AsyncSession, user_id: int) -> set[str]:
    directory = _directory(session)
    if directory is not None:
        cached = directory.roles.get(user_id)
        if cached is not None:
            return set(cached)
        generation = directory.generation
    rows = await session.execute(select(UserRole.role).where(UserRole.user_id == user_id))
    roles = set(rows.scalars())
    if directory is not None and directory.generation == generation:
        directory.roles[user_id] = frozenset(roles)
    return roles


async def member_ids(session: AsyncSession, role: str) -> tuple[int, ...]:
    """The active people of a role, by id in id order (cached like `roles_of`)."""
    directory = _directory(session)
    if directory is not None:
        cached = directory.members.get(role)
        if cached is not None:
            return cached
        generation = directory.generation
    rows = await session.execute(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )
    ids = tuple(rows.scalars())
    if directory is not None and directory.generation == generation:
        directory.members[role] = ids
    return ids


async def members(session: AsyncSession, role: str) -> list[User]:
    rows = await session.execute(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )
    return list(rows.scalars())


async def users_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, User]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await session.execute(select(User).where(User.id.in_(wanted)))
    return {u.id: u for u in rows.scalars()}


async def admins(session: AsyncSession) -> list[User]:
    rows = await session.execute(select(User).where(User.is_admin.is_(True), User.active.is_(True)))
    return list(rows.scalars())


async def grant(session: AsyncSession, user_id: int, roles: Iterable[str]) -> None:
    have = await roles_of(session, user_id)
    for role in roles:
        if role not in have:
            session.add(UserRole(user_id=user_id, role=role))
    await session.flush()


async def revoke(session: AsyncSession, user_id: int, roles: Iterable[str]) -> None:
    await session.execute(delete(UserRole).where(UserRole.user_id == user_id, UserRole.role.in_(list(roles))))


async def register(
    session: AsyncSession,
    *,
    tg_id: int,
    name: str,
    username: str | None,
    language: str,
    now: datetime,
    is_admin: bool = False,
) -> User:
    user = await user_by_tg(session, tg_id)
    if user is None:
        user = User(
            tg_id=tg_id,
            name=name,
            username=username,
            language=language,
            is_admin=is_admin,
            created_at=now,
            active=True,
            awaiting_approval=False,
        )
        session.add(user)
        await session.flush()
    elif is_admin and not user.is_admin:
        user.is_admin = True
    return user


async def create_invite(
    session: AsyncSession,
    *,
    roles: list[str],
    created_by: int | None,
    now: datetime,
    max_uses: int = 1,
    make_admin: bool = False,
    organisation_id: int | None = None,
    hold: bool = False,
) -> Invite:
    invite = Invite(
        organisation_id=organisation_id,
        hold=hold,
        code=secrets.token_urlsafe(12),
        roles=roles,
        created_by=created_by,
        created_at=now,
        max_uses=max_uses,
        uses=0,
        make_admin=make_admin,
    )
    session.add(invite)
    await session.flush()
    return invite


async def use_invite(session: AsyncSession, code: str, now: datetime) -> Invite:
    invite = await session.get(Invite, code)
    if invite is None:
        raise InviteError(_("This invite link is not valid. Ask your administrator for a new one."))
    if invite.expires_at is not None and invite.expires_at < now:
        raise InviteError(_("This invite link has expired. Ask your administrator for a new one."))
    # A conditional update, so two people racing for the last use cannot both get it.
    result = await session.execute(
        update(Invite).where(Invite.code == code, Invite.uses < Invite.max_uses).values(uses=Invite.uses + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InviteError(_("This invite link has already been used. Ask your administrator for a new one."))
    return invite


def _copy(user: User) -> User:
    """A person's row as a copy in no session (the directory's, shared by every session of the process)."""
    return User(**{column.key: getattr(user, column.key) for column in User.__table__.columns})


class PeopleCache:
    """People and role members as one unit of work sees them: a command touches the same few people many
    times (cards, names, notifications), so each is read once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._members: dict[str, list[User]] = {}
        self._users: dict[int, User] = {}
        self._hinted: set[int] = set()

    def hint(self, ids: Iterable[int | None]) -> None:
        """People this unit of work will most likely need (a case's initiator, holders of its tasks): read
        together with the first people it does need, in one query, not one query each."""
        self._hinted.update(i for i in ids if i)

    async def members(self, role: str) -> list[User]:
        if role not in self._members:
            ids = await member_ids(self.session, role)
            found = await self.users(ids)
            self._members[role] = [found[i] for i in ids if i in found and found[i].active]
        return self._members[role]

    def remember(self, users: Iterable[User]) -> None:
        """People read by another query of this unit of work (with their cards, say): no need to read them again."""
        self._users.update({u.id: u for u in users})

    async def users(self, ids: Iterable[int]) -> dict[int, User]:
        """People by id, for reading: from the process's directory when it may be read (copies in no session,
        whose columns of `_VOLATILE` are not to be trusted), else from the database in one query with the
        hinted ones. Code that changes a person reads their row itself (`session.get`)."""
        ids = list(ids)
        missing = {i for i in ids if i and i not in self._users}
        if missing:
            missing |= self._hinted - self._users.keys()
            self._hinted.clear()
            directory = _directory(self.session, rows=True)
            if directory is None:
                self._users.update(await users_by_ids(self.session, missing))
            else:
                kept = {i: directory.people[i] for i in missing if i in directory.people}
                self._users.update(kept)
                missing -= kept.keys()
                if missing:
                    generation = directory.generation
                    found = await users_by_ids(self.session, missing)
                    self._users.update(found)
                    if directory.generation == generation:
                        directory.people.update({i: _copy(user) for i, user in found.items()})
        return {i: self._users[i] for i in ids if i in self._users}

    async def user(self, user_id: int | None) -> User | None:
        if not user_id:
            return None
        return (await self.users([user_id])).get(user_id)

    async def name(self, user_id: int | None) -> str:
        user = await self.user(user_id)
        return user.name if user else "?"

    async def names(self, user_ids: Iterable[int | None]) -> dict[int, str]:
        users = await self.users([i for i in user_ids if i])
        return {uid: u.name for uid, u in users.items()}
