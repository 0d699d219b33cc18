"""Sessions of the web panel and the throttle on wrong admin tokens, kept in the database so that every
worker behind a load balancer sees the same sessions and counts the same failures.

Only a hash of the session id is stored: a copy of the table (a backup, a read-only replica) does not hand
out live cookies. Times are wall-clock UTC, not the business clock: a session's idle timeout runs in real
time even when tests or a demo move case time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import PanelLoginFailure, PanelSession


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)  # 256 bits: not guessable, whatever the throttle


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=12)  # ends after this long without a request
    lifetime: timedelta = timedelta(days=7)  # ends this long after login, however busy
    touch_every: timedelta = timedelta(minutes=1)  # last_seen_at is written at most this often
    tries_before_wait: int = 5  # after this many wrong tokens in a row the address must wait
    first_wait: timedelta = timedelta(seconds=30)  # doubled on every further wrong token
    max_wait: timedelta = timedelta(hours=1)
    forget_after: timedelta = timedelta(hours=1)  # a quiet address starts over
    # A page opened before a re-login in the same browser still sends its forms this long with its old CSRF token.
    form_grace: timedelta = timedelta(minutes=10)


async def load(session: AsyncSession, session_id: str, now: datetime, policy: SessionPolicy) -> PanelSession | None:
    """The live session with this id, touched; None when there is none or it has expired (then it is gone)."""
    row = await session.get(PanelSession, hash_id(session_id))
    if row is None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= policy.idle:
        await session.delete(row)
        return None
    if now - row.last_seen_at >= policy.touch_every:
        row.last_seen_at = now
    return row


async def create(
    session: AsyncSession, data: dict[str, Any], now: datetime, policy: SessionPolicy
) -> tuple[str, PanelSession]:
    # Expired rows are swept at login: rare enough to cost nothing, often enough to keep the table small.
    await session.execute(delete(PanelSession).where(PanelSession.expires_at <= now))
    await session.execute(delete(PanelSession).where(PanelSession.last_seen_at <= now - policy.idle))
    session_id = new_session_id()
    row = PanelSession(
        id_hash=hash_id(session_id), data=data, created_at=now, last_seen_at=now, expires_at=now + policy.lifetime
    )
    session.add(row)
    return session_id, row


async def save(session: AsyncSession, session_id: str, data: dict[str, Any]) -> None:
    row = await session.get(PanelSession, hash_id(session_id))
    if row is not None:
        row.data = data


async def drop(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(PanelSession).where(PanelSession.id_hash == hash_id(session_id)))


async def waiting(session: AsyncSession, address: str, now: datetime) -> timedelta | None:
    """How long this address must still wait before its next try, or None when it may try now."""
    row = await session.get(PanelLoginFailure, address)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return None
    return row.blocked_until - now


async def failed(session: AsyncSession, address: str, now: datetime, policy: SessionPolicy) -> timedelta | None:
    """Count a wrong token; returns the wait it earned (None while still within the free tries).

    The row is created if missing without a race (ON CONFLICT DO NOTHING) and then locked, so two workers
    counting the same address at once do not lose a failure."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(PanelLoginFailure)
        .values(address=address, failures=0, last_at=now, blocked_until=None)
        .on_conflict_do_nothing(index_elements=["address"])
    )
    row = (
        await session.execute(select(PanelLoginFailure).where(PanelLoginFailure.address == address).with_for_update())
    ).scalar_one()
    if now - row.last_at >= policy.forget_after and (row.blocked_until is None or row.blocked_until <= now):
        row.failures = 0
    row.failures += 1
    row.last_at = now
    over = row.failures - policy.tries_before_wait
    if over < 0:
        row.blocked_until = None
        return None
    wait = min(policy.first_wait * (2**over), policy.max_wait)
    row.blocked_until = now + wait
    return wait


async def succeeded(session: AsyncSession, address: str) -> None:
    await session.execute(delete(PanelLoginFailure).where(PanelLoginFailure.address == address))
