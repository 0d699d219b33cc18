"""What the inbox processor's tests share (tests/test_inbox_pass_race.py, tests/test_webhook_handoff.py,
tests/test_inbox_timed_pass.py): the bot on the sandbox's Telegram that handles no update itself, and a processor
of the test's own sharing its inbox, which starts an update only when the test says so (a pass, `drain`; a
webhook's hand-off), so whatever it handled, the test's own move handled; the same behind a webhook endpoint
(`webhook_worker`); the admin's chat; the inbox's rows; waiting for the processor to be idle."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from app.application import App
from app.settings import Settings
from db.models import InboxUpdate
from flows.clock import FrozenClock
from sandbox.server import SandboxServer
from services.core import Core
from tests.chat import Person, create_person
from tests.conftest import ADMIN_ID
from tests.ports import free_port
from tgbot.inbox import InboxProcessor
from tgbot.receive import webhook_handler


def postgres_only(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"), reason=reason)


def message(update_id: int, text: str) -> dict[str, Any]:
    """The admin's message `text` as Telegram sends it (a command's entity when it is one)."""
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1798182000, "text": text, "entities": entities,
        "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Админ"},
        "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Админ"}}}


def button(update_id: int, data: str) -> dict[str, Any]:
    """The admin pressing an inline button carrying `data`, as Telegram delivers it: a press the sandbox never saw,
    so answering it is refused, as a late answer is («query is too old»)."""
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "1", "data": data,
        "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Админ"},
        "message": {"message_id": 1, "date": 1798182000, "text": "…",
                    "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Админ"}}}}


@dataclass
class InboxBot:
    app: App
    core: Core
    processor: InboxProcessor  # the test's own: given no pass (`run`, `drain`) unless the test says so
    admin: Person


@asynccontextmanager
async def inbox_bot(
    tmp_path: Path, database_url: str, clock: FrozenClock, *, shared: bool = False, **settings: Any
) -> AsyncIterator[InboxBot]:
    """The bot (its scheduler idle, its own processor starting no update) and the test's processor (`shared`: as
    one of several webhook workers); `settings` beyond the sandbox, the database and the admin."""
    sandbox = SandboxServer()
    base = await sandbox.start()
    app = App(Settings(api_base=base, data_dir=tmp_path, database_url=database_url, admin_ids=[ADMIN_ID], **settings),
              clock, scheduler_interval=3600, handle_updates=False)
    await app.start()
    assert app.core is not None and app.bot is not None and app.dispatcher is not None
    processor = InboxProcessor(app.core, app.bot, app.dispatcher, shared=shared)
    try:
        async with aiohttp.ClientSession() as http:
            admin = await create_person(http, base, ADMIN_ID, "Админ")
            yield InboxBot(app, app.core, processor, admin)
    finally:
        await processor.stop()
        await app.stop()
        await sandbox.stop()


async def inbox_rows(core: Core) -> dict[int, InboxUpdate]:
    """The inbox's rows by update id, as committed."""
    async with core.sessionmaker() as session:
        return {r.update_id: r for r in (await session.execute(select(InboxUpdate))).scalars()}


async def idle(processor: InboxProcessor, what: str = "the worker did not finish") -> None:
    """Until the processor handles nothing (real time: its handling runs on the sandbox, not on the clock)."""
    for _ in range(1000):
        if not processor._busy:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


async def answers(admin: Person, fragment: str) -> list[dict[str, Any]]:
    """The bot's messages to the admin that hold `fragment`."""
    return [m for m in await admin.bot_messages() if fragment in (m.get("text") or "")]


SECRET = "s3cret-token"  # the webhook's secret token (`webhook_worker`)


@asynccontextmanager
async def webhook_worker(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> AsyncIterator[tuple[App, InboxProcessor, str, Person]]:
    """The bot in webhook mode that handles nothing itself, and a worker of our own sharing its inbox (`inbox_bot`)
    behind a webhook endpoint at the URL yielded, guarded by `SECRET`: whatever it handles without a pass, the
    hand-off handled."""
    port = free_port()
    async with inbox_bot(tmp_path, database_url, clock, shared=True,
                         webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_host="127.0.0.1",
                         webhook_port=port, webhook_secret=SecretStr(SECRET),
                         outbox_per_chat_rate=1000, outbox_global_rate=1000) as bot:
        server = web.Application()
        server.router.add_post("/hook", webhook_handler(bot.processor, SECRET))
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        own = free_port()
        try:
            await web.TCPSite(runner, "127.0.0.1", own).start()
            yield bot.app, bot.processor, f"http://127.0.0.1:{own}/hook", bot.admin
        finally:
            await runner.cleanup()
