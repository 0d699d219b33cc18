"""The claim inside the handling transaction (`take`): it moves the row from pending to done only if it is still
pending and no older update of the same person is; on PostgreSQL the row stays locked until the transaction ends,
so a second worker waits and then finds it done. If the handling fails, the transaction rolls back and the row is
pending again. `take_with_person` and `take_with_person_and_next`: the same claim with the person's read (and the
person's next update leased) in one statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Select, Text, Update, bindparam, cast, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import driver
from db.models import status_is
from flows.status import InboxStatus, transition
from services import people
from services.inbox.base import INBOX, LEASE, Due, older_pending, wall_clock
from services.people import PersonRead


async def take(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Claim the update for this transaction: True if it was pending and it is this person's turn. (A Core
    statement built once, on the session's connection: the ORM has nothing to track here.)"""
    connection = await session.connection()
    result = await connection.execute(_TAKE, {"uid": update_id, "now": now})
    return bool(result.rowcount)


def _take() -> Update:
    uid: BindParameter[int] = bindparam("uid", type_=INBOX.c.update_id.type)
    return (
        update(INBOX)
        .where(
            INBOX.c.update_id == uid,
            status_is(INBOX.c.status, InboxStatus.PENDING),
            ~older_pending(INBOX.c.person_id, uid),
        )
        .values(
            status=transition(InboxStatus.PENDING, InboxStatus.DONE),
            handled_at=bindparam("now", type_=INBOX.c.handled_at.type),
        )
    )


_TAKE = _take()


async def take_with_person(session: AsyncSession, update_id: int, tg_id: int, now: datetime) -> PersonRead | None:
    """On PostgreSQL, the claim (`take`) and the person's read (`people.user_and_roles`, their row locked) in one
    Core statement: a data-modifying CTE claims the update, a locking CTE takes the person's row (its newest
    version after any wait), and the one row of the claim's count is joined to the person, their roles and the
    task of the form they fill with its case. None when the update is not this transaction's to handle (the
    person is read even then; nobody uses it)."""
    rows = await _fetch(session, _TAKE_WITH_PERSON, {"uid": update_id, "now": now, "tg": tg_id})
    if not rows or not rows[0][0]:
        return None
    return people.person_of_rows(session, rows, offset=1)


async def _fetch(session: AsyncSession, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """PostgreSQL: the claim, the transaction's first statement, straight to the driver (`driver.fetch`, which
    begins the transaction as SQLAlchemy would): SQLAlchemy's execution path around it cost ~0.17 ms of client CPU
    an update (1.28 → 1.11 ms a transaction with its person's read, measured by turns). Its rows come back as
    SQLAlchemy's result would give them (`driver.rows_as_sqlalchemy`: datetimes, statuses)."""
    rows = await driver.fetch(session, statement, params, begin=True)
    return driver.rows_as_sqlalchemy(statement, session.get_bind().dialect, rows)


def _take_with_person() -> Select[Any]:
    taken = _take().returning(INBOX.c.update_id).cte("taken")
    claim = select(func.count().label("taken")).select_from(taken).subquery("claim")
    return people.person_query(lock=True, claim=claim)


_TAKE_WITH_PERSON = _take_with_person()


async def take_with_person_and_next(
    session: AsyncSession, update_id: int, tg_id: int, now: datetime
) -> tuple[PersonRead | None, Due | None]:
    """`take_with_person` for webhook workers: the same statement also leases to this worker the person's next
    pending update, if one is stored already, and reads it — so once this transaction commits, the worker starts
    it at once instead of a pass finding it. The lease is the transaction's: a rollback gives it back with the
    claim. (None, None) when the update is not this transaction's to handle."""
    rows = await _fetch(
        session, _TAKE_WITH_PERSON_AND_NEXT, {"uid": update_id, "now": now, "tg": tg_id, "until": wall_clock() + LEASE}
    )
    if not rows or not rows[0][0]:
        return None, None
    first = rows[0]
    following = Due(int(first[1]), int(first[2]), first[3]) if first[2] is not None else None
    return people.person_of_rows(session, rows, offset=4), following


def _take_with_person_and_next() -> Select[Any]:
    taken = _take().returning(INBOX.c.update_id, INBOX.c.person_id).cte("taken")
    later = INBOX.alias("later")
    next_id = (
        select(func.min(later.c.update_id))
        .select_from(taken.join(later, later.c.person_id == taken.c.person_id))
        .where(later.c.update_id > taken.c.update_id, status_is(later.c.status, InboxStatus.PENDING))
        .scalar_subquery()
    )
    following = (
        update(INBOX)
        .where(INBOX.c.update_id == next_id, status_is(INBOX.c.status, InboxStatus.PENDING))
        .values(not_before=bindparam("until", type_=INBOX.c.not_before.type))
        .returning(INBOX.c.person_id, INBOX.c.update_id, cast(INBOX.c.payload, Text).label("payload"))
        .cte("following")
    )
    # One row whatever `following` holds: the count of the claim outer-joined to the (at most one) leased next.
    one = select(select(func.count()).select_from(taken).scalar_subquery().label("taken")).subquery("one")
    head = (
        select(one.c.taken, following.c.person_id, following.c.update_id, following.c.payload)
        .select_from(one.outerjoin(following, true()))
        .subquery("claim")
    )
    return people.person_query(lock=True, claim=head)


_TAKE_WITH_PERSON_AND_NEXT = _take_with_person_and_next()
