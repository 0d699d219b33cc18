"""A small python-telegram-bot application (a client library nobody here wrote) runs a conversation with an inline
button and a file against the sandbox, configured only by `base_url`/`base_file_url`, as it would against Telegram.
If the sandbox answered anything PTB does not expect (a 404 for a method, a wrong shape), PTB would raise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from sandbox.server import SandboxServer

TOKEN = "4242:ptb-conversation-test"
PERSON = 6100
ASK_FILE = 1


def build(base: str) -> Application[Any, Any, Any, Any, Any, Any]:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Send a file", callback_data="file")]])
        await update.message.reply_html("<b>Hello!</b> What now?", reply_markup=keyboard)
        return ASK_FILE

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query = update.callback_query
        assert query is not None
        await query.answer("OK")
        await query.edit_message_text("Send me the file, please.")
        return ASK_FILE

    async def got_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None and update.message.document is not None
        data = await (await update.message.document.get_file()).download_as_bytearray()
        await update.message.reply_document(bytes(data).upper(), filename="LOUDER.txt", caption=f"{len(data)} bytes")
        return ConversationHandler.END

    app = Application.builder().token(TOKEN).base_url(f"{base}/bot").base_file_url(f"{base}/file/bot").build()
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states={
                ASK_FILE: [
                    CallbackQueryHandler(pressed, pattern="^file$"),
                    MessageHandler(filters.Document.ALL, got_file),
                ]
            },
            fallbacks=[],
        )
    )
    return app


@pytest.fixture
async def running() -> AsyncIterator[tuple[SandboxServer, aiohttp.ClientSession]]:
    server = SandboxServer(token=TOKEN)
    await server.start()
    app = build(server.base_url)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        async with aiohttp.ClientSession(base_url=f"{server.base_url}/sandbox/api/users/") as http:
            olga = {"id": PERSON, "first_name": "Olga"}
            async with http.post(f"{server.base_url}/sandbox/api/users", json=olga) as resp:
                assert resp.status == 200
            yield server, http
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await server.stop()


async def until(http: aiohttp.ClientSession, check: Any, after: int = 0) -> list[dict[str, Any]]:
    for _ in range(100):
        async with http.get(f"{PERSON}/messages", params={"after": str(after), "wait": "0.2"}) as resp:
            messages: list[dict[str, Any]] = (await resp.json())["messages"]
        if check(messages):
            return messages
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot did not get there: {messages}")


# PTB warns that a CallbackQueryHandler in a per-chat conversation is not tracked per message: that is intended here.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_ptb_conversation_with_button_and_file(running: tuple[SandboxServer, aiohttp.ClientSession]) -> None:
    server, http = running
    async with http.post(f"{PERSON}/messages", json={"text": "/start"}) as resp:
        mine = await resp.json()
    [menu] = await until(http, lambda ms: any(m["from_bot"] for m in ms), after=mine["message_id"])
    assert menu["text"] == "Hello! What now?" and menu["entities"][0]["type"] == "bold"
    press = {"message_id": menu["message_id"], "data": "file", "wait": 5}
    async with http.post(f"{PERSON}/callbacks", json=press) as resp:
        answer = await resp.json()
    assert answer["answered"] and answer["text"] == "OK"
    await until(http, lambda ms: any(m["text"] == "Send me the file, please." for m in ms))
    form = aiohttp.FormData()
    form.add_field("document", b"quiet words", filename="quiet.txt", content_type="text/plain")
    async with http.post(f"{PERSON}/messages", data=form) as resp:
        sent = await resp.json()
    [reply] = await until(http, lambda ms: any(m["document"] for m in ms if m["from_bot"]), after=sent["message_id"])
    assert reply["text"] == "11 bytes" and reply["document"]["file_name"] == "LOUDER.txt"
    async with http.get(reply["document"]["url"]) as resp:
        assert await resp.read() == b"QUIET WORDS"
    assert server.stats.errors == {}  # PTB never saw an error: nothing it called was missing or refused


async def test_ptb_sees_a_wrong_token_and_a_missing_method_for_what_they_are() -> None:
    """PTB reads 401 as InvalidToken; a method the sandbox lacks (501) must not look like that (it did as 404)."""
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    server = SandboxServer(token=TOKEN)
    await server.start()
    try:
        async with Bot("4242:wrong", base_url=f"{server.base_url}/bot") as bad:
            pytest.fail(f"initialize() should have refused the token, got {bad}")
    except InvalidToken:
        pass
    try:
        async with Bot(TOKEN, base_url=f"{server.base_url}/bot") as bot:
            server.state.upsert_user(user_id=PERSON, first_name="Olga")
            with pytest.raises(TelegramError) as info:
                await bot.send_dice(PERSON)
            assert not isinstance(info.value, InvalidToken)
            assert "not supported by the sandbox" in str(info.value)
    finally:
        await server.stop()
