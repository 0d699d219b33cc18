"""The team as an admin and a newcomer see it: invites, joining by one, granting and revoking roles, the roster.

Request-scoped: built per update with the update's session (`tgbot.middlewares`). The low-level reads and
writes of people, roles and invite rows stay in `services.people`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Company, Invite, Setting, User, UserRole
from flows.i18n import _
from flows.runtime import EngineError, TaskState
from services import access, companies, people
from services.admin_actions import PANEL
from services.cases import CaseService, Loaded
from services.core import Core
from services.i18n import LANGUAGES

log = logging.getLogger(__name__)


class UnknownRoles(Exception):
    """Roles no loaded process names (or none at all): the admin is shown the usage and the known roles."""

    def __init__(self, unknown: Iterable[str]) -> None:
        self.unknown = sorted(unknown)
        super().__init__(", ".join(self.unknown))


MIN_USES, MAX_USES = 1, 1000  # how many people one invite link may let in


class Refused(EngineError):
    """An admin's change about people that the rules refuse: the msgid (with its values) says why and what to do."""

    roles: tuple[str, ...] = ()  # the roles its %(roles)s names: each front end writes them by their labels
    in_panel: str | None = None  # the panel's own words where the chat's point to a chat command

    @classmethod
    def naming(cls, roles: Iterable[str], message: str, **params: object) -> Refused:
        refused = cls(message)  # its %(roles)s is filled in by the front end: not formatted here
        refused.params, refused.roles = dict(params), tuple(roles)
        return refused


STARTED = "started:"  # `started:<user id>`: the setting that says a person has pressed Start before


class Welcome(StrEnum):
    """How a /start ended."""

    BACK = "back"  # a known person (an invite they bring adds its roles)
    FIRST_ADMIN = "first_admin"  # one of ADMIN_IDS, registered as an administrator
    STRANGER = "stranger"  # no invite: the bot works by invitation only
    REFUSED = "refused"  # an invite that is not valid, expired or used up
    JOINED = "joined"  # registered with the invite's roles
    HELD = "held"  # joined by a general dealer link: waits for an admin to approve and bind them
    CLOSED = "closed"  # a known person whose access an admin closed (revoked, or their organisation deactivated)
    TURNED_AWAY = "turned_away"  # turned away at a general dealer link: an admin lets them in, or an invite link does


@dataclass
class Newcomer:
    """The person behind a /start, as Telegram describes them."""

    tg_id: int
    name: str
    username: str | None
    language: str


@dataclass
class MixedInvite:
    """An invite stored before invites were checked (`Team.misfit`) whose roles do not fit its organisation — the
    company's own roles and a dealer's together, or either on the wrong side — opened by someone: refused whole."""

    roles: list[str]
    organisation: str | None  # its name
    why: Refused  # what is wrong with it and what to make instead, as an admin's new invite would be refused
    name: str  # who opened it
    username: str | None


MIXED_INVITE = _(
    "This invite link cannot be used: it was made with roles that are not given together. Your administrator has "
    "been told; ask them for a new link."
)


@dataclass
class Joined:
    outcome: Welcome
    name: str
    language: str
    roles: list[str] = field(default_factory=list)
    problem: str = ""  # the msgid of a refused invite
    mixed: MixedInvite | None = None  # the invite refused was an old mixed one: the admins are told to re-make it
    admin: bool = False  # an administrator (with roles or without any): the greeting says so, not «roles: —»
    person_id: int | None = None  # who waits for approval (HELD), or joined (JOINED): the admins are told who
    invited_by: int | None = None  # who made the invite they joined by (None: the panel): told they came


@dataclass
class PersonCard:
    """A person's card in /users as an admin's press left it."""

    person: User
    roles: list[str]
    dealers: list[Company] | None = None  # turned away at a general dealer link: the dealers to let them in to


