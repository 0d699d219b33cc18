"""People as one unit of work sees them (`PeopleCache`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from services.people.directory import directory_of
from services.people.repository import member_ids, users_by_ids


def _copy(user: User) -> User:
    """A person's row as a copy in no session (the directory's, shared by every session of the process)."""
    return User(**{column.key: getattr(user, column.key) for column in User.__table__.columns})


class PeopleCache:
    """People and role members as one unit of work sees them: a command touches the same few people many
    times (cards, names, notifications), so each is read once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._members: dict[str, list[User]] = {}
        self._users: dict[int, User] = {}
        self._hinted: set[int] = set()

    def hint(self, ids: Iterable[int | None]) -> None:
        """People this unit of work will most likely need (a case's initiator, holders of its tasks): read
        together with the first people it does need, in one query, not one query each."""
        self._hinted.update(i for i in ids if i)

    async def members(self, role: str) -> list[User]:
        if role not in self._members:
            ids = await member_ids(self.session, role)
            found = await self.users(ids)
            self._members[role] = [found[i] for i in ids if i in found and found[i].active]
        return self._members[role]

    def remember(self, users: Iterable[User]) -> None:
        """People read by another query of this unit of work (with their cards, say): no need to read them again."""
        self._users.update({u.id: u for u in users})

    async def users(self, ids: Iterable[int]) -> dict[int, User]:
        """People by id, for reading: from the process's directory when it may be read (copies in no session,
        whose columns of `_VOLATILE` are not to be trusted), else from the database in one query with the
        hinted ones. Code that changes a person reads their row itself (`session.get`)."""
        ids = list(ids)
        missing = {i for i in ids if i and i not in self._users}
        if missing:
            missing |= self._hinted - self._users.keys()
            self._hinted.clear()
            directory = directory_of(self.session, rows=True)
            if directory is None:
                self._users.update(await users_by_ids(self.session, missing))
            else:
                kept = {i: directory.people[i] for i in missing if i in directory.people}
                self._users.update(kept)
                missing -= kept.keys()
                if missing:
                    generation = directory.generation
                    found = await users_by_ids(self.session, missing)
                    self._users.update(found)
                    if directory.generation == generation:
                        directory.people.update({i: _copy(user) for i, user in found.items()})
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
