"""Updates into the inbox: `store` (idempotent: Telegram redelivers — a slow reply, a dead worker — and the same
`update_id` is then simply not stored again), `store_due` (polling: and whether each is due), `store_leased`
(webhook workers: and leased to this worker when due), `lease_behind` (a look again at one stored behind)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    Text,
    bindparam,
    case,
    cast,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.driver import fetch_on, in_autocommit
from db.models import InboxUpdate, status_is
from db.recordset import rows_json
from flows.status import InboxStatus
from services.inbox.base import INBOX, LEASE, Incoming, older_pending, wall_clock


def _rows(updates: list[Incoming], now: datetime) -> list[dict[str, Any]]:
    """The updates as new rows of the inbox: pending, not tried yet, received `now`."""
    return [
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


async def store(
    session: AsyncConnection | AsyncSession, updates: list[Incoming], now: datetime, *, sqlite: bool
) -> int:
    """Insert the updates not seen before; returns how many were new."""
    if not updates:
        return 0
    rows = _rows(updates, now)
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
_SOURCE = 'r."{}"'  # a column of the rows stored (`_recordset`)


def _recordset() -> Any:
    """The rows to store as one JSON parameter, typed by the inbox's columns."""
    return text("json_populate_recordset(NULL::inbox, CAST(:rows AS json)) AS r").bindparams(
        bindparam("rows", type_=Text())
    )


def _store() -> Any:
    """PostgreSQL: INSERT … SELECT FROM json_populate_recordset(:rows) ON CONFLICT (update_id) DO NOTHING."""
    query: Any = select(*(literal_column(_SOURCE.format(name)) for name in _STORED)).select_from(_recordset())
    return pg_insert(INBOX).from_select(list(_STORED), query).on_conflict_do_nothing(index_elements=["update_id"])


_STORE = _store()
_STORE_SQLITE = sqlite_insert(InboxUpdate).on_conflict_do_nothing(index_elements=["update_id"])


async def store_due(connection: AsyncConnection, updates: list[Incoming], now: datetime) -> list[tuple[int, int, bool]]:
    """PostgreSQL, one process handling the inbox (polling): `store`, answering for each new update (update id,
    person, due) whether no older update of its person was pending when it was stored — so the processor starts it
    at once, without a pass reading it back, as a webhook worker does (`store_leased`). Rows of one batch do not see
    each other: the first of a person in a batch can be due, the rest are behind it (the caller knows). Due is no
    claim: `take` still decides."""
    if not updates:
        return []
    result = await connection.execute(_STORE_DUE, {"rows": rows_json(_rows(updates, now))})
    return [(int(update_id), int(person_id), bool(due)) for update_id, person_id, due in result.all()]


def _store_due() -> Any:
    # The inserted row's own columns (SQLAlchemy does not correlate a subquery in RETURNING to the INSERT's table).
    behind = older_pending(literal_column("inbox.person_id"), literal_column("inbox.update_id"))
    return _store().returning(INBOX.c.update_id, INBOX.c.person_id, ~behind)


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
        rows = await fetch_on(connection, _STORE_LEASED_DRIVER, {
            "update_id": update.update_id, "person_id": update.person_id, "payload": text_payload,
            "received_at": now, "until": wall_clock() + LEASE,
        })  # fmt: skip
        return None if not rows else bool(rows[0][0])
    [row] = _rows([update], now)
    row["not_before"] = wall_clock() + LEASE
    result = await connection.execute(_STORE_LEASED, {"rows": rows_json([row])})
    stored = result.first()
    return None if stored is None else bool(stored[0])


def _leased_insert(query: Any) -> Any:
    """The leased stores' INSERT: `query`'s rows (the stored columns, then the lease) into the inbox, ON CONFLICT
    (update_id) DO NOTHING RETURNING whether the row was leased."""
    return (
        pg_insert(INBOX)
        .from_select([*_STORED, "not_before"], query)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(INBOX.c.not_before.is_not(None))
    )


