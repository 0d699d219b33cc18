"""The sandbox Telegram server driven by a real aiogram Bot and by the user-side HTTP API."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import web

from sandbox.formatting import parse_html, parse_markdown_v2
from sandbox.server import SandboxServer
from sandbox.state import image_size

TOKEN = "123456:AAE-sandbox_test_token_0123456789"
USER_ID = 5001


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def make_bot(server: SandboxServer, token: str = TOKEN, **kwargs: Any) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)), **kwargs)


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[SandboxServer]:
    # As Telegram unless a test says otherwise: tests that fire many calls at one chat to probe each method's
    # answers (not pacing, which has its own tests) carry @pytest.mark.without_flood_limits.
    srv = SandboxServer(token=TOKEN, enforce_limits=request.node.get_closest_marker("without_flood_limits") is None)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    b = make_bot(server)
    yield b
    await b.session.close()


@pytest.fixture
async def http(server: SandboxServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.base_url) as session:
        yield session


@pytest.fixture
async def user(http: aiohttp.ClientSession) -> dict[str, Any]:
    async with http.post(
        "/sandbox/api/users", json={"id": USER_ID, "first_name": "Anna", "username": "anna", "label": "HR"}
    ) as resp:
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
    return data


async def user_says(http: aiohttp.ClientSession, text: str, user_id: int = USER_ID) -> dict[str, Any]:
    async with http.post(f"/sandbox/api/users/{user_id}/messages", json={"text": text}) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
    return data


async def user_reads(
    http: aiohttp.ClientSession, after: int = 0, wait: float = 0, user_id: int = USER_ID, **extra: Any
) -> dict[str, Any]:
    return await _reads(http, f"/sandbox/api/users/{user_id}/messages", after, wait, **extra)


async def group_reads(http: aiohttp.ClientSession, group_id: int, after: int = 0, wait: float = 0) -> dict[str, Any]:
    return await _reads(http, f"/sandbox/api/groups/{group_id}/messages", after, wait)


async def _reads(http: aiohttp.ClientSession, path: str, after: int, wait: float, **extra: Any) -> dict[str, Any]:
    params = {"after": str(after), "wait": str(wait), **{k: str(v) for k, v in extra.items()}}
    async with http.get(path, params=params) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
    return data


# ---------------------------------------------------------------- bot identity & errors
async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "konveyer_bot"
    assert me.first_name == "Konveyer"
    assert me.can_join_groups is True and me.can_read_all_group_messages is False  # BotFather's defaults


async def test_wrong_token_is_401() -> None:
    srv = SandboxServer(token=TOKEN)
    await srv.start()
    try:
        good = make_bot(srv)
        bad = make_bot(srv, token="999:wrong")
        assert (await good.get_me()).id == 123456
        with pytest.raises(TelegramUnauthorizedError):
            await bad.get_me()
        await good.session.close()
        await bad.session.close()
    finally:
        await srv.stop()


async def test_unknown_method_is_404(server: SandboxServer, http: aiohttp.ClientSession) -> None:
    async with http.post(f"/bot{TOKEN}/sendTeleportation", data={"chat_id": "1"}) as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    async with http.post("/botnot-a-token/getMe") as resp:
        assert resp.status == 401
        assert (await resp.json())["description"] == "Unauthorized"


@pytest.mark.without_flood_limits
async def test_bad_requests(bot: Bot, user: dict[str, Any]) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER_ID, "")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER_ID, "x" * 4097)
    await bot.send_message(USER_ID, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER_ID,
            "hi",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="y" * 65)]]
            ),
        )
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "hi")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="new", chat_id=USER_ID, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER_ID, 999)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER_ID, "a <b>b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER_ID, "AgACnope")


async def test_raw_form_errors(server: SandboxServer, http: aiohttp.ClientSession) -> None:
    async with http.post(f"/bot{TOKEN}/sendMessage", data={"text": "hi"}) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: chat_id is empty",
        }


# ---------------------------------------------------------------- messages both ways
async def test_user_message_reaches_bot(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    sent = await user_says(http, "/start ref_42")
    assert sent["from_bot"] is False
    updates = await bot.get_updates(timeout=1)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start ref_42"
    assert message.from_user is not None and message.from_user.id == USER_ID
    assert message.from_user.username == "anna"
    assert message.chat.type == "private"
    assert message.entities is not None and message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start")
    # confirming with offset removes it
    again = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert again == []


async def test_get_updates_long_polls(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await user_says(http, "hello")
    updates = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_inline_keyboard_and_callback(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Approve", callback_data="approve:7")],
            [InlineKeyboardButton(text="Docs", url="https://example.com/doc")],
        ]
    )
    sent = await bot.send_message(USER_ID, "<b>Approve</b> request?", parse_mode="HTML", reply_markup=markup)
    assert sent.text == "Approve request?"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.from_user is not None and sent.from_user.is_bot

    seen = await user_reads(http)
    [msg] = seen["messages"]
    assert msg["from_bot"] is True
    assert msg["text"] == "Approve request?"
    assert msg["inline_keyboard"] == [
        [{"text": "Approve", "callback_data": "approve:7"}],
        [{"text": "Docs", "url": "https://example.com/doc"}],
    ]

    async def bot_side() -> str:
        updates = await bot.get_updates(timeout=5)
        query = updates[0].callback_query
        assert query is not None
        assert query.data == "approve:7"
        assert query.from_user.id == USER_ID
        assert isinstance(query.message, Message)
        assert query.message.message_id == sent.message_id
        await bot.answer_callback_query(query.id, text="Approved!")
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return query.id

    bot_task = asyncio.create_task(bot_side())
    async with http.post(
        f"/sandbox/api/users/{USER_ID}/callbacks", json={"message_id": sent.message_id, "data": "approve:7"}
    ) as resp:
        assert resp.status == 200
        answer = await resp.json()
    assert answer["text"] == "Approved!"
    assert answer["show_alert"] is False
    query_id = await bot_task
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)

    async with http.post(f"/sandbox/api/users/{USER_ID}/callbacks", json={"message_id": 999, "data": "x"}) as resp:
        assert resp.status == 400
        assert "not found" in (await resp.json())["error"]


@pytest.mark.without_flood_limits
async def test_edit_and_delete(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]])
    sent = await bot.send_message(USER_ID, "Step 1", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(text="Step 1", chat_id=USER_ID, message_id=sent.message_id, reply_markup=markup)
    version = (await user_reads(http))["version"]

    waiter = asyncio.create_task(user_reads(http, after=sent.message_id, wait=5))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    edited = await bot.edit_message_text(text="Step 2", chat_id=USER_ID, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Step 2" and edited.edit_date
    seen = await asyncio.wait_for(waiter, 3)
    [msg] = seen["messages"]
    assert msg["message_id"] == sent.message_id
    assert msg["edited"] is True and msg["text"] == "Step 2"
    assert msg["inline_keyboard"] is None  # edit without reply_markup drops the keyboard
    assert seen["version"] > version

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER_ID, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=USER_ID, message_id=sent.message_id, reply_markup=markup)

    assert await bot.delete_message(USER_ID, sent.message_id)
    seen = await user_reads(http, version=seen["version"])
    assert seen["messages"][0]["deleted"] is True
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="Step 3", chat_id=USER_ID, message_id=sent.message_id)


async def test_reply_keyboard(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    kb = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Yes"), KeyboardButton(text="No")]])
    await bot.send_message(USER_ID, "Sure?", reply_markup=kb)
    seen = await user_reads(http)
    assert seen["messages"][0]["reply_keyboard"] == [["Yes", "No"]]
    assert seen["reply_keyboard"] == [["Yes", "No"]]
    await bot.send_message(USER_ID, "Ok", reply_markup=ReplyKeyboardRemove())
    seen = await user_reads(http)
    assert seen["reply_keyboard"] is None


# ---------------------------------------------------------------- files
async def test_send_document_user_downloads(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    payload = "Отчёт,1\n".encode() * 100
    sent = await bot.send_document(USER_ID, BufferedInputFile(payload, filename="report.csv"), caption="Your report")
    assert sent.document is not None
    assert sent.document.file_name == "report.csv"
    assert sent.document.file_size == len(payload)
    assert sent.document.mime_type == "text/csv"
    assert sent.caption == "Your report"

    [msg] = (await user_reads(http))["messages"]
    assert msg["text"] == "Your report"
    assert msg["document"]["file_name"] == "report.csv"
    async with http.get(msg["document"]["url"]) as resp:
        assert resp.status == 200
        assert await resp.read() == payload

    # resend by file_id
    again = await bot.send_document(USER_ID, sent.document.file_id)
    assert again.document is not None and again.document.file_id == sent.document.file_id
    # bot can download its own upload too
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path
    data = await bot.download_file(file.file_path)
    assert data is not None and data.read() == payload


async def test_user_photo_bot_downloads(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    png = tiny_png(3, 2)
    form = aiohttp.FormData()
    form.add_field("photo", png, filename="pic.png", content_type="image/png")
    form.add_field("caption", "look")
    async with http.post(f"/sandbox/api/users/{USER_ID}/messages", data=form) as resp:
        assert resp.status == 200, await resp.text()
        sent = await resp.json()
    assert sent["text"] == "look" and len(sent["photos"]) == 1

    updates = await bot.get_updates(timeout=1)
    message = updates[0].message
    assert message is not None and message.photo
    assert message.caption == "look"
    size = message.photo[-1]
    assert (size.width, size.height) == (3, 2)
    file = await bot.get_file(size.file_id)
    assert file.file_path
    data = await bot.download_file(file.file_path)
    # Telegram keeps a photo re-encoded as JPEG, not the bytes sent
    assert data is not None and image_size(jpeg := data.read()) == (3, 2) and jpeg[:2] == b"\xff\xd8"

    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_user_document_and_bot_photo_group(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    form = aiohttp.FormData()
    form.add_field("document", b"%PDF-1.4 fake", filename="scan.pdf", content_type="application/pdf")
    async with http.post(f"/sandbox/api/users/{USER_ID}/messages", data=form) as resp:
        assert resp.status == 200
    updates = await bot.get_updates(timeout=1)
    doc = updates[0].message.document if updates[0].message else None
    assert doc is not None and doc.file_name == "scan.pdf" and doc.mime_type == "application/pdf"

    album = await bot.send_media_group(
        USER_ID,
        [
            InputMediaPhoto(media=BufferedInputFile(tiny_png(), filename="a.png"), caption="first"),
            InputMediaPhoto(media=BufferedInputFile(tiny_png(5, 5), filename="b.png")),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    seen = await user_reads(http, after=album[0].message_id - 1)
    photos = [m["photos"][0] for m in seen["messages"] if m["photos"]]
    assert len(photos) == 2
    async with http.get(photos[1]["url"]) as resp:
        assert resp.headers["Content-Type"] == "image/jpeg"
        assert image_size(await resp.read()) == (5, 5)


# ---------------------------------------------------------------- user API contract
async def test_user_api_validation(http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    async with http.get("/sandbox/api/users") as resp:
        users = await resp.json()
    assert users == [user]
    assert user["label"] == "HR" and user["language_code"] == "ru"
    async with http.post("/sandbox/api/users", json={"first_name": "Boris"}) as resp:
        boris = await resp.json()
    assert boris["id"] != USER_ID
    async with http.post("/sandbox/api/users", json={"id": USER_ID, "first_name": "Anna K."}) as resp:
        assert (await resp.json())["first_name"] == "Anna K."
    async with http.post("/sandbox/api/users/424242/messages", json={"text": "x"}) as resp:
        assert resp.status == 404 and "error" in await resp.json()
    async with http.post(
        f"/sandbox/api/users/{USER_ID}/messages", data=b"{oops", headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 400 and "error" in await resp.json()
    async with http.post("/sandbox/api/users", json={"username": "x"}) as resp:
        assert resp.status == 400
    async with http.get("/sandbox/api/files/nothing") as resp:
        assert resp.status == 404


async def test_messages_wait_times_out(http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    mine = await user_says(http, "anyone?")
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen = await user_reads(http, after=mine["message_id"], wait=0.5)
    assert seen["messages"] == []
    assert 0.4 < loop.time() - started < 3


async def test_inline_query(bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    from aiogram.types import InlineQueryResultArticle, InputTextMessageContent

    async def bot_side() -> None:
        updates = await bot.get_updates(timeout=5)
        query = updates[0].inline_query
        assert query is not None and query.query == "vacation"
        await bot.answer_inline_query(
            query.id,
            [
                InlineQueryResultArticle(
                    id="1", title="Vacation", input_message_content=InputTextMessageContent(message_text="v")
                )
            ],
            cache_time=0,
        )

    task = asyncio.create_task(bot_side())
    async with http.post(f"/sandbox/api/users/{USER_ID}/inline_queries", json={"query": "vacation"}) as resp:
        result = await resp.json()
    await task
    assert result["results"][0]["title"] == "Vacation"


async def test_commands_and_chat_action(bot: Bot, user: dict[str, Any]) -> None:
    from aiogram.types import BotCommand

    assert await bot.set_my_commands([BotCommand(command="start", description="Start")])
    commands = await bot.get_my_commands()
    assert [c.command for c in commands] == ["start"]
    assert await bot.send_chat_action(USER_ID, "typing")
    chat = await bot.get_chat(USER_ID)
    assert chat.first_name == "Anna"


# ---------------------------------------------------------------- limits
async def test_rate_limit_429() -> None:
    srv = SandboxServer(token=TOKEN, per_chat_rate=1.0, per_chat_burst=1.0)
    await srv.start()
    b = make_bot(srv)
    try:
        srv.state.upsert_user(user_id=USER_ID, first_name="Anna")
        await b.send_message(USER_ID, "one")
        with pytest.raises(TelegramRetryAfter) as info:
            await b.send_message(USER_ID, "two")
        assert info.value.retry_after >= 1
        assert srv.stats.rate_limited == 1
        assert srv.stats.messages_per_chat[USER_ID] == 1
        assert srv.stats.requests["sendMessage"] == 2
        await asyncio.sleep(1.05)
        await b.send_message(USER_ID, "two")
        assert srv.stats.texts_per_chat[USER_ID] == ["one", "two"]
    finally:
        await b.session.close()
        await srv.stop()


# ---------------------------------------------------------------- dispatcher, webhook, persistence
async def test_dispatcher_echo(server: SandboxServer, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    bot = make_bot(server, default=DefaultBotProperties(parse_mode="HTML"))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"<i>echo:</i> {message.text}")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=2))
    try:
        mine = await user_says(http, "ping")
        seen = await user_reads(http, after=mine["message_id"], wait=10)
        [reply] = seen["messages"]
        assert reply["from_bot"] and reply["text"] == "echo: ping"
        assert reply["entities"][0]["type"] == "italic"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 10)
        await bot.session.close()


async def test_webhook_delivery(server: SandboxServer, http: aiohttp.ClientSession, user: dict[str, Any]) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        # answer with a method in the body, like aiogram's SimpleRequestHandler can
        return web.json_response({"method": "sendMessage", "chat_id": USER_ID, "text": "from webhook"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bot = make_bot(server)
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        mine = await user_says(http, "via hook")
        seen = await user_reads(http, after=mine["message_id"], wait=5)
        assert [m["text"] for m in seen["messages"]] == ["from webhook"]
        assert received[0][0]["message"]["text"] == "via hook"
        assert received[0][1] == "s3cret"
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == []
    finally:
        await bot.session.close()
        await runner.cleanup()


async def test_state_persists(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    srv = SandboxServer(token=TOKEN, state_path=path)
    await srv.start()
    b = make_bot(srv)
    try:
        srv.state.upsert_user(user_id=USER_ID, first_name="Anna", label="HR")
        sent = await b.send_document(USER_ID, BufferedInputFile(b"keep me", filename="k.txt"))
        group = srv.state.add_group(title="Склад", kind="supergroup", creator_id=USER_ID)
        group.bot_status = "administrator"
    finally:
        await b.session.close()
        await srv.stop()
    assert json.loads(path.read_text())["users"][0]["label"] == "HR"

    srv2 = SandboxServer(token=TOKEN, state_path=path)
    await srv2.start()
    try:
        async with aiohttp.ClientSession(base_url=srv2.base_url) as http:
            seen = await user_reads(http)
            [msg] = seen["messages"]
            assert msg["document"]["file_name"] == "k.txt"
            async with http.get(msg["document"]["url"]) as resp:
                assert await resp.read() == b"keep me"
        b2 = make_bot(srv2)
        again = await b2.send_message(USER_ID, "next")
        assert again.message_id == sent.message_id + 1
        kept = srv2.state.groups[group.id]  # a group keeps its members and the bot's place in it
        assert (kept.title, kept.members, kept.bot_status) == ("Склад", {USER_ID: "creator"}, "administrator")
        assert (await b2.send_message(group.id, "всем")).chat.type == "supergroup"
        await b2.session.close()
    finally:
        await srv2.stop()


async def test_index_page(http: aiohttp.ClientSession) -> None:
    async with http.get("/") as resp:
        assert resp.status == 200
        body = await resp.text()
    assert "<html" in body.lower() and "/sandbox/api" in body


# ---------------------------------------------------------------- formatting helpers
def test_parse_html_entities() -> None:
    text, entities = parse_html('Hi <b>bold <i>both</i></b> &lt;3 <a href="https://x.y">link</a> 😀<u>u</u>')
    assert text == "Hi bold both <3 link 😀u"
    kinds = [(e["type"], e["offset"], e["length"]) for e in entities]
    assert ("bold", 3, 9) in kinds and ("italic", 8, 4) in kinds
    assert ("text_link", 16, 4) in kinds
    assert ("underline", 23, 1) in kinds  # emoji counts as two UTF-16 units


def test_parse_markdown_v2_requires_escaping() -> None:
    text, entities = parse_markdown_v2(r"*bold* and \. ok")
    assert text == "bold and . ok" and entities[0]["type"] == "bold"
    with pytest.raises(ValueError, match="reserved"):
        parse_markdown_v2("Done.")


def test_image_size() -> None:
    assert image_size(tiny_png(7, 4)) == (7, 4)
    assert image_size(b"nope") is None


async def test_webhook_with_aiogram_handler_reply(
    server: SandboxServer, http: aiohttp.ClientSession, user: dict[str, Any]
) -> None:
    """aiogram's SimpleRequestHandler answers the webhook with a multipart method call."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    bot = make_bot(server)
    dp = Dispatcher()

    @dp.message()
    async def reply(message: Message) -> Any:
        return message.answer(f"hooked: {message.text}")

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="abc").register(app, path="/wh")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/wh", secret_token="abc")
        mine = await user_says(http, "hi")
        seen = await user_reads(http, after=mine["message_id"], wait=5)
        assert [m["text"] for m in seen["messages"]] == ["hooked: hi"]
        assert server.stats.webhook_deliveries == 1
    finally:
        await bot.delete_webhook()
        await bot.session.close()
        await runner.cleanup()


