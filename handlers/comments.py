"""A case's comment thread in chat: after «💬 Comment», «🔒 Internal note» or «↩️ Reply» the person's next
message (text, a photo or a file) is the comment."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter
from aiogram.types import Message

from db.models import User
from flows.i18n import _
from handlers.common import Registered, register_asked_text
from handlers.forms import _incoming_file
from services.access import Viewer
from services.comments import Attachment, Comments
from tgbot.render import Renderer
from tgbot.replies import Replies


def router() -> Router:
    built = Router(name=__name__)
    built.message.filter(Registered())
    register_asked_text(built, WritingComment(), on_comment, drop_comment, put_aside)
    return built


class WritingComment(BaseFilter):
    """The person pressed a comment button: their next message is the comment."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return user is not None and Comments.pending(user)


async def on_comment(
    message: Message, replies: Replies, renderer: Renderer, viewer: Viewer, comments: Comments,
    downloads: dict[str, bytes],
) -> None:  # fmt: skip
    incoming = _incoming_file(message, downloads)
    attachment = None
    if incoming is not None:  # a form's file as a comment's (its album belongs to the form's counting, not here)
        attachment = Attachment(incoming.kind, incoming.content, incoming.name, incoming.mime_type,
                                incoming.tg_file_id, incoming.tg_unique_id)  # fmt: skip
    text = message.text or message.caption or ""
    _loaded, comment = await comments.post(viewer, text, attachment)
    said = _("🔒 The internal note is in the thread.") if comment.internal else _("💬 The comment is in the thread.")
    replies.say(message.chat.id, renderer.t(said, viewer.user.language))


async def drop_comment(message: Message, replies: Replies, renderer: Renderer, user: User) -> None:
    Comments.drop(user)
    replies.say(message.chat.id, renderer.t("The comment is dropped.", user.language))


async def put_aside(message: Message, user: User) -> None:
    """The person turned to the menu: the comment is dropped, and the menu does its work."""
    Comments.drop(user)
    raise SkipHandler
