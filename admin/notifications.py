"""The panel's notifications page: per kind of notification, which channels it goes by (Telegram, e-mail, SMS)
and the fallback order; the Telegram (per language), e-mail and SMS templates of each kind, checked when saved
(a wrong one is shown back in the form with what is wrong, in the panel's language, and nothing is saved);
people's phones and e-mails and organisations' contact e-mails; the notifications that could not be delivered.
All of it through `services.channels`, as the chat would."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from admin.auth import wall_clock
from admin.pages import PanelPages
from db.models import Company, User
from flows.i18n import _
from services import channels, panel_queries
from services.sms import BadPhone

PAGE = 50
ADDRESS_PROBLEMS = {
    "phone": _("This is not a phone number: write it with its code, e.g. +7 916 123-45-67."),
    "email": _("This is not an e-mail address: write it as name@example.com."),
}


class NotificationsPage(PanelPages):
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/notifications", self.page),
            web.post("/notifications/channels", self.save_channels, name="notification-channels"),
            web.post("/notifications/templates/{kind}/{part}", self.save_template, name="notification-template"),
            web.post("/notifications/people/{user_id:\\d+}", self.save_person, name="notification-person"),
            web.post("/notifications/organisations/{org_id:\\d+}", self.save_organisation, name="notification-org"),
        ]

    async def page(self, request: web.Request, *, code: int = 200, error: dict[str, Any] | None = None) -> web.Response:
        async with self.core.sessionmaker() as session:
            kinds = await channels.settings(session)
            sources = await channels.templates(session, self.lang)
            people = (await session.scalars(select(User).where(User.active).order_by(User.name))).all()
            orgs = (await session.scalars(select(Company).order_by(Company.name))).all()
            problems = [p for p in await panel_queries.delivery_problems(session, PAGE * 4) if _notification(p.row)]
        if error is not None:  # what the admin wrote stays in the form, with what is wrong with it
            sources = {**sources, (error["kind"], error["part"]): error["source"]}
        return self.panel.render(
            request,
            "notifications.html",
            code=code,
            kinds=[(kind, channels.KIND_TITLES[kind], kinds[kind]) for kind in channels.KINDS],
            channel_names=channels.CHANNELS,
            parts=[(channel, part) for channel, names in channels.PARTS.items() for part in names],
            variables=channels.VARIABLES,
            sources=sources,
            error=error,
            people=people,
            orgs=orgs,
            problems=problems[:PAGE],
        )

    async def save_channels(self, request: web.Request) -> web.Response:
        form = await request.post()
        async with self.core.sessionmaker() as session, session.begin():
            for kind in channels.KINDS:
                fallback = [str(form.get(f"{kind}.fallback{i}") or "") for i in (1, 2, 3)]
                value = channels.KindChannels(
                    kind,
                    telegram=f"{kind}.telegram" in form,
                    email=f"{kind}.email" in form,
                    sms=f"{kind}.sms" in form,
                    fallback=tuple(c for c in fallback if c in channels.CHANNELS),
                )
                await channels.save_settings(session, value, wall_clock())
        raise web.HTTPSeeOther("/admin/notifications")

    async def save_template(self, request: web.Request) -> web.Response:
        kind, part = request.match_info["kind"], request.match_info["part"]
        if kind not in channels.KINDS or part not in channels.ALL_PARTS:
            raise web.HTTPNotFound(text=_("There is no such template."))
        form = await request.post()
        source = None if "default" in form else str(form.get("source") or "")
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await channels.save_template(session, kind, part, source, wall_clock())
        except channels.TemplateProblem as problem:
            said = problem.translated(lambda msgid, **params: self.core.translator.t(msgid, self.lang, **params))
            error = {"kind": kind, "part": part, "source": source or "", "message": said}
            return await self.page(request, code=400, error=error)
        raise web.HTTPSeeOther(f"/admin/notifications#t-{kind}-{part}")

    async def save_person(self, request: web.Request) -> web.Response:
        user_id = int(request.match_info["user_id"])
        form = await request.post()
        typed = {"phone": str(form.get("phone") or ""), "email": str(form.get("email") or "")}
        name = ""
        try:
            async with self.core.sessionmaker() as session, session.begin():
                user = await session.get(User, user_id)
                if user is None:
                    raise web.HTTPNotFound(text=_("There is no such person."))
                name = user.name
                await channels.set_address(session, user, phone=typed["phone"], email=typed["email"])
        except BadPhone:  # the transaction is over (nothing kept) before the page reads anything
            return await self._address_refused(request, ("person", user_id), name, "phone", typed)
        except channels.BadEmail:
            return await self._address_refused(request, ("person", user_id), name, "email", typed)
        raise web.HTTPSeeOther("/admin/notifications#addresses")

    async def save_organisation(self, request: web.Request) -> web.Response:
        org_id = int(request.match_info["org_id"])
        form = await request.post()
        typed = {"email": str(form.get("email") or "")}
        async with self.core.sessionmaker() as session:
            org = await session.get(Company, org_id)
        if org is None:
            raise web.HTTPNotFound(text=_("There is no such organisation."))
        try:
            email = channels.checked_email(typed["email"])
        except channels.BadEmail:  # checked before any transaction: the page is read with nothing held
            return await self._address_refused(request, ("organisation", org_id), org.name, "email", typed)
        async with self.core.sessionmaker() as session, session.begin():
            org = await session.get(Company, org_id)
            if org is None:
                raise web.HTTPNotFound(text=_("There is no such organisation."))
            org.email = email
        raise web.HTTPSeeOther("/admin/notifications#addresses")

    async def _address_refused(
        self, request: web.Request, whose: tuple[str, int], name: str, field: str, typed: dict[str, str]
    ) -> web.Response:
        """The addresses' form back with what is wrong next to the field and what was typed kept in it."""
        said = self.core.translator.t(ADDRESS_PROBLEMS[field], self.lang)
        error: dict[str, Any] = {"kind": "", "part": "", "source": "", "message": f"{name}: {said}", "said": said}
        error |= {"whose": whose, "field": field, "typed": typed}
        return await self.page(request, code=400, error=error)


def _notification(row: Any) -> bool:
    """A notification's failure (services/channels/), not a chat's or a definition's e-mail."""
    return "notification" in row.payload or "notice" in row.payload