class Team:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session
        # The tasks the last revoke or role change took from the person, with their cases: the admin who did it
        # is told where each went (`where_released`).
        self.released: list[tuple[Loaded, TaskState]] = []

    def known_roles(self) -> set[str]:
        named = {role for loaded in self.core.registry.library.values() for role in loaded.spec.roles}
        return named | set(access.INTERNAL_ROLES) | set(access.EXTERNAL_ROLES)

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

    async def invite(
        self,
        by: User,
        roles: list[str],
        uses: int,
        make_admin: bool,
        *,
        organisation_id: int | None = None,
        hold: bool = False,
    ) -> Invite:
        """An invite for `uses` people with these roles (and admin rights if `make_admin`); for one organisation
        (its people are bound to it); or a general dealer link (`hold`: no roles, an admin approves each)."""
        self.check_roles(roles, allow_none=make_admin or hold)
        if not MIN_USES <= uses <= MAX_USES:
            text = _("An invite link is for %(low)s to %(high)s people: x%(uses)s is out of bounds.")
            raise Refused(text, low=MIN_USES, high=MAX_USES, uses=uses)
        await self.check_invite(organisation_id, [] if hold else roles)
        return await people.create_invite(
            self.session,
            roles=[] if hold else roles,
            created_by=by.id,
            now=self.core.clock.now(),
            max_uses=uses,
            make_admin=make_admin and not hold and organisation_id is None,
            organisation_id=None if hold else organisation_id,
            hold=hold,
        )

    async def check_invite(self, organisation_id: int | None, roles: Iterable[str]) -> None:
        """An invite fits whom it is for: a dealer's roles (`access.EXTERNAL_ROLES`) only with their organisation,
        the company's own roles (every other) only without one; an organisation switched off takes no new people."""
        organisation = await self.session.get(Company, organisation_id) if organisation_id is not None else None
        if organisation_id is not None and organisation is None:  # deleted meanwhile (the panel's form was open)
            raise Refused(_("There is no such organisation any more: choose another one."))
        if organisation is not None and not organisation.active:
            text = _("%(org)s is deactivated: it takes no new people. Reactivate it first (/org %(id)s).")
            raise Refused(text, org=organisation.name, id=organisation.id)
        misfit = self.misfit(organisation_id, roles)
        if misfit is not None:
            raise misfit

    @staticmethod
    def misfit(organisation_id: int | None, roles: Iterable[str]) -> Refused | None:
        """Why these roles do not go with this organisation (or with none), if they do not: checked when an invite is
        made and again when one is used (invites stored before the check could mix them)."""
        external = [role for role in roles if role in access.EXTERNAL_ROLES]
        internal = [role for role in roles if role not in access.EXTERNAL_ROLES]
        if organisation_id is not None and internal:
            text = _(
                "%(roles)s: the company's own roles, not a dealer's — an invite for an organisation gives only a "
                "dealer's roles. Make the invite for these roles without the organisation."
            )
            return Refused.naming(internal, text)
        if organisation_id is None and external:
            text = _(
                "%(roles)s: a dealer's roles — they are given only with the dealer's organisation. Make the invite "
                "on the organisation's card (/orgs), or choose the organisation in the panel's invite."
            )
            refused = Refused.naming(external, text)
            refused.in_panel = _(
                "%(roles)s: a dealer's roles — they are given only with the dealer's organisation. Choose the "
                "organisation in the invite form."
            )
            return refused
        return None

    async def mixed_invite(self, code: str, name: str, username: str | None) -> MixedInvite | None:
        """The invite behind `code`, if it is one stored before invites were checked whose roles do not fit its
        organisation: it must grant nothing at all (not even the half that would fit), nor be used up."""
        stored = await self.session.get(Invite, code) if code else None
        why = self.misfit(stored.organisation_id, stored.roles) if stored is not None and not stored.hold else None
        if stored is None or why is None:
            return None
        organisation = await self.session.get(Company, stored.organisation_id) if stored.organisation_id else None
        log.warning("an old invite mixing roles %s (organisation %s) was refused", stored.roles, stored.organisation_id)
        return MixedInvite(list(stored.roles), organisation.name if organisation else None, why, name, username)

    async def approve(self, person_id: int, organisation_id: int, role: str, *, by: User) -> User:
        """An admin lets in someone held by a general dealer link — or turned away at one before (their /users card,
        or the old approval card pressed after all) — bound to an organisation with an external role."""
        person = await self.session.get(User, person_id)
        organisation = await self.session.get(Company, organisation_id)
        waiting = person is not None and (person.awaiting_approval or await self.is_turned_away(person))
        if person is None or organisation is None or not waiting or role not in access.EXTERNAL_ROLES:
            raise UnknownRoles([role])
        person.organisation_id, person.awaiting_approval, person.active = organisation_id, False, True
        await people.grant(self.session, person.id, [role])
        data = {"person": person.id, "organisation": organisation_id, "role": role}
        self.session.add(AuditEntry(actor_id=by.id, action="person.approved", data=data, at=self.core.clock.now()))
        return person

    async def reject(self, person_id: int, *, by: User) -> User | None:
        """An admin turns away someone held by a general dealer link: they stay inactive and see nothing, until an
        admin lets them in from their /users card or they bring an invite link made for them."""
        person = await self.session.get(User, person_id)
        if person is None or not person.awaiting_approval:
            return None
        person.awaiting_approval = False
        data = {"person": person.id}
        self.session.add(AuditEntry(actor_id=by.id, action="person.turned_away", data=data, at=self.core.clock.now()))
        return person

    async def admins(self) -> list[User]:
        return await people.admins(self.session)

    async def to_tell_of(self, joined: Joined) -> tuple[User | None, list[User]]:
        """Someone joined by an invite: they (for their name and @username), and who hears it — the admin who made
        the invite, or every admin when the panel made it or its maker is no longer an admin."""
        person = await self.session.get(User, joined.person_id) if joined.person_id else None
        maker = await self.session.get(User, joined.invited_by) if joined.invited_by else None
        if maker is not None and maker.is_admin and maker.active:
            return person, [maker]
        return person, await self.admins()

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

    @staticmethod
    def closed(person: User, turned_away: bool = False) -> Refused:
        """Why a person whose access is closed is given no roles, and what the admin does instead."""
        if person.awaiting_approval:
            return Refused(_("%(name)s waits for approval: approve them on the card the admins got."), name=person.name)
        if turned_away:
            text = _(
                "%(name)s was never let in (turned away at the general dealer link), so there is nothing to restore. "
                "To let them in, choose their dealer on their card in /users, or send them an invite link."
            )
            return Refused(text, name=person.name)
        text = _("%(name)s's access is closed (revoked). Restore it first: /restore %(id)s, or the panel's People.")
        return Refused(text, name=person.name, id=person.id)

    async def turned_away(self, listed: Iterable[tuple[User, Iterable[str]]]) -> set[int]:
        """Who of these people was turned away at a general dealer link — never let in, so nothing to restore: no
        access, not waiting, no role, no organisation, not an admin, and no revoke of them on record (someone revoked
        after every role of theirs was taken looks the same, but an admin closed them by name)."""
        candidates = {
            person.id
            for person, roles in listed
            if not (person.active or person.awaiting_approval or person.is_admin or person.organisation_id)
            and not list(roles)
        }
        if not candidates:  # the usual case: the audit is not read at all
            return set()
        query = select(AuditEntry.data).where(AuditEntry.action == "person.revoked", AuditEntry.case_id.is_(None))
        revoked = {data.get("person") for data in (await self.session.execute(query)).scalars()}
        return candidates - revoked

    async def is_turned_away(self, person: User) -> bool:
        listed = [(person, await people.roles_of(self.session, person.id))]
        return bool(await self.turned_away(listed))

    async def restore(self, ref: str, *, actor_id: int | None) -> tuple[User, list[str]]:
        """A revoked person is let back in with the roles they kept: an admin's decision, audited like the revoke.
        Not someone waiting for approval (their card binds them), nor a person of a deactivated organisation."""
        person = await self.find(ref)
        if person is None:
            raise Refused(_("There is no such person."))
        if person.active:
            raise Refused(_("%(name)s has access already."), name=person.name)
        if person.awaiting_approval:
            raise self.closed(person)
        roles = sorted(await people.roles_of(self.session, person.id))
        if await self.turned_away([(person, roles)]):  # they would come in as the company's own, with no organisation
            raise self.closed(person, turned_away=True)
        organisation = await self.session.get(Company, person.organisation_id) if person.organisation_id else None
        if organisation is not None and not organisation.active:
            text = _("%(name)s belongs to %(org)s, which is deactivated: reactivate it first (/org %(org_id)s).")
            raise Refused(text, name=person.name, org=organisation.name, org_id=organisation.id)
        person.active = True
        data = {"person": person.id, **({} if actor_id is not None else {"by": PANEL})}
        self.session.add(AuditEntry(actor_id=actor_id, action="person.restored", data=data, at=self.core.clock.now()))
        log.info("user %s restored by %s", person.id, actor_id or "panel")
        return person, roles

    async def revoke(self, ref: str, *, actor_id: int | None) -> User:
        """The person no longer works here: inactive (every rule in `services.access` then shows them nothing) and
        every task they hold goes back to its role's pool, one that was theirs alone (not a request they were filling
        in) to an administrator; audited like the restore (`by: panel` without an actor).
        The panel's «Revoke», the chat's /revoke N and the /users card all come here."""
        person = await self.find(ref)
        if person is None:
            raise Refused(_("There is no such person."))
        if person.is_admin:  # the panel offers no revoke for them either: an admin is taken out of ADMIN_IDS
            raise Refused(_("%(name)s is an administrator: an administrator's access is not closed here."),
                          name=person.name)  # fmt: skip
        if not person.active:
            raise Refused(_("%(name)s's access is closed already."), name=person.name)
        person.active = False
        self.released = await CaseService(self.core, self.session).release_tasks(
            person, None, actor_id=actor_id, because="left"
        )
        data = {"person": person.id, **({} if actor_id is not None else {"by": PANEL})}
        self.session.add(AuditEntry(actor_id=actor_id, action="person.revoked", data=data, at=self.core.clock.now()))
        log.info("user %s revoked by %s", person.id, actor_id or "panel")
        return person

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

    async def person_roles(self, user_id: int) -> tuple[User | None, list[str]]:
        """One person and their roles (the `/users` buttons' card)."""
        person = await self.session.get(User, user_id)
        return person, sorted(await people.roles_of(self.session, user_id)) if person is not None else []

    async def toggle_role(self, user_id: int, role: str) -> tuple[User, list[str]]:
        """A role button on a person's card: granted if they lack it, revoked (their tasks of it released) if not."""
        has = role in (await self.person_roles(user_id))[1]
        return await self.change_roles(str(user_id), [role], grant=not has)

    def switch_language(self, person: User) -> str:
        """/lang: Russian ↔ English."""
        person.language = "en" if person.language == "ru" else "ru"
        return person.language

    async def reachable(self, person: User, reachable: bool) -> None:
        """The person blocked the bot (or unblocked it). Blocked: marked unreachable for the admins, their pool
        tasks go back to the pool so that someone who can be reached takes them, and the admins are told, with the
        tasks still theirs alone (not handed on by themselves: the person may unblock the bot)."""
        if not reachable:
            # Not gated on `unreachable_at`: a message refused (403) may have marked them before this update came,
            # and Telegram sends it once per block (a repeated delivery stops at the inbox).
            if person.unreachable_at is None:
                person.unreachable_at = self.core.clock.now()
            roles = await people.roles_of(self.session, person.id)
            cases = CaseService(self.core, self.session)
            released = await cases.release_tasks(person, roles, None, because="unreachable")
            # A pool task nobody else may do came back to them: it is among those still theirs, not «went to».
            released = [(loaded, task) for loaded, task in released if task.assignee_id != person.id]
            kept = await cases.open_tasks_of(person)  # their own: they may come back, the admins decide
            admins = [a for a in await people.admins(self.session) if a.id != person.id]
            await cases.notifier.person_unreachable(person, admins, released, kept)
            return
        person.unreachable_at = None

    async def roster(self) -> list[tuple[User, list[str]]]:
        """Everyone with their roles, in the order they joined."""
        users = list((await self.session.execute(select(User).order_by(User.id))).scalars())
        rows = await self.session.execute(select(UserRole.user_id, UserRole.role))
        roles: dict[int, list[str]] = {}
        for user_id, role in rows.all():
            roles.setdefault(user_id, []).append(role)
        return [(user, sorted(roles.get(user.id, []))) for user in users]

    async def join(self, newcomer: Newcomer, user: User | None, roles: set[str], code: str) -> Joined:
        """/start: welcome a known person back (adding an invite's roles), register the first admin, or
        register a newcomer by their invite."""
        now = self.core.clock.now()
        if user is not None:
            return await self._welcome_back(user, roles, code)
        if newcomer.tg_id in self.core.config.admin_ids:
            await self._register(newcomer, is_admin=True)
            return Joined(Welcome.FIRST_ADMIN, newcomer.name, newcomer.language)
        if not code:
            return Joined(Welcome.STRANGER, newcomer.name, newcomer.language)
        mixed = await self.mixed_invite(code, newcomer.name, newcomer.username)
        if mixed is not None:
            return Joined(Welcome.REFUSED, newcomer.name, newcomer.language, problem=MIXED_INVITE, mixed=mixed)
        try:
            invite = await people.use_invite(self.session, code, now)
        except people.InviteError as exc:
            return Joined(Welcome.REFUSED, newcomer.name, newcomer.language, problem=exc.message)
        user = await self._register(newcomer, is_admin=invite.make_admin)
        if invite.hold:
            # Inactive until approved: every rule in services.access sees an inactive person as seeing nothing.
            user.active, user.awaiting_approval = False, True
            log.info("user %s joined by a general dealer link and waits for approval", user.id)
            return Joined(Welcome.HELD, newcomer.name, newcomer.language, person_id=user.id)
        user.organisation_id = invite.organisation_id
        await people.grant(self.session, user.id, invite.roles)
        log.info("user %s joined with roles %s", user.id, invite.roles)
        return Joined(
            Welcome.JOINED, newcomer.name, newcomer.language, roles=list(invite.roles), admin=invite.make_admin,
            person_id=user.id, invited_by=invite.created_by,
        )  # fmt: skip

    async def _welcome_back(self, user: User, roles: set[str], code: str) -> Joined:
        if user.awaiting_approval:
            return Joined(Welcome.HELD, user.name, user.language)
        if not user.active and await self.is_turned_away(user):
            return await self._let_in(user, code)
        if not user.active:
            # An invite is made for roles, not for this person: a link passed around (x50 in a group chat) must not
            # undo a revoke an admin made of them by name. The admin restores them (/restore, the panel), knowingly.
            log.info("user %s, whose access is closed, came back (an invite: %s)", user.id, bool(code))
            return Joined(Welcome.CLOSED, user.name, user.language)
        mixed = await self.mixed_invite(code, user.name, user.username)
        if mixed is not None:  # welcomed back with what they have; the link gives nothing
            joined = Joined(Welcome.BACK, user.name, user.language, roles=sorted(roles), admin=bool(user.is_admin))
            joined.problem, joined.mixed = MIXED_INVITE, mixed
            return joined
        if code:
            try:
                invite: Invite | None = await people.use_invite(self.session, code, self.core.clock.now())
            except people.InviteError:
                invite = None
            # An invite for another organisation does not move a bound person across (an admin does that).
            if invite is not None and invite.organisation_id in (None, user.organisation_id) and not invite.hold:
                await people.grant(self.session, user.id, invite.roles)
                roles = roles | set(invite.roles)
        # Someone an admin or the demo registered by name has never pressed Start: their first visit is a welcome.
        outcome = Welcome.JOINED if await self._first_visit(user.id) else Welcome.BACK
        return Joined(outcome, user.name, user.language, roles=sorted(roles), admin=bool(user.is_admin))

    async def _first_visit(self, user_id: int) -> bool:
        """Whether this /start is the person's first, remembered from now on (a setting by its key: no row, never
        came)."""
        key = f"{STARTED}{user_id}"
        if await self.session.get(Setting, key) is not None:
            return False
        self.session.add(Setting(key=key, value={"at": self.core.clock.now().isoformat()}))
        return True

    async def _let_in(self, user: User, code: str) -> Joined:
        """Someone turned away at a general dealer link brings an invite link: it lets them in as it would a newcomer
        (they never had access, so no admin's revoke is undone). A general dealer link again does not: an admin has
        said no to that request already; they read how to get in instead."""
        stored = await self.session.get(Invite, code) if code else None
        if not code or (stored is not None and stored.hold):
            return Joined(Welcome.TURNED_AWAY, user.name, user.language)
        mixed = await self.mixed_invite(code, user.name, user.username)
        if mixed is not None:
            return Joined(Welcome.REFUSED, user.name, user.language, problem=MIXED_INVITE, mixed=mixed)
        try:
            invite = await people.use_invite(self.session, code, self.core.clock.now())
        except people.InviteError as exc:
            return Joined(Welcome.REFUSED, user.name, user.language, problem=exc.message)
        user.active, user.organisation_id = True, invite.organisation_id
        user.is_admin = user.is_admin or invite.make_admin
        await people.grant(self.session, user.id, invite.roles)
        log.info("user %s, once turned away at a dealer link, joined by an invite with roles %s", user.id, invite.roles)
        return Joined(Welcome.JOINED, user.name, user.language, roles=list(invite.roles), admin=bool(user.is_admin))

    async def shut_out(self, user: User) -> Joined:
        """What someone without access reads, whatever they send: waiting for approval, turned away at a general
        dealer link (and how to get in), or closed by an admin."""
        if user.awaiting_approval:
            return Joined(Welcome.HELD, user.name, user.language)
        if await self.is_turned_away(user):
            return Joined(Welcome.TURNED_AWAY, user.name, user.language)
        return Joined(Welcome.CLOSED, user.name, user.language)

    async def _register(self, newcomer: Newcomer, *, is_admin: bool) -> User:
        user = await people.register(
            self.session,
            tg_id=newcomer.tg_id,
            name=newcomer.name,
            username=newcomer.username,
            language=newcomer.language,
            now=self.core.clock.now(),
            is_admin=is_admin,
        )
        await self._first_visit(user.id)  # welcomed now: their next /start is a return
        return user
