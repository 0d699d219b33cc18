"""A person edits a message they sent (Telegram's `edited_message`): what the bot took stays as it was sent, and they
are told so and how to change an answer — silence would let them think the edit counted."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from db.models import User
from flows.i18n import _
from tgbot.render import Renderer
from tgbot.replies import Replies

EDIT_NOT_READ = _(
    "✏️ I do not see edits of messages already sent: what you sent first stays. To change an answer, press "
    "“⬅️ Back” or “✏️ Correct a field” before you confirm, or send the new text as a message of its own."
)


def router() -> Router:
    built = Router(name=__name__)
    built.edited_message.register(edited, F.chat.type == "private")
    return built


async def edited(message: Message, replies: Replies, renderer: Renderer, user: User | None = None) -> None:
    if user is None or not user.active:  # a stranger, or someone whose access is closed: nothing of theirs is taken
        return
    await replies.say_once(message.chat.id, renderer.t(EDIT_NOT_READ, user.language))
