"""Conformance of the sandbox to Telegram, one behaviour per test.

Each test says what Telegram does and where that comes from: the Bot API documentation
(core.telegram.org/bots/api, section named), the Bots FAQ, or the error text of the official Bot API server
(tdlib/telegram-bot-api, `Client.cpp`: `fail_query_with_error` maps the server's codes to these texts). Calls
go over raw HTTP, so the exact status and description are checked, not a client library's reading of them.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest

from sandbox.server import DEFAULT_TOKEN, SandboxServer

TOKEN = "777:conformance-token"
ANNA = 5001


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class Client:
    """Raw Bot API and user API calls against one sandbox."""

    def __init__(self, server: SandboxServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http

    async def bot(self, method: str, token: str = TOKEN, **params: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"/bot{token}/{method}", json=params) as resp:
            return resp.status, await resp.json()

    async def ok(self, method: str, **params: Any) -> Any:
        status, body = await self.bot(method, **params)
        assert status == 200 and body["ok"], body
        return body["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, str]:
        status, body = await self.bot(method, **params)
        assert not body["ok"] and body["error_code"] == status, body
        return status, body["description"]

    async def user(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, f"/sandbox/api{path}", **kwargs) as resp:
            return resp.status, await resp.json()

    async def person(self, user_id: int = ANNA, **extra: Any) -> None:
        status, body = await self.user("POST", "/users", json={"id": user_id, "first_name": "Anna", **extra})
        assert status == 200, body

    async def says(self, text: str, user_id: int = ANNA) -> dict[str, Any]:
        status, body = await self.user("POST", f"/users/{user_id}/messages", json={"text": text})
        assert status == 200, body
        return dict(body)

    async def updates(self, **params: Any) -> list[dict[str, Any]]:
        """getUpdates; every update must also be one a client library accepts (aiogram's models of the Bot API
        types: a missing required field, such as ChatMemberBanned's until_date, fails here)."""
        from aiogram.types import Update

        result = list(await self.ok("getUpdates", timeout=0, **params))
        for update in result:
            Update.model_validate(update)
        return result


@pytest.fixture
async def client(request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    marker = request.node.get_closest_marker("sandbox")
    srv = SandboxServer(token=TOKEN, **(marker.kwargs if marker else {}))
    await srv.start()
    async with aiohttp.ClientSession(base_url=srv.base_url) as http:
        c = Client(srv, http)
        await c.person()
        yield c
    await srv.stop()


# ====================================================================== token
async def test_wrong_token_is_401_for_calls_polling_webhook_and_files(client: Client) -> None:
    """Telegram answers 401 «Unauthorized» to a token that is not a bot's, whatever the call — getUpdates,
    setWebhook, or a file download from /file/bot<token>/ (official server: the token is checked first)."""
    wrong = "777:not-the-token"
    for method, params in (("getMe", {}), ("getUpdates", {}), ("setWebhook", {"url": "https://example.com/h"})):
        status, body = await client.bot(method, token=wrong, **params)
        assert (status, body["description"]) == (401, "Unauthorized")
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANNA))
    form.add_field("document", b"hello", filename="a.txt")
    async with client.http.post(f"/bot{TOKEN}/sendDocument", data=form) as resp:
        file_id = (await resp.json())["result"]["document"]["file_id"]
    path = (await client.ok("getFile", file_id=file_id))["file_path"]
    async with client.http.get(f"/file/bot{TOKEN}/{path}") as resp:
        assert resp.status == 200 and await resp.read() == b"hello"
    async with client.http.get(f"/file/bot{wrong}/{path}") as resp:
        assert resp.status == 401 and (await resp.json())["description"] == "Unauthorized"


def test_default_token_is_the_bots_sandbox_token() -> None:
    """The demo/tests/bench bot without BOT_TOKEN uses the token the sandbox accepts by default."""
    from app.settings import SANDBOX_TOKEN

    assert SANDBOX_TOKEN == DEFAULT_TOKEN


# ====================================================================== flood limits
async def test_burst_to_one_chat_gets_429_with_retry_after(client: Client) -> None:
    """Bots FAQ («My bot is hitting limits»): more than about one message per second to one chat gets
    429 «Too Many Requests: retry after N» with `parameters.retry_after` (short bursts are tolerated)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    statuses = []
    for i in range(40):
        status, body = await client.bot("sendMessage", chat_id=ANNA, text=f"m{i}")
        statuses.append(status)
    elapsed = loop.time() - started
    assert statuses[0] == 200 and 429 in statuses
    assert statuses.count(200) <= 3 + int(elapsed) + 1  # a burst of three, plus one a second meanwhile
    status, body = await client.bot("sendMessage", chat_id=ANNA, text="again")
    assert status == 429
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    assert body["parameters"]["retry_after"] >= 1


async def test_about_30_messages_per_second_overall(client: Client) -> None:
    """Bots FAQ: no more than about 30 messages per second in total, across chats."""
    people = range(6000, 6120)
    for user_id in people:
        client.server.state.upsert_user(user_id=user_id, first_name="P")
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(*(client.bot("sendMessage", chat_id=user_id, text="hi") for user_id in people))
    elapsed = loop.time() - started
    sent = sum(1 for status, _ in results if status == 200)
    # 30 at once, then 30 a second: all 120 only if the machine took three seconds for them
    assert 30 <= sent <= 30 + 30 * elapsed + 1, (sent, elapsed)
    assert elapsed > 3 or any(status == 429 for status, _ in results)


def test_groups_get_20_messages_a_minute() -> None:
    """Bots FAQ: no more than 20 messages per minute in one group (groups have negative chat ids)."""
    from sandbox.errors import ApiError
    from sandbox.limits import FloodControl

    flood = FloodControl(1000, 1.0, 3.0)
    for _ in range(20):
        flood.spend(-100123)
    with pytest.raises(ApiError) as info:
        flood.spend(-100123)
    assert info.value.code == 429 and info.value.retry_after == 3  # one more token in 60/20 s


# ====================================================================== people who block or never started
async def test_blocked_user_gives_403_and_my_chat_member(client: Client) -> None:
    """Official server: USER_IS_BLOCKED -> 403 «Forbidden: bot was blocked by the user». Bot API (Update): the bot
    receives `my_chat_member` when its status in a private chat changes — blocked is «kicked», unblocked «member»."""
    await client.says("hi")
    status, body = await client.user("POST", f"/users/{ANNA}/block")
    assert status == 200 and body["blocked"] is True
    assert await client.error("sendMessage", chat_id=ANNA, text="x") == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    status, body = await client.user("POST", f"/users/{ANNA}/messages", json={"text": "hello?"})
    assert status == 409  # a client shows «Unblock» instead of the input field
    await client.user("POST", f"/users/{ANNA}/unblock")
    kinds = [next(k for k in u if k != "update_id") for u in await client.updates()]
    assert kinds == ["message", "my_chat_member", "my_chat_member"]
    changes = [u["my_chat_member"] for u in await client.updates() if "my_chat_member" in u]
    assert [(c["old_chat_member"]["status"], c["new_chat_member"]["status"]) for c in changes] == [
        ("member", "kicked"),
        ("kicked", "member"),
    ]
    await client.ok("sendMessage", chat_id=ANNA, text="welcome back")


async def test_bot_cannot_write_first_to_someone_who_never_started_it(client: Client) -> None:
    """Official server: 403 «Forbidden: bot can't initiate conversation with a user» until the person starts the
    bot (writes to it); also for sendChatAction."""
    await client.person(7001, started=False)
    expected = (403, "Forbidden: bot can't initiate conversation with a user")
    assert await client.error("sendMessage", chat_id=7001, text="hello") == expected
    assert await client.error("sendChatAction", chat_id=7001, action="typing") == expected
    await client.says("/start", user_id=7001)
    await client.ok("sendMessage", chat_id=7001, text="hello")


async def test_username_does_not_resolve_a_private_user(client: Client) -> None:
    """Bot API (sendMessage, chat_id): «Unique identifier for the target chat or username of the target channel
    (in the format @channelusername)» — a person's @username gives «Bad Request: chat not found»."""
    await client.person(7002, username="petya_private")
    assert await client.error("sendMessage", chat_id="@petya_private", text="x") == (400, "Bad Request: chat not found")


