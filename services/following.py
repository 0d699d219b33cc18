"""Who follows a case and who has muted it. The initiator follows their case unless they mute it; anyone else
who may see a case can follow it from its card. A follower gets one short line when the case moves on; what is
addressed to them (their tasks, a definition's notices) comes whatever they chose. Kept as small settings rows,
one per person and case (`mute:<case>:<person>`, `follow:<case>:<person>`): inserting or deleting one never
races with another person's choice. Someone else who stops following keeps a mute row too: it says they asked
for quiet, which becoming the case's responsible later does not overrule (`responsible_follows`).

A case's followers are read by the prefix of their keys as a range of the keys' index
(`services.setting_keys.key_range`), not by a scan: every step of a case reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Setting
from services.setting_keys import key_range


def follower_keys(case_id: int | ColumnElement[str], *, sqlite: bool) -> ColumnElement[bool]:
    """The case's `follow:<case>:<person>` rows (`case_id` a number, or the case's id as text in SQL)."""
    return key_range(f"follow:{case_id}" if isinstance(case_id, int) else literal("follow:") + case_id, sqlite=sqlite)


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


def _follow_key(case_id: int, user_id: int) -> str:
    return f"follow:{case_id}:{user_id}"


async def is_following(session: AsyncSession, case_id: int, user_id: int) -> bool:
    found = await session.execute(select(Setting.key).where(Setting.key == _follow_key(case_id, user_id)))
    return found.scalar() is not None


async def set_following(session: AsyncSession, case_id: int, user_id: int, on: bool, now: datetime) -> None:
    """Follow a case someone else started, or stop; pressing the same button twice changes nothing."""
    key = _follow_key(case_id, user_id)
    if not on:
        await session.execute(delete(Setting).where(Setting.key == key))
    elif not await is_following(session, case_id, user_id):
        session.add(Setting(key=key, value={"at": now.isoformat()}))
        await session.flush()


async def responsible_follows(
    session: AsyncSession, case_id: int, user_id: int, now: datetime, *, initiator: bool
) -> bool:
    """The case's new responsible follows it (where it goes is theirs to hear), unless they muted it before: an
    explicit «no more news» stands, so they stay as they were and False says so (they are told how to turn the news
    back on). Their mute and follow rows are read in one query. The initiator follows their case with no row."""
    mute, follow = _key(case_id, user_id), _follow_key(case_id, user_id)
    keys = set((await session.execute(select(Setting.key).where(Setting.key.in_((mute, follow))))).scalars())
    if mute in keys:
        return False
    if follow not in keys and not initiator:
        session.add(Setting(key=follow, value={"at": now.isoformat()}))
        await session.flush()
    return True


def parse_audience(case_id: int, initiator_id: int, keys: str | None) -> tuple[list[int], bool]:
    """`audience` from the case's keys read as one comma-separated string (the case store reads them with the
    case); the keys are checked again here, so a wider match in the database adds nobody."""
    prefix, mute = f"follow:{case_id}:", _key(case_id, initiator_id)
    found = (keys or "").split(",")
    followers = sorted(int(k.removeprefix(prefix)) for k in found if k.startswith(prefix) and k[len(prefix):].isdigit())
    return followers, mute in found


async def audience(session: AsyncSession, case_id: int, initiator_id: int) -> tuple[list[int], bool]:
    """Who follows the case, and whether its initiator muted it, in one query (a stage change asks both)."""
    prefix, mute = f"follow:{case_id}:", _key(case_id, initiator_id)
    sqlite = session.get_bind().dialect.name == "sqlite"
    keys = list((await session.execute(
        select(Setting.key).where(follower_keys(case_id, sqlite=sqlite) | (Setting.key == mute))
    )).scalars())
    return sorted(int(key.removeprefix(prefix)) for key in keys if key != mute), mute in keys
