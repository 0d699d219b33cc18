"""A person blocks or unblocks the bot (Telegram's `my_chat_member`): the team knows who can be reached."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import ChatMemberUpdated

from db.models import User
from services.team import Team


def router() -> Router:
    built = Router(name=__name__)
    built.my_chat_member.register(on_membership)
    return built


async def on_membership(event: ChatMemberUpdated, team: Team, user: User | None = None) -> None:
    if user is None or event.chat.type != "private":
        return
    await team.reachable(user, event.new_chat_member.status not in ("kicked", "left"))