# ---------------------------------------------------------------- long polls wake for their own chat only
async def asleep_on(server: SandboxServer, chat_id: int | None, count: int = 1) -> None:
    """Until `count` readers of `chat_id` (None: the bot's getUpdates) sleep in the hub (each turn of the loop lets
    the request arrive)."""
    for _ in range(500):
        if server.hub.sleeping(chat_id) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no reader of chat {chat_id} went to sleep")


@pytest.mark.without_flood_limits
async def test_a_long_poll_sleeps_through_other_chats(
    server: SandboxServer, bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]
) -> None:
    """Telegram tells a client about its own chats only: a person's long poll is not woken by the bot writing to
    50 other people nor by them writing, and is answered at once when the bot writes to that person."""
    others = list(range(6001, 6051))
    for other in others:
        async with http.post("/sandbox/api/users", json={"id": other, "first_name": f"P{other}"}) as resp:
            assert resp.status == 200
    waits = server.stats.chat_waits
    waiter = asyncio.create_task(user_reads(http, after=0, wait=30))
    await asleep_on(server, USER_ID)
    assert waits[USER_ID] == 1
    for other in others:
        await bot.send_message(other, f"to {other}")
        await user_says(http, f"from {other}", user_id=other)
    sent = await bot.send_message(others[0], "again")
    await bot.edit_message_text(text="edited", chat_id=others[0], message_id=sent.message_id)
    await bot.delete_message(others[0], sent.message_id)
    assert not waiter.done()
    assert waits[USER_ID] == 1, "a change to other chats woke the reader"
    assert server.hub.sleeping(USER_ID) == 1

    await user_says(http, "my own words")  # a change to the chat: the reader looks, finds nothing from the bot, sleeps
    await asleep_on(server, USER_ID)
    assert waits[USER_ID] == 2 and not waiter.done()

    await bot.send_message(USER_ID, "for you")
    seen = await asyncio.wait_for(waiter, 2)
    assert [m["text"] for m in seen["messages"]] == ["my own words", "for you"]
    assert waits[USER_ID] == 2
    assert server.hub.sleeping(USER_ID) == 0 and USER_ID not in server.hub._by_chat  # nothing left behind


