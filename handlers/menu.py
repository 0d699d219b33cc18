"""The menu: my tasks, start a process, my cases."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from flows.i18n import _
from handlers.common import MY_CASES, MY_TASKS, NEW_CASE, AfterCommit, MenuButton, Registered, answer
from services.access import Viewer
from services.menu import Menu
from services.portal import Portal
from tgbot import menu_view, portal_view
from tgbot.buttons import CardButtons
from tgbot.callbacks import MenuCb, StartCb
from tgbot.render import Renderer
from tgbot.replies import Replies

log = logging.getLogger(__name__)

FROM_CATALOGUE = _(
    "Order requests and reclamations start from the catalogue: find the product (“🔎 Catalogue” below) and press "
    "its button on the product's card."
)
# A dealer's service engineer files reclamations and orders nothing: he is not sent to look for «requests».
RECLAIM_FROM_CATALOGUE = _(
    "Reclamations start from the catalogue: find the product (“🔎 Catalogue” below) and press “🛠 Reclamation” on "
    "its card."
)
ORDER_FROM_CATALOGUE = _(
    "Order requests start from the catalogue: find the product (“🔎 Catalogue” below) and press its button on the "
    "product's card."
)


def router() -> Router:
    menu = Router(name=__name__)
    menu.message.filter(Registered())
    menu.callback_query.filter(Registered())
    menu.message.register(my_tasks, MenuButton(MY_TASKS, loose=True))
    menu.message.register(my_tasks, Command("tasks"))  # typed as a command: the same list (/help names it)
    menu.message.register(choose_process, MenuButton(NEW_CASE, loose=True))
    menu.callback_query.register(start_process, StartCb.filter())
    menu.message.register(my_cases, MenuButton(MY_CASES, loose=True))
    menu.callback_query.register(closed_cases, MenuCb.filter(F.action == "closed"))
    return menu


async def my_tasks(message: Message, replies: Replies, viewer: Viewer, menu: Menu) -> None:
    page = await menu.my_tasks(viewer)
    await replies.task_page(message.chat.id, viewer.user, page)


async def choose_process(
    message: Message, replies: Replies, renderer: Renderer, viewer: Viewer, menu: Menu, portal: Portal
) -> None:
    lang = viewer.user.language
    specs = menu.startable(viewer)
    if specs:
        sent = replies.say_editable(message.chat.id, lambda r: menu_view.process_list(renderer, specs, lang, r))
        replaced = menu.list_sent(viewer, sent)
        if replaced is not None:  # the older list, nothing chosen from it: one list to choose from, the newest
            replies.drop_buttons(message.chat.id, replaced)
        return
    rights = portal.rights(viewer)
    if rights.cart:  # a dealer's people start their requests and reclamations from a product's card
        keyboard = portal_view.catalogue_prompt(renderer, lang, rights, portal.core.config.webapp_url)[1]
        said = FROM_CATALOGUE if rights.order and rights.reclaim else ORDER_FROM_CATALOGUE if rights.order else (
            RECLAIM_FROM_CATALOGUE
        )
        replies.say(message.chat.id, renderer.t(said, lang), keyboard)
        return
    replies.say(message.chat.id, renderer.t("None of your roles can start a process.", lang))


async def start_process(
    query: CallbackQuery,
    callback_data: StartCb,
    buttons: CardButtons,
    menu: Menu,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    lang, pressed = viewer.user.language, callback_data
    if not pressed.fresh:  # a «Which process?» list's button («Start anew» is a draft's card's)
        pick, spec = menu.pick(viewer, pressed.picker, pressed.process), menu.process(pressed.process)
        if pick.verdict != "go":
            return answer(after_commit, query, menu_view.process_not_started(renderer, pick, spec, lang), True)
        if pressed.picker:  # the list says what was chosen, its buttons gone (before the form's first question)
            replies.edit(viewer.user.tg_id, pressed.picker, menu_view.process_chosen(renderer, spec, lang))
        await buttons.start(pressed.process, chosen=pick)
    else:
        await buttons.start(pressed.process, fresh=True)
    answer(after_commit, query)


async def my_cases(message: Message, replies: Replies, renderer: Renderer, viewer: Viewer, menu: Menu) -> None:
    lang = viewer.user.language
    cases = await menu.my_cases(viewer)
    if not cases:
        # Nothing open: the finished ones, if any, are behind the button; none at all is said plainly.
        if not await menu.my_cases(viewer, 1, closed=True):
            replies.say(message.chat.id, renderer.t("You have no cases yet.", lang))
            return
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[menu_view.closed_cases_button(renderer, lang)]])
        replies.say(message.chat.id, renderer.t("You have no open cases.", lang), keyboard)
        return
    replies.say(message.chat.id, *menu_view.case_list(renderer, cases, lang, menu.titles(cases, lang)))


async def closed_cases(
    query: CallbackQuery, replies: Replies, renderer: Renderer, viewer: Viewer, menu: Menu, after_commit: AfterCommit
) -> None:
    cases, lang = await menu.my_cases(viewer, closed=True), viewer.user.language
    replies.say(viewer.user.tg_id, *menu_view.case_list(renderer, cases, lang, menu.titles(cases, lang), closed=True))
    answer(after_commit, query)
