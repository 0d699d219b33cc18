"""Joining: a /start — a known person welcomed back, the first admin, a newcomer by an invite, someone held by a general
dealer link (let in or turned away by an admin) — and what someone without access reads."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from db.models import AuditEntry, Company, Invite, Setting, User
from services import access, people
from services.team.base import UnknownRoles
from services.team.invites import MIXED_INVITE, Invites, MixedInvite
from services.team.standing import Standing

log = logging.getLogger(__name__)

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


class Joining(Standing, Invites):
    """A /start answered, and the people a general dealer link holds let in or turned away."""

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
