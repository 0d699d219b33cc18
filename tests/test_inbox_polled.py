"""One process handling the inbox (polling) on PostgreSQL: the updates a getUpdates batch brought are started as
they are stored, when no older update of their person is pending — no pass reads them back. The rest wait for
their turn as ever: behind an update of theirs in the same batch or still being handled here, or behind one
stored before (a restart's, say), which a pass starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from flows.clock import FrozenClock
from services import inbox
from tests.conftest import ADMIN_ID
from tests.inbox_harness import InboxBot, answers, button, idle, inbox_bot, inbox_rows, message, postgres_only

pytestmark = postgres_only("the INSERT answers which updates are due on PostgreSQL; SQLite's pass reads them back")


async def _all_done(bot: InboxBot, update_ids: list[int]) -> int:
    """Until the updates are done, a pass whenever the processor asks for one (as its loop would); how many."""
    passes = 0
    for _ in range(500):
        rows = await inbox_rows(bot.core)
        if all(i in rows and rows[i].status == "done" for i in update_ids):
            return passes
        if bot.processor._wake.is_set():
            bot.processor._wake.clear()
            passes += 1
            await bot.processor.drain()
        await asyncio.sleep(0.02)
    raise AssertionError(f"not all of {update_ids} were handled")


async def test_a_polled_batch_starts_as_it_is_stored_each_persons_updates_in_order(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with inbox_bot(tmp_path, database_url, clock) as bot:
        # Two updates of the admin in one batch: the first starts at once, the second when the first ends.
        await bot.processor.store([message(700201, "/start"), message(700202, "/users")])
        assert not bot.processor._wake.is_set()  # no pass wanted: the first started, the second follows it
        await bot.admin.expect("администратор")  # the processor was given no pass: the store started it
        assert await _all_done(bot, [700201, 700202]) == 1  # the first's end asked one pass for the second
        await idle(bot.processor)
        await bot.admin.expect("Админ")
        assert len(await answers(bot.admin, "администратор")) == 1


async def test_a_polled_update_behind_one_stored_before_waits_for_the_pass(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with inbox_bot(tmp_path, database_url, clock) as bot:
        async with bot.core.db.begin() as connection:  # stored before a restart, never started
            await inbox.store(connection, [inbox.Incoming(700211, ADMIN_ID, message(700211, "/start"))],
                              clock.now(), sqlite=False)
        await bot.processor.store([message(700212, "/users")])
        assert not bot.processor._busy, "started while an older update of the person is pending"
        assert bot.processor._wake.is_set()  # a pass is wanted: it starts the older one, then this one
        assert await _all_done(bot, [700211, 700212]) == 2  # the older one, then the later one after its end
        await idle(bot.processor)
        await bot.admin.expect("администратор")
        await bot.admin.expect("Админ")


async def test_a_polled_update_of_a_person_whose_update_is_still_running_here_waits_for_its_end(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with inbox_bot(tmp_path, database_url, clock) as bot:
        # Telegram is slow to take the answer of the admin's button press (6 s: room for a loaded machine's commit):
        # the press is committed (done), its worker still waiting on Telegram after the commit.
        async with aiohttp.ClientSession() as http, http.post(
            f"{bot.app.settings.api_base}/sandbox/api/faults",
            json={"kind": "hang", "method": "answerCallbackQuery", "count": 1, "seconds": 6},
        ) as response:
            assert response.status == 200
        await bot.processor.store([button(700221, "no-such-button")])
        running = bot.processor._busy.get(ADMIN_ID)
        assert running is not None  # started as it was stored
        for _ in range(500):
            if (await inbox_rows(bot.core))[700221].status == "done":
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the press was not committed")
        assert not running.done(), "the press's worker ended before the next batch came: nothing tested"
        # The next batch brings the admin's /start: due (no older update of theirs pending), but not started beside
        # the worker still running for them — that worker's end asks for a pass, which starts it.
        await bot.processor.store([message(700222, "/start")])
        assert bot.processor._busy.get(ADMIN_ID) is running, "a second worker was started for the person"
        assert not running.done(), "the press's worker ended before the check: nothing tested"
        assert await _all_done(bot, [700222]) == 1
        await idle(bot.processor)
        await bot.admin.expect("администратор")
