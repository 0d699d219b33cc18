"""Failures are counted (`failed_attempt`); a step that keeps failing is parked as `failed` with its error and
case, for the admins to see and retry (`retry`); an update that cannot be read is parked at once (`give_up`); done
updates are dropped after a while (`prune`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import InboxUpdate
from flows.status import InboxStatus, transition
from services.inbox.base import INBOX, wall_clock

MAX_ATTEMPTS = 3  # a passing fault (a deadlock, a dropped connection) gets two more tries; a bug does not
# Retries wait on the wall clock (an operational pause, not business time, which tests move by hand).
RETRY_DELAY = timedelta(seconds=0.5)


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
        INBOX.delete().where(InboxUpdate.status == InboxStatus.DONE, InboxUpdate.handled_at < before)
    )
