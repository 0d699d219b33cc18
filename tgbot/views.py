"""What the menu and the admin commands show in chat: texts and keyboards built from what the services
return. (Task and case cards and form questions are in `tgbot.render`.)"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from db.models import Case, User
from flows.model import ProcessDef
from services.team import Joined, Welcome
from services.worktime import WorkReport
from tgbot.callbacks import CaseCb, DiagramCb, ExportCb, RoleCb, StartCb
from tgbot.render import Renderer

# --- the menu -------------------------------------------------------------------------------------------


def startable_keyboard(renderer: Renderer, specs: list[ProcessDef], lang: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=renderer.tr.local(s.title, lang)[:60], callback_data=StartCb(process=s.process).pack()
        )
        for s in specs
    ]
    return InlineKeyboardMarkup(inline_keyboard=[[button] for button in buttons])


def diagram_keyboard(processes: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """`/diagram`: one button per process, by its title."""
    rows = [
        [InlineKeyboardButton(text=title[:60], callback_data=DiagramCb(process=key).pack())] for key, title in processes
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def export_keyboard(processes: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """`/export`: one button per process, by its title (an admin picks, never types a key)."""
    rows = [
        [InlineKeyboardButton(text=title[:60], callback_data=ExportCb(process=key).pack())] for key, title in processes
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def cases_keyboard(renderer: Renderer, cases: list[tuple[Case, ProcessDef]], lang: str) -> InlineKeyboardMarkup:
    rows = []
    for case, spec in cases:
        stage = renderer.stage_title(spec, case.stage, lang)
        label = f"№{case.id} {case.title or renderer.tr.local(spec.title, lang)} — {stage}"
        rows.append(
            [InlineKeyboardButton(text=label[:64], callback_data=CaseCb(action="show", case_id=case.id).pack())]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def welcome(renderer: Renderer, joined: Joined) -> str:
    t, lang, name = renderer.t, joined.language, joined.name
    if joined.outcome is Welcome.BACK:
        roles = renderer.roles(joined.roles, lang)
        return t("Welcome back, %(name)s! Your roles: %(roles)s.", lang, name=name, roles=roles)
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
    roles = renderer.roles(joined.roles, lang)
    return t("Welcome, %(name)s! Your roles: %(roles)s. Use the menu below.", lang, name=name, roles=roles)


# --- admin commands -------------------------------------------------------------------------------------


def roster(renderer: Renderer, people: list[tuple[User, list[str]]], lang: str) -> str:
    lines = []
    for person, roles in people:
        admin = " ⭐" if person.is_admin else ""
        blocked = " 🚫" if person.unreachable_at is not None else ""  # blocked the bot: nothing reaches them
        handle = f"@{person.username or '—'}"
        lines.append(f"{person.id}. {person.name}{admin}{blocked} {handle}: {renderer.roles(roles, lang)}")
    return "\n".join(lines)


def roster_keyboard(people: list[tuple[User, list[str]]]) -> InlineKeyboardMarkup:
    """`/users`: a button per person opens their roles as buttons (no typed ids)."""
    rows = [
        [InlineKeyboardButton(text=f"{p.id}. {p.name}"[:60], callback_data=RoleCb(action="p", user_id=p.id).pack())]
        for p, _roles in people[:90]
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def person_roles(
    renderer: Renderer, person: User, roles: list[str], known: set[str], lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """A person's roles, each known role a button: ✓ marks the ones they have; a press grants or revokes it."""
    text = renderer.t("%(name)s now has: %(roles)s", lang, name=person.name, roles=renderer.roles(roles, lang))
    text += "\n" + renderer.t("Press a role to grant or revoke it.", lang)
    buttons = [
        InlineKeyboardButton(
            text=("✓ " if role in roles else "") + renderer.role(role, lang)[:40],
            callback_data=RoleCb(action="t", user_id=person.id, arg=role).pack(),
        )
        for role in sorted(known, key=lambda r: renderer.role(r, lang))
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def processes(listed: list[tuple[str, int | None, str]]) -> str:
    return "\n".join(f"{key} v{'?' if version is None else version}: {title}" for key, version, title in listed) or "—"


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
