"""What a /start and the admin commands about people show in chat: the welcome and who joined by an invite, /users
and a person's card with their roles, where their tasks went, an approval's card for someone held by a general
dealer link."""

from __future__ import annotations

import hashlib
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from db.models import Company, User
from flows.i18n import _
from flows.runtime import TaskState
from services.access import EXTERNAL_ROLES
from services.cases import Loaded
from services.team.invites import MAX_USES, MIN_USES, MixedInvite
from services.team.joining import Joined, Welcome
from services.team.roster import PersonCard
from tgbot.callbacks import (
    ApprovalCb,
    InviteCb,
    RoleCb,
    button_label,
)
from tgbot.render import Renderer


def welcome(renderer: Renderer, joined: Joined) -> str:
    t, lang, name = renderer.t, joined.language, joined.name
    if joined.outcome is Welcome.BACK:
        back = t("Welcome back, %(name)s! Your roles: %(roles)s.", lang, name=name, roles=_roles_said(renderer, joined))
        return back + ("\n" + t(joined.problem, lang) if joined.problem else "")  # the link they brought, refused
    if joined.outcome is Welcome.FIRST_ADMIN:
        return t(
            "Welcome, %(name)s! You are an administrator. Invite people with /invite: it offers the roles as buttons.",
            lang,
            name=name,
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


# How many people a link pressed together is for: the usual few (a typed `/invite … x300` gives any other).
INVITE_USES = tuple(n for n in (1, 5, 20) if MIN_USES <= n <= MAX_USES)

INVITE_PICKER = _(
    "A new invite link: mark its roles and how many people it is for, then press «Create link».\n"
    "Roles: %(roles)s\nPeople: %(uses)s"
)


@dataclass(frozen=True)
class InvitePick:
    """An invite being put together by buttons (`/invite` alone): nothing is stored until it is made."""

    roles: frozenset[str] = frozenset()
    uses: int = INVITE_USES[0]
    admin: bool = False

    @classmethod
    def pressed(cls, own: list[str], data: InviteCb) -> InvitePick:
        """The invite as the message pressed showed it (`own`: the company's roles its bits are over), with the
        press applied."""
        try:
            bits = int(data.roles or "0", 16)
        except ValueError:  # not a button the bot made
            bits = 0
        roles = {role for i, role in enumerate(own) if bits >> i & 1}
        uses, admin = data.uses if data.uses in INVITE_USES else INVITE_USES[0], bool(data.admin)
        if data.action == "r" and 0 <= data.arg < len(own):
            roles ^= {own[data.arg]}
        elif data.action == "u" and data.arg in INVITE_USES:
            uses = data.arg
        elif data.action == "a":
            admin = not admin
        return cls(frozenset(roles), uses, admin)


def roles_mark(own: list[str]) -> str:
    """Which list of the company's roles an invite's bits are over: a process loaded since adds roles and moves
    the bits, and a button's then means other roles."""
    return hashlib.sha1("\n".join(own).encode()).hexdigest()[:6]


def invite_picker(
    renderer: Renderer, own: list[str], pick: InvitePick, lang: str, ref: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """`/invite` alone: the company's roles as buttons by their names (✅ on those chosen), how many people, the
    administrator's rights and «Create link»; each press edits this message (`ref`). The roles travel as bits
    over `own` (sorted keys): a role's key may not fit a button's 64 bytes."""
    t, mark = renderer.t, roles_mark(own)
    bits = f"{sum(1 << i for i, role in enumerate(own) if role in pick.roles):x}"

    def data(action: str, arg: int = 0) -> str:
        return InviteCb(action=action, arg=arg, roles=bits, uses=pick.uses, admin=int(pick.admin), of=mark,
                        ref=ref).pack()  # fmt: skip

    def on(chosen: bool, label: str) -> str:
        return button_label(("✅ " if chosen else "") + label, 40)

    shown = renderer.roles(sorted(pick.roles) + (["admin"] if pick.admin else []), lang)
    text = t(INVITE_PICKER, lang, roles=shown, uses=pick.uses)
    places = sorted(range(len(own)), key=lambda i: renderer.role(own[i], lang))
    buttons = [
        InlineKeyboardButton(text=on(own[i] in pick.roles, renderer.role(own[i], lang)), callback_data=data("r", i))
        for i in places
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    admin = on(pick.admin, "⭐ " + renderer.role("admin", lang))
    rows.append([InlineKeyboardButton(text=admin, callback_data=data("a"))])
    rows.append([
        InlineKeyboardButton(
            text=on(n == pick.uses, renderer.tr.tn("%(n)s person", "%(n)s people", n, lang)), callback_data=data("u", n)
        )
        for n in INVITE_USES
    ])  # fmt: skip
    rows.append([InlineKeyboardButton(text=t("🔗 Create link", lang), callback_data=data("go"))])
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
