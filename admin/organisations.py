"""The panel's organisations: the list of them with their people, and an organisation's page: its details in a
form an admin saves (CSRF-checked by `admin.auth` like every POST), the responsible regional representative picked
from a list, deactivation, and the history of changes.
Every change goes through `services.companies`, which checks it (INN check digits, KPP shape) and audits it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from aiohttp import web
from sqlalchemy import select

from admin.pages import PanelPages
from db.models import AuditEntry, User
from flows.i18n import _
from flows.values import amount_text
from services import companies
from services import people as people_repo
from services.admin_actions import PANEL
from services.wording.names import ORGANISATION_KINDS

FIELDS = ("name", "inn", "kpp", "region", "price", "contacts")

FIELD_TITLES = {
    "name": _("Name"), "inn": _("INN"), "kpp": _("KPP"), "region": _("Region"), "price": _("Price type"),
    "contacts": _("Contacts"), "rep": _("Regional representative"), "limit": _("Credit limit"), "debt": _("Debt"),
}  # fmt: skip


class OrganisationPages(PanelPages):
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/organisations", self.listing),
            web.get("/organisations/{org_id:\\d+}", self.page),
            web.post("/organisations/{org_id:\\d+}", self.save, name="organisation-save"),
        ]

    async def listing(self, request: web.Request) -> web.Response:
        """Dealers, suppliers and clients with their details and people (kept in chat: /org_new, /org_set)."""
        async with self.core.sessionmaker() as session:
            orgs = await companies.listed(session)
            users = {u.id: u for u in (await session.execute(select(User))).scalars()}
        members: dict[int, list[str]] = {}
        for user in users.values():
            if user.organisation_id is not None:
                members.setdefault(user.organisation_id, []).append(user.name)
        reps = {o.id: users[o.regional_rep_id].name for o in orgs if o.regional_rep_id in users}
        for org in orgs:  # none named: who gets its requests by its region (they do, named or not)
            regional = [u.name for u in users.values() if org.region and u.region == org.region and u.active]
            if org.id not in reps and regional:
                reps[org.id] = self.panel.t("— (by the region: %(names)s)", names=", ".join(regional))
        kinds = {k: self.core.translator.t(v, self.lang) for k, v in ORGANISATION_KINDS.items()}
        return self.panel.render(request, "organisations.html", orgs=orgs, members=members, reps=reps, kinds=kinds)

    async def page(
        self, request: web.Request, error: str | None = None, code: int = 200, typed: dict[str, str] | None = None
    ) -> web.Response:
        """The organisation's form with what is kept, or (`typed`, after a refusal) with what the admin wrote."""
        org_id = int(request.match_info["org_id"])
        async with self.core.sessionmaker() as session:
            org = await companies.get(session, org_id)
            if org is None:
                raise web.HTTPNotFound(text=_("There is no such organisation."))
            reps = [u for u in await people_repo.members(session, "regional_rep") if u.active]
            history = await companies.Organisations(self.core, session).history(org_id)
            names = {u.id: u.name for u in (await session.execute(select(User))).scalars()}
        values: dict[str, object] = {
            "name": org.name, "inn": org.inn, "kpp": org.kpp, "region": org.region, "price": org.price_type,
            "contacts": org.contacts,
        }  # fmt: skip
        credit = companies.credit(org)
        debt = (org.data or {}).get(companies.CREDIT["debt"])  # as kept: a debt of 0 set by hand stays shown
        values |= {"limit": credit.limit, "debt": debt, "stop": credit.stopped}
        values |= {"rep": org.regional_rep_id, "active": org.active}
        if typed is not None:  # a refused form comes back as the admin wrote it, to correct one field
            values |= {f: typed[f] for f in (*FIELDS, "limit", "debt")}
            rep = typed["rep"]
            values |= {"rep": int(rep) if rep.isdigit() else None, "stop": typed["stop"] == "yes"}
            values["active"] = typed["active"] == "1"
        t = self.core.translator.t
        lines = [
            {"at": a.at, "who": self._who(a, names), "what": self._change(a.data or {}, names)}
            for a in history
        ]
        return self.panel.render(
            request, "organisation.html", code, org=org, values=values, reps=reps, history=lines, error=error,
            kind=t(ORGANISATION_KINDS.get(org.kind, org.kind), self.lang),
        )  # fmt: skip

    async def save(self, request: web.Request) -> web.Response:
        org_id = int(request.match_info["org_id"])
        form = await request.post()
        details = {f: str(form.get(f, "")) for f in FIELDS} | {"rep": str(form.get("rep", "0") or "0")}
        details |= {"limit": str(form.get("limit", "")), "debt": str(form.get("debt", ""))}
        details["stop"] = "yes" if form.get("stop") == "1" else "no"
        active = "1" if form.get("active") == "1" else ""
        try:
            async with self.core.sessionmaker() as session, session.begin():
                org = await companies.get(session, org_id)
                if org is None:
                    raise web.HTTPNotFound(text=_("There is no such organisation."))
                now = self.core.clock.now()
                await companies.update_details(session, org, details, now, None, via=PANEL)
                await companies.set_active(session, org, active == "1", now, None, via=PANEL)
        except companies.BadValue as bad:  # nothing is saved; the form comes back as written, to correct
            return await self.page(request, self._bad(bad.field, bad.params), 400, typed=details | {"active": active})
        except companies.BadDetails:  # a representative's id that is no number (the form offers only people)
            return await self.page(request, self._bad("rep"), 400, typed=details | {"active": active, "rep": "0"})
        raise web.HTTPSeeOther(f"/admin/organisations/{org_id}")

    def _bad(self, field: str, params: dict[str, object] | None = None) -> str:
        t, lang = self.core.translator.t, self.lang
        if field == "duplicate":
            said = _("There is already an organisation with this INN and KPP: #%(id)s %(name)s.")
            return t(said, lang, **(params or {}))
        if field == "inn":
            return t("This INN is not valid: an INN has 10 digits (12 for a sole trader) and its check digits must "
                     "match.", lang)  # fmt: skip
        if field == "kpp":
            return t("This KPP is not valid: 9 characters, 4 digits, 2 digits or Latin capitals, 3 digits.", lang)
        if field == "rep":
            return t("There is no such person.", lang)
        if field in ("limit", "debt"):
            return t("Write an amount in roubles, e.g. 500000 (or “-” for none).", lang)
        return t("The name cannot be empty.", lang)

    def _who(self, entry: AuditEntry, names: dict[int, str]) -> str:
        """Who made the change: a person, the panel's admin, or 1C's exchange."""
        if entry.actor_id is not None:
            return names.get(entry.actor_id, "—")
        via = (entry.data or {}).get("via") or (entry.data or {}).get("by")
        if via == PANEL:
            return self.core.translator.t(_("An admin in the panel"), self.lang)
        return self.core.translator.t(_("1C"), self.lang) if via == companies.ONEC else "—"

    def _change(self, data: dict[str, object], names: dict[int, str]) -> str:
        t, lang = self.core.translator.t, self.lang
        if "created" in data:
            return t(_("created"), lang)
        field = str(data.get("field"))
        old, new = data.get("from"), data.get("to")
        if field == "rep":
            old = names.get(old, "—") if isinstance(old, int) else "—"
            new = names.get(new, "—") if isinstance(new, int) else "—"
        if field == "active":
            return t(_("reactivated"), lang) if new else t(_("deactivated"), lang)
        if field == "stop":
            return t(_("Shipments stopped"), lang) if new else t(_("Shipments resumed"), lang)
        if field in ("limit", "debt"):  # money as the chat and the card show it, «1 500 000,50 ₽»
            old, new = (_money(v, lang) for v in (old, new))
        label = t(FIELD_TITLES.get(field, field), lang)
        return f"{label}: {old or '—'} → {new or '—'}"


def _money(value: object, lang: str) -> str | None:
    """An audited amount as money; a value that is not one (an entry written by hand) as it is."""
    if value in (None, ""):
        return None
    try:
        return f"{amount_text(Decimal(str(value)), lang)} ₽"
    except (InvalidOperation, ValueError):
        return str(value)
