"""What every part of the chat's renderer shares: keyboards of button models as the dicts sent, and long texts
cut between lines. Plain text (no parse mode): user data is never markup."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from services.outbox import MAX_TEXT as MAX_TEXT  # the tests' measure of a message
from services.outbox import split_text

# Long texts are cut between lines by the outbox (`services.outbox.split_text`), never clipped with «…».
pieces = split_text


def markup(rows: list[list[InlineKeyboardButton]]) -> dict[str, Any] | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True)
