"""The roster and a person's roles: /users and a person's card from it, /grant and /revoke, and where the tasks a
change took from the person went."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from db.models import Company, User, UserRole
from flows.i18n import _
from flows.runtime import TaskState
from services import access, companies, people
from services.cases import CaseService, Loaded
from services.team.base import Refused, UnknownRoles
from services.team.standing import Standing


@dataclass
class PersonCard:
    """A person's card in /users as an admin's press left it."""

    person: User
    roles: list[str]
    dealers: list[Company] | None = None  # turned away at a general dealer link: the dealers to let them in to


class Roster(Standing):
    """Everyone with their roles, and a person's roles changed."""

    async def roster(self) -> list[tuple[User, list[str]]]:
        """Everyone with their roles, in the order they joined."""
        users = list((await self.session.execute(select(User).order_by(User.id))).scalars())
        rows = await self.session.execute(select(UserRole.user_id, UserRole.role))
        roles: dict[int, list[str]] = {}
        for user_id, role in rows.all():
            roles.setdefault(user_id, []).append(role)
        return [(user, sorted(roles.get(user.id, []))) for user in users]

    async def change_roles(self, ref: str | None, roles: list[str], *, grant: bool) -> tuple[User, list[str]]:
        """/grant or /revoke: the person (by `ref`) and their roles after the change."""
        roles = self.read_roles(roles)
        unknown = set(roles) - self.known_roles()
        if not ref or not roles or unknown:
            raise UnknownRoles(unknown)
        person = await self.find(ref)
        if person is None:
            # Someone not yet in the bot is given roles by an invite link, not by /grant.
            text = _(
                "%(who)s is not in the bot yet: people join by an invite link. Make one with /invite %(roles)s "
                "and send it to them."
            )
            raise Refused.naming(roles, text, who=ref)
        if grant and not person.active:
            raise self.closed(person, await self.is_turned_away(person))
        unbound = [role for role in roles if role in access.EXTERNAL_ROLES] if person.organisation_id is None else []
        if grant and unbound:
            # A dealer's role with no dealer would be no dealer's staff (`access.organisation_scope`): it comes
            # with the organisation, by its invite, which binds the person too.
            text = _(
                "%(roles)s: a dealer's roles — they are given only with the dealer's organisation. Invite the "
                "person with a link from the organisation's card (/orgs): they join bound to it."
            )
            refused = Refused.naming(unbound, text)
            refused.in_panel = _(
                "%(roles)s: a dealer's roles — they are given only with the dealer's organisation. Invite the "
                "person with a link for the organisation (the invite form on the People page, its “Organisation”): "
                "they join bound to it."
            )
            raise refused
        held = set(await people.roles_of(self.session, person.id))
        changing = [role for role in roles if (role in held) != grant]
        if not changing:  # nothing changes: said so, and the person is not told their roles «changed»
            text = _("%(name)s has %(roles)s already.") if grant else _("%(name)s does not have %(roles)s.")
            raise Refused.naming(roles, text, name=person.name)
        roles = changing
        cases = CaseService(self.core, self.session)
        released: list[tuple[Loaded, TaskState]] = []
        if grant:
            await people.grant(self.session, person.id, roles)
        else:
            await people.revoke(self.session, person.id, roles)
            # Their tasks of those roles go back to the pool at once (and their old buttons are refused).
            released = await cases.release_tasks(person, set(roles), actor_id=None)
        now = sorted(await people.roles_of(self.session, person.id))
        await cases.notifier.roles_changed(person, now, released)  # they hear it, and which tasks left them
        self.released = released
        return person, now

    async def where_released(self) -> list[tuple[Loaded, TaskState, str | None]]:
        """The tasks the last revoke or role change moved, each with whom it went to (None: the role's pool)."""
        holders = {task.assignee_id for _loaded, task in self.released if task.assignee_id is not None}
        names = await people.PeopleCache(self.session).names(holders) if holders else {}
        return [(loaded, task, names.get(task.assignee_id or 0)) for loaded, task in self.released]

    async def person_card(self, action: str, user_id: int, role: str, *, by: User) -> PersonCard | None:
        """A press on a person's card from /users: show it (`p`, and `ask_revoke`, which asks before `revoke`),
        toggle a role (`t`), close their access (`revoke`), restore them (`restore`). The card of someone turned
        away at a general dealer link offers the dealers to let them in to."""
        if action == "t":
            person, roles = await self.toggle_role(user_id, role)
        elif action == "restore":
            person, roles = await self.restore(str(user_id), actor_id=by.id)
        elif action == "revoke":
            person = await self.revoke(str(user_id), actor_id=by.id)
            roles = sorted(await people.roles_of(self.session, person.id))
        else:
            found, roles = await self.person_roles(user_id)
            if found is None:
                return None
            person = found
        if await self.turned_away([(person, roles)]):
            return PersonCard(person, roles, await companies.listed(self.session, "dealer", active_only=True))
        return PersonCard(person, roles)

    async def toggle_role(self, user_id: int, role: str) -> tuple[User, list[str]]:
        """A role button on a person's card: granted if they lack it, revoked (their tasks of it released) if not."""
        has = role in (await self.person_roles(user_id))[1]
        return await self.change_roles(str(user_id), [role], grant=not has)
