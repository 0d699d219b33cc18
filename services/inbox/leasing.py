"""Finding the updates whose turn it is: `pending` (one process), `lease` (workers sharing the inbox: found and
leased to this worker), `release`, and the timed passes' questions (`any_due`, `lost_questions`)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    Text,
    Update,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.driver import fetch_on, in_autocommit
from db.models import InboxUpdate, User, status_is
from flows.status import InboxStatus
from services.inbox.base import INBOX, LEASE, Due, older_pending, wall_clock


async def pending(connection: AsyncConnection | AsyncSession, limit: int = 200) -> list[Due]:
    """The updates due now, oldest first: at most the oldest waiting update of each person (one waiting for a
    retry holds the rest of that person back), with its payload: found and read in one statement, on a plain
    connection (no ORM session: this runs once per pass of the processor)."""
    rows = await connection.execute(_pending(limit), {"now": wall_clock()})
    return [Due(int(person), int(update_id), raw) for person, update_id, raw in rows.all()]


def _due() -> tuple[Any, ...]:
    """Pending, not waiting for a retry (or a lease), and no older update of the same person pending."""
    now: BindParameter[datetime] = bindparam("now", type_=InboxUpdate.not_before.type)
    return (
        status_is(InboxUpdate.status, InboxStatus.PENDING),
        (InboxUpdate.not_before.is_(None)) | (InboxUpdate.not_before <= now),
        ~older_pending(InboxUpdate.person_id, InboxUpdate.update_id),
    )


@functools.cache
def _pending(limit: int) -> Select[int, int, str]:  # built once: only its parameters change
    return (
        select(InboxUpdate.person_id, InboxUpdate.update_id, cast(InboxUpdate.payload, Text).label("payload"))
        .where(*_due())
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )


async def lease(connection: AsyncConnection, limit: int = 200, until: datetime | None = None) -> list[Due]:
    """`pending` for workers sharing the inbox (webhook mode): the due updates are also leased to this worker —
    `not_before` moved `LEASE` ahead — in the same statement, so the other workers' passes do not see them and do
    not start them too (each would wait on this worker's row lock, then find the update done: the whole handling
    paid twice). Rows another worker is leasing at this moment are skipped, not waited for. The lease is no
    claim: `take` still decides who handles the update, so a lease that runs out (a worker that died) only lets
    another worker try it. `until` (tests): when the lease ends."""
    ends = until if until is not None else wall_clock() + LEASE
    statement = _lease(limit, connection.dialect.name == "postgresql")
    rows = await connection.execute(statement, {"now": wall_clock(), "until": ends})
    return sorted((Due(int(person), int(update_id), raw) for person, update_id, raw in rows.all()),
                  key=lambda due: due.update_id)


async def release(connection: AsyncConnection, update_ids: list[int]) -> None:
    """Leased updates this worker will not handle (it is stopping, or the claim was not its to take): due again
    for any worker at once."""
    await connection.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(update_ids), InboxUpdate.status == InboxStatus.PENDING)
        .values(not_before=None)
    )


@functools.cache
def _lease(limit: int, postgresql: bool = True) -> Update:  # built once per dialect: only its parameters change
    chosen = (
        select(InboxUpdate.update_id)
        .where(*_due())
        .order_by(InboxUpdate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=InboxUpdate)
        .scalar_subquery()
    )
    # PostgreSQL: the chosen ids as an array (`= ANY(ARRAY(…))`, evaluated once), found through the primary key.
    # With `IN (…)`, statistics that promised many due updates (taken in a burst) made it join them to a scan of
    # the whole inbox, every update ever received read to lease two.
    chosen_ids = INBOX.c.update_id == any_(func.array(chosen)) if postgresql else INBOX.c.update_id.in_(chosen)
    return (
        update(INBOX)
        .where(chosen_ids)
        .values(not_before=bindparam("until", type_=INBOX.c.not_before.type))
        .returning(INBOX.c.person_id, INBOX.c.update_id, cast(INBOX.c.payload, Text))
    )


# Whether a pass could find anything to start now: `_due()`'s conditions — an update pending, neither leased nor
# waiting for a retry, and no older update of its person pending (else a person's update stored behind one that a
# busy worker holds would make every timed pass pay the question and the lease). For the driver (`fetch_on`). The
# first such update in update_id order, not EXISTS: ordered, it is read through the waiting updates' own index
# (`ix_inbox_waiting`); as EXISTS, statistics that promised many pending updates (taken during a backlog) made
# PostgreSQL scan the table for one, reading the handled updates stored before it.
_ANY_DUE = select(InboxUpdate.update_id).where(*_due()).order_by(InboxUpdate.update_id).limit(literal_column("1"))


async def any_due(connection: AsyncConnection) -> bool:
    """PostgreSQL, before a timed pass: whether it could find anything (`_ANY_DUE`), asked with one prebuilt
    statement on the driver — an idle worker's pass costs this question, not the pass's statement through
    SQLAlchemy (the lease's UPDATE … FOR UPDATE SKIP LOCKED, or the pending read). True when `connection` is not
    in autocommit on PostgreSQL (the pass is not asked about then)."""
    if not in_autocommit(connection):
        return True
    return bool(await fetch_on(connection, _ANY_DUE, {"now": wall_clock()}))


# The people whose form question may not have arrived before :cutoff and who have not written since.
_LOST_QUESTIONS = (
    select(User.id)
    .where(
        User.question_lost_at < bindparam("cutoff", type_=User.question_lost_at.type),
        User.active_task_id.is_not(None),
    )
    .order_by(User.id)
)


async def lost_questions(connection: AsyncConnection, cutoff: datetime) -> list[int]:
    """The people whose form question may not have arrived before `cutoff` and who have not written since (the
    inbox processor asks them again, `InboxProcessor.reask_lost_questions`): on an autocommit PostgreSQL connection
    one prebuilt statement on the driver (`fetch_on`), every 5 s in every worker; elsewhere through SQLAlchemy."""
    if in_autocommit(connection):
        return [int(row[0]) for row in await fetch_on(connection, _LOST_QUESTIONS, {"cutoff": cutoff})]
    return [int(user_id) for user_id in (await connection.execute(_LOST_QUESTIONS, {"cutoff": cutoff})).scalars()]