# ====================================================================== callback queries
@pytest.mark.sandbox(callback_answer_ttl=1.0)
async def test_callback_query_expires_and_answers_once(client: Client) -> None:
    """Official server: QUERY_ID_INVALID -> «Bad Request: query is too old and response timeout expired or query ID
    is invalid» for a query answered too late (Telegram waits only seconds; the TTL here is shortened) or twice."""
    keyboard = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    msg = await client.ok("sendMessage", chat_id=ANNA, text="press", reply_markup=keyboard)
    too_old = (400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    for answer_after in (0.0, 1.2):
        body = {"message_id": msg["message_id"], "data": "go", "wait": 2}
        press = asyncio.create_task(client.user("POST", f"/users/{ANNA}/callbacks", json=body))
        await asyncio.sleep(0.1)
        [update] = [u for u in await client.updates() if "callback_query" in u]
        await client.updates(offset=update["update_id"] + 1)
        query_id = update["callback_query"]["id"]
        await asyncio.sleep(answer_after)
        if answer_after == 0.0:
            assert await client.ok("answerCallbackQuery", callback_query_id=query_id) is True
            assert await client.error("answerCallbackQuery", callback_query_id=query_id) == too_old
        else:
            assert await client.error("answerCallbackQuery", callback_query_id=query_id) == too_old
        await press


async def test_only_a_button_on_the_message_can_be_pressed(client: Client) -> None:
    """A Telegram client sends only callback_data of a button shown on the message (Bot API, CallbackQuery): a
    made-up one, a button the bot removed, or a deleted message cannot be pressed."""
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    msg = await client.ok("sendMessage", chat_id=ANNA, text="ok?", reply_markup=keyboard)
    press = {"message_id": msg["message_id"], "data": "admin:delete_all", "wait": 0}
    assert (await client.user("POST", f"/users/{ANNA}/callbacks", json=press))[0] == 400
    press["data"] = "yes"
    assert (await client.user("POST", f"/users/{ANNA}/callbacks", json=press))[0] == 200
    await client.ok("editMessageReplyMarkup", chat_id=ANNA, message_id=msg["message_id"])
    assert (await client.user("POST", f"/users/{ANNA}/callbacks", json=press))[0] == 400
    # ...unless a test says it plays a press that crossed the edit (or a modified client): `unchecked`
    assert (await client.user("POST", f"/users/{ANNA}/callbacks", json={**press, "unchecked": True}))[0] == 200
    msg = await client.ok("sendMessage", chat_id=ANNA, text="ok?", reply_markup=keyboard)
    await client.ok("deleteMessage", chat_id=ANNA, message_id=msg["message_id"])
    press["message_id"] = msg["message_id"]
    assert (await client.user("POST", f"/users/{ANNA}/callbacks", json=press))[0] == 400


# ====================================================================== updates
async def test_allowed_updates_in_get_updates_and_set_webhook(client: Client) -> None:
    """Bot API (getUpdates, setWebhook: allowed_updates): only the listed types are delivered; omitted keeps the
    previous setting; an empty list restores the default (all but chat_member and reactions); the setting shows in
    getWebhookInfo."""
    assert await client.updates(allowed_updates=["callback_query"]) == []
    await client.says("not wanted")
    assert await client.updates() == []  # omitted: the previous setting stays
    await client.updates(allowed_updates=[])
    await client.says("wanted")
    assert [u["message"]["text"] for u in await client.updates()] == ["wanted"]
    await client.ok("setWebhook", url="https://example.com/hook", allowed_updates=["message"])
    info = await client.ok("getWebhookInfo")
    assert info["allowed_updates"] == ["message"]
    await client.ok("deleteWebhook")


async def test_non_numeric_limit_reads_as_telegram_reads_it(client: Client) -> None:
    """Official server: getUpdates reads `limit` with td::to_integer (text that is not a number is 0) and clamps it
    to 1-100, so «abc» returns one update instead of an error."""
    await client.says("one")
    await client.says("two")
    status, body = await client.bot("getUpdates", limit="abc")
    assert status == 200 and len(body["result"]) == 1


# ====================================================================== text and entities
async def test_whitespace_only_edit_is_not_modified(client: Client) -> None:
    """Telegram trims leading and trailing whitespace of a text, so an edit that only adds some changes nothing:
    official server MESSAGE_NOT_MODIFIED -> this exact text."""
    msg = await client.ok("sendMessage", chat_id=ANNA, text="  Hello  \n")
    assert msg["text"] == "Hello"
    assert await client.error("editMessageText", chat_id=ANNA, message_id=msg["message_id"], text="Hello \n\n") == (
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
        "as a current content and reply markup of the message",
    )


async def test_inline_keyboard_of_more_than_100_buttons(client: Client) -> None:
    """Official server: REPLY_MARKUP_TOO_LONG -> «Bad Request: reply markup is too long» (100 buttons at most)."""
    rows = [[{"text": f"{r}.{c}", "callback_data": f"{r}.{c}"} for c in range(8)] for r in range(13)]
    assert await client.error("sendMessage", chat_id=ANNA, text="x", reply_markup={"inline_keyboard": rows}) == (
        400,
        "Bad Request: reply markup is too long",
    )
    await client.ok("sendMessage", chat_id=ANNA, text="x", reply_markup={"inline_keyboard": rows[:12]})


async def test_delete_messages_takes_at_most_100(client: Client) -> None:
    """Bot API (deleteMessages): «A JSON-serialized list of 1-100 identifiers»; more: «Bad Request: too many message
    identifiers specified»."""
    assert await client.error("deleteMessages", chat_id=ANNA, message_ids=list(range(1, 102))) == (
        400,
        "Bad Request: too many message identifiers specified",
    )


async def test_send_chat_action_checks_the_action(client: Client) -> None:
    """Bot API (sendChatAction) lists the actions; anything else: «Bad Request: wrong parameter action in request»."""
    assert await client.ok("sendChatAction", chat_id=ANNA, action="upload_document") is True
    assert await client.error("sendChatAction", chat_id=ANNA, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )


async def test_only_four_named_html_entities(client: Client) -> None:
    """Bot API (HTML style): «All numerical HTML entities are supported. The API currently supports only the
    following named HTML entities: &lt;, &gt;, &amp; and &quot;» — &nbsp; stays as typed."""
    msg = await client.ok("sendMessage", chat_id=ANNA, text="a&nbsp;b &lt;&#65;&gt;", parse_mode="HTML")
    assert msg["text"] == "a&nbsp;b <A>"


async def test_explicit_entities_must_be_inside_the_text(client: Client) -> None:
    """TDLib checks explicit entities (td/telegram/MessageEntity.cpp, `fix_formatted_text`: «Receive an entity with
    incorrect offset», «Entity begins after the end of the text», «Entity beginning at UTF-16 offset … ends after
    the end of the text at UTF-16 offset …»); the official server passes the text on as «Bad Request: » with the
    first letter lower-cased (telegram-bot-api, Client.cpp, `fail_query_with_error`). Inside the text they are kept
    as given."""
    cases = [
        (
            {"offset": 1, "length": 5},
            "entity beginning at UTF-16 offset 1 ends after the end of the text at UTF-16 offset 6",
        ),
        ({"offset": 4, "length": 1}, "entity begins after the end of the text at UTF-16 offset 4"),
        ({"offset": -1, "length": 1}, "receive an entity with incorrect offset -1"),
        ({"offset": 0, "length": -2}, "receive an entity with incorrect length -2"),
    ]
    for entity, text in cases:
        assert await client.error("sendMessage", chat_id=ANNA, text="abc", entities=[{"type": "bold", **entity}]) == (
            400,
            f"Bad Request: {text}",
        )
    # UTF-16: an emoji counts twice, so «a😀» is three units long
    await client.ok("sendMessage", chat_id=ANNA, text="a😀", entities=[{"type": "bold", "offset": 1, "length": 2}])
    assert await client.error(
        "sendMessage", chat_id=ANNA, text="a😀", entities=[{"type": "bold", "offset": 1, "length": 3}]
    ) == (400, "Bad Request: entity beginning at UTF-16 offset 1 ends after the end of the text at UTF-16 offset 4")
    inside = [{"type": "bold", "offset": 1, "length": 2}]
    msg = await client.ok("sendMessage", chat_id=ANNA, text="abc", entities=inside)
    assert msg["entities"] == [{"type": "bold", "offset": 1, "length": 2}]
    # with a parse_mode as well, the official server parses the text and ignores the entities
    msg = await client.ok("sendMessage", chat_id=ANNA, text="<i>abc</i>", parse_mode="HTML", entities=inside)
    assert msg["entities"] == [{"type": "italic", "offset": 0, "length": 3}]


async def test_pre_code_language_is_one_pre_entity(client: Client) -> None:
    """Bot API (HTML style): <pre><code class="language-python">…</code></pre> is a pre-formatted block with a
    language: one `pre` entity with `language`."""
    msg = await client.ok(
        "sendMessage", chat_id=ANNA, text='<pre><code class="language-python">x = 1</code></pre>', parse_mode="HTML"
    )
    assert msg["entities"] == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


async def test_automatic_entities_in_the_bots_text(client: Client) -> None:
    """Telegram finds urls, mentions, hashtags, bot commands and e-mails in any message text and returns them as
    entities (Bot API, MessageEntity types) — in the bot's own messages too, but not inside code."""
    text = "See https://example.com/a, ask @support_bot #urgent /help <code>@nobody1</code>"
    msg = await client.ok("sendMessage", chat_id=ANNA, text=text, parse_mode="HTML")
    kinds = [(e["type"], msg["text"][e["offset"] : e["offset"] + e["length"]]) for e in msg["entities"]]
    assert kinds == [
        ("url", "https://example.com/a"),
        ("mention", "@support_bot"),
        ("hashtag", "#urgent"),
        ("bot_command", "/help"),
        ("code", "@nobody1"),
    ]


async def test_parse_mode_none_and_empty_mean_plain_text(client: Client) -> None:
    """Official server: an empty parse_mode or «none» is no formatting; an unknown one is «Bad Request: unsupported
    parse_mode»."""
    for mode in ("", "none", "None"):
        assert (await client.ok("sendMessage", chat_id=ANNA, text="*a*", parse_mode=mode))["text"] == "*a*"
    assert await client.error("sendMessage", chat_id=ANNA, text="a", parse_mode="bbcode") == (
        400,
        "Bad Request: unsupported parse_mode",
    )


async def test_markdown_v2_quotes_and_bracket_without_url(client: Client) -> None:
    """Bot API (MarkdownV2 style): lines starting with «>» are a block quotation, «**>» starts an expandable one
    ending with «||»; «[text]» without «(url)» leaves the text without a link."""
    msg = await client.ok("sendMessage", chat_id=ANNA, text=">first\n>second\nafter [plain]", parse_mode="MarkdownV2")
    assert msg["text"] == "first\nsecond\nafter plain"
    assert msg["entities"] == [{"type": "blockquote", "offset": 0, "length": 12}]
    msg = await client.ok("sendMessage", chat_id=ANNA, text="**>hidden\n>more||", parse_mode="MarkdownV2")
    assert msg["entities"] == [{"type": "expandable_blockquote", "offset": 0, "length": 11}]


# ====================================================================== methods and media
async def test_unknown_method_404_and_missing_method_501(client: Client) -> None:
    """Official server: a name that is no Bot API method -> 404 «Not Found». A real method the sandbox lacks must
    not look like that (clients read 404 as a wrong token): 501 «method not supported by the sandbox»."""
    assert await client.error("sendTelepathy", chat_id=ANNA) == (404, "Not Found")
    status, text = await client.error("sendDice", chat_id=ANNA)
    assert status == 501 and "not supported by the sandbox" in text


async def download(client: Client, file_id: str) -> bytes:
    path = (await client.ok("getFile", file_id=file_id))["file_path"]
    async with client.http.get(f"/file/bot{TOKEN}/{path}") as resp:
        assert resp.status == 200
        return await resp.read()


async def test_photo_comes_in_telegrams_sizes_each_a_jpeg_of_its_own(client: Client) -> None:
    """Bot API (Message.photo): «Available sizes of the photo». Telegram re-encodes a photo as JPEG in sizes that fit
    90, 320, 800 and 1280 px (never larger than the original), smallest first, each with its own file_id,
    file_unique_id, width, height and file_size, and getFile gives each one; a file_id of any size sends the same
    photo again."""
    from PIL import Image

    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANNA))
    form.add_field("photo", png(2000, 1000), filename="p.png", content_type="image/png")
    async with client.http.post(f"/bot{TOKEN}/sendPhoto", data=form) as resp:
        sizes = (await resp.json())["result"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(90, 45), (320, 160), (800, 400), (1280, 640)]
    assert len({s["file_id"] for s in sizes}) == len({s["file_unique_id"] for s in sizes}) == 4
    for size in sizes:
        data = await download(client, size["file_id"])
        assert data[:2] == b"\xff\xd8" and len(data) == size["file_size"]  # JPEG, whatever was uploaded
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (size["width"], size["height"])
        assert (await client.ok("getFile", file_id=size["file_id"]))["file_path"].endswith(".jpg")
    assert sizes[0]["file_size"] < sizes[-1]["file_size"]
    await asyncio.sleep(1.0)  # one message a second to one chat
    again = await client.ok("sendPhoto", chat_id=ANNA, photo=sizes[0]["file_id"])
    assert [s["file_id"] for s in again["photo"]] == [s["file_id"] for s in sizes]