async def test_a_long_poll_times_out_and_ends_when_the_sandbox_closes() -> None:
    srv = SandboxServer(token=TOKEN)
    await srv.start()
    try:
        async with aiohttp.ClientSession(base_url=srv.base_url) as own:
            async with own.post("/sandbox/api/users", json={"id": USER_ID, "first_name": "Anna"}) as resp:
                assert resp.status == 200
            assert (await user_reads(own, wait=0.05))["messages"] == []  # the timeout answers the poll
            assert srv.hub.sleeping(USER_ID) == 0
            assert USER_ID not in srv.hub._by_chat  # the timed-out reader left nothing behind
            waiter = asyncio.create_task(user_reads(own, wait=30))
            await asleep_on(srv, USER_ID)
            srv.hub.closing = True
            await srv.hub.notify()  # stop()'s first two steps: a notify that names no chat wakes every reader
            seen = await asyncio.wait_for(waiter, 2)
            assert seen["messages"] == []
    finally:
        await srv.stop()


async def test_a_group_members_poll_wakes_on_the_group(
    server: SandboxServer, bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]
) -> None:
    async with http.post("/sandbox/api/users", json={"id": 5002, "first_name": "Boris"}) as resp:
        assert resp.status == 200
    body = {"title": "Team", "creator_id": USER_ID, "member_ids": [5002], "bot": True}
    async with http.post("/sandbox/api/groups", json=body) as resp:
        assert resp.status == 200
        group_id = (await resp.json())["id"]

    waits = server.stats.chat_waits
    waiter = asyncio.create_task(group_reads(http, group_id, after=1, wait=30))
    await asleep_on(server, group_id)
    await bot.send_message(5002, "private to Boris")  # Boris's own chat is not the group's
    await user_says(http, "private from Anna")
    assert waits[group_id] == 1 and not waiter.done()

    async with http.post(f"/sandbox/api/groups/{group_id}/messages", json={"from_user_id": 5002, "text": "hi"}) as resp:
        assert resp.status == 200
    await asleep_on(server, group_id)  # woken by a member's message in the group, and asleep again
    assert waits[group_id] == 2 and not waiter.done()

    await bot.send_message(group_id, "hello, team")
    seen = await asyncio.wait_for(waiter, 2)
    assert [m["text"] for m in seen["messages"]] == ["hi", "hello, team"]


