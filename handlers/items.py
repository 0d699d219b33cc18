"""Item cards: the buttons that move an item of a case along its track, show its history, or bring its card."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from db.models import User
from handlers.common import AfterCommit, Registered, answer
from services.access import Viewer
from tgbot.buttons import CardButtons
from tgbot.callbacks import ItemCb
from tgbot.replies import Replies


def router() -> Router:
    items = Router(name=__name__)
    items.callback_query.filter(Registered())
    items.callback_query.register(on_item, ItemCb.filter())
    return items


async def on_item(
    query: CallbackQuery,
    callback_data: ItemCb,
    replies: Replies,
    user: User,
    viewer: Viewer,
    buttons: CardButtons,
    after_commit: AfterCommit,
) -> None:
    """Move an item, or show its history or its card."""
    reply = await buttons.item(viewer, callback_data)
    if reply.card is not None:
        replies.say(user.tg_id, *reply.card)
    answer(after_commit, query, reply.notice)