async def test_small_photo_is_not_enlarged_and_a_persons_photo_has_sizes_too(client: Client) -> None:
    """A photo smaller than 1280 px keeps its size as the largest one (Telegram never enlarges); a person's photo
    arrives to the bot with the same set of sizes."""
    form = aiohttp.FormData()
    form.add_field("photo", png(500, 300), filename="shelf.png", content_type="image/png")
    status, _ = await client.user("POST", f"/users/{ANNA}/messages", data=form)
    assert status == 200
    [update] = await client.updates()
    sizes = update["message"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(90, 54), (320, 192), (500, 300)]
    for size in sizes:
        assert (await download(client, size["file_id"]))[:2] == b"\xff\xd8"


async def test_bytes_that_are_no_picture_are_no_photo(client: Client) -> None:
    """Official server: an upload Telegram cannot decode as a picture is «Bad Request: IMAGE_PROCESS_FAILED»; Bot API
    (sendPhoto): «width and height must not exceed 10000 in total. Width and height ratio must be at most 20»
    (PHOTO_INVALID_DIMENSIONS). A person's client cannot send such a photo either (the user API refuses it)."""
    for data, error in (
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "IMAGE_PROCESS_FAILED"),
        (png(2100, 100), "PHOTO_INVALID_DIMENSIONS"),
    ):
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ANNA))
        form.add_field("photo", data, filename="p.png", content_type="image/png")
        async with client.http.post(f"/bot{TOKEN}/sendPhoto", data=form) as resp:
            assert (resp.status, (await resp.json())["description"]) == (400, f"Bad Request: {error}")
    form = aiohttp.FormData()
    form.add_field("photo", b"not a picture", filename="p.png", content_type="image/png")
    assert (await client.user("POST", f"/users/{ANNA}/messages", data=form))[0] == 400


