"""`/digest`: turn the digest on or off, pick its hour, get one now; a digest's buttons open a group's list or
its Excel file."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from handlers.common import AfterCommit, Registered, answer
from services.access import Viewer
from services.digests import GROUPS, HOURS, Digests, Subscription, period_start
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
    await show_settings(message.chat.id, replies, renderer, viewer, await digests.subscription_of(viewer.user))


async def show_settings(
    chat_id: int, replies: Replies, renderer: Renderer, viewer: Viewer, sub: Subscription | None, ref: int = 0
) -> None:
    """The settings: in the message `ref` (the one pressed, edited in place), else as a new message."""
    lang = viewer.user.language

    def build(row: int) -> tuple[str, InlineKeyboardMarkup]:
        return digest_view.settings_text(renderer, sub, lang), digest_view.settings_keyboard(renderer, sub, lang, row)

    if not (ref and replies.edit(chat_id, ref, *build(ref))):
        replies.say_editable(chat_id, build)


async def on_setting(
    query: CallbackQuery,
    callback_data: DigestCb,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    digests: Digests,
    after_commit: AfterCommit,
) -> None:
    user, pressed = viewer.user, query.message
    if callback_data.action == "now":
        await digests.send(user, remember=False)  # the next digest at its hour still covers what this one did
    else:
        hour = next((h for h in HOURS if h.strftime("%H%M") == callback_data.arg), None)
        on = {"on": True, "off": False}.get(callback_data.action)
        sub = await digests.change(user, on=on, at=hour if callback_data.action == "at" else None)
        mine = pressed is not None and await replies.is_message(callback_data.ref, user.tg_id, pressed.message_id)
        await show_settings(user.tg_id, replies, renderer, viewer, sub, callback_data.ref if mine else 0)
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
    """A group of the digest as it stands now, over the period the digest counted: its full list, or an Excel file."""
    user, group, since = viewer.user, callback_data.arg, period_start(callback_data.since)
    if group in GROUPS and callback_data.action == "list":
        listed = await digests.group_list(viewer, group, since)
        replies.say(user.tg_id, digest_view.list_text(renderer, listed, user.language, group))
    elif group in GROUPS:
        file_id, title, count = await digests.group_file(viewer, group, since)
        replies.document(user.tg_id, file_id, f"{title}: {count}")
    answer(after_commit, query)
