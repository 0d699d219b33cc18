"""People, their roles and invites."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Invite, User, UserRole
from flows.i18n import _


class InviteError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def user_by_tg(session: AsyncSession, tg_id: int, *, lock: bool = False) -> User | None:
    query = select(User).where(User.tg_id == tg_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def user_and_roles(session: AsyncSession, tg_id: int, *, lock: bool = False) -> tuple[User | None, set[str]]:
    """The person and their roles in one round trip (every update needs both)."""
    query = select(User, UserRole.role).outerjoin(UserRole, UserRole.user_id == User.id).where(User.tg_id == tg_id)
    if lock:
        query = query.with_for_update(of=User)  # the person's row only; roles are read, not locked
    rows = (await session.execute(query)).all()
    if not rows:
        return None, set()
    return rows[0][0], {role for _user, role in rows if role is not None}


async def user_for_update(session: AsyncSession, user_id: int, *, lock: bool = False) -> User | None:
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def roles_of(session: AsyncSession, user_id: int) -> set[str]:
    rows = await session.execute(select(UserRole.role).where(UserRole.user_id == user_id))
    return set(rows.scalars())


async def members(session: AsyncSession, role: str) -> list[User]:
    rows = await session.execute(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )
    return list(rows.scalars())


async def users_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, User]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = await session.execute(select(User).where(User.id.in_(wanted)))
    return {u.id: u for u in rows.scalars()}


async def admins(session: AsyncSession) -> list[User]:
    rows = await session.execute(select(User).where(User.is_admin.is_(True), User.active.is_(True)))
    return list(rows.scalars())


async def grant(session: AsyncSession, user_id: int, roles: Iterable[str]) -> None:
    have = await roles_of(session, user_id)
    for role in roles:
        if role not in have:
            session.add(UserRole(user_id=user_id, role=role))
    await session.flush()


async def revoke(session: AsyncSession, user_id: int, roles: Iterable[str]) -> None:
    await session.execute(delete(UserRole).where(UserRole.user_id == user_id, UserRole.role.in_(list(roles))))


async def register(
    session: AsyncSession,
    *,
    tg_id: int,
    name: str,
    username: str | None,
    language: str,
    now: datetime,
    is_admin: bool = False,
) -> User:
    user = await user_by_tg(session, tg_id)
    if user is None:
        user = User(
            tg_id=tg_id,
            name=name,
            username=username,
            language=language,
            is_admin=is_admin,
            created_at=now,
            active=True,
            awaiting_approval=False,
        )
        session.add(user)
        await session.flush()
    elif is_admin and not user.is_admin:
        user.is_admin = True
    return user


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
    # A conditional update, so two people racing for the last use cannot both get it.
    result = await session.execute(
        update(Invite).where(Invite.code == code, Invite.uses < Invite.max_uses).values(uses=Invite.uses + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InviteError(_("This invite link has already been used. Ask your administrator for a new one."))
    return invite


class PeopleCache:
    """People and role members as one unit of work sees them: a command touches the same few people many
    times (cards, names, notifications), so each is read once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._members: dict[str, list[User]] = {}
        self._users: dict[int, User] = {}

    async def members(self, role: str) -> list[User]:
        if role not in self._members:
            self._members[role] = await members(self.session, role)
            self._users.update({u.id: u for u in self._members[role]})
        return self._members[role]

    def remember(self, users: Iterable[User]) -> None:
        """People read by another query of this unit of work (with their cards, say): no need to read them again."""
        self._users.update({u.id: u for u in users})

    async def users(self, ids: Iterable[int]) -> dict[int, User]:
        missing = {i for i in ids if i and i not in self._users}
        if missing:
            self._users.update(await users_by_ids(self.session, missing))
        return {i: self._users[i] for i in ids if i in self._users}

    async def user(self, user_id: int | None) -> User | None:
        if not user_id:
            return None
        return (await self.users([user_id])).get(user_id)

    async def name(self, user_id: int | None) -> str:
        user = await self.user(user_id)
        return user.name if user else "?"

    async def names(self, user_ids: Iterable[int | None]) -> dict[int, str]:
        users = await self.users([i for i in user_ids if i])
        return {uid: u.name for uid, u in users.items()}
