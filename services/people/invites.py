"""Invite links: made for roles (and an organisation), used once each up to their limit."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import update
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
) -> Invite:
    invite = Invite(
        organisation_id=organisation_id,
        hold=hold,
        code=secrets.token_urlsafe(12),
        roles=roles,
        created_by=created_by,
        created_at=now,
        max_uses=max_uses,
        uses=0,
        make_admin=make_admin,
    )
    session.add(invite)
    await session.flush()
    return invite


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
