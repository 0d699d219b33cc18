"""What every part of `Team` stands on: the unit of work, the refusals an admin reads, roles as an admin types them
and a person found by what an admin types."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from flows.runtime import EngineError, TaskState
from services import access, people
from services.cases import Loaded
from services.core import Core
from services.i18n import LANGUAGES


class UnknownRoles(Exception):
    """Roles no loaded process names (or none at all): the admin is shown the usage and the known roles."""

    def __init__(self, unknown: Iterable[str]) -> None:
        self.unknown = sorted(unknown)
        super().__init__(", ".join(self.unknown))


class Refused(EngineError):
    """An admin's change about people that the rules refuse: the msgid (with its values) says why and what to do."""

    roles: tuple[str, ...] = ()  # the roles its %(roles)s names: each front end writes them by their labels
    in_panel: str | None = None  # the panel's own words where the chat's point to a chat command

    @classmethod
    def naming(cls, roles: Iterable[str], message: str, **params: object) -> Refused:
        refused = cls(message)  # its %(roles)s is filled in by the front end: not formatted here
        refused.params, refused.roles = dict(params), tuple(roles)
        return refused


class TeamBase:
    """The state a `Team` holds for one update, and what its parts all read: the roles there are, a person."""

    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session
        # The tasks the last revoke or role change took from the person, with their cases: the admin who did it
        # is told where each went (`where_released`).
        self.released: list[tuple[Loaded, TaskState]] = []

    def known_roles(self) -> set[str]:
        named = {role for loaded in self.core.registry.library.values() for role in loaded.spec.roles}
        return named | set(access.INTERNAL_ROLES) | set(access.EXTERNAL_ROLES)

    def own_roles(self) -> list[str]:
        """The company's own roles, by their keys: what a plain invite gives (a dealer's roles come with their
        organisation, on its card)."""
        return sorted(self.known_roles() - set(access.EXTERNAL_ROLES))

    def read_roles(self, words: Iterable[str]) -> list[str]:
        """Roles as an admin types them: keys (`warehouse_worker`) or names in any language, quoted or not, with
        spaces (`Работник склада`, `«Аккаунт-менеджер»`), case aside. Words that name no role stay as typed, so
        `check_roles` can say which they are."""
        names: dict[str, str] = {}
        for role in self.known_roles() | {"admin"}:
            names[role.lower()] = role
            for lang in LANGUAGES:
                names[self.core.wording.role(role, lang).lower()] = role
        tokens = [w.strip("«»\"'“”,;") for w in " ".join(words).replace(",", " ").split()]
        tokens = [w for w in tokens if w]
        roles, i = [], 0
        while i < len(tokens):
            # The longest run of words from here that names a role («Работник склада» before «Работник»).
            j = next((j for j in range(len(tokens), i, -1) if " ".join(tokens[i:j]).lower() in names), None)
            if j is None:
                roles.append(tokens[i])
                i += 1
            else:
                roles.append(names[" ".join(tokens[i:j]).lower()])
                i = j
        return roles

    def check_roles(self, roles: Iterable[str], *, allow_none: bool = False) -> None:
        wanted = list(roles)
        unknown = set(wanted) - self.known_roles()
        if unknown or not (wanted or allow_none):
            raise UnknownRoles(unknown)

    async def admins(self) -> list[User]:
        return await people.admins(self.session)

    async def find(self, ref: str) -> User | None:
        """A person by their number in /users, by `@username` (or the name without the @), or by their Telegram id
        (what an admin copies from a client; a number that is no one's in /users)."""
        if ref.isdigit():
            number = int(ref)
            found = await self.session.get(User, number) if number < 2**31 else None
            if found is None and number < 2**63:  # a Telegram id fits a BIGINT; a longer number is no one's
                found = (await self.session.execute(select(User).where(User.tg_id == number))).scalar_one_or_none()
            return found
        name = ref.removeprefix("@")
        if not name:
            return None
        query = select(User).where(func.lower(User.username) == name.lower())  # Telegram's usernames ignore case
        return (await self.session.execute(query)).scalars().first()

    async def person_roles(self, user_id: int) -> tuple[User | None, list[str]]:
        """One person and their roles (the `/users` buttons' card)."""
        person = await self.session.get(User, user_id)
        return person, sorted(await people.roles_of(self.session, user_id)) if person is not None else []
