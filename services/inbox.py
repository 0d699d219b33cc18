"""The durable inbox: updates are rows before they are acknowledged, handled from the table once, in
per-person order, and marked done in the same transaction as everything they changed.

- `store` is idempotent: Telegram redelivers (a slow reply, a dead worker) and the same `update_id` is
  then simply not stored again.
- `take` is the claim inside the handling transaction: it moves the row from pending to done only if it
  is still pending and no older update of the same person is; on PostgreSQL the row stays locked until
  the transaction ends, so a second worker waits and then finds it done. If the handling fails, the
  transaction rolls back and the row is pending again.
- failures are counted (`failed_attempt`); a step that keeps failing is parked as `failed` with its error
  and case, for the admins to see and retry (`retry`).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    Table,
    Text,
    Update,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from db.driver import fetch_sql as driver_fetch
from db.driver import in_autocommit
from db.models import InboxUpdate, User
from db.recordset import rows_json
from flows.status import InboxStatus, transition
from services import people
from services.people import PersonRead

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a passing fault (a deadlock, a dropped connection) gets two more tries; a bug does not
# Retries wait on the wall clock (an operational pause, not business time, which tests move by hand).
RETRY_DELAY = timedelta(seconds=0.5)


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Due:
    """An update whose turn it is: its person's oldest waiting one."""

    person_id: int
    update_id: int
    # The payload as stored, JSON text: a pass finds the updates of people still being handled too (their update
    # stays pending until it commits), so it is decoded only when the update is started, not on every pass.
    raw: str = ""
    # Or the payload itself, when it came with the update (received, not read back from the table).
    parsed: dict[str, Any] | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return self.parsed if self.parsed is not None else dict(json.loads(self.raw))


@dataclass(frozen=True)
class Incoming:
    update_id: int
    person_id: int
    payload: dict[str, Any]


