"""What the menu and the admin commands show in chat: texts and keyboards built from what the services
return. (Task and case cards and form questions are in `tgbot.render`.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from db.models import Case, Company, User
from flows.i18n import _
from flows.model import ProcessDef
from flows.runtime import TaskState
from flows.values import amount_text, number_sign
from services import companies
from services.access import EXTERNAL_ROLES, PortalRights, roles_may_start, roles_see_figures
from services.cases import Loaded
from services.onec_documents.sheet import shown_date
from services.team.invites import MixedInvite
from services.team.joining import Joined, Welcome
from services.team.roster import PersonCard
from services.wording import ORGANISATION_KINDS
from services.worktime import WorkReport
from tgbot.callbacks import (
    ApprovalCb,
    CaseCb,
    DiagramCb,
    ExportCb,
    MenuCb,
    OrgCb,
    RoleCb,
    StartCb,
    button_label,
)
from tgbot.render import Renderer

# --- the menu -------------------------------------------------------------------------------------------


MY_TASKS = _("📋 My tasks")
NEW_CASE = _("▶️ Start a process")
MY_CASES = _("📁 My cases")
FIGURES = _("📈 Figures")  # representatives and dealers' managers: shipments and sales per dealer


def menu_keyboard(
    renderer: Renderer, lang: str, roles: Iterable[str], is_admin: bool, specs: Iterable[ProcessDef]
) -> ReplyKeyboardMarkup:
    """The menu under the chat. “Start a process” only for someone whose roles start one of `specs` (a warehouse
    worker who only does tasks is not offered a button that would say no); a dealer's people start theirs from the
    catalogue, which that button opens."""
    t = renderer.t
    roles = frozenset(roles)
    first = [KeyboardButton(text=t(MY_TASKS, lang))]
    if any(roles_may_start(roles, is_admin, spec) for spec in specs):
        first.append(KeyboardButton(text=t(NEW_CASE, lang)))
    last = [KeyboardButton(text=t(MY_CASES, lang))]
    if roles_see_figures(roles, is_admin):
        last.append(KeyboardButton(text=t(FIGURES, lang)))
    return ReplyKeyboardMarkup(keyboard=[first, last], resize_keyboard=True, is_persistent=True)


def startable_keyboard(renderer: Renderer, specs: list[ProcessDef], lang: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=button_label(renderer.tr.local(s.title, lang)), callback_data=StartCb(process=s.process).pack()
        )
        for s in specs
    ]
    return InlineKeyboardMarkup(inline_keyboard=[[button] for button in buttons])


def diagram_keyboard(processes: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """`/diagram`: one button per process, by its title."""
    rows = [
        [InlineKeyboardButton(text=button_label(title), callback_data=DiagramCb(process=key).pack())]
        for key, title in processes
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def export_keyboard(processes: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """`/export`: one button per process, by its title (an admin picks, never types a key)."""
    rows = [
        [InlineKeyboardButton(text=button_label(title), callback_data=ExportCb(process=key).pack())]
        for key, title in processes
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def cases_keyboard(
    renderer: Renderer, cases: list[tuple[Case, ProcessDef]], lang: str, titles: Mapping[int, str]
) -> InlineKeyboardMarkup:
    rows = []
    for case, spec in cases:
        stage = renderer.stage_title(spec, case.stage, lang)
        label = f"{number_sign(lang)}{case.id} {titles[case.id]} — {stage}"
        rows.append(
            [InlineKeyboardButton(text=button_label(label, 64),
                                  callback_data=CaseCb(action="show", case_id=case.id).pack())]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def case_list(
    renderer: Renderer,
    cases: list[tuple[Case, ProcessDef]],
    lang: str,
    titles: Mapping[int, str],
    *,
    closed: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    """“My cases”: each case's whole title (`titles`: `Menu.titles`) and stage in the text (a button shows only its
    start on a phone), a button per case to open it; the open ones first, the finished ones behind «Closed cases»."""
    if not cases:
        return renderer.t("You have no closed cases.", lang), InlineKeyboardMarkup(inline_keyboard=[])
    lines = [renderer.t("Closed cases:" if closed else "Your cases:", lang)]
    for case, spec in cases:
        stage = renderer.stage_title(spec, case.stage, lang)
        lines.append(f"{number_sign(lang)}{case.id} · {titles[case.id]} — {stage}")
    keyboard = cases_keyboard(renderer, cases, lang, titles)
    if not closed:
        keyboard.inline_keyboard.append([closed_cases_button(renderer, lang)])
    return "\n".join(lines), keyboard


def closed_cases_button(renderer: Renderer, lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=renderer.t("🗄 Closed cases", lang), callback_data=MenuCb(action="closed").pack())


def welcome(renderer: Renderer, joined: Joined) -> str:
    t, lang, name = renderer.t, joined.language, joined.name
    if joined.outcome is Welcome.BACK:
        back = t("Welcome back, %(name)s! Your roles: %(roles)s.", lang, name=name, roles=_roles_said(renderer, joined))
        return back + ("\n" + t(joined.problem, lang) if joined.problem else "")  # the link they brought, refused
    if joined.outcome is Welcome.FIRST_ADMIN:
        return t(
            "Welcome, %(name)s! You are an administrator. Invite people with /invite role1 role2.", lang, name=name
        )
    if joined.outcome is Welcome.STRANGER:
        return t(
            "Hello! This is a company bot; it works by invitation only. Ask your administrator for an invite link.",
            lang,
        )
    if joined.outcome is Welcome.REFUSED:
        return t(joined.problem, lang)
    if joined.outcome is Welcome.HELD:
        return t("Thank you, %(name)s! An administrator will check your request and let you in.", lang, name=name)
    if joined.outcome is Welcome.CLOSED:
        return closed_access(renderer, lang)
    if joined.outcome is Welcome.TURNED_AWAY:
        return turned_away(renderer, lang)
    roles = _roles_said(renderer, joined)
    return t("Welcome, %(name)s! Your roles: %(roles)s. Use the menu below.", lang, name=name, roles=roles)


def joined_by_invite(renderer: Renderer, person: User, joined: Joined, lang: str) -> str:
    """To the admin who made the invite: who came by it, with what (the roles by their labels)."""
    roles = renderer.roles(joined.roles + (["admin"] if joined.admin else []), lang)
    handle = f" @{person.username}" if person.username else ""
    return renderer.t("👋 %(name)s%(handle)s joined by your invite: %(roles)s.", lang, name=person.name,
                      handle=handle, roles=roles)  # fmt: skip


def mixed_invite(renderer: Renderer, mixed: MixedInvite, lang: str) -> str:
    """To each admin: an old invite whose roles do not go together was opened and refused; what it gives, what is
    wrong with it and what to make instead — the roles by their labels, never their keys."""
    given = renderer.roles(mixed.roles, lang) + (f" — {mixed.organisation}" if mixed.organisation else "")
    why = renderer.t(mixed.why.message, lang, roles=renderer.roles(mixed.why.roles, lang), **mixed.why.params)
    handle = f" @{mixed.username}" if mixed.username else ""
    return renderer.t(
        "⚠️ %(name)s%(handle)s opened an old invite link for %(given)s, and it was refused — nothing was given: "
        "%(why)s Send them a new link.",
        lang,
        name=mixed.name,
        handle=handle,
        given=given,
        why=why,
    )


def _roles_said(renderer: Renderer, joined: Joined) -> str:
    """A newcomer's roles by their names, and «administrator» for an admin (who may have no role at all)."""
    said = [renderer.roles(joined.roles, joined.language)] if joined.roles else []
    if joined.admin:
        said.append(renderer.t("administrator", joined.language))
    return ", ".join(said) or renderer.roles([], joined.language)


