"""Invite links: made for roles (and an organisation), used once each up to their limit."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Company, Invite
from flows.i18n import _


class InviteError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def create_invite(
    session: AsyncSession,
    *,
    roles: list[str],
    created_by: int | None,
    now: datetime,
    max_uses: int = 1,
    make_admin: bool = False,
    organisation_id: int | None = None,
    hold: bool = False,
    picker_ref: int | None = None,
) -> Invite:
    """A new invite; with `picker_ref` (the `/invite` picker message it is made from) the one invite of that message:
    the one made by an earlier press of it, if any, instead of a second."""
    values = {
        "organisation_id": organisation_id,
        "hold": hold,
        "code": secrets.token_urlsafe(12),
        "roles": roles,
        "created_by": created_by,
        "created_at": now,
        "max_uses": max_uses,
        "uses": 0,
        "make_admin": make_admin,
    }
    if picker_ref is None or created_by is None:
        invite = Invite(**values)
        session.add(invite)
        await session.flush()
        return invite
    # The unique index decides, not a read before the write: two presses on two workers at once both insert, and
    # the later one waits for the earlier's commit and then writes nothing.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(Invite)
        .values(**values, picker_ref=picker_ref)
        .on_conflict_do_nothing(index_elements=["created_by", "picker_ref"])
    )
    found = await session.execute(select(Invite).where(_picked(created_by, picker_ref)))
    return found.scalar_one()  # inserted now, or by a press before


async def picked_invite(session: AsyncSession, created_by: int, picker_ref: int) -> Invite | None:
    """The invite made from this person's `/invite` picker message (`picker_ref`, its outbox row), if one was."""
    return (await session.execute(select(Invite).where(_picked(created_by, picker_ref)))).scalar_one_or_none()


def _picked(created_by: int, picker_ref: int) -> ColumnElement[bool]:
    return and_(Invite.created_by == created_by, Invite.picker_ref == picker_ref)


async def use_invite(session: AsyncSession, code: str, now: datetime) -> Invite:
    invite = await session.get(Invite, code)
    if invite is None:
        raise InviteError(_("This invite link is not valid. Ask your administrator for a new one."))
    if invite.expires_at is not None and invite.expires_at < now:
        raise InviteError(_("This invite link has expired. Ask your administrator for a new one."))
    organisation = await session.get(Company, invite.organisation_id) if invite.organisation_id is not None else None
    if organisation is not None and not organisation.active:  # switched off after the link was made
        raise InviteError(_("This invite link is for an organisation that is switched off. Ask your administrator."))
    # A conditional update, so two people racing for the last use cannot both get it.
    result = await session.execute(
        update(Invite).where(Invite.code == code, Invite.uses < Invite.max_uses).values(uses=Invite.uses + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InviteError(_("This invite link has already been used. Ask your administrator for a new one."))
    return invite
