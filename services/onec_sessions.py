"""Sessions of 1C's exchange: made by a `mode=checkauth` with the right login and password, named by a cookie
whose value is kept only as its hash; what a session's calls leave for the next lives in its `data`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExchangeSession

LIFETIME = timedelta(hours=12)  # a full exchange of a big catalogue takes a while; 1C logs in again for the next


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, login: str, now: datetime) -> str:
    """A new session; returns the cookie's value (only its hash is stored)."""
    await session.execute(delete(ExchangeSession).where(ExchangeSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        ExchangeSession(
            token_hash=token_hash(token), login=login[:100], created_at=now, expires_at=now + LIFETIME, data={}
        )
    )
    return token


async def find(session: AsyncSession, token: str | None, now: datetime) -> ExchangeSession | None:
    """The live session the cookie names, or None."""
    if not token or len(token) > 200:
        return None
    found = await session.execute(
        select(ExchangeSession).where(ExchangeSession.token_hash == token_hash(token), ExchangeSession.expires_at > now)
    )
    return found.scalar_one_or_none()


def remember(row: ExchangeSession, **values: Any) -> None:
    row.data = {**(row.data or {}), **values}


async def find_by_hash(session: AsyncSession, hashed: str) -> ExchangeSession | None:
    return await session.get(ExchangeSession, hashed, populate_existing=True)
