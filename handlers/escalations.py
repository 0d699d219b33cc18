"""The buttons of an escalation message (reassign, extend the deadline, take over), and the reason for a new
deadline, which the person writes as their next message."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message

from db.models import User
from handlers.common import (
    AfterCommit,
    Registered,
    answer,
    register_asked_text,
)
from services.escalations import reason_pending
from tgbot.buttons import EscalationButtons
from tgbot.callbacks import EscalationCb
from tgbot.replies import Replies


def router() -> Router:
    built = Router(name=__name__)
    built.message.filter(Registered())
    built.callback_query.filter(Registered())
    built.callback_query.register(on_escalation_button, EscalationCb.filter())
    register_asked_text(built, WritingReason(), on_reason, keep_deadline, drop_reason)
    return built


class WritingReason(BaseFilter):
    """The bot asked this person why a deadline moves, and their next text is the answer."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return reason_pending(user)  # filters see no services (they are made for the chosen handler)


async def on_escalation_button(
    query: CallbackQuery,
    callback_data: EscalationCb,
    escalation_buttons: EscalationButtons,
    replies: Replies,
    after_commit: AfterCommit,
) -> None:
    chat_id = query.from_user.id
    if callback_data.action == "extend":
        replies.say_editable(chat_id, await escalation_buttons.deadline_picker(callback_data.task_id))
        answer(after_commit, query, None)
        return
    if callback_data.action == "keep":
        text = await escalation_buttons.keep_deadline(callback_data.task_id)
        # Said in place of the picker pressed (its buttons gone); under the question why, as a message of its own.
        ref, pressed = callback_data.arg, query.message.message_id if query.message is not None else 0
        if not (ref and await replies.is_message(ref, chat_id, pressed) and replies.edit(chat_id, ref, text)):
            replies.say(chat_id, text)
        answer(after_commit, query, None)
        return
    reply = await escalation_buttons.press(callback_data)
    if reply.card is not None:
        replies.say(query.from_user.id, *reply.card)
    answer(after_commit, query, reply.notice)


async def on_reason(message: Message, escalation_buttons: EscalationButtons, replies: Replies) -> None:
    if message.text is None:
        replies.say(message.chat.id, escalation_buttons.ask_in_words())
        return
    replies.say(message.chat.id, await escalation_buttons.reason(message.text))


async def keep_deadline(message: Message, escalation_buttons: EscalationButtons, replies: Replies) -> None:
    """/cancel: the question is closed, and the person reads so (not «nothing to cancel»)."""
    escalation_buttons.escalations.drop_reason()
    said = escalation_buttons.r.t("The question is closed: the deadline stays as it was.", escalation_buttons.lang)
    replies.say(message.chat.id, said)


async def drop_reason(message: Message, escalation_buttons: EscalationButtons) -> None:
    """The person turned to something else: the deadline stays as it was, and the menu does its work."""
    escalation_buttons.escalations.drop_reason()
    raise SkipHandler