async def test_a_long_poll_sleeps_through_the_bots_polls_and_its_webhook(
    server: SandboxServer, bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]
) -> None:
    """How the bot fetches its updates is none of a person's business: their long poll is not woken by the bot's
    getUpdates calls (one of which ends an older long poll of the bot's with a conflict), by setWebhook and
    deleteWebhook, nor by a tool writing the person's record again; it is answered when the bot writes to them."""
    waits = server.stats.chat_waits
    waiter = asyncio.create_task(user_reads(http, after=0, wait=30))
    await asleep_on(server, USER_ID)
    for _ in range(3):
        assert await bot.get_updates(timeout=0) == []
    older = asyncio.create_task(bot.get_updates(timeout=30))
    await asleep_on(server, None)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(older, 2)
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    assert await bot.delete_webhook()
    async with http.post("/sandbox/api/users", json={"id": USER_ID, "first_name": "Anna"}) as resp:
        assert resp.status == 200
    assert not waiter.done()
    assert waits[USER_ID] == 1, "the bot's side woke the person's reader"
    assert server.hub.sleeping(USER_ID) == 1

    await bot.send_message(USER_ID, "for you")
    seen = await asyncio.wait_for(waiter, 2)
    assert [m["text"] for m in seen["messages"]] == ["for you"]
    assert waits[USER_ID] == 1


