"""What the inbox's parts share: its table, the updates as they come in and as they are started, the lease, the
wall clock, and the one condition every start, claim and lease asks — an older update of the same person still
pending (`older_pending`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Exists, Select, Table, literal_column, select

from db.models import InboxUpdate, status_is
from flows.status import InboxStatus

INBOX: Table = InboxUpdate.__table__  # type: ignore[assignment]  # Core: also run through an ORM session

# Longer than an update waits for its turn in a busy worker and is handled; what another worker waits before it
# takes over the updates of a worker that died.
LEASE = timedelta(seconds=10)


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


def older_pending(person: Any, update_id: Any, *, lock: bool = False) -> Exists:
    """EXISTS an update of `person` older than `update_id` still pending: then it is not this update's turn. The
    one definition for every statement that asks (the claim, the passes' reads and leases, the timed pass's
    question, the stores that answer whether the stored update is due, the look behind): `person` and `update_id`
    are the asking statement's own (a column of its row, a literal column of its source, a parameter). `lock`:
    FOR SHARE, to wait for a claim of the older update under way."""
    older = INBOX.alias("older")
    query: Select[Any] = select(literal_column("*")).select_from(older).where(
        older.c.person_id == person, older.c.update_id < update_id, status_is(older.c.status, InboxStatus.PENDING)
    )
    return (query.with_for_update(read=True) if lock else query).exists()
