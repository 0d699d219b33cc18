"""Which channels each kind of notification goes by (an admin's switches and fallback order, `channel_settings`),
and a person's own addresses (phone, e-mail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ChannelSetting, User
from services import people
from services import sms as sms_repo
from services.channels.texts import CHANNELS, KINDS


@dataclass(frozen=True)
class KindChannels:
    kind: str
    telegram: bool = True
    email: bool = False
    sms: bool = False
    fallback: tuple[str, ...] = ()

    def on(self, channel: str) -> bool:
        return bool(getattr(self, channel))


_SETTINGS = "channel_settings"


@people.cached_setting(_SETTINGS)
async def settings(session: AsyncSession) -> dict[str, KindChannels]:
    """Every kind's switches (the defaults for a kind nobody set). Read once per process: kept in the people
    directory, which every change of `channel_settings` clears (in every worker, see `PeopleDirectory`)."""
    found = {kind: KindChannels(kind) for kind in KINDS}
    for row in (await session.scalars(select(ChannelSetting))).all():
        if row.kind in found:
            fallback = tuple(c for c in row.fallback if c in CHANNELS)
            found[row.kind] = KindChannels(row.kind, row.telegram, row.email, row.sms, fallback)
    return found


async def save_settings(session: AsyncSession, value: KindChannels, now: datetime) -> None:
    if value.kind not in KINDS:
        raise ValueError(f"unknown notification kind: {value.kind}")
    fallback = [c for c in dict.fromkeys(value.fallback) if c in CHANNELS]
    row = await session.get(ChannelSetting, value.kind)
    if row is None:
        row = ChannelSetting(kind=value.kind, fallback=[], updated_at=now)
        session.add(row)
    row.telegram, row.email, row.sms, row.fallback, row.updated_at = (
        value.telegram, value.email, value.sms, fallback, now,
    )  # fmt: skip
    await session.flush()


class BadEmail(ValueError):
    """What was written as an e-mail address is not one."""


def checked_email(email: str | None) -> str | None:
    """An e-mail address as kept (None: cleared), or `BadEmail`."""
    email = (email or "").strip()
    if email and ("@" not in email or " " in email):
        raise BadEmail(f"not an e-mail address: {email!r}")
    return email or None


async def set_address(session: AsyncSession, user: User, *, phone: str | None, email: str | None) -> None:
    """A person's phone (normalised to E.164; `sms_repo.BadPhone` if it is none) and e-mail (`BadEmail`); empty
    clears. Both are checked before either changes."""
    new_phone = sms_repo.normalise_phone(phone) if phone and phone.strip() else None
    user.phone, user.email = new_phone, checked_email(email)
    await session.flush()
