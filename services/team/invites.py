"""Invite links: made for roles (and an organisation, or a general dealer link), checked that the roles fit whom the
link is for — when it is made, and again when an old one is opened."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from db.models import Company, Invite, User
from flows.i18n import Name, _
from services import access, people
from services.team.base import Refused, TeamBase

log = logging.getLogger(__name__)

MIN_USES, MAX_USES = 1, 1000  # how many people one invite link may let in


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


class Invites(TeamBase):
    """Invite links made and checked."""

    async def invite(
        self,
        by: User,
        roles: list[str],
        uses: int,
        make_admin: bool,
        *,
        organisation_id: int | None = None,
        hold: bool = False,
        picker_ref: int | None = None,
    ) -> Invite:
        """An invite for `uses` people with these roles (and admin rights if `make_admin`); for one organisation
        (its people are bound to it); or a general dealer link (`hold`: no roles, an admin approves each). Made
        from a `/invite` picker message (`picker_ref`, its outbox row): that message's one invite, made at its
        first «Create link»."""
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
            picker_ref=picker_ref,
        )

    async def picked(self, by: User, picker_ref: int) -> Invite | None:
        """The invite `by` made from the `/invite` picker message `picker_ref`, if its «Create link» was pressed."""
        return await people.picked_invite(self.session, by.id, picker_ref) if picker_ref else None

    async def check_invite(self, organisation_id: int | None, roles: Iterable[str]) -> None:
        """An invite fits whom it is for: a dealer's roles (`access.EXTERNAL_ROLES`) only with their organisation,
        the company's own roles (every other) only without one; an organisation switched off takes no new people."""
        organisation = await self.session.get(Company, organisation_id) if organisation_id is not None else None
        if organisation_id is not None and organisation is None:  # deleted meanwhile (the panel's form was open)
            raise Refused(_("There is no such organisation any more: choose another one."))
        if organisation is not None and not organisation.active:
            text = _("%(org)s is deactivated: it takes no new people. Reactivate it first (/org %(id)s).")
            raise Refused(text, org=Name(organisation.name), id=organisation.id)
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