async def test_one_item_media_group_is_accepted(client: Client) -> None:
    """The official server sends a one-item album as a single message (the docs say 2-10 items)."""
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANNA))
    form.add_field("media", json.dumps([{"type": "photo", "media": "attach://p"}]))
    form.add_field("p", png(10, 10), filename="p.png", content_type="image/png")
    async with client.http.post(f"/bot{TOKEN}/sendMediaGroup", data=form) as resp:
        body = await resp.json()
    assert body["ok"] and len(body["result"]) == 1


@pytest.mark.sandbox(enforce_limits=False)  # four albums in a row: flood control is another test's
async def test_an_album_holds_at_most_ten_files_of_one_family_and_carries_no_buttons(client: Client) -> None:
    """Bot API (sendMediaGroup): 2-10 items (one passes, as the official server sends it alone); documents
    cannot be mixed with photos; each item keeps its caption; the messages share one media_group_id."""

    async def album(items: list[tuple[str, str]], **extra: str) -> tuple[int, Any]:
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ANNA))
        media = [
            {"type": kind, "media": f"attach://f{n}", "caption": caption} for n, (kind, caption) in enumerate(items)
        ]
        form.add_field("media", json.dumps(media))
        for key, value in extra.items():
            form.add_field(key, value)
        for n, (kind, _caption) in enumerate(items):
            name, content = ("p.png", png(8 + n, 8)) if kind == "photo" else (f"d{n}.pdf", b"%PDF-1.4")
            form.add_field(f"f{n}", content, filename=name)
        async with client.http.post(f"/bot{TOKEN}/sendMediaGroup", data=form) as resp:
            return resp.status, await resp.json()

    status, body = await album([("photo", f"Фото {n}") for n in range(11)])
    assert status == 400 and "2-10" in body["description"]
    status, body = await album([("photo", "Фото"), ("document", "Акт")])
    assert status == 400 and "mixed" in body["description"]
    status, body = await album([("document", "Акт"), ("document", "Накладная")])
    assert status == 200 and [m["caption"] for m in body["result"]] == ["Акт", "Накладная"]
    assert len({m["media_group_id"] for m in body["result"]}) == 1
    keyboard = json.dumps({"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]})
    status, body = await album([("photo", "a"), ("photo", "b")], reply_markup=keyboard)
    assert status == 200 and all("reply_markup" not in m for m in body["result"])


# ====================================================================== people
async def test_person_edits_forwards_and_sends_contact_location_voice(client: Client) -> None:
    """Bot API (Update): an edit of a person's message arrives as `edited_message`; a forward as a `message` with
    `forward_origin`; contacts, locations and voice messages as `message.contact/location/voice`."""
    mine = await client.says("pay 100")
    status, view = await client.user("PATCH", f"/users/{ANNA}/messages/{mine['message_id']}", json={"text": "pay 200"})
    assert status == 200 and view["edited"]
    note = await client.ok("sendMessage", chat_id=ANNA, text="Invoice #7")
    status, _ = await client.user("POST", f"/users/{ANNA}/forwards", json={"message_id": note["message_id"]})
    assert status == 200
    await client.user("POST", f"/users/{ANNA}/messages", json={"contact": {"phone_number": "+79990000000"}})
    await client.user("POST", f"/users/{ANNA}/messages", json={"location": {"latitude": 55.75, "longitude": 37.6}})
    form = aiohttp.FormData()
    form.add_field("voice", b"OggS" + b"\x00" * 4000, filename="v.ogg", content_type="audio/ogg")
    form.add_field("duration", "3")
    assert (await client.user("POST", f"/users/{ANNA}/messages", data=form))[0] == 200
    updates = await client.updates()
    assert updates[1]["edited_message"]["text"] == "pay 200"
    forwarded = updates[2]["message"]
    assert forwarded["text"] == "Invoice #7" and forwarded["forward_origin"]["sender_user"]["is_bot"] is True
    assert updates[3]["message"]["contact"]["phone_number"] == "+79990000000"
    assert updates[4]["message"]["location"]["latitude"] == 55.75
    voice = updates[5]["message"]["voice"]
    assert voice["duration"] == 3 and voice["mime_type"] == "audio/ogg"
    assert (await client.ok("getFile", file_id=voice["file_id"]))["file_path"].startswith("voice/")


# ====================================================================== faults
async def test_faults_5xx_429_drop_and_clear(client: Client) -> None:
    """Faults on demand: Telegram sometimes answers 5xx (Bad Gateway), 429 with retry_after, or drops the
    connection; `POST /sandbox/api/faults` makes the sandbox do so for a number of calls, `DELETE` stops it."""
    bad_gateway = {"kind": "error", "status": 502, "method": "sendMessage", "count": 1}
    status, fault = await client.user("POST", "/faults", json=bad_gateway)
    assert status == 200 and fault["count"] == 1
    assert await client.error("sendMessage", chat_id=ANNA, text="x") == (502, "Bad Gateway")
    await client.ok("sendMessage", chat_id=ANNA, text="x")  # count used up
    await client.user("POST", "/faults", json={"kind": "retry_after", "retry_after": 7})
    status, body = await client.bot("getMe")
    assert status == 429 and body["parameters"] == {"retry_after": 7}
    assert (await client.user("DELETE", "/faults"))[1] == {"cleared": 1}
    await client.ok("getMe")
    await client.user("POST", "/faults", json={"kind": "drop", "count": 1})
    with pytest.raises(aiohttp.ClientError):
        await client.bot("getMe")
    await client.ok("getMe")


async def test_faults_drop_after_hang_and_duplicate(client: Client) -> None:
    """`drop_after` carries the call out and loses the answer (a timeout after the request left); `hang` delays
    the answer; `duplicate` delivers an update twice (the same update_id), as Telegram may."""
    await client.user("POST", "/faults", json={"kind": "drop_after", "method": "sendMessage", "count": 1})
    with pytest.raises(aiohttp.ClientError):
        await client.bot("sendMessage", chat_id=ANNA, text="lost answer")
    assert client.server.stats.texts_per_chat[ANNA] == ["lost answer"]
    await client.user("POST", "/faults", json={"kind": "hang", "seconds": 0.5, "count": 1})
    started = asyncio.get_running_loop().time()
    await client.ok("getMe")
    assert asyncio.get_running_loop().time() - started >= 0.5
    await client.says("twice")
    await client.user("POST", "/faults", json={"kind": "duplicate", "count": 1})
    ids = [u["update_id"] for u in await client.updates()]
    assert len(ids) == 2 and ids[0] == ids[1]
    status, _ = await client.user("POST", "/faults", json={"kind": "meteor"})
    assert status == 400


# ====================================================================== more methods
async def test_forward_and_copy_message(client: Client) -> None:
    """Bot API (forwardMessage): returns the sent Message, with `forward_origin` naming the original sender.
    (copyMessage): returns a MessageId; the copy has no link to the original and may get a new caption."""
    await client.person(5002)
    note = await client.ok("sendMessage", chat_id=ANNA, text="Invoice #7")
    forwarded = await client.ok("forwardMessage", chat_id=5002, from_chat_id=ANNA, message_id=note["message_id"])
    assert forwarded["text"] == "Invoice #7" and forwarded["forward_origin"]["type"] == "user"
    copied = await client.ok("copyMessage", chat_id=5002, from_chat_id=ANNA, message_id=note["message_id"])
    assert list(copied) == ["message_id"] and copied["message_id"] == forwarded["message_id"] + 1
    assert await client.error("copyMessage", chat_id=5002, from_chat_id=ANNA, message_id=999) == (
        400,
        "Bad Request: message to copy not found",
    )


async def test_video_voice_audio_location_contact_poll(client: Client) -> None:
    """Bot API (sendVideo/sendVoice/sendAudio/sendLocation/sendContact/sendPoll): the Message carries a Video, Voice,
    Audio, Location, Contact or Poll; a poll needs 2-12 options."""
    results = {}
    for method, field in (("sendVideo", "video"), ("sendVoice", "voice"), ("sendAudio", "audio")):
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ANNA))
        form.add_field("duration", "4")
        form.add_field(field, b"\x00" * 64, filename=f"f.{field}", content_type="application/octet-stream")
        async with client.http.post(f"/bot{TOKEN}/{method}", data=form) as resp:
            results[field] = (await resp.json())["result"][field]
        await asyncio.sleep(1.0)  # one message a second to one chat
    assert results["video"]["duration"] == 4 and "width" in results["video"]
    assert "file_name" not in results["voice"]
    location = await client.ok("sendLocation", chat_id=ANNA, latitude=55.75, longitude=37.61)
    assert location["location"] == {"latitude": 55.75, "longitude": 37.61}
    contact = await client.ok("sendContact", chat_id=ANNA, phone_number="+7999", first_name="Ivan")
    assert contact["contact"] == {"phone_number": "+7999", "first_name": "Ivan"}
    await asyncio.sleep(1.0)
    poll = await client.ok("sendPoll", chat_id=ANNA, question="Lunch?", options=["Yes", {"text": "No"}])
    assert [o["text"] for o in poll["poll"]["options"]] == ["Yes", "No"] and poll["poll"]["is_anonymous"] is True


