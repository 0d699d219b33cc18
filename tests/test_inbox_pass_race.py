"""One bot process alone: a pass over the inbox reads a snapshot, and an update its read saw as pending may have
been handled and ended by the time the pass goes through what it read. Started again, its claim would only be
declined — a wasted locking statement and a handling slot, and the person's next update queued behind it (one claim
in six, in the bench's 200 people). The pass leaves such an update alone."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.util import await_only

from flows.clock import FrozenClock
from services import inbox
from tests.conftest import ADMIN_ID
from tests.inbox_harness import answers, idle, inbox_bot, inbox_rows, message, postgres_only

pytestmark = postgres_only("the update's claim is held back by a row lock, which SQLite does not have")


async def test_an_update_that_ends_while_a_pass_reads_is_not_started_again(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    async with inbox_bot(tmp_path, database_url, clock) as bot:  # only our processor handles
        mine, admin = bot.processor, bot.admin
        holder = await bot.core.db.connect()
        try:
            async with bot.core.db.begin() as connection:  # stored as a restart finds it: for a pass to start
                await inbox.store(connection, [inbox.Incoming(800001, ADMIN_ID, message(800001, "/start"))],
                                  clock.now(), sqlite=False)
            # The update's claim waits behind this lock: it is started, and cannot end, until it is let go.
            await holder.begin()
            await holder.execute(text("SELECT 1 FROM inbox WHERE update_id = 800001 FOR UPDATE"))
            await mine.drain()
            assert set(mine._busy) == {ADMIN_ID}

            async def let_it_end() -> None:  # after the next pass's read: the update handled and ended
                await holder.rollback()
                await idle(mine, "the update was not handled")

            read: list[str] = []

            def after_read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if "FROM inbox" in statement and "LIMIT" in statement and not read:
                    read.append(statement)
                    waiting: Awaitable[None] = let_it_end()
                    await_only(waiting)  # on the pass's own connection, between its read and its loop

            engine = bot.core.single_statements.sync_engine
            event.listen(engine, "after_cursor_execute", after_read)
            try:
                await mine.drain()  # its snapshot has the update pending; it ended meanwhile
            finally:
                event.remove(engine, "after_cursor_execute", after_read)
            assert read, "the pass did not read the inbox"
            assert not mine._busy, "an update that had ended was started again"
            await admin.expect("администратор")
            row = (await inbox_rows(bot.core))[800001]
            assert row.status == "done" and row.attempts == 0
            assert len(await answers(admin, "администратор")) == 1
        finally:
            await holder.close()
