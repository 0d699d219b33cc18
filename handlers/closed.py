"""Someone whose access is closed (revoked in the panel or by /revoke, their organisation deactivated), waiting for
an admin's approval, or turned away at a general dealer link: whatever they send — a command (/help, /lang, /tasks,
an admin's), a text, a button, an inline search — they read why they cannot work here, and nothing else. One router,
first in the chain, so no handler after it has to remember the check. /start alone passes: it is how someone turned
away comes back with a new invite, and it answers the others the same (`services.team.Team.join`)."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, InlineQuery, InlineQueryResultsButton, Message

from db.models import User
from handlers.common import AfterCommit, answer, command_name
from services.team import Team
from tgbot import team_view
from tgbot.render import Renderer
from tgbot.replies import Replies


class Closed(BaseFilter):
    """A known person who may not work here now (read off the person alone: no service is made for a filter)."""

    async def __call__(self, _event: Any, user: User | None = None) -> bool:
        return user is not None and not user.active


class NotStart(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return command_name(message) != "start"


def router() -> Router:
    closed = Router(name=__name__)
    closed.message.filter(Closed())
    closed.callback_query.filter(Closed())
    closed.inline_query.filter(Closed())
    closed.message.register(told_by_message, NotStart())
    closed.callback_query.register(told_by_alert)
    closed.inline_query.register(told_in_search)
    return closed


async def told_by_message(message: Message, replies: Replies, renderer: Renderer, team: Team, user: User) -> None:
    await replies.say_once(message.chat.id, team_view.welcome(renderer, await team.shut_out(user)))


async def told_by_alert(
    query: CallbackQuery, renderer: Renderer, team: Team, user: User, after_commit: AfterCommit
) -> None:
    answer(after_commit, query, team_view.welcome(renderer, await team.shut_out(user)), show_alert=True)


async def told_in_search(
    query: InlineQuery, renderer: Renderer, team: Team, user: User, after_commit: AfterCommit
) -> None:
    """No results; the search's button says why (short: a button's label) and opens the chat, where /start tells
    the rest."""
    label = renderer.t("No access to the bot", user.language)
    button = InlineQueryResultsButton(text=label, start_parameter="closed")
    after_commit.append(lambda: query.answer([], cache_time=0, is_personal=True, button=button))