async def test_edit_message_media(client: Client) -> None:
    """Bot API (editMessageMedia): replaces the media of a message; a text message has none to replace."""
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANNA))
    form.add_field("document", b"v1", filename="v1.txt")
    async with client.http.post(f"/bot{TOKEN}/sendDocument", data=form) as resp:
        sent = (await resp.json())["result"]
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANNA))
    form.add_field("message_id", str(sent["message_id"]))
    form.add_field("media", json.dumps({"type": "photo", "media": "attach://p", "caption": "now a photo"}))
    form.add_field("p", png(10, 10), filename="p.png", content_type="image/png")
    async with client.http.post(f"/bot{TOKEN}/editMessageMedia", data=form) as resp:
        edited = (await resp.json())["result"]
    assert "document" not in edited and edited["photo"] and edited["caption"] == "now a photo"
    text = await client.ok("sendMessage", chat_id=ANNA, text="plain")
    media = {"type": "photo", "media": edited["photo"][-1]["file_id"]}
    assert await client.error("editMessageMedia", chat_id=ANNA, message_id=text["message_id"], media=media) == (
        400,
        "Bad Request: there is no media in the message to edit",
    )


async def test_pin_get_chat_member_and_menu_button(client: Client) -> None:
    """Bot API: pinChatMessage pins (getChat shows `pinned_message`); getChatMember in a private chat knows the person
    and the bot (kicked once blocked); setChatMenuButton takes commands/web_app/default, a Web App only over HTTPS."""
    msg = await client.ok("sendMessage", chat_id=ANNA, text="pin me")
    assert await client.ok("pinChatMessage", chat_id=ANNA, message_id=msg["message_id"]) is True
    assert (await client.ok("getChat", chat_id=ANNA))["pinned_message"]["text"] == "pin me"
    assert (await client.ok("getChatMember", chat_id=ANNA, user_id=ANNA))["status"] == "member"
    await client.user("POST", f"/users/{ANNA}/block")
    assert (await client.ok("getChatMember", chat_id=ANNA, user_id=777))["status"] == "kicked"
    app_button = {"type": "web_app", "text": "Open", "web_app": {"url": "https://example.com/app"}}
    assert await client.ok("setChatMenuButton", menu_button=app_button) is True
    assert await client.ok("getChatMenuButton", chat_id=ANNA) == app_button
    app_button["web_app"] = {"url": "http://example.com/app"}
    status, text = await client.error("setChatMenuButton", menu_button=app_button)
    assert status == 400 and "Only HTTPS links are allowed" in text


async def test_commands_per_scope_and_language(client: Client) -> None:
    """Bot API (setMyCommands/getMyCommands): commands are kept per BotCommandScope (a chat scope per chat) and per
    two-letter language code; getMyCommands returns exactly what was set for that pair."""
    general = [{"command": "start", "description": "Start"}]
    for_anna = [{"command": "tasks", "description": "Мои задачи"}]
    await client.ok("setMyCommands", commands=general)
    await client.ok("setMyCommands", commands=for_anna, scope={"type": "chat", "chat_id": ANNA}, language_code="ru")
    assert await client.ok("getMyCommands") == general
    assert await client.ok("getMyCommands", scope={"type": "chat", "chat_id": ANNA}, language_code="ru") == for_anna
    assert await client.ok("getMyCommands", scope={"type": "chat", "chat_id": ANNA}) == []
    assert await client.ok("getMyCommands", scope={"type": "chat", "chat_id": 1}, language_code="ru") == []
    status, _ = await client.error("setMyCommands", commands=general, scope={"type": "chat"})
    assert status == 400


