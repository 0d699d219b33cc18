"""A button's answer (the small notice Telegram shows over the chat) is sent after the update's transaction commits:
the update's claim is not held through a call to Telegram, and Telegram refusing the answer (a press answered too
late: «query is too old») does not undo, retry or park what the press did."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flows.clock import FrozenClock
from tests.inbox_harness import InboxBot, button, idle, inbox_bot, inbox_rows


async def _handled(bot: InboxBot, update_id: int) -> None:
    """Until the update has been handled once (a pass whenever the processor asks for one, as its loop would)."""
    for _ in range(500):
        if bot.processor._wake.is_set():
            bot.processor._wake.clear()
            await bot.processor.drain()
        await idle(bot.processor)
        row = (await inbox_rows(bot.core)).get(update_id)
        if row is not None and (row.status != "pending" or row.attempts):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"update {update_id} was not handled")


async def test_an_outdated_buttons_answer_refused_by_telegram_leaves_the_press_done(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with inbox_bot(tmp_path, database_url, clock) as bot:
        await bot.processor.store([button(700301, "no-such-button")])  # «This button is no longer valid.»
        await _handled(bot, 700301)
        row = (await inbox_rows(bot.core))[700301]
        assert row.status == "done" and row.attempts == 0, f"the press failed: {row.error}"