BOT_ID = 123456  # the bot of TOKEN
BORIS = 5002
WANTED = ["message", "callback_query", "inline_query", "my_chat_member", "chat_member"]


@dataclass
class Scene:
    """Anna (USER_ID) and Boris in a group with the bot, and the bot's message with a button in each chat."""

    http: aiohttp.ClientSession
    bot: Bot
    group_id: int
    to_anna: int
    to_group: int

    async def user_api(self, method: str, path: str, **body: Any) -> None:
        async with self.http.request(method, f"/sandbox/api{path}", json=body or None) as resp:
            assert resp.status == 200, await resp.text()


async def _nothing(scene: Scene) -> None:
    return None


async def _press(scene: Scene) -> None:
    await scene.user_api("POST", f"/users/{USER_ID}/callbacks", message_id=scene.to_anna, data="ok", wait=0)


async def _press_in_group(scene: Scene) -> None:
    body = {"from_user_id": BORIS, "message_id": scene.to_group, "data": "ok", "wait": 0}
    await scene.user_api("POST", f"/groups/{scene.group_id}/callbacks", **body)


async def _inline_query(scene: Scene) -> None:
    await scene.user_api("POST", f"/users/{USER_ID}/inline_queries", query="vacation", wait=0)


async def _block(scene: Scene) -> None:
    await scene.user_api("POST", f"/users/{USER_ID}/block")


