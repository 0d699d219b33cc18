"""One bot process alone: a pass over the inbox reads a snapshot, and an update its read saw as pending may have
been handled and ended by the time the pass goes through what it read. Started again, its claim would only be
declined — a wasted locking statement and a handling slot, and the person's next update queued behind it (one claim
in six, in the bench's 200 people). The pass leaves such an update alone."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.util import await_only

from app.application import App
from app.settings import Settings
from db.models import InboxUpdate
from flows.clock import FrozenClock
from sandbox.server import SandboxServer
from tests.chat import create_person
from tests.conftest import ADMIN_ID
from tgbot.inbox import InboxProcessor

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the update's claim is held back by a row lock, which SQLite does not have",
)


def _start(update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1798182000, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Админ"},
        "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Админ"}}}


async def test_an_update_that_ends_while_a_pass_reads_is_not_started_again(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    sandbox = SandboxServer()
    base = await sandbox.start()
    settings = Settings(api_base=base, data_dir=tmp_path, database_url=database_url, admin_ids=[ADMIN_ID])
    app = App(settings, clock, scheduler_interval=3600, handle_updates=False)  # only our processor handles
    await app.start()
    assert app.core is not None and app.bot is not None and app.dispatcher is not None
    mine = InboxProcessor(app.core, app.bot, app.dispatcher)
    holder = await app.core.db.connect()
    try:
        async with aiohttp.ClientSession() as http:
            admin = await create_person(http, base, ADMIN_ID, "Админ")
            await mine.store([_start(800001)])
            # The update's claim waits behind this lock: it is started, and cannot end, until it is let go.
            await holder.begin()
            await holder.execute(text("SELECT 1 FROM inbox WHERE update_id = 800001 FOR UPDATE"))
            await mine.drain()
            assert set(mine._busy) == {ADMIN_ID}

            async def let_it_end() -> None:  # after the next pass's read: the update handled and ended
                await holder.rollback()
                for _ in range(1000):
                    if not mine._busy:
                        return
                    await asyncio.sleep(0.01)
                raise AssertionError("the update was not handled")

            read: list[str] = []

            def after_read(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if "FROM inbox" in statement and "LIMIT" in statement and not read:
                    read.append(statement)
                    waiting: Awaitable[None] = let_it_end()
                    await_only(waiting)  # on the pass's own connection, between its read and its loop

            engine = app.core.single_statements.sync_engine
            event.listen(engine, "after_cursor_execute", after_read)
            try:
                await mine.drain()  # its snapshot has the update pending; it ended meanwhile
            finally:
                event.remove(engine, "after_cursor_execute", after_read)
            assert read, "the pass did not read the inbox"
            assert not mine._busy, "an update that had ended was started again"
            await admin.expect("администратор")
            async with app.core.sessionmaker() as session:
                row = (await session.execute(select(InboxUpdate).where(InboxUpdate.update_id == 800001))).scalar_one()
            assert row.status == "done" and row.attempts == 0
            answers = [m for m in await admin.bot_messages() if "администратор" in (m.get("text") or "")]
            assert len(answers) == 1
    finally:
        await holder.close()
        await mine.stop()
        await app.stop()
        await sandbox.stop()
