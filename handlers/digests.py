"""`/digest`: turn the digest on or off, pick its hour, get one now; a digest's buttons open a group's list or
its Excel file."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from handlers.common import AfterCommit, Registered, answer
from services.access import Viewer
from services.digests import GROUPS, HOURS, Digests
from tgbot import digest_view
from tgbot.callbacks import DigestCb
from tgbot.render import Renderer
from tgbot.replies import Replies


def router() -> Router:
    digests = Router(name=__name__)
    digests.message.filter(Registered())
    digests.callback_query.filter(Registered())
    digests.message.register(settings, Command("digest"))
    digests.callback_query.register(on_setting, DigestCb.filter(F.action.in_({"now", "on", "off", "at"})))
    digests.callback_query.register(on_group, DigestCb.filter(F.action.in_({"list", "xlsx"})))
    return digests


async def settings(message: Message, replies: Replies, renderer: Renderer, viewer: Viewer, digests: Digests) -> None:
    lang = viewer.user.language
    sub = await digests.subscription_of(viewer.user)
    replies.say(
        message.chat.id,
        digest_view.settings_text(renderer, sub, lang),
        digest_view.settings_keyboard(renderer, sub, lang),
    )


async def on_setting(
    query: CallbackQuery,
    callback_data: DigestCb,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    digests: Digests,
    after_commit: AfterCommit,
) -> None:
    user, lang = viewer.user, viewer.user.language
    if callback_data.action == "now":
        await digests.send(user)
    else:
        hour = next((h for h in HOURS if h.strftime("%H%M") == callback_data.arg), None)
        on = {"on": True, "off": False}.get(callback_data.action)
        sub = await digests.change(user, on=on, at=hour if callback_data.action == "at" else None)
        keyboard = digest_view.settings_keyboard(renderer, sub, lang)
        replies.say(user.tg_id, digest_view.settings_text(renderer, sub, lang), keyboard)
    answer(after_commit, query)


async def on_group(
    query: CallbackQuery,
    callback_data: DigestCb,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    digests: Digests,
    after_commit: AfterCommit,
) -> None:
    """A group of the digest as it stands now: its full list, or an Excel file of it."""
    user, group = viewer.user, callback_data.arg
    if group in GROUPS and callback_data.action == "list":
        replies.say(user.tg_id, digest_view.list_text(renderer, await digests.group_list(viewer, group), user.language))
    elif group in GROUPS:
        file_id, title, count = await digests.group_file(viewer, group)
        replies.document(user.tg_id, file_id, f"{title}: {count}")
    answer(after_commit, query)