async def _unblock(scene: Scene) -> None:
    await scene.user_api("POST", f"/users/{USER_ID}/unblock")


async def _bot_removed(scene: Scene) -> None:
    await scene.user_api("DELETE", f"/groups/{scene.group_id}/members/{BOT_ID}?by={USER_ID}")


async def _bot_demoted(scene: Scene) -> None:
    await scene.user_api("PATCH", f"/groups/{scene.group_id}/members/{BOT_ID}", status="member")


async def _member_promoted(scene: Scene) -> None:
    await scene.user_api("PATCH", f"/groups/{scene.group_id}/members/{BORIS}", status="administrator")


async def _bot_leaves(scene: Scene) -> None:
    assert await scene.bot.leave_chat(scene.group_id)


# What people (and the bot, leaving) do that the bot gets an update of and that puts no message in any chat: each
# (what is done before the bot's long poll starts, what is done, the update the bot gets).
NO_MESSAGE_UPDATES = {
    "a button press": (_nothing, _press, "callback_query"),
    "a button press in a group": (_nothing, _press_in_group, "callback_query"),
    "an inline query": (_nothing, _inline_query, "inline_query"),
    "blocking the bot": (_nothing, _block, "my_chat_member"),
    "unblocking it": (_block, _unblock, "my_chat_member"),
    "removing the bot from a group": (_nothing, _bot_removed, "my_chat_member"),
    "making the bot a plain member": (_nothing, _bot_demoted, "my_chat_member"),
    "making a person an administrator": (_nothing, _member_promoted, "chat_member"),
    "the bot leaving a group": (_nothing, _bot_leaves, "my_chat_member"),
}


