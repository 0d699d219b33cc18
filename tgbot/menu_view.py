"""What the menu shows in chat: the menu's buttons, the processes one may start, «My cases» and /help. (Task and
case cards and form questions are in `tgbot.render`.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from db.models import Case
from flows.i18n import _
from flows.model import ProcessDef
from flows.values import number_sign
from services.access import PortalRights, roles_may_start, roles_see_figures
from services.menu import Pick
from tgbot.callbacks import (
    CaseCb,
    MenuCb,
    StartCb,
    button_label,
)
from tgbot.render import Renderer

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


def process_list(renderer: Renderer, specs: list[ProcessDef], lang: str, ref: int) -> tuple[str, InlineKeyboardMarkup]:
    """«Which process?»: a button per process, each carrying the list's own outbox row `ref` (`StartCb.picker`)."""
    buttons = [
        InlineKeyboardButton(
            text=button_label(renderer.tr.local(s.title, lang)),
            callback_data=StartCb(process=s.process, picker=ref).pack(),
        )
        for s in specs
    ]
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[button] for button in buttons])
    return renderer.t("Which process do you want to start?", lang), keyboard


def process_chosen(renderer: Renderer, spec: ProcessDef | None, lang: str) -> str:
    """What a «Which process?» list says once a process is chosen from it, its buttons gone."""
    if spec is None:  # its definition is gone since: the list only says it was used
        return renderer.t("A process was chosen from this list.", lang)
    return renderer.t("Process chosen: “%(process)s”.", lang, process=renderer.tr.local(spec.title, lang))


def process_not_started(renderer: Renderer, pick: Pick, spec: ProcessDef | None, lang: str) -> str:
    """The answer to a press on a list that starts nothing: chosen from already, or replaced by a newer one."""
    if pick.verdict == "stale" and pick.process:  # the newer list has no buttons left either
        return renderer.t("This list is out of date. To start another process, press “▶️ Start a process”.", lang)
    if pick.verdict == "stale":
        return renderer.t("This list is out of date: choose in the newer one below.", lang)
    if spec is None:
        return renderer.t("A process was already chosen from this list.", lang)
    title = renderer.tr.local(spec.title, lang)
    return renderer.t("“%(process)s” was already chosen from this list.", lang, process=title)


def cases_keyboard(
    renderer: Renderer, cases: list[tuple[Case, ProcessDef]], lang: str, titles: Mapping[int, str]
) -> InlineKeyboardMarkup:
    rows = []
    for case, spec in cases:
        stage = renderer.stage_title(spec, case.stage, lang)
        label = f"{number_sign(lang)}{case.id} {titles[case.id]} — {stage}"
        rows.append(
            [
                InlineKeyboardButton(
                    text=button_label(label, 64), callback_data=CaseCb(action="show", case_id=case.id).pack()
                )
            ]
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
    lines = [renderer.t("Closed cases:", lang) if closed else renderer.t("Your cases:", lang)]
    for case, spec in cases:
        stage = renderer.stage_title(spec, case.stage, lang)
        lines.append(f"{number_sign(lang)}{case.id} · {titles[case.id]} — {stage}")
    keyboard = cases_keyboard(renderer, cases, lang, titles)
    if not closed:
        keyboard.inline_keyboard.append([closed_cases_button(renderer, lang)])
    return "\n".join(lines), keyboard


def waiting_list(
    renderer: Renderer,
    cases: list[tuple[Case, ProcessDef]],
    lang: str,
    titles: Mapping[int, str],
    *,
    more: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    """«My tasks»' cases that wait for the reader to move them on by hand (`TaskPage.waiting`): each a line «➡️ №12 ·
    title — stage» (the whole title: a button shows only its start on a phone) and a button that opens its card, whose
    buttons are the moves."""
    count = f"{len(cases)}+" if more else len(cases)
    lines = [renderer.t("Waiting for you to move them on: %(n)s", lang, n=count)]
    rows = []
    for case, spec in cases:
        where = f"{number_sign(lang)}{case.id} · {titles[case.id]} — {renderer.stage_title(spec, case.stage, lang)}"
        lines.append(f"➡️ {where}")
        pressed = CaseCb(action="show", case_id=case.id).pack()
        rows.append([InlineKeyboardButton(text=button_label(f"➡️ {where}", 64), callback_data=pressed)])
    lines.append(renderer.t("Press a case: its card has the buttons that move it on.", lang))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def closed_cases_button(renderer: Renderer, lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=renderer.t("🗄 Closed cases", lang), callback_data=MenuCb(action="closed").pack())


def help_text(
    renderer: Renderer,
    lang: str,
    rights: PortalRights | None,
    admin: bool,
    *,
    figures: Literal["every", "own"] | None = None,
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
    if figures == "own":
        lines.append(renderer.t(
            "/figures — what your organisation ordered and was shipped, as a chart and Excel.", lang
        ))  # fmt: skip
    elif figures == "every":
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
            "Admins: /invite — an invite link, its roles chosen by buttons (or typed: /invite role… [xN]), "
            "/dealer_link [xN] — "
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