# --- admin commands -------------------------------------------------------------------------------------


ROSTER_PAGE = 10  # people per /users message: short enough for a phone's screen


def roster(
    renderer: Renderer,
    people: list[tuple[User, list[str]]],
    lang: str,
    turned_away: AbstractSet[int] = frozenset(),
    page: int = 0,
) -> str:
    """`/users`, a page of it: each person with their roles, the revoked, the waiting and those never let in
    (`turned_away`) marked; an @username only for those who have one."""
    pages = max(1, -(-len(people) // ROSTER_PAGE))
    lines = [renderer.t("People: %(n)s (page %(page)s of %(pages)s)", lang, n=len(people), page=page + 1, pages=pages)]
    for person, roles in people[page * ROSTER_PAGE : (page + 1) * ROSTER_PAGE]:
        admin = " ⭐" if person.is_admin else ""
        blocked = " 🚫" if person.unreachable_at is not None else ""  # blocked the bot: nothing reaches them
        handle = f" @{person.username}" if person.username else ""
        mark = access_closed_mark(person, person.id in turned_away)
        closed = "" if person.active else " ⛔ " + renderer.t(mark, lang, id=person.id)
        lines.append(f"{person.id}. {person.name}{admin}{blocked}{closed}{handle}: {renderer.roles(roles, lang)}")
    return "\n".join(lines)


def access_closed_mark(person: User, turned_away: bool = False) -> str:
    """Why an inactive person sees nothing, in a word for the admins' lists: only a revoked person is restored."""
    if person.awaiting_approval:
        return _("waits for approval")
    return _("not let in") if turned_away else _("access closed (/restore %(id)s)")


def closed_access(renderer: Renderer, lang: str) -> str:
    """What a person whose access an admin closed reads, whatever they send."""
    return renderer.t("Your access to the bot is closed. If this is a mistake, contact your administrator.", lang)


def turned_away(renderer: Renderer, lang: str) -> str:
    """What someone an admin turned away at a general dealer link reads, then and whatever they send later: what
    to do about it (short enough for a button's alert too)."""
    return renderer.t(
        "An administrator did not let you in by the general dealer link. If you work with us, ask your administrator "
        "to let you in or to send you a personal invite link.",
        lang,
    )


def roster_keyboard(people: list[tuple[User, list[str]]], page: int = 0, ref: int = 0) -> InlineKeyboardMarkup:
    """`/users`: a button per person of the page opens their roles as buttons (no typed ids); ◀️ ▶️ turn the
    page in the same message (`ref`)."""
    rows = [
        [InlineKeyboardButton(text=button_label(f"{p.id}. {p.name}"),
                              callback_data=RoleCb(action="p", user_id=p.id).pack())]
        for p, _roles in people[page * ROSTER_PAGE : (page + 1) * ROSTER_PAGE]
    ]  # fmt: skip
    turn = [
        InlineKeyboardButton(text=label, callback_data=RoleCb(action="page", user_id=to, ref=ref).pack())
        for label, to in (("◀️", page - 1), ("▶️", page + 1))
        if 0 <= to * ROSTER_PAGE < len(people)
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows + ([turn] if turn else []))


def person_roles(
    renderer: Renderer, card: PersonCard, known: set[str], lang: str, *, ask_revoke: bool = False, ref: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """A person's roles, each known role a button: ✓ marks the ones they have; a press grants or revokes it (and
    edits this card, the message `ref`); under
    them «Revoke access», asked again before it is done (`ask_revoke`). A revoked person's card says so and offers
    to restore them instead; the card of someone turned away at a general dealer link offers to let them in."""
    person, roles = card.person, card.roles
    if ask_revoke:
        return revoke_question(renderer, person, lang)
    if card.dealers is not None:
        return let_in_card(renderer, person, card.dealers, lang)
    text = renderer.t("%(name)s — roles: %(roles)s", lang, name=person.name, roles=renderer.roles(roles, lang))
    if not person.active and not person.awaiting_approval:
        text += "\n" + renderer.t("⛔ Access closed: they see nothing and get no tasks.", lang)
        restore = RoleCb(action="restore", user_id=person.id).pack()
        button = InlineKeyboardButton(text=renderer.t("♻️ Restore access", lang), callback_data=restore)
        return text, InlineKeyboardMarkup(inline_keyboard=[[button]])
    text += "\n" + renderer.t("Press a role to grant or revoke it.", lang)
    buttons = [
        InlineKeyboardButton(
            text=("✓ " if role in roles else "") + renderer.role(role, lang)[:40],
            callback_data=RoleCb(action="t", user_id=person.id, arg=role, ref=ref).pack(),
        )
        for role in sorted(known, key=lambda r: renderer.role(r, lang))
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if person.active and not person.is_admin:  # as the panel: an administrator's access is not closed from here
        ask = RoleCb(action="ask_revoke", user_id=person.id).pack()
        rows.append([InlineKeyboardButton(text=renderer.t("⛔ Revoke access", lang), callback_data=ask)])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def let_in_card(
    renderer: Renderer, person: User, dealers: list[Company], lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The /users card of someone turned away at a general dealer link: the dealers to let them in to, as on the
    approval card (then the role); someone of the company's own gets an invite link instead."""
    text = renderer.t(
        "⛔ %(name)s was not let in: turned away at the general dealer link, sees nothing. To let them in, choose "
        "their dealer; for the company's own roles send them an invite link (/invite).",
        lang,
        name=person.name,
    )
    if not dealers:
        text += "\n" + renderer.t("No dealer is active: add one (/org_new) or reactivate one (/orgs).", lang)
    return text, InlineKeyboardMarkup(inline_keyboard=approve_buttons(renderer, person, dealers, lang))


def released_text(
    renderer: Renderer, person: User, moved: list[tuple[Loaded, TaskState, str | None]], lang: str
) -> str:
    """For the admin who took a role or closed access: where each of the person's tasks went (empty: they held
    none of them), so nobody has to guess who now has a case's work."""
    if not moved:
        return ""
    head = renderer.t("Tasks of %(name)s now:", lang, name=person.name)
    return "\n".join([head, *(renderer.released_line(loaded.state, task, who, lang) for loaded, task, who in moved)])


def revoke_question(renderer: Renderer, person: User, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """«Revoke access» pressed on a person's card: asked once more, as the panel asks, before their tasks move."""
    text = renderer.t(
        "Revoke %(name)s? Their tasks go back to the pools, those that were theirs alone to an administrator.",
        lang,
        name=person.name,
    )
    revoke = RoleCb(action="revoke", user_id=person.id).pack()
    keep = RoleCb(action="p", user_id=person.id).pack()
    buttons = [
        [InlineKeyboardButton(text=renderer.t("⛔ Revoke access", lang), callback_data=revoke)],
        [InlineKeyboardButton(text=renderer.t("✖️ Cancel", lang), callback_data=keep)],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=buttons)


def processes(renderer: Renderer, listed: list[tuple[str, int | None, str]], lang: str) -> str:
    """`/processes`: each process by its title and version, with the commands that take the title (its key is
    the definition's, never shown to a person)."""
    t = renderer.t
    lines = [t("Processes (send a definition as a .yaml file to check it; with the caption /load to load it):", lang)]
    for _key, version, title in sorted(listed, key=lambda item: item[2]):
        said = t("version %(n)s", lang, n=version) if version is not None else t("not loaded yet", lang)
        lines.append(t("• %(title)s — %(version)s: /diagram %(title)s · /export %(title)s", lang, title=title,
                       version=said))  # fmt: skip
    return "\n".join(lines)


def worktime(renderer: Renderer, report: WorkReport, lang: str) -> str:
    t = renderer.t
    if not report.by_process:
        return t("No timed work in the last %(days)s days.", lang, days=report.days)
    lines = [t("Time spent in the last %(days)s days:", lang, days=report.days)]
    lines += [f"{name} — {title}: {renderer.duration(seconds, lang)}" for name, title, seconds in report.by_process]
    lines.append("")
    lines += [
        t("%(name)s in total: %(spent)s", lang, name=name, spent=renderer.duration(seconds, lang))
        for name, seconds in report.by_person
    ]
    return "\n".join(lines)


# --- organisations and approvals ----------------------------------------------------------------------------


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
    renderer: Renderer, org: Company, members: list[User], rep: User | None, credit: companies.Credit, lang: str,
    by_region: Sequence[User] = (),
) -> tuple[str, InlineKeyboardMarkup]:
    t = renderer.t
    # With no one named, the card says who gets the dealer's requests by its region (they do, named or not).
    shown_rep = rep.name if rep else (
        t("— (by the region: %(names)s)", lang, names=", ".join(u.name for u in by_region)) if by_region else "—"
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
        text = "Credit limit: %(limit)s ₽, debt: %(debt)s ₽, left: %(left)s ₽"
        if left < 0:
            text, left = "Credit limit: %(limit)s ₽, debt: %(debt)s ₽, exceeded by %(left)s ₽", -left
        lines.append(t(text, lang, limit=amount_text(credit.limit, lang), debt=amount_text(credit.debt, lang),
                           left=amount_text(left, lang)))
    if credit.pending_count:
        text = (_("Requests under way (%(count)s): %(sum)s ₽ — not yet in 1C's debt, counted against the limit")
                if credit.limit is not None else _("Requests under way (%(count)s): %(sum)s ₽"))  # fmt: skip
        lines.append(t(text, lang, count=credit.pending_count, sum=amount_text(credit.pending, lang)))
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


def approval_card(
    renderer: Renderer, person: User, dealers: list[Company], lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """To each admin: someone joined by a general dealer link. «Approve» for an organisation, then a role."""
    t = renderer.t
    handle = f" @{person.username}" if person.username else ""
    text = t(
        "%(name)s%(handle)s asks to join as a dealer's employee. Approve for which dealer?",
        lang,
        name=person.name,
        handle=handle,
    )
    rows = approve_buttons(renderer, person, dealers, lang)
    reject = ApprovalCb(action="reject", person_id=person.id).pack()
    rows.append([InlineKeyboardButton(text=t("Reject", lang), callback_data=reject)])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def approve_buttons(
    renderer: Renderer, person: User, dealers: list[Company], lang: str
) -> list[list[InlineKeyboardButton]]:
    """«Approve: <dealer>» per dealer: the role comes next."""
    return [
        [
            InlineKeyboardButton(
                text=button_label(renderer.t("Approve: %(org)s", lang, org=org.name)),
                callback_data=ApprovalCb(action="org", person_id=person.id, org_id=org.id).pack(),
            )
        ]
        for org in dealers[:30]
    ]


def approval_roles(renderer: Renderer, person: User, org: Company, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [
            InlineKeyboardButton(
                text=button_label(renderer.role(role, lang)),
                callback_data=ApprovalCb(action="role", person_id=person.id, org_id=org.id, role=role).pack(),
            )
        ]
        for role in EXTERNAL_ROLES
    ]
    text = renderer.t("%(name)s at %(org)s: which role?", lang, name=person.name, org=org.name)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def help_text(
    renderer: Renderer,
    lang: str,
    rights: PortalRights | None,
    admin: bool,
    *,
    figures: bool = False,
    startable: list[ProcessDef] | None = None,
) -> str:
    """/help: what this person can do here — everyone's menu and commands, “Start a process” only with the processes
    their roles start (`startable`), a dealer's catalogue and cart as far as they may use them (`rights`), the
    figures for those who see them, the admins' commands for admins only."""
    lines = [
        renderer.t(
            "I run your company's processes. “My tasks” (/tasks) — what waits for you; “My cases” — where your cases "
            "stand; /case and a number — a case's card. /lang switches the language.",
            lang,
        )
    ]
    if startable:
        # each process's name quoted the reader's way: «…» in Russian, “…” in English
        processes = ", ".join(renderer.t("“%(text)s”", lang, text=renderer.tr.local(s.title, lang)) for s in startable)
        lines.append(renderer.t("“Start a process” — register a new case: %(processes)s.", lang, processes=processes))
    lines.append(
        renderer.t(
            "/diagram — a process drawn, stage by stage; /digest — a summary of your cases at the hour you choose.",
            lang,
        )
    )
    if figures:
        lines.append(renderer.t("/figures — what each dealer ordered and was shipped, as a chart and Excel.", lang))
    if rights is not None and rights.cart and rights.orders:
        lines.append(renderer.t(
            "The catalogue: type the bot's name and a product's name or article in any chat. /cart — your cart; "
            "/orders — your organisation's requests; /reclamations — its reclamations.",
            lang,
        ))  # fmt: skip
    elif rights is not None and rights.cart:  # a dealer's service engineer: no /orders he would be refused
        lines.append(renderer.t(
            "The catalogue: type the bot's name and a product's name or article in any chat. /cart — your cart; "
            "/reclamations — your organisation's reclamations.",
            lang,
        ))  # fmt: skip
    if admin:
        lines.append(renderer.t(
            "Admins: /invite role… [xN] — an invite link (admin among the roles makes admins), /dealer_link [xN] — "
            "one for many dealers' staff, each approved by you; /users — people and their roles; /grant and /revoke — "
            "roles, /revoke N with no role — the person's access closed (their tasks back to the pools), /restore N — "
            "a revoked person's access back; "
            "/region — a regional representative's region.\n"
            "/find and a number or words — a case's admin card: reassign a task, cancel with a reason, retry a failed "
            "step; /unreachable — who the bot cannot write to.\n"
            "/processes — the processes and their versions; /export [process] — the cases as Excel; /worktime "
            "[days] — time spent on timed tasks.\n"
            "/orgs, /org and a number — organisations; /org_new and /org_set — create or change one in one line.\n"
            "A YAML file sent here is checked as a process definition, and loaded if you say so.",
            lang,
        ))  # fmt: skip
    return "\n\n".join(lines)