async def test_answer_inline_query_limits(client: Client) -> None:
    """Bot API (answerInlineQuery): at most 50 results, next_offset at most 64 bytes; `is_personal` is passed on.
    The official server answers Telegram's codes: RESULTS_TOO_MUCH, NEXT_OFFSET_INVALID."""

    def article(n: int) -> dict[str, Any]:
        content = {"message_text": str(n)}
        return {"type": "article", "id": str(n), "title": str(n), "input_message_content": content}

    async def ask() -> tuple[asyncio.Task[Any], str]:
        task = asyncio.create_task(client.user("POST", f"/users/{ANNA}/inline_queries", json={"query": "q", "wait": 2}))
        for _ in range(50):
            found = [u for u in await client.updates() if "inline_query" in u]
            if found:
                await client.updates(offset=found[-1]["update_id"] + 1)
                return task, found[-1]["inline_query"]["id"]
            await asyncio.sleep(0.02)
        raise AssertionError("no inline query")

    task, query_id = await ask()
    results = [article(n) for n in range(51)]
    assert await client.error("answerInlineQuery", inline_query_id=query_id, results=results) == (
        400,
        "Bad Request: RESULTS_TOO_MUCH",
    )
    assert await client.error(
        "answerInlineQuery", inline_query_id=query_id, results=results[:50], next_offset="x" * 65
    ) == (400, "Bad Request: NEXT_OFFSET_INVALID")
    # InlineQueryResultsButton.start_parameter: 1-64 characters of A-Z, a-z, 0-9, _ and -.
    for bad in ("как искать", "x" * 65, ""):
        button = {"text": "Nothing found", "start_parameter": bad}
        assert await client.error("answerInlineQuery", inline_query_id=query_id, results=[], button=button) == (
            400,
            "Bad Request: START_PARAM_INVALID",
        )
    await client.ok("answerInlineQuery", inline_query_id=query_id, results=results[:50], is_personal=True)
    status, answer = await task
    assert status == 200 and answer["is_personal"] is True and len(answer["results"]) == 50


