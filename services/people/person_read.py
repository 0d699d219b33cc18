"""The person who sent an update, their roles and the form they fill with its case, read in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, Table, bindparam, inspect, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.orm.util import identity_key

from db.models import Case, Task, User, UserRole


@dataclass(slots=True)
class FormTask:
    """The task of the form a person is filling, as a plain row read with the person (no ORM entity: the form's
    answers read it and write its draft through `services.outbox_answer.with_draft`). The same attributes as `Task`."""

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
