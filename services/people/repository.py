"""People and their roles: reads (roles and role members through the directory) and writes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User, UserRole
from services.people.directory import directory_of


async def user_by_tg(session: AsyncSession, tg_id: int, *, lock: bool = False) -> User | None:
    query = select(User).where(User.tg_id == tg_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def user_for_update(session: AsyncSession, user_id: int, *, lock: bool = False) -> User | None:
    query = select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def roles_of(session: AsyncSession, user_id: int) -> set[str]:
    directory = directory_of(session)
    if directory is not None:
        cached = directory.roles.get(user_id)
        if cached is not None:
            return set(cached)
        generation = directory.generation
    rows = await session.execute(select(UserRole.role).where(UserRole.user_id == user_id))
    roles = set(rows.scalars())
    if directory is not None and directory.generation == generation:
        directory.roles[user_id] = frozenset(roles)
    return roles


async def member_ids(session: AsyncSession, role: str) -> tuple[int, ...]:
    """The active people of a role, by id in id order (cached like `roles_of`)."""
    directory = directory_of(session)
    if directory is not None:
        cached = directory.members.get(role)
        if cached is not None:
            return cached
        generation = directory.generation
    rows = await session.execute(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )
    ids = tuple(rows.scalars())
    if directory is not None and directory.generation == generation:
        directory.members[role] = ids
    return ids


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