async def store(
    session: AsyncConnection | AsyncSession, updates: list[Incoming], now: datetime, *, sqlite: bool
) -> int:
    """Insert the updates not seen before; returns how many were new."""
    if not updates:
        return 0
    rows = [
        {
            "update_id": u.update_id,
            "person_id": u.person_id,
            "payload": u.payload,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for u in updates
    ]
    connection = await session.connection() if isinstance(session, AsyncSession) else session  # Core, not ORM bulk
    if sqlite:
        # The rows as the parameters of one statement shape (executemany in one call of the driver): a multi-row
        # VALUES would be compiled anew for every batch getUpdates brings.
        result = await connection.execute(_STORE_SQLITE, rows)
    else:
        # The rows as one JSON parameter: one statement shape, compiled once per process (a multi-row VALUES is
        # compiled, and its cache key walked value by value, anew for every batch getUpdates brings).
        result = await connection.execute(_STORE, {"rows": rows_json(rows)})
    return int(result.rowcount or 0)


_STORED = ("update_id", "person_id", "payload", "status", "attempts", "received_at")


def _store() -> Any:
    """PostgreSQL: INSERT … SELECT FROM json_populate_recordset(:rows) ON CONFLICT (update_id) DO NOTHING."""
    source = text("json_populate_recordset(NULL::inbox, CAST(:rows AS json)) AS r").bindparams(
        bindparam("rows", type_=Text())
    )
    query: Any = select(*(literal_column(f'r."{name}"') for name in _STORED)).select_from(source)
    table: Table = InboxUpdate.__table__  # type: ignore[assignment]  # Core: also run through an ORM session
    return pg_insert(table).from_select(list(_STORED), query).on_conflict_do_nothing(index_elements=["update_id"])


_STORE = _store()


async def store_due(connection: AsyncConnection, updates: list[Incoming], now: datetime) -> list[tuple[int, int, bool]]:
    """PostgreSQL, one process handling the inbox (polling): `store`, answering for each new update (update id,
    person, due) whether no older update of its person was pending when it was stored — so the processor starts it
    at once, without a pass reading it back, as a webhook worker does (`store_leased`). Rows of one batch do not see
    each other: the first of a person in a batch can be due, the rest are behind it (the caller knows). Due is no
    claim: `take` still decides."""
    if not updates:
        return []
    rows = [{"update_id": u.update_id, "person_id": u.person_id, "payload": u.payload,
             "status": InboxStatus.PENDING, "attempts": 0, "received_at": now} for u in updates]
    result = await connection.execute(_STORE_DUE, {"rows": rows_json(rows)})
    return [(int(update_id), int(person_id), bool(due)) for update_id, person_id, due in result.all()]


def _store_due() -> Any:
    table: Table = InboxUpdate.__table__  # type: ignore[assignment]
    older = table.alias("older")
    # The inserted row's own columns (SQLAlchemy does not correlate a subquery in RETURNING to the INSERT's table).
    person: Any = literal_column("inbox.person_id")
    update_id: Any = literal_column("inbox.update_id")
    behind = exists().where(older.c.person_id == person, older.c.update_id < update_id,
                            older.c.status == InboxStatus.PENDING)
    return _store().returning(table.c.update_id, table.c.person_id, ~behind)


_STORE_DUE = _store_due()


async def store_leased(
    connection: AsyncConnection, update: Incoming, now: datetime, raw: str | None = None
) -> bool | None:
    """PostgreSQL, webhook workers: `store` for one update, leased to this worker in the INSERT itself when its
    person has no older update pending — so the worker that received it hands it straight to its handler,
    without a pass (`lease`) to find it. True when it was stored and leased (its handling is this worker's to
    start); False for one stored behind an older pending update of its person (left to the passes, which start
    it in its turn); None for a repeated update (stored before). The lease is no claim: `take` still decides.

    On a connection in autocommit (`Core.single_statements`, as the webhook stores), the INSERT is one prebuilt
    statement sent straight to the driver, the update's JSON text as it came (`raw`, else the payload encoded):
    SQLAlchemy's execution path (compiled cache lookup, execution context, the payload's encoding into a JSON
    recordset, the result) cost more client CPU than the round trip. In a transaction it goes through SQLAlchemy
    (its BEGIN is SQLAlchemy's to send)."""
    if in_autocommit(connection):
        text_payload = raw if raw is not None else json.dumps(update.payload, ensure_ascii=False)
        rows = await driver_fetch(
            connection, _STORE_LEASED_SQL, update.update_id, update.person_id, text_payload,
            InboxStatus.PENDING.value, now, wall_clock() + LEASE,
        )
        return None if not rows else bool(rows[0][0])
    row = {
        "update_id": update.update_id,
        "person_id": update.person_id,
        "payload": update.payload,
        "status": InboxStatus.PENDING,
        "attempts": 0,
        "received_at": now,
        "not_before": wall_clock() + LEASE,
    }
    result = await connection.execute(_STORE_LEASED, {"rows": rows_json([row])})
    stored = result.first()
    return None if stored is None else bool(stored[0])


def _store_leased() -> Any:
    """INSERT … SELECT FROM json_populate_recordset(:rows), `not_before` kept (the lease) only when no older update
    of the person is pending, ON CONFLICT (update_id) DO NOTHING RETURNING whether it was leased."""
    table: Table = InboxUpdate.__table__  # type: ignore[assignment]
    older = table.alias("older")
    source = text("json_populate_recordset(NULL::inbox, CAST(:rows AS json)) AS r").bindparams(
        bindparam("rows", type_=Text())
    )
    person: Any = literal_column('r."person_id"')
    update_id: Any = literal_column('r."update_id"')
    behind = exists().where(
        older.c.person_id == person, older.c.update_id < update_id, older.c.status == InboxStatus.PENDING
    )
    lease_until = case((behind, null()), else_=literal_column('r."not_before"'))
    query: Any = select(*(literal_column(f'r."{name}"') for name in _STORED), lease_until).select_from(source)
    return (
        pg_insert(table)
        .from_select([*_STORED, "not_before"], query)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(table.c.not_before.is_not(None))
    )


_STORE_LEASED = _store_leased()

# `_STORE_LEASED` as SQL for the driver (asyncpg keeps it prepared per connection): $1 update_id, $2 person_id,
# $3 the payload's JSON text, $4 'pending', $5 received_at, $6 the lease's end. The same rows and answer.
# The older update's check takes no lock: the webhook's answer never waits for another update's transaction
# (Telegram's delivery, and the sandbox's one at a time, would stall behind it). An update stored behind one whose
# claim is under way is looked at again after the answer (`lease_behind`).
_STORE_LEASED_SQL = (
    "INSERT INTO inbox (update_id, person_id, payload, status, attempts, received_at, not_before) "
    "SELECT $1::bigint, $2::bigint, CAST($3::text AS jsonb), $4::varchar, 0, $5::timestamptz, "
    "CASE WHEN EXISTS (SELECT 1 FROM inbox AS older WHERE older.person_id = $2::bigint "
    "AND older.update_id < $1::bigint AND older.status = $4::varchar) THEN NULL ELSE $6::timestamptz END "
    "ON CONFLICT (update_id) DO NOTHING RETURNING not_before IS NOT NULL"
)


async def lease_behind(connection: AsyncConnection, update: Incoming) -> bool:
    """PostgreSQL, webhook workers, on an autocommit connection, after `store_leased` stored `update` behind an older
    pending update of its person (the receiving worker runs it after the webhook's answer): waits for a claim of
    that older one under way (FOR SHARE), and leases `update` to this worker if it is due then. True when leased
    (its handling is this worker's to start).

    The older update's claim chains the person's next stored update (`take_with_person_and_next`), but a claim
    already under way when `update` was stored did not see it: once it commits nobody knew `update` was due, and it
    waited for a pass (a timed one, or one the worker woke at every end while anything was stored behind it: with
    bursts sent to two workers, a lease statement for most updates). This look closes that window when the claim
    holds the older row by now; a claim that locks it only after this look, or one that does not chain (a
    refusal's plain `take`, a rollback), still leaves the update to a pass. One statement, only for an update stored
    behind; its wait is the rest of that claim's transaction (a few ms, longer if its handler waits on Telegram
    inside it), and it holds no webhook answer."""
    assert in_autocommit(connection), "lease_behind: one statement on an autocommit connection"
    due = wall_clock()
    rows = await driver_fetch(connection, _LEASE_BEHIND_SQL, update.update_id, update.person_id,
                              InboxStatus.PENDING.value, due, due + LEASE)
    return bool(rows)


# $1 update_id, $2 person_id, $3 'pending', $4 now, $5 the lease's end.
_LEASE_BEHIND_SQL = (
    "UPDATE inbox SET not_before = $5::timestamptz WHERE update_id = $1::bigint AND status = $3::varchar "
    "AND (not_before IS NULL OR not_before <= $4::timestamptz) AND NOT EXISTS (SELECT 1 FROM inbox AS older "
    "WHERE older.person_id = $2::bigint AND older.update_id < $1::bigint AND older.status = $3::varchar FOR SHARE) "
    "RETURNING update_id"
)

# Whether a pass could find anything to start now: `_due()`'s conditions — an update pending, neither leased nor
# waiting for a retry, and no older update of its person pending (else a person's update stored behind one that a
# busy worker holds would make every timed pass pay the question and the lease). $1 'pending', $2 now.
_ANY_DUE_SQL = (
    "SELECT EXISTS (SELECT 1 FROM inbox i WHERE i.status = $1::varchar AND (i.not_before IS NULL OR i.not_before <= $2)"
    " AND NOT EXISTS (SELECT 1 FROM inbox o WHERE o.person_id = i.person_id AND o.update_id < i.update_id"
    " AND o.status = $1::varchar))"
)


_LOST_QUESTIONS_SQL = (
    "SELECT id FROM users WHERE question_lost_at < $1 AND active_task_id IS NOT NULL ORDER BY id"
)


async def lost_questions(connection: AsyncConnection, cutoff: datetime) -> list[int]:
    """The people whose form question may not have arrived before `cutoff` and who have not written since (the
    inbox processor asks them again, `InboxProcessor.reask_lost_questions`): on an autocommit PostgreSQL connection
    one prebuilt statement on the driver, every 5 s in every worker; elsewhere through SQLAlchemy."""
    if in_autocommit(connection):
        return [int(row[0]) for row in await driver_fetch(connection, _LOST_QUESTIONS_SQL, cutoff)]
    query = select(User.id).where(User.question_lost_at < cutoff, User.active_task_id.is_not(None)).order_by(User.id)
    return [int(user_id) for user_id in (await connection.execute(query)).scalars()]


async def any_due(connection: AsyncConnection) -> bool:
    """PostgreSQL, before a timed pass: whether it could find anything (`_ANY_DUE_SQL`), asked with one prebuilt
    statement on the driver — an idle worker's pass costs this question, not the pass's statement through
    SQLAlchemy (the lease's UPDATE … FOR UPDATE SKIP LOCKED, or the pending read). True when `connection` is not
    in autocommit on PostgreSQL (the pass is not asked about then)."""
    if not in_autocommit(connection):
        return True
    rows = await driver_fetch(connection, _ANY_DUE_SQL, InboxStatus.PENDING.value, wall_clock())
    return bool(rows[0][0])
_STORE_SQLITE = sqlite_insert(InboxUpdate).on_conflict_do_nothing(index_elements=["update_id"])


async def pending(connection: AsyncConnection | AsyncSession, limit: int = 200) -> list[Due]:
    """The updates due now, oldest first: at most the oldest waiting update of each person (one waiting for a
    retry holds the rest of that person back), with its payload: found and read in one statement, on a plain
    connection (no ORM session: this runs once per pass of the processor)."""
    rows = await connection.execute(_pending(limit), {"now": wall_clock()})
    return [Due(int(person), int(update_id), raw) for person, update_id, raw in rows.all()]


def _due() -> tuple[Any, ...]:
    """Pending, not waiting for a retry (or a lease), and no older update of the same person pending."""
    older = aliased(InboxUpdate)
    waiting_before = exists().where(
        older.person_id == InboxUpdate.person_id,
        older.update_id < InboxUpdate.update_id,
        older.status == InboxStatus.PENDING,
    )
    now: BindParameter[datetime] = bindparam("now", type_=InboxUpdate.not_before.type)
    return (
        InboxUpdate.status == InboxStatus.PENDING,
        (InboxUpdate.not_before.is_(None)) | (InboxUpdate.not_before <= now),
        ~waiting_before,
    )


@functools.cache
def _pending(limit: int) -> Select[int, int, str]:  # built once: only its parameters change
    return (
        select(InboxUpdate.person_id, InboxUpdate.update_id, cast(InboxUpdate.payload, Text).label("payload"))
        .where(*_due())
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )


# Longer than an update waits for its turn in a busy worker and is handled; what another worker waits before it
# takes over the updates of a worker that died.
LEASE = timedelta(seconds=10)


async def lease(connection: AsyncConnection, limit: int = 200, until: datetime | None = None) -> list[Due]:
    """`pending` for workers sharing the inbox (webhook mode): the due updates are also leased to this worker —
    `not_before` moved `LEASE` ahead — in the same statement, so the other workers' passes do not see them and do
    not start them too (each would wait on this worker's row lock, then find the update done: the whole handling
    paid twice). Rows another worker is leasing at this moment are skipped, not waited for. The lease is no
    claim: `take` still decides who handles the update, so a lease that runs out (a worker that died) only lets
    another worker try it. `until` (tests): when the lease ends."""
    ends = until if until is not None else wall_clock() + LEASE
    rows = await connection.execute(_lease(limit), {"now": wall_clock(), "until": ends})
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
def _lease(limit: int) -> Update:  # built once: only its parameters change
    inbox: Table = InboxUpdate.__table__  # type: ignore[assignment]
    chosen = (
        select(InboxUpdate.update_id)
        .where(*_due())
        .order_by(InboxUpdate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=InboxUpdate)
        .scalar_subquery()
    )
    return (
        update(inbox)
        .where(inbox.c.update_id.in_(chosen))
        .values(not_before=bindparam("until", type_=inbox.c.not_before.type))
        .returning(inbox.c.person_id, inbox.c.update_id, cast(inbox.c.payload, Text))
    )


async def take(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Claim the update for this transaction: True if it was pending and it is this person's turn. (A Core
    statement built once, on the session's connection: the ORM has nothing to track here.)"""
    connection = await session.connection()
    result = await connection.execute(_TAKE, {"uid": update_id, "now": now})
    return bool(result.rowcount)


def _take() -> Update:
    inbox: Table = InboxUpdate.__table__  # type: ignore[assignment]
    older = inbox.alias("older")
    uid: BindParameter[int] = bindparam("uid", type_=inbox.c.update_id.type)
    return (
        update(inbox)
        .where(
            inbox.c.update_id == uid,
            inbox.c.status == InboxStatus.PENDING,
            ~exists().where(
                and_(
                    older.c.person_id == inbox.c.person_id,
                    older.c.update_id < uid,
                    older.c.status == InboxStatus.PENDING,
                )
            ),
        )
        .values(
            status=transition(InboxStatus.PENDING, InboxStatus.DONE),
            handled_at=bindparam("now", type_=inbox.c.handled_at.type),
        )
    )


_TAKE = _take()


async def take_with_person(session: AsyncSession, update_id: int, tg_id: int, now: datetime) -> PersonRead | None:
    """On PostgreSQL, the claim (`take`) and the person's read (`people.user_and_roles`, their row locked) in one
    Core statement: a data-modifying CTE claims the update, a locking CTE takes the person's row (its newest
    version after any wait), and the one row of the claim's count is joined to the person, their roles and the
    task of the form they fill with its case. None when the update is not this transaction's to handle (the
    person is read even then; nobody uses it)."""
    connection = await session.connection()
    rows = (await connection.execute(_TAKE_WITH_PERSON, {"uid": update_id, "now": now, "tg": tg_id})).all()
    if not rows or not rows[0][0]:
        return None
    return people.person_of_rows(session, rows, offset=1)


def _take_with_person() -> Select[Any]:
    inbox: Table = InboxUpdate.__table__  # type: ignore[assignment]
    taken = _take().returning(inbox.c.update_id).cte("taken")
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
    connection = await session.connection()
    rows = (
        await connection.execute(
            _TAKE_WITH_PERSON_AND_NEXT, {"uid": update_id, "now": now, "tg": tg_id, "until": wall_clock() + LEASE}
        )
    ).all()
    if not rows or not rows[0][0]:
        return None, None
    first = rows[0]
    following = Due(int(first[1]), int(first[2]), first[3]) if first[2] is not None else None
    return people.person_of_rows(session, rows, offset=4), following


def _take_with_person_and_next() -> Select[Any]:
    inbox: Table = InboxUpdate.__table__  # type: ignore[assignment]
    taken = _take().returning(inbox.c.update_id, inbox.c.person_id).cte("taken")
    later = inbox.alias("later")
    next_id = (
        select(func.min(later.c.update_id))
        .select_from(taken.join(later, later.c.person_id == taken.c.person_id))
        .where(later.c.update_id > taken.c.update_id, later.c.status == InboxStatus.PENDING)
        .scalar_subquery()
    )
    following = (
        update(inbox)
        .where(inbox.c.update_id == next_id, inbox.c.status == InboxStatus.PENDING)
        .values(not_before=bindparam("until", type_=inbox.c.not_before.type))
        .returning(inbox.c.person_id, inbox.c.update_id, cast(inbox.c.payload, Text).label("payload"))
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


async def failed_attempt(
    session: AsyncSession, update_id: int, error: str, now: datetime, case_id: int | None = None
) -> bool:
    """Count a failed try (the handling transaction was rolled back). True when the update is now parked as
    failed: it will not be tried again until an admin retries it."""
    row = await session.get(InboxUpdate, update_id, with_for_update=True)
    if row is None or row.status != InboxStatus.PENDING:
        return False
    row.attempts += 1
    row.error = error[:2000]
    row.case_id = case_id or row.case_id
    if row.attempts >= MAX_ATTEMPTS:
        row.status = transition(row.status, InboxStatus.FAILED)
        row.handled_at = now
        return True
    row.not_before = wall_clock() + RETRY_DELAY * row.attempts
    return False


async def give_up(session: AsyncSession, update_id: int, error: str, now: datetime) -> None:
    """An update that can never be handled (it cannot even be read): parked as failed at once."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == InboxStatus.PENDING)
        .values(
            status=transition(InboxStatus.PENDING, InboxStatus.FAILED),
            error=error[:2000],
            handled_at=now,
            attempts=InboxUpdate.attempts + 1,
        )
    )


async def retry(session: AsyncSession, update_id: int) -> bool:
    """An admin fixed the data or the definition: try the parked update again."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status == InboxStatus.FAILED)
        .values(
            status=transition(InboxStatus.FAILED, InboxStatus.PENDING), attempts=0, not_before=None, handled_at=None
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def prune(session: AsyncSession, before: datetime) -> None:
    """Done updates are kept a while (to recognise redeliveries), then dropped."""
    await session.execute(
        InboxUpdate.__table__.delete().where(  # type: ignore[attr-defined]
            InboxUpdate.status == InboxStatus.DONE, InboxUpdate.handled_at < before
        )
    )
