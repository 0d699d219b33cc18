"""Webhook mode: Telegram (here the sandbox) posts updates to the bot over HTTP; the conversation is the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from app.application import App
from app.settings import Settings
from flows.clock import FrozenClock
from sandbox.server import SandboxServer
from tests.chat import create_person
from tests.conftest import ADMIN_ID
from tests.ports import free_port


@asynccontextmanager
async def webhook_bot(tmp_path: Path, database_url: str, clock: FrozenClock) -> AsyncIterator[tuple[str, App, int]]:
    """The sandbox, and the bot in webhook mode behind it: (the sandbox's base URL, the bot, the webhook port)."""
    sandbox = SandboxServer()
    base = await sandbox.start()
    port = free_port()
    settings = Settings(api_base=base, data_dir=tmp_path, database_url=database_url, admin_ids=[ADMIN_ID],
                        webhook_url=f"http://127.0.0.1:{port}/telegram", webhook_host="127.0.0.1",
                        webhook_port=port, webhook_secret=SecretStr("s3cret-token"),
                        outbox_per_chat_rate=1000, outbox_global_rate=1000)
    app = App(settings, clock, scheduler_interval=3600)
    await app.start()
    try:
        yield base, app, port
    finally:
        await app.stop()
        await sandbox.stop()


async def test_a_person_talks_to_a_bot_in_webhook_mode(tmp_path: Path, database_url: str, clock: FrozenClock) -> None:
    async with webhook_bot(tmp_path, database_url, clock) as (base, app, port), aiohttp.ClientSession() as http:
        async with http.post(f"{base}/bot{app.bot.token}/getWebhookInfo") as response:  # type: ignore[union-attr]
            info = (await response.json())["result"]
        assert info["url"] == f"http://127.0.0.1:{port}/telegram"
        admin = await create_person(http, base, ADMIN_ID, "Админ")
        await admin.send("/start")
        await admin.expect("администратор")
        await admin.send("/invite shop_manager")
        invite = await admin.expect("start=")
        assert "Менеджер магазина" in invite["text"]  # the role by its title, not its key
        # A request without the secret is not an update from Telegram.
        async with http.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1}) as response:
            assert response.status == 401
