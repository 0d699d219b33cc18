"""Task card buttons: take a task from a role pool, answer it with an outcome, start or pause its timer."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from handlers.common import AfterCommit, Registered, answer
from tgbot.buttons import CardButtons
from tgbot.callbacks import TaskCb

log = logging.getLogger(__name__)


def router() -> Router:
    tasks = Router(name=__name__)
    tasks.callback_query.filter(Registered())
    tasks.callback_query.register(on_task_button, TaskCb.filter())
    return tasks


async def on_task_button(
    query: CallbackQuery, callback_data: TaskCb, buttons: CardButtons, after_commit: AfterCommit
) -> None:
    answer(after_commit, query, await buttons.task(callback_data))