def _store_leased() -> Any:
    """INSERT … SELECT FROM json_populate_recordset(:rows), `not_before` kept (the lease) only when no older update
    of the person is pending, ON CONFLICT (update_id) DO NOTHING RETURNING whether it was leased."""
    source: list[Any] = [literal_column(_SOURCE.format(name)) for name in _STORED]
    behind = older_pending(literal_column(_SOURCE.format("person_id")), literal_column(_SOURCE.format("update_id")))
    lease_until = case((behind, null()), else_=literal_column(_SOURCE.format("not_before")))
    query: Any = select(*source, lease_until).select_from(_recordset())
    return _leased_insert(query)


_STORE_LEASED = _store_leased()


def _store_leased_driver() -> Any:
    """`_STORE_LEASED` for the driver (`db.driver.fetch_on`, compiled once per process; asyncpg keeps it prepared
    per connection): the row's columns as parameters, the payload as its JSON text. The same rows and answer.
    The older update's check takes no lock: the webhook's answer never waits for another update's transaction
    (Telegram's delivery, and the sandbox's one at a time, would stall behind it). An update stored behind one whose
    claim is under way is looked at again after the answer (`lease_behind`)."""
    update_id = bindparam("update_id", type_=BigInteger())
    person = bindparam("person_id", type_=BigInteger())
    lease_until = case((older_pending(person, update_id), null()),
                       else_=bindparam("until", type_=DateTime(timezone=True)))
    query: Any = select(
        update_id,
        person,
        cast(bindparam("payload", type_=Text()), JSONB),
        bindparam("status", InboxStatus.PENDING.value, type_=String()),
        literal_column("0"),
        bindparam("received_at", type_=DateTime(timezone=True)),
        lease_until,
    )
    return _leased_insert(query)


_STORE_LEASED_DRIVER = _store_leased_driver()


async def lease_behind(connection: AsyncConnection, update: Incoming) -> bool:
    """PostgreSQL, webhook workers, on an autocommit connection, after `store_leased` stored `update` behind an older
    pending update of its person (the receiving worker runs it after the webhook's answer): waits for a claim of
    that older one under way (FOR SHARE), and leases `update` to this worker if it is due then. True when leased
    (its handling is this worker's to start).

    The older update's claim chains the person's next stored update (`take_with_person_and_next`), but a claim
    already under way when `update` was stored did not see it: once it commits nobody knew `update` was due, and it
    waited for a pass (a timed one, or one the worker woke at every end while anything was stored behind it: with
    bursts sent to two workers, a lease statement for most updates). This look closes that window when the claim
    holds the older row by now; a claim that locks it only after this look, or a rollback, still leaves the update
    to a pass. One statement, only for an update stored behind; its wait is the rest of that claim's transaction (a
    few ms: handlers call Telegram after their commit), and it holds no webhook answer."""
    assert in_autocommit(connection), "lease_behind: one statement on an autocommit connection"
    due = wall_clock()
    rows = await fetch_on(connection, _LEASE_BEHIND, {
        "update_id": update.update_id, "person_id": update.person_id, "now": due, "until": due + LEASE,
    })  # fmt: skip
    return bool(rows)


def _lease_behind() -> Any:
    """UPDATE … SET the lease WHERE the update is pending, not leased, and no older update of its person is pending
    once a claim of it under way is done (FOR SHARE) RETURNING update_id: for the driver (`fetch_on`)."""
    update_id = bindparam("update_id", type_=BigInteger())
    now = bindparam("now", type_=DateTime(timezone=True))
    return (
        update(INBOX)
        .where(
            INBOX.c.update_id == update_id,
            status_is(INBOX.c.status, InboxStatus.PENDING),
            or_(INBOX.c.not_before.is_(None), INBOX.c.not_before <= now),
            ~older_pending(bindparam("person_id", type_=BigInteger()), update_id, lock=True),
        )
        .values(not_before=bindparam("until", type_=DateTime(timezone=True)))
        .returning(INBOX.c.update_id)
    )


_LEASE_BEHIND = _lease_behind()
