"""Who follows a case and who has muted it. A muted case sends its person no stage lines; what is addressed to
them (their tasks, a definition's notices) still comes. Kept as small settings rows, one per person and case
(`mute:<case>:<person>`): inserting or deleting one never races with another person's choice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Setting


def _key(case_id: int, user_id: int) -> str:
    return f"mute:{case_id}:{user_id}"


async def is_muted(session: AsyncSession, case_id: int, user_id: int) -> bool:
    found = await session.execute(select(Setting.key).where(Setting.key == _key(case_id, user_id)))
    return found.scalar() is not None


async def set_muted(session: AsyncSession, case_id: int, user_id: int, muted: bool, now: datetime) -> None:
    """Mute or unmute; pressing the same button twice changes nothing."""
    key = _key(case_id, user_id)
    if not muted:
        await session.execute(delete(Setting).where(Setting.key == key))
    elif not await is_muted(session, case_id, user_id):
        session.add(Setting(key=key, value={"at": now.isoformat()}))
        await session.flush()
