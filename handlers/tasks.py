"""Task card buttons: take a task from a role pool, answer it with an outcome, start or pause its timer."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from handlers.common import AfterCommit, Registered, answer
from services.portal import Portal
from tgbot import portal_view
from tgbot.buttons import CardButtons
from tgbot.callbacks import TaskCb
from tgbot.render import Renderer
from tgbot.replies import Replies

log = logging.getLogger(__name__)


def router() -> Router:
    tasks = Router(name=__name__)
    tasks.callback_query.filter(Registered())
    tasks.callback_query.register(on_task_button, TaskCb.filter())
    return tasks


async def on_task_button(
    query: CallbackQuery,
    callback_data: TaskCb,
    buttons: CardButtons,
    portal: Portal,
    replies: Replies,
    renderer: Renderer,
    after_commit: AfterCommit,
) -> None:
    if callback_data.action == "out" and callback_data.arg == "done":
        # A reclamation's parts task «Готово» with products in the cart: asked whether they are its parts.
        left = await portal.parts_left_in_cart(callback_data.task_id)
        if left is not None:
            (task, cart), user = left, portal.user
            replies.say_editable(user.tg_id, lambda ref: portal_view.parts_left_question(
                renderer, cart, user.language, task.id, task.case_id, ref))  # fmt: skip
            return answer(after_commit, query)
    answer(after_commit, query, await buttons.task(callback_data))