async def test_a_chosen_inline_result_is_the_persons_message_via_the_bot(client: Client) -> None:
    """Bot API (Inline mode; Message.via_bot; ChosenInlineResult): the chosen article's input_message_content is
    sent by the person to the chat the query came from, with `via_bot` = the bot, so the bot in that chat gets it as
    a `message`; `chosen_inline_result` comes only when inline feedback is on (BotFather /setinlinefeedback). A
    text that cannot be parsed fails answerInlineQuery itself («can't parse entities»)."""

    async def ask(query: str) -> tuple[asyncio.Task[Any], str]:
        path = f"/users/{ANNA}/inline_queries"
        task = asyncio.create_task(client.user("POST", path, json={"query": query, "wait": 2}))
        for _ in range(50):
            found = [u for u in await client.updates() if "inline_query" in u]
            if found:
                await client.updates(offset=found[-1]["update_id"] + 1)
                return task, found[-1]["inline_query"]["id"]
            await asyncio.sleep(0.02)
        raise AssertionError("no inline query")

    card = {"message_text": "<b>Mower</b> 2L0481848", "parse_mode": "HTML"}
    mower = {"type": "article", "id": "p17", "title": "Mower", "input_message_content": card}
    task, query_id = await ask("mower")
    broken = {**mower, "input_message_content": {"message_text": "<b>Mower", "parse_mode": "HTML"}}
    status, text = await client.error("answerInlineQuery", inline_query_id=query_id, results=[broken])
    assert status == 400 and text.startswith("Bad Request: can't parse entities")
    await client.ok("answerInlineQuery", inline_query_id=query_id, results=[mower], is_personal=True)
    status, answer = await task
    assert status == 200 and answer["query_id"] == query_id

    choose = f"/users/{ANNA}/inline_results"
    status, sent = await client.user("POST", choose, json={"query_id": query_id, "result_id": "p17"})
    assert status == 200, sent
    [update] = [u for u in await client.updates() if "message" in u or "chosen_inline_result" in u]
    message = update["message"]
    assert message["from"]["id"] == ANNA and message["via_bot"]["is_bot"] is True
    assert message["text"] == "Mower 2L0481848" and message["entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    await client.updates(offset=update["update_id"] + 1)
    status, _ = await client.user("POST", choose, json={"query_id": query_id, "result_id": "p9"})
    assert status == 404  # only a result the bot gave can be picked

    client.server.hub.inline_feedback = True
    task, query_id = await ask("mower")
    await client.ok("answerInlineQuery", inline_query_id=query_id, results=[mower])
    await task
    await client.user("POST", choose, json={"query_id": query_id, "result_id": "p17"})
    kinds = [next(k for k in u if k != "update_id") for u in await client.updates()]
    assert kinds == ["message", "chosen_inline_result"]


async def test_web_app_button_gives_init_data_signed_as_telegram_signs_it(client: Client) -> None:
    """Bot API («Validating data received via the Mini App»): hash = HMAC-SHA256(data-check-string) with the key
    HMAC-SHA256("WebAppData", bot token); aiogram's independent check of that signature must accept it. A web_app
    button needs an HTTPS URL (WebAppInfo)."""
    from aiogram.utils.web_app import safe_parse_webapp_init_data

    keyboard = {"inline_keyboard": [[{"text": "Form", "web_app": {"url": "https://example.com/form"}}]]}
    msg = await client.ok("sendMessage", chat_id=ANNA, text="open", reply_markup=keyboard)
    status, opened = await client.user(
        "POST", f"/users/{ANNA}/web_app", json={"message_id": msg["message_id"], "text": "Form"}
    )
    assert status == 200 and opened["url"] == "https://example.com/form"
    data = safe_parse_webapp_init_data(TOKEN, opened["init_data"])
    assert data.user is not None and data.user.id == ANNA
    with pytest.raises(ValueError):
        safe_parse_webapp_init_data("777:another-bot", opened["init_data"])
    # The client loads the URL with the launch parameters in its fragment; tgWebAppData is initData, URL-encoded.
    url, fragment = opened["launch_url"].split("#", 1)
    assert url == "https://example.com/form"
    assert parse_qs(fragment)["tgWebAppData"] == [opened["init_data"]]
    earlier = {"message_id": msg["message_id"], "text": "Form", "auth_date": 1798000000}
    status, yesterday = await client.user("POST", f"/users/{ANNA}/web_app", json=earlier)
    assert safe_parse_webapp_init_data(TOKEN, yesterday["init_data"]).auth_date.timestamp() == 1798000000
    keyboard["inline_keyboard"][0][0]["web_app"] = {"url": "http://example.com/form"}
    status, text = await client.error("sendMessage", chat_id=ANNA, text="open", reply_markup=keyboard)
    assert status == 400 and text.endswith("is invalid: Only HTTPS links are allowed")


async def test_bad_poll_is_refused_with_telegrams_texts(client: Client) -> None:
    """TDLib checks a poll (td/telegram/PollOption.cpp `get_poll_options`: «Poll must have at least one answer
    option», «Poll can't have more than 12 options»; `get_poll_option`: «Poll options length must not exceed 100»;
    an empty question or option fails in `get_formatted_text`: «Text must be non-empty»; the question:
    «Poll question length must not exceed 300»), the official server lower-cases the first letter. One option passes
    TDLib; Telegram's server refuses it (Bot API, sendPoll: «2-12 answer options») as POLL_ANSWERS_INVALID, which
    the official server passes on as it is (its second letter is a capital: Client.cpp, `fail_query_with_error`)."""
    refusals = [
        ({"question": "Lunch?", "options": ["Yes"]}, "POLL_ANSWERS_INVALID"),
        ({"question": "Lunch?", "options": []}, "poll must have at least one answer option"),
        ({"question": "Lunch?", "options": [str(n) for n in range(13)]}, "poll can't have more than 12 options"),
        ({"question": "Lunch?", "options": ["Yes", "x" * 101]}, "poll options length must not exceed 100"),
        ({"question": "Lunch?", "options": ["Yes", " "]}, "text must be non-empty"),
        ({"question": "  ", "options": ["Yes", "No"]}, "text must be non-empty"),
        ({"question": "?" * 301, "options": ["Yes", "No"]}, "poll question length must not exceed 300"),
    ]
    for params, text in refusals:
        assert await client.error("sendPoll", chat_id=ANNA, **params) == (400, f"Bad Request: {text}"), params
    poll = await client.ok("sendPoll", chat_id=ANNA, question="?" * 300, options=[str(n) for n in range(12)])
    assert len(poll["poll"]["options"]) == 12


async def test_location_out_of_range_is_refused(client: Client) -> None:
    """TDLib (td/telegram/Location.cpp): a location is empty unless |latitude| <= 90 and |longitude| <= 180, and
    `process_input_message_location` refuses an empty one: «Wrong location specified» -> «Bad Request: wrong location
    specified» from the official server."""
    for latitude, longitude in ((95, 0), (-90.5, 10), (0, 180.01), (0, -181)):
        assert await client.error("sendLocation", chat_id=ANNA, latitude=latitude, longitude=longitude) == (
            400,
            "Bad Request: wrong location specified",
        )
    edge = await client.ok("sendLocation", chat_id=ANNA, latitude=-90, longitude=180)
    assert edge["location"] == {"latitude": -90, "longitude": 180}


# ====================================================================== group chats
BOT_ID = 777  # the bot of TOKEN


def kinds(updates: list[dict[str, Any]]) -> list[str]:
    return [next(k for k in u if k != "update_id") for u in updates]


async def test_bot_added_to_a_group_promoted_and_removed_gets_member_updates(client: Client) -> None:
    """Bot API (Update): `my_chat_member` when the bot's status in a chat changes; `chat_member` about others only
    when «the bot must be an administrator in the chat and must explicitly specify "chat_member" in the list of
    allowed_updates»; (Message) service messages `group_chat_created`, `new_chat_members`, `left_chat_member`; a
    group's Chat has type «group» and a negative id. A bot that was removed gets 403 «Forbidden: bot was kicked from
    the group chat», one that left «Forbidden: bot is not a member of the group chat» (the official server's texts)."""
    await client.person(5002, first_name="Boris")
    await client.person(5003, first_name="Vera")
    status, group = await client.user(
        "POST", "/groups", json={"title": "Склад", "creator_id": ANNA, "member_ids": [5002], "bot": True}
    )
    assert status == 200 and group["id"] < 0 and group["type"] == "group"
    gid = group["id"]
    created = await client.updates(allowed_updates=["message", "my_chat_member", "chat_member"])
    assert kinds(created) == ["my_chat_member", "message"]
    change = created[0]["my_chat_member"]
    assert change["chat"] == {"id": gid, "title": "Склад", "type": "group"} and change["from"]["id"] == ANNA
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == ("left", "member")
    assert created[1]["message"]["group_chat_created"] is True

    sent = await client.ok("sendMessage", chat_id=gid, text="Всем привет")
    assert sent["chat"]["type"] == "group" and sent["from"]["id"] == BOT_ID
    status, seen = await client.user("GET", f"/groups/{gid}/messages")
    assert [m.get("group_chat_created") or m["text"] for m in seen["messages"]] == [True, "Всем привет"]

    # a member joins: a service message; no chat_member while the bot is not an administrator
    await client.user("POST", f"/groups/{gid}/members", json={"user_id": 5003, "by": ANNA})
    joined = await client.updates(offset=created[-1]["update_id"] + 1)
    assert kinds(joined) == ["message"] and joined[0]["message"]["new_chat_members"][0]["id"] == 5003
    await client.user("PATCH", f"/groups/{gid}/members/{BOT_ID}", json={"status": "administrator"})
    await client.user("DELETE", f"/groups/{gid}/members/5002?by={ANNA}")
    later = await client.updates(offset=joined[-1]["update_id"] + 1)
    assert kinds(later) == ["my_chat_member", "chat_member", "message"]
    assert later[0]["my_chat_member"]["new_chat_member"]["status"] == "administrator"
    assert later[1]["chat_member"]["new_chat_member"] == {
        "status": "left",
        "user": later[1]["chat_member"]["old_chat_member"]["user"],
    }
    assert later[2]["message"]["left_chat_member"]["id"] == 5002
    member = await client.ok("getChatMember", chat_id=gid, user_id=5003)
    assert member["status"] == "member" and await client.ok("getChatMemberCount", chat_id=gid) == 3

    await client.user("DELETE", f"/groups/{gid}/members/{BOT_ID}?by={ANNA}")
    removed = await client.updates(offset=later[-1]["update_id"] + 1)
    assert kinds(removed) == ["my_chat_member"]
    assert removed[0]["my_chat_member"]["new_chat_member"] == {
        "status": "kicked",
        "user": removed[0]["my_chat_member"]["new_chat_member"]["user"],
        "until_date": 0,
    }
    assert await client.error("sendMessage", chat_id=gid, text="?") == (
        403,
        "Forbidden: bot was kicked from the group chat",
    )
    await client.user("POST", f"/groups/{gid}/members", json={"bot": True})
    await client.ok("leaveChat", chat_id=gid)
    assert await client.error("sendMessage", chat_id=gid, text="?") == (
        403,
        "Forbidden: bot is not a member of the group chat",
    )


async def test_privacy_mode_in_groups_and_commands_with_the_bots_username(client: Client) -> None:
    """Bot API («Privacy mode», on by default; getMe: can_read_all_group_messages false): in a group the bot gets
    commands (`/cmd`, or `/cmd@its_username` but not another bot's), messages that mention it, replies to its own
    messages and service messages; an administrator bot gets everything. A command with the suffix is one
    `bot_command` entity (MessageEntity)."""
    me = await client.ok("getMe")
    assert me["can_join_groups"] is True and me["can_read_all_group_messages"] is False
    await client.person(5002, first_name="Boris")
    _, group = await client.user("POST", "/groups", json={"title": "Продажи", "creator_id": ANNA, "bot": True})
    gid = group["id"]
    handled = (await client.updates())[-1]["update_id"]

    async def says(text: str, **extra: Any) -> None:
        body = {"from_user_id": ANNA, "text": text, **extra}
        status, answer = await client.user("POST", f"/groups/{gid}/messages", json=body)
        assert status == 200, answer

    own = await client.ok("sendMessage", chat_id=gid, text="Кто возьмёт заказ?")
    for text in ("просто болтаем", "/tasks@other_bot", f"/tasks@{me['username']}", "/help", "спроси @konveyer_bot"):
        await says(text)
    await says("я возьму", reply_to_message_id=own["message_id"])
    got = await client.updates(offset=handled + 1)
    texts = [u["message"]["text"] for u in got]
    assert texts == [f"/tasks@{me['username']}", "/help", "спроси @konveyer_bot", "я возьму"]
    first = got[0]["message"]
    assert first["chat"]["type"] == "group" and first["from"]["id"] == ANNA
    assert first["entities"] == [{"type": "bot_command", "offset": 0, "length": len(f"/tasks@{me['username']}")}]
    # a member who is not in the group cannot write there
    status, _ = await client.user("POST", f"/groups/{gid}/messages", json={"from_user_id": 5002, "text": "hi"})
    assert status == 409
    await client.user("PATCH", f"/groups/{gid}/members/{BOT_ID}", json={"status": "administrator"})
    await says("теперь всё видно")
    assert (await client.updates(offset=got[-1]["update_id"] + 1))[-1]["message"]["text"] == "теперь всё видно"


async def test_supergroup_and_a_button_pressed_in_a_group(client: Client) -> None:
    """Bot API (Chat): a supergroup's id is -100…; a bot cannot be in a supergroup at its creation (Message:
    supergroup_chat_created «can't be received in a message coming through updates»), so it is added: my_chat_member
    and new_chat_members. A button pressed in a group is a callback_query from that member, with the group's
    message."""
    await client.person(5002, first_name="Boris")
    _, group = await client.user(
        "POST",
        "/groups",
        json={"title": "Цех", "type": "supergroup", "creator_id": ANNA, "member_ids": [5002], "bot": True},
    )
    gid = group["id"]
    assert str(gid).startswith("-100")
    added = await client.updates()
    assert kinds(added) == ["my_chat_member", "message"]
    assert added[1]["message"]["chat"]["type"] == "supergroup"
    assert added[1]["message"]["new_chat_members"][0]["id"] == BOT_ID
    keyboard = {"inline_keyboard": [[{"text": "Беру", "callback_data": "take:1"}]]}
    card = await client.ok("sendMessage", chat_id=gid, text="Заказ 1", reply_markup=keyboard)
    press = {"from_user_id": 5002, "message_id": card["message_id"], "data": "take:1", "wait": 0}
    status, _ = await client.user("POST", f"/groups/{gid}/callbacks", json=press)
    assert status == 200
    [query] = [u["callback_query"] for u in await client.updates(offset=added[-1]["update_id"] + 1)]
    assert query["from"]["id"] == 5002 and query["message"]["chat"]["id"] == gid and query["data"] == "take:1"
    status, _ = await client.user("POST", f"/groups/{gid}/callbacks", json={**press, "data": "made:up"})
    assert status == 400
    await client.user("DELETE", f"/groups/{gid}/members/5002?by={ANNA}")
    assert (await client.ok("getChatMember", chat_id=gid, user_id=5002))["status"] == "kicked"


async def test_required_parameters_are_named_as_the_official_server_names_them(client: Client) -> None:
    """Official server (telegram-bot-api, Client.cpp): `get_required_string_arg` answers «Parameter "…" is required»
    (first letter lower-cased), `get_location` «Bad Request: latitude is empty» / «longitude is empty», an empty text
    «Message text is empty»; these come before the chat is looked at, so even a blocked person's chat gets them."""
    await client.person(7003, first_name="Gleb")
    await client.user("POST", "/users/7003/block")
    cases = [
        ("sendLocation", {"longitude": 37.6}, "latitude is empty"),
        ("sendLocation", {"latitude": 55.7}, "longitude is empty"),
        ("sendContact", {"first_name": "Ivan"}, 'parameter "phone_number" is required'),
        ("sendContact", {"phone_number": "+7999"}, 'parameter "first_name" is required'),
        ("copyMessage", {"message_id": 1}, 'parameter "from_chat_id" is required'),
        ("sendMessage", {"text": ""}, "message text is empty"),
    ]
    for method, params, text in cases:
        assert await client.error(method, chat_id=7003, **params) == (400, f"Bad Request: {text}"), method
    assert await client.error("sendLocation", chat_id=7003, latitude=1, longitude=1) == (
        403,
        "Forbidden: bot was blocked by the user",
    )


# ====================================================================== defaults and the rest of the user API
async def test_by_default_the_sandbox_checks_the_token_and_keeps_the_limits(tmp_path: Any) -> None:
    """Fidelity by default: the sandbox as the demo builds it (`sandbox/demo.py`: only a state file), and as the
    tests and the bench build it, accepts only its bot's token (Telegram: 401 «Unauthorized» for any other) and
    enforces the flood limits; only an explicit argument turns the limits off."""
    server = SandboxServer(state_path=tmp_path / "state.json")
    await server.start()
    try:
        async with aiohttp.ClientSession(base_url=server.base_url) as http:
            async with http.get("/bot777:some-other-bot/getMe") as resp:
                assert (resp.status, (await resp.json())["description"]) == (401, "Unauthorized")
            async with http.get(f"/bot{DEFAULT_TOKEN}/getMe") as resp:
                assert resp.status == 200
            await http.post("/sandbox/api/users", json={"id": ANNA, "first_name": "Anna"})
            statuses = []
            for n in range(6):
                async with http.post(f"/bot{DEFAULT_TOKEN}/sendMessage", json={"chat_id": ANNA, "text": str(n)}) as r:
                    statuses.append(r.status)
            assert 429 in statuses
    finally:
        await server.stop()
    assert SandboxServer(enforce_limits=False).hub.flood is None


async def test_a_person_deletes_their_message_and_the_bot_is_not_told(client: Client) -> None:
    """Bot API: there is no update for a message deleted in a private chat; the person's chat shows it deleted, and
    it can no longer be replied to."""
    mine = await client.says("oops")
    status, body = await client.user("DELETE", f"/users/{ANNA}/messages/{mine['message_id']}")
    assert (status, body) == (200, {"deleted": True})
    assert kinds(await client.updates()) == ["message"]  # only the message itself, nothing about its deletion
    assert await client.error("sendMessage", chat_id=ANNA, text="re", reply_to_message_id=mine["message_id"]) == (
        400,
        "Bad Request: message to be replied not found",
    )


async def test_a_fault_for_a_time_ends_by_itself(client: Client) -> None:
    """Faults on demand «for a time»: `duration` seconds, then the calls succeed again without clearing it."""
    status, fault = await client.user("POST", "/faults", json={"kind": "error", "status": 503, "duration": 0.5})
    assert status == 200 and fault["expires_in"] > 0
    assert await client.error("getMe") == (503, "Service Unavailable")
    assert await client.error("getMe") == (503, "Service Unavailable")
    await asyncio.sleep(0.6)
    await client.ok("getMe")


async def test_edit_message_caption_and_caption_limits(client: Client) -> None:
    """Bot API (editMessageCaption): a new caption, 0-1024 characters after entities parsing, for a message with
    media; TDLib's texts via the official server: «there is no caption in the message to edit» for a text message,
    «message caption is too long»; a missing file is «there is no photo in the request»."""
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ANNA))
    form.add_field("caption", "before")
    form.add_field("photo", png(40, 20), filename="p.png", content_type="image/png")
    async with client.http.post(f"/bot{TOKEN}/sendPhoto", data=form) as resp:
        photo = (await resp.json())["result"]
    edited = await client.ok(
        "editMessageCaption", chat_id=ANNA, message_id=photo["message_id"], caption="<b>after</b>", parse_mode="HTML"
    )
    assert edited["caption"] == "after" and edited["caption_entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    too_long = {"chat_id": ANNA, "message_id": photo["message_id"], "caption": "x" * 1025}
    assert await client.error("editMessageCaption", **too_long) == (400, "Bad Request: message caption is too long")
    await asyncio.sleep(1.0)
    text = await client.ok("sendMessage", chat_id=ANNA, text="plain")
    assert await client.error("editMessageCaption", chat_id=ANNA, message_id=text["message_id"], caption="c") == (
        400,
        "Bad Request: there is no caption in the message to edit",
    )
    assert await client.error("sendPhoto", chat_id=ANNA) == (400, "Bad Request: there is no photo in the request")
