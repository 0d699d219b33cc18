"""The panel's people: everyone with their roles (granted and revoked here), those the bot cannot reach, invite
links for a role (and an organisation) with their QR codes, a person revoked. Every change goes through
`services.panel_actions`, which audits it."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from admin.pages import PanelPages
from db.models import User
from flows.i18n import _
from flows.runtime import EngineError
from services import companies, panel_actions, panel_queries
from services.people import PeopleCache
from services.team import Team
from services.team.base import Refused, UnknownRoles


class PeoplePages(PanelPages):
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/people", self.people),
            web.post("/people/invite", self.invite, name="people-invite"),
            web.post("/people/{user_id:\\d+}/roles", self.roles, name="people-roles"),
            web.post("/people/{user_id:\\d+}/revoke", self.revoke, name="people-revoke"),
            web.post("/people/{user_id:\\d+}/restore", self.restore, name="people-restore"),
        ]

    async def people(self, request: web.Request, **invited: Any) -> web.Response:
        """Everyone with their roles (granted and revoked here), those the bot cannot reach, and invite links."""
        async with self.core.sessionmaker() as session:
            team = Team(self.core, session)
            roster = await team.roster()
            turned_away = await team.turned_away(roster)  # never let in: marked so, and nothing to restore
            orgs = await companies.listed(session, active_only=True)  # one switched off takes no new people
            every_org = {o.id: o.name for o in await companies.listed(session, active_only=False)}
            lost = await panel_actions.unreachable(session)
            moved = await self._moved(session, request.query.get("moved", ""))
        known = sorted(team.known_roles(), key=self.words.role)
        labelled = [(u, [(r, self.words.role(r)) for r in roles]) for u, roles in roster]
        wanted = " ".join(request.query.get("q", "").split())
        return self.panel.render(
            request,
            "people.html",
            invited.pop("code", 200),
            roster=[row for row in labelled if _found(row, wanted)],
            everyone=len(labelled),
            q=wanted,
            known=[(r, self.words.role(r)) for r in known],
            orgs=[(o.id, o.name) for o in orgs],
            org_names=every_org,  # who is bound to which dealer, a column of the list
            lost=lost,
            turned_away=turned_away,
            moved=moved,
            moved_more=int(more) if (more := request.query.get("more", "")).isdigit() else 0,
            **invited,
        )

    async def _moved(self, session: AsyncSession, listed: str) -> list[dict[str, str]]:
        """After a revoke or a role taken: where each task that left the person is now («№3 · … — «Task» → Павел»)."""
        ids = [int(part) for part in listed.split(",") if part.isdigit()][:MOVED_SHOWN]
        tasks = await panel_queries.moved_tasks(session, ids)
        names = await PeopleCache(session).names({t.assignee_id for t, _c in tasks if t.assignee_id is not None})
        lines = []
        for task, case in tasks:
            spec = await self.core.registry.spec(session, case.definition_id)
            title = self.core.registry.case_title(spec, case, self.lang) or self.core.translator.local(
                spec.title, self.lang
            )
            lines.append({"case": f"{self.words.no}{case.id} · {title}", "case_id": str(case.id),
                          "task": self.words.task_title(spec, task.stage, task.key, case.data),
                          "holder": self.words.holder(task, names)})  # fmt: skip
        return lines

    async def invite(self, request: web.Request) -> web.Response:
        """An invite link for a role (and an organisation), shown with its QR code to scan from a phone."""
        form = await request.post()
        roles = [str(r) for r in form.getall("role", [])]
        org = str(form.get("organisation", ""))
        uses = str(form.get("uses", "1"))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                created = await panel_actions.invite(
                    self.core,
                    session,
                    roles,
                    organisation_id=int(org) if org.isdigit() else None,
                    uses=int(uses) if uses.isdigit() else 1,
                )
        except (UnknownRoles, EngineError) as refused:
            # The form comes back as the admin filled it: only what was refused is to be changed.
            typed = {"roles": roles, "organisation": org, "uses": uses}
            return await self.people(request, code=400, invite_error=self._invite_refused(refused), typed=typed)
        link = await self._invite_link(created.code)
        return await self.people(
            request,
            link=link,
            qr=qr_data_uri(link),
            invite_roles=", ".join(self.words.role(r) for r in roles),
            invite_uses=created.max_uses,
        )

    def _invite_refused(self, refused: Exception) -> str:
        if isinstance(refused, UnknownRoles):
            return self.panel.t("Choose at least one role.")
        # Roles that do not fit the organisation, one switched off, or the organisation chosen is gone.
        assert isinstance(refused, EngineError)
        return self.panel.said(refused)

    async def _invite_link(self, code: str) -> str:
        if self.panel.bot_name is None:
            return f"/start {code}"
        return f"https://t.me/{await self.panel.bot_name()}?start={code}"

    async def roles(self, request: web.Request) -> web.Response:
        """Grant or revoke one role of a person (a revoked role's tasks go back to its pool)."""
        user_id = int(request.match_info["user_id"])
        form = await request.post()
        role = str(form.get("role", ""))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                moved = await panel_actions.change_role(
                    self.core, session, user_id, role, grant=form.get("action") == "grant"
                )
        except UnknownRoles:  # none chosen (an old page, a browser without `required`) or one no process names
            said = _("Choose the role to grant from the list.") if not role else _("There is no such role.")
            # The people page as it was, the words by the person's row; the role typed is never echoed (a key).
            return await self.people(request, code=400, role_error={"person": user_id, "text": self.panel.t(said)})
        except Refused as exc:  # a role for a person whose access is closed (restored first), a dealer's role
            # A dealer's role comes with an invite for the organisation: the panel's own pages for it, not /orgs.
            pages = [("people#invite-form", self.panel.t("Invite")), ("organisations", self.panel.t("Organisations"))]
            return self.panel.refused(request, exc, "people", links=pages if exc.in_panel else ())
        self.core.outbox_written()  # a revoked role's tasks went back to the pool: its members are told
        raise web.HTTPSeeOther(_moved_to(moved))

    async def revoke(self, request: web.Request) -> web.Response:
        """The person leaves: inactive, their tasks back to the pools."""
        user_id = int(request.match_info["user_id"])
        try:
            async with self.core.sessionmaker() as session, session.begin():
                moved = await panel_actions.revoke_person(self.core, session, user_id)
        except Refused as exc:  # nobody by that number, an administrator, or closed already
            return self.panel.refused(request, exc, "people")
        self.core.outbox_written()
        raise web.HTTPSeeOther(_moved_to(moved))

    async def restore(self, request: web.Request) -> web.Response:
        """A revoked person is let back in with the roles they kept."""
        user_id = int(request.match_info["user_id"])
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await panel_actions.restore_person(self.core, session, user_id)
        except Refused as exc:
            return self.panel.refused(request, exc, "people")
        self.core.outbox_written()  # the person is told
        raise web.HTTPSeeOther("/admin/people")


def _found(row: tuple[User, list[tuple[str, str]]], wanted: str) -> bool:
    """A person the search names: by a part of their name, Telegram username or a role's label (as the list shows
    them), in any case."""
    if not wanted:
        return True
    person, roles = row
    said = [person.name, person.username or "", *(label for _key, label in roles)]
    return wanted.casefold() in " · ".join(said).casefold()


MOVED_SHOWN = 100  # tasks listed by name on the people page after a revoke; the rest are counted


def _moved_to(task_ids: list[int]) -> str:
    """The people page, saying where the tasks that left the person went (none: the plain page)."""
    if not task_ids:
        return "/admin/people"
    shown = ",".join(map(str, task_ids[:MOVED_SHOWN]))  # an address of thousands of ids is refused by the server
    more = len(task_ids) - MOVED_SHOWN
    return f"/admin/people?moved={shown}" + (f"&more={more}" if more > 0 else "")


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG image inline in the page (drawn here, nothing fetched from elsewhere)."""
    # Loaded when an admin opens an invite, not in every bot process (qrcode brings PIL).
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()
