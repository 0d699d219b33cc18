"""Whether a person has access, and why not: a revoke (their tasks handed on), a restore, someone turned away at a
general dealer link, someone who blocked the bot."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select

from db.models import AuditEntry, Company, User
from flows.i18n import Name, _
from services import people
from services.admin_actions import PANEL
from services.cases import CaseService
from services.team.base import Refused, TeamBase

log = logging.getLogger(__name__)


class Standing(TeamBase):
    """A person's access closed, restored, or refused, and the tasks that leave whoever cannot do them."""

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
            raise Refused(text, name=person.name, org=Name(organisation.name), org_id=organisation.id)
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