@pytest.mark.parametrize("action", list(NO_MESSAGE_UPDATES))
async def test_an_update_that_puts_no_message_in_a_chat_wakes_the_bot_and_no_reader(
    action: str, server: SandboxServer, bot: Bot, http: aiohttp.ClientSession, user: dict[str, Any]
) -> None:
    """Anna reads her chat with the bot and the group's, each a long poll; the bot long-polls for updates. What is
    done gets the bot its update at once, and leaves both readers asleep: neither chat has a message more."""
    before, act, kind = NO_MESSAGE_UPDATES[action]
    async with http.post("/sandbox/api/users", json={"id": BORIS, "first_name": "Boris"}) as resp:
        assert resp.status == 200
    body = {"title": "Team", "creator_id": USER_ID, "member_ids": [BORIS], "bot": True}
    async with http.post("/sandbox/api/groups", json=body) as resp:
        assert resp.status == 200
        group_id = (await resp.json())["id"]
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]])
    to_anna = await bot.send_message(USER_ID, "Approve?", reply_markup=markup)
    to_group = await bot.send_message(group_id, "Approve?", reply_markup=markup)
    scene = Scene(http, bot, group_id, to_anna.message_id, to_group.message_id)
    await scene.user_api("PATCH", f"/groups/{group_id}/members/{BOT_ID}", status="administrator")
    await before(scene)
    queued = await bot.get_updates(timeout=0)
    offset = queued[-1].update_id + 1 if queued else 0

    waits = server.stats.chat_waits
    readers = [
        asyncio.create_task(user_reads(http, after=to_anna.message_id, wait=30)),
        asyncio.create_task(group_reads(http, group_id, after=to_group.message_id, wait=30)),
    ]
    await asleep_on(server, USER_ID)
    await asleep_on(server, group_id)
    poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=30, allowed_updates=WANTED))
    await asleep_on(server, None)
    try:
        await act(scene)
        updates = await asyncio.wait_for(poll, 2)
        assert [update.event_type for update in updates] == [kind]
        assert not any(reader.done() for reader in readers)
        assert (waits[USER_ID], waits[group_id]) == (1, 1), "a reader was woken for nothing"
    finally:
        for task in (*readers, poll):
            task.cancel()
        await asyncio.gather(*readers, poll, return_exceptions=True)
