"""What the admin commands about organisations show in chat: /orgs, an organisation's card, its regional
representative and a new one's kind."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from db.models import Company, User
from flows.i18n import _
from flows.values import amount_text, number_sign
from services import companies
from services.access import EXTERNAL_ROLES
from services.onec_documents.sheet import shown_date
from services.wording.names import ORGANISATION_KINDS
from tgbot.callbacks import (
    OrgCb,
    button_label,
)
from tgbot.render import Renderer


def organisations(renderer: Renderer, orgs: list[Company], lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """`/orgs`, `/org`: every organisation, a button each to open its card, and one to add an organisation."""
    add = [InlineKeyboardButton(text=renderer.t("➕ New organisation", lang), callback_data=OrgCb(action="new").pack())]
    if not orgs:
        text = renderer.t("No organisations yet. Add one: /org_new dealer Name region=… inn=…", lang)
        return text, InlineKeyboardMarkup(inline_keyboard=[add])
    rows = [
        [
            InlineKeyboardButton(
                text=(("⛔ " if not org.active else "") + f"{org.name} · "
                      f"{renderer.t(ORGANISATION_KINDS.get(org.kind, org.kind), lang)}")[:60],
                callback_data=OrgCb(action="show", org_id=org.id).pack(),
            )
        ]
        for org in orgs[:50]
    ]  # fmt: skip
    rows.append(add)
    return renderer.t("Organisations: %(n)s", lang, n=len(orgs)), InlineKeyboardMarkup(inline_keyboard=rows)


# The details an admin changes from an organisation's card, by the short names `services.companies` takes.
ORGANISATION_FIELDS = {
    "name": _("Name"), "inn": _("INN"), "kpp": _("KPP"), "region": _("Region"), "price": _("Price type"),
    "contacts": _("Contacts"), "limit": _("Credit limit"), "debt": _("Debt"), "stop": _("Shipments stopped"),
}  # fmt: skip


def organisation_card(
    renderer: Renderer,
    org: Company,
    members: list[User],
    rep: User | None,
    credit: companies.Credit,
    lang: str,
    by_region: Sequence[User] = (),
) -> tuple[str, InlineKeyboardMarkup]:
    t = renderer.t
    # With no one named, the card says who gets the dealer's requests by its region (they do, named or not).
    shown_rep = (
        rep.name
        if rep
        else (t("— (by the region: %(names)s)", lang, names=", ".join(u.name for u in by_region)) if by_region else "—")
    )
    lines = [
        f"{number_sign(lang)}{org.id} {org.name} · {t(ORGANISATION_KINDS.get(org.kind, org.kind), lang)}",
        t("INN/KPP: %(inn)s / %(kpp)s", lang, inn=org.inn or "—", kpp=org.kpp or "—"),
        t("Region: %(region)s", lang, region=org.region or "—"),
        t("Price type: %(price)s", lang, price=org.price_type or "—"),
        t("Contacts: %(contacts)s", lang, contacts=org.contacts or "—"),
        t("Regional representative: %(name)s", lang, name=shown_rep),
        t("People: %(names)s", lang, names=", ".join(m.name for m in members) or "—"),
    ]
    if credit.limit is not None:
        left = credit.left or 0
        text = _("Credit limit: %(limit)s ₽, debt: %(debt)s ₽, left: %(left)s ₽")
        if left < 0:
            text, left = _("Credit limit: %(limit)s ₽, debt: %(debt)s ₽, exceeded by %(left)s ₽"), -left
        lines.append(
            t(
                text,
                lang,
                limit=amount_text(credit.limit, lang),
                debt=amount_text(credit.debt, lang),
                left=amount_text(left, lang),
            )
        )
    if credit.pending_count:
        lines.append(_pending_line(renderer, credit, lang))
    debt_on = companies.debt_on(org)
    if debt_on:
        lines.append(t("Debt from 1C as of %(date)s: %(debt)s ₽", lang, date=shown_date(debt_on),
                       debt=amount_text(credit.debt, lang)))  # fmt: skip
    if credit.stopped:
        lines.append(t("⛔ Shipments stopped: every order request goes to the representative office.", lang))
    if not org.active:
        lines.append(t("⛔ Deactivated: offered nowhere, its people see nothing.", lang))
    rows = [
        [
            InlineKeyboardButton(
                text=button_label(t("Invite link: %(role)s", lang, role=renderer.role(role, lang))),
                callback_data=OrgCb(action="invite", org_id=org.id, arg=role).pack(),
            )
        ]
        for role in (EXTERNAL_ROLES if org.active else ())  # one switched off takes no new people
    ]
    edits = [
        InlineKeyboardButton(
            text="✏️ " + t(label, lang), callback_data=OrgCb(action="edit", org_id=org.id, arg=key).pack()
        )
        for key, label in ORGANISATION_FIELDS.items()
    ]
    rows += [edits[i : i + 3] for i in range(0, len(edits), 3)]
    rep_button = t("👤 Regional representative", lang)
    rows.append([InlineKeyboardButton(text=rep_button, callback_data=OrgCb(action="reps", org_id=org.id).pack())])
    toggle = (t("⛔ Deactivate", lang), "off") if org.active else (t("✅ Reactivate", lang), "on")
    rows.append([InlineKeyboardButton(text=toggle[0], callback_data=OrgCb(action=toggle[1], org_id=org.id).pack())])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def _pending_line(renderer: Renderer, credit: companies.Credit, lang: str) -> str:
    """The organisation's requests under way, in /orders' words: how many of them are carts not sent yet (counted
    against the limit, not yet among its sent requests)."""
    values = {"count": credit.pending_count, "drafts": credit.pending_drafts, "sum": amount_text(credit.pending, lang)}
    if credit.limit is None:
        text = (_("Requests under way (%(count)s, of them not sent yet: %(drafts)s): %(sum)s ₽")
                if credit.pending_drafts else _("Requests under way (%(count)s): %(sum)s ₽"))  # fmt: skip
    elif credit.pending_drafts:
        text = _("Requests under way (%(count)s, of them not sent yet: %(drafts)s): %(sum)s ₽ — not yet in 1C's "
                 "debt, counted against the limit")  # fmt: skip
    else:
        text = _("Requests under way (%(count)s): %(sum)s ₽ — not yet in 1C's debt, counted against the limit")
    return renderer.t(text, lang, **values)


def organisation_reps(
    renderer: Renderer, org: Company, reps: list[User], lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The responsible regional representative, chosen by a button (or nobody)."""
    rows = [
        [InlineKeyboardButton(text=("✅ " if u.id == org.regional_rep_id else "") + u.name[:55],
                              callback_data=OrgCb(action="rep", org_id=org.id, arg=str(u.id)).pack())]
        for u in reps[:40]
    ]  # fmt: skip
    rows.append([InlineKeyboardButton(text=renderer.t("— Nobody", lang),
                                      callback_data=OrgCb(action="rep", org_id=org.id, arg="0").pack())])  # fmt: skip
    text = renderer.t("%(org)s: who is its regional representative?", lang, org=org.name)
    if not reps:
        text += "\n" + renderer.t("Nobody has the regional representative's role yet.", lang)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def organisation_kinds(renderer: Renderer, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [InlineKeyboardButton(text=renderer.t(title, lang), callback_data=OrgCb(action="new", arg=kind).pack())]
        for kind, title in ORGANISATION_KINDS.items()
    ]
    return renderer.t("A new organisation: which kind?", lang), InlineKeyboardMarkup(inline_keyboard=rows)
