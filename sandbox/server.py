"""A local stand-in for the Telegram Bot API, plus a user-side JSON API and a web chat page.

The bot talks to it unchanged (``TelegramAPIServer.from_base(server.base_url)``); people and tools play the
users through ``/sandbox/api/...`` or the page at ``/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from .formatting import EntityParseError, auto_entities, parse_formatted, utf16_len
from .state import JsonDict, SandboxState, SandboxUser, StoredFile, StoredMessage

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Methods that count against Telegram's flood limits.
LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
LIMIT_EXEMPT = {"sendchataction"}


class ApiError(Exception):
    """A Telegram-shaped error response."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        data: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


class UserApiError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Request parameters of a Bot API call: strings from forms, native values from JSON bodies."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        return (value is not None and value != "") or name in self.files

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        return str(value).strip().lower() in ("true", "1", "yes")

    def get_json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad_request(f"can't parse {name} JSON object") from exc
        return value

    def input_file(self, name: str) -> Upload | str | None:
        """An uploaded file (directly under `name` or via "attach://x"), a file_id/URL string, or None."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if not isinstance(value, str) or not value:
            return None
        return self.attached(value)

    def attached(self, value: str) -> Upload | str:
        if value.startswith("attach://"):
            key = value[len("attach://") :]
            if key not in self.files:
                raise bad_request(f"file {key} not found in the request")
            return self.files[key]
        return value


class TokenBucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = max(rate, 1e-6)
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """0 when a token is available (without taking it), else seconds until one is."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass
class SandboxStats:
    """Counters for benchmarks; reset with `reset()`."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    messages_per_chat: Counter[int] = field(default_factory=Counter)
    """Bot messages received per chat (sendX calls that succeeded; media groups count each item)."""
    texts_per_chat: dict[int, list[str]] = field(default_factory=dict)
    """Text/caption of each bot message per chat, in order (for duplicate/loss checks)."""
    updates_created: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.errors.clear()
        self.rate_limited = 0
        self.messages_per_chat.clear()
        self.texts_per_chat.clear()
        self.updates_created = 0
        self.webhook_deliveries = 0
        self.webhook_failures = 0

    def as_dict(self) -> JsonDict:
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "errors": {str(k): v for k, v in self.errors.items()},
            "rate_limited": self.rate_limited,
            "messages_per_chat": {str(k): v for k, v in self.messages_per_chat.items()},
            "updates_created": self.updates_created,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_failures": self.webhook_failures,
        }


MethodHandler = Callable[[JsonDict, Params], Awaitable[Any]]


class SandboxServer:
    """Fake Telegram Bot API server with a user-side API and a web chat page."""

    BOT_FIRST_NAME = "Konveyer"
    BOT_USERNAME = "konveyer_bot"

    def __init__(
        self,
        *,
        token: str | None = None,
        state_path: str | Path | None = None,
        enforce_limits: bool = False,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        per_chat_burst: float = 2.0,
        save_interval: float = 0.5,
        callback_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.enforce_limits = enforce_limits
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.save_interval = save_interval
        self.callback_timeout = callback_timeout
        self.state = SandboxState(state_path)
        self.state.load()
        self.stats = SandboxStats()
        self.base_url = ""
        self._changed = asyncio.Condition()
        self._closing = False
        self._poll_generation = 0
        self._global_bucket = TokenBucket(global_rate, max(global_rate, 1.0))
        self._chat_buckets: dict[str, TokenBucket] = {}
        self._callback_waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self._open_callbacks: set[str] = set()
        self._inline_waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._webhook_task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._default_bot_token = token or "1:sandbox"
        self._methods: dict[str, MethodHandler] = {
            "getme": self.m_get_me,
            "getupdates": self.m_get_updates,
            "setwebhook": self.m_set_webhook,
            "deletewebhook": self.m_delete_webhook,
            "getwebhookinfo": self.m_get_webhook_info,
            "sendmessage": self.m_send_message,
            "editmessagetext": self.m_edit_message_text,
            "editmessagecaption": self.m_edit_message_caption,
            "editmessagereplymarkup": self.m_edit_message_reply_markup,
            "deletemessage": self.m_delete_message,
            "deletemessages": self.m_delete_messages,
            "answercallbackquery": self.m_answer_callback_query,
            "sendphoto": self.m_send_photo,
            "senddocument": self.m_send_document,
            "sendmediagroup": self.m_send_media_group,
            "getfile": self.m_get_file,
            "setmycommands": self.m_set_my_commands,
            "getmycommands": self.m_get_my_commands,
            "deletemycommands": self.m_delete_my_commands,
            "answerinlinequery": self.m_answer_inline_query,
            "sendchataction": self.m_send_chat_action,
            "getchat": self.m_get_chat,
        }
        for name in (
            "logout",
            "close",
            "setmydescription",
            "setmyshortdescription",
            "setmyname",
            "setchatmenubutton",
            "setmydefaultadministratorrights",
            "setmessagereaction",
        ):
            self._methods[name] = self.m_noop
        self.app = self.make_app()

    # ================================================================ lifecycle
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", r"/bot{token}/{method:[A-Za-z0-9_]*}", self.handle_bot_api)
        app.router.add_get(r"/file/bot{token}/{path:.+}", self.handle_bot_file)
        api = "/sandbox/api"
        app.router.add_get(f"{api}/users", self.api_list_users)
        app.router.add_post(f"{api}/users", self.api_create_user)
        app.router.add_get(api + "/users/{user_id}", self.api_get_user)
        app.router.add_post(api + "/users/{user_id}/messages", self.api_send_message)
        app.router.add_get(api + "/users/{user_id}/messages", self.api_get_messages)
        app.router.add_post(api + "/users/{user_id}/callbacks", self.api_press_button)
        app.router.add_post(api + "/users/{user_id}/inline_queries", self.api_inline_query)
        app.router.add_get(api + "/files/{file_id}", self.api_get_file)
        app.router.add_get(f"{api}/stats", self.api_stats)
        app.router.add_get(f"{api}/bot", self.api_bot_info)
        app.router.add_get("/", self.handle_index)
        if STATIC_DIR.is_dir():
            app.router.add_static("/static/", STATIC_DIR)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._closing = False
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        real_port = port
        server = site._server  # aiohttp keeps the bound sockets here
        sockets = getattr(server, "sockets", None)
        if sockets:
            real_port = sockets[0].getsockname()[1]
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.base_url = f"http://{shown_host}:{real_port}"
        self._http = aiohttp.ClientSession()
        if self.state.path is not None:
            self._tasks.append(asyncio.create_task(self._persist_loop()))
        if self.state.webhook.url:
            self._ensure_webhook_task()
        logger.info("Sandbox Telegram server on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        self._closing = True
        await self._notify()
        for fut in self._callback_waiters.values():
            if not fut.done():
                fut.set_result({"text": None, "show_alert": False, "answered": False})
        for fut in self._inline_waiters.values():
            if not fut.done():
                fut.set_result({"results": None, "answered": False})
        tasks = list(self._tasks)
        if self._webhook_task is not None:
            tasks.append(self._webhook_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.state.path is not None:
            text = self.state.dump()
            await asyncio.to_thread(self.state.write, text)
            self.state.dirty = False

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _persist_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.save_interval)
            if self.state.dirty:
                text = self.state.dump()
                self.state.dirty = False
                try:
                    await asyncio.to_thread(self.state.write, text)
                except OSError:
                    logger.exception("Cannot save sandbox state to %s", self.state.path)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait_change(self, seconds: float) -> None:
        """Wait for the next notification (or timeout)."""
        if seconds <= 0:
            return
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), seconds)

    # ============================================================ bot identity
    def bot_user(self, token: str) -> JsonDict:
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.BOT_FIRST_NAME,
            "username": self.BOT_USERNAME,
        }

    def _token_ok(self, token: str) -> bool:
        if self.token is not None:
            return secrets.compare_digest(token, self.token)
        return bool(TOKEN_RE.match(token))

    # ================================================================ Bot API
    async def handle_bot_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        self.stats.requests[method] += 1
        try:
            if not self._token_ok(token):
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await self._read_params(request)
            self._default_bot_token = token
            result = await self.call_method(token, method, params)
        except ApiError as exc:
            self.stats.errors[exc.code] += 1
            if exc.code == 429:
                self.stats.rate_limited += 1
            if exc.code != 409:
                logger.debug("Bot API %s -> %s %s", method, exc.code, exc.description)
            return web.json_response(exc.payload(), status=exc.code)
        return web.json_response({"ok": True, "result": result})

    async def call_method(self, token: str, method: str, params: Params) -> Any:
        handler = self._methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        if self.enforce_limits:
            self._check_rate(method.lower(), params)
        return await handler(self.bot_user(token), params)

    async def _read_params(self, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request("can't parse JSON body") from exc
                if not isinstance(body, dict):
                    raise bad_request("JSON body must be an object")
                values.update(body)
            elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
                post = await request.post()
                for key, value in post.items():
                    if isinstance(value, web.FileField):
                        files[key] = Upload(value.filename, value.content_type, value.file.read())
                    else:
                        values[key] = value
        return Params(values, files)

    def _check_rate(self, method: str, params: Params) -> None:
        if not method.startswith(LIMITED_PREFIXES) or method in LIMIT_EXEMPT:
            return
        now = time.monotonic()
        chat_key = str(params.values.get("chat_id", ""))
        bucket = self._chat_buckets.get(chat_key)
        if bucket is None:
            bucket = TokenBucket(self.per_chat_rate, self.per_chat_burst)
            self._chat_buckets[chat_key] = bucket
        wait = max(self._global_bucket.wait_time(now), bucket.wait_time(now))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        self._global_bucket.take()
        bucket.take()

    # --------------------------------------------------------------- helpers
    def _resolve_chat(self, params: Params) -> SandboxUser:
        raw = params.values.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        ref: int | str = raw if isinstance(raw, int) and not isinstance(raw, bool) else str(raw)
        user = self.state.find_user(ref)
        if user is None:
            raise bad_request("chat not found")
        return user

    def _formatted(
        self, params: Params, text_key: str, entities_key: str, limit: int, *, required: bool
    ) -> tuple[str | None, list[JsonDict]]:
        raw = params.get_str(text_key)
        if raw is None or raw.strip() == "":
            if required:
                raise bad_request("message text is empty")
            return None, []
        try:
            text, entities = parse_formatted(raw, params.get_str("parse_mode"))
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        explicit = params.get_json(entities_key)
        if isinstance(explicit, list) and not params.get_str("parse_mode"):
            entities = [e for e in explicit if isinstance(e, dict)]
        if required and not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > limit:
            raise bad_request("message is too long" if text_key == "text" else "message caption is too long")
        return text, entities

    def _markup(self, params: Params, *, inline_only: bool = False) -> tuple[str, Any]:
        """Returns (kind, value): ("none", None) | ("inline", markup) | ("reply", (rows, one_time))
        | ("remove", None) | ("force_reply", None)."""
        markup = params.get_json("reply_markup")
        if markup is None:
            return "none", None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return "inline", {"inline_keyboard": self._inline_keyboard(markup["inline_keyboard"])}
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" must be an Array of Arrays')
            norm: list[list[JsonDict]] = []
            for row in rows:
                out_row: list[JsonDict] = []
                for button in row:
                    btn = {"text": button} if isinstance(button, str) else dict(button)
                    if not isinstance(btn.get("text"), str) or not btn["text"]:
                        raise bad_request("keyboard button text is empty")
                    out_row.append(btn)
                if out_row:
                    norm.append(out_row)
            return "reply", (norm, bool(markup.get("one_time_keyboard")))
        if markup.get("remove_keyboard"):
            return "remove", None
        if markup.get("force_reply"):
            return "force_reply", None
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _inline_keyboard(self, rows: Any) -> list[list[JsonDict]]:
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        result: list[list[JsonDict]] = []
        for row in rows:
            out_row: list[JsonDict] = []
            for button in row:
                if not isinstance(button, dict):
                    raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                text = button.get("text")
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse inline keyboard button: Text must be non-empty")
                btn: JsonDict = {"text": text}
                actions = 0
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                        raise bad_request("BUTTON_DATA_INVALID")
                    btn["callback_data"] = data
                    actions += 1
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
                    btn["url"] = url
                    actions += 1
                for key in (
                    "web_app",
                    "login_url",
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "switch_inline_query_chosen_chat",
                    "copy_text",
                    "callback_game",
                    "pay",
                ):
                    if key in button:
                        btn[key] = button[key]
                        actions += 1
                if actions == 0:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                out_row.append(btn)
            if out_row:
                result.append(out_row)
        return result

    def _reply_to(self, chat_id: int, params: Params) -> JsonDict | None:
        reply_id = params.get_int("reply_to_message_id")
        allow = params.get_bool("allow_sending_without_reply")
        reply_params = params.get_json("reply_parameters")
        if isinstance(reply_params, dict) and reply_params.get("message_id"):
            reply_id = int(reply_params["message_id"])
            allow = allow or bool(reply_params.get("allow_sending_without_reply"))
        if not reply_id:
            return None
        target = self.state.get_message(chat_id, reply_id)
        if target is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        quoted = copy.deepcopy(target.tg)
        quoted.pop("reply_to_message", None)
        return quoted

    async def _bot_message(
        self,
        bot: JsonDict,
        user: SandboxUser,
        params: Params,
        content: JsonDict,
        *,
        markup: tuple[str, Any] | None = None,
    ) -> StoredMessage:
        kind, value = markup if markup is not None else self._markup(params)
        reply = self._reply_to(user.id, params)
        if reply is not None:
            content["reply_to_message"] = reply
        reply_keyboard: list[list[JsonDict]] | None = None
        if kind == "inline":
            content["reply_markup"] = value
        elif kind == "reply":
            reply_keyboard = value[0]
        if params.get_bool("protect_content"):
            content["has_protected_content"] = True
        msg = self.state.add_message(user.id, from_bot=True, sender=bot, content=content, reply_keyboard=reply_keyboard)
        chat = self.state.chat(user.id)
        if kind == "reply":
            chat.reply_keyboard, chat.one_time_keyboard = value
        elif kind == "remove":
            chat.reply_keyboard, chat.one_time_keyboard = None, False
        self.stats.messages_per_chat[user.id] += 1
        self.stats.texts_per_chat.setdefault(user.id, []).append(
            str(content.get("text") or content.get("caption") or "")
        )
        await self._notify()
        return msg

    def _file_input(self, params: Params, name: str, kind: str) -> StoredFile:
        value = params.input_file(name)
        if value is None:
            raise bad_request(f"there is no {name} in the request")
        return self._store_input(value, kind)

    def _store_input(self, value: Upload | str, kind: str) -> StoredFile:
        if isinstance(value, Upload):
            if not value.data:
                raise bad_request("file must be non-empty")
            if kind == "photo" and not (
                value.data[:4] == b"\x89PNG"
                or value.data[:2] == b"\xff\xd8"
                or value.data[:3] == b"GIF"
                or value.data[:4] == b"RIFF"
            ):
                raise bad_request("IMAGE_PROCESS_FAILED")
            mime = value.content_type if value.content_type != "application/octet-stream" else None
            return self.state.add_file(value.data, kind=kind, file_name=value.filename, mime_type=mime)
        if re.match(r"^https?://", value):
            raise bad_request("failed to get HTTP URL content")
        stored = self.state.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
        return stored

    @staticmethod
    def _photo_sizes(stored: StoredFile) -> list[JsonDict]:
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
                "width": stored.width or 320,
                "height": stored.height or 320,
            }
        ]

    @staticmethod
    def _document(stored: StoredFile) -> JsonDict:
        doc: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.file_name:
            doc["file_name"] = stored.file_name
        if stored.mime_type:
            doc["mime_type"] = stored.mime_type
        return doc

    def _caption_content(self, params: Params) -> JsonDict:
        caption, entities = self._formatted(params, "caption", "caption_entities", MAX_CAPTION, required=False)
        content: JsonDict = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    def _target_message(self, params: Params, action: str) -> StoredMessage:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        user = self._resolve_chat(params)
        message_id = params.get_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        msg = self.state.get_message(user.id, message_id)
        if msg is None:
            raise bad_request(f"message to {action} not found")
        return msg

    # ------------------------------------------------------------- methods
    async def m_noop(self, bot: JsonDict, params: Params) -> Any:
        return True

    async def m_get_me(self, bot: JsonDict, params: Params) -> Any:
        return {
            **bot,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def m_get_updates(self, bot: JsonDict, params: Params) -> Any:
        if self.state.webhook.url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get_int("offset")
        limit = params.get_int("limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = min(max(params.get_float("timeout") or 0.0, 0.0), 50.0)
        if offset is not None and offset != 0:
            self.state.confirm_updates(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()  # wakes an older poll so it can report the conflict
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self.state.updates or self._closing or self.state.webhook.url:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self._wait_change(remaining)
        return [copy.deepcopy(u) for u in self.state.updates[:limit]]

    async def m_set_webhook(self, bot: JsonDict, params: Params) -> Any:
        url = params.get_str("url") or ""
        if url and not re.match(r"^https?://[^\s/]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get_str("secret_token")
        if secret is not None and secret != "" and not SECRET_TOKEN_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get_bool("drop_pending_updates"):
            self.state.updates.clear()
        webhook = self.state.webhook
        webhook.url = url
        webhook.secret_token = secret or None
        webhook.max_connections = params.get_int("max_connections") or 40
        allowed = params.get_json("allowed_updates")
        webhook.allowed_updates = allowed if isinstance(allowed, list) else None
        webhook.last_error_date = None
        webhook.last_error_message = None
        self.state.dirty = True
        if url:
            self._ensure_webhook_task()
        await self._notify()
        return True

    async def m_delete_webhook(self, bot: JsonDict, params: Params) -> Any:
        if params.get_bool("drop_pending_updates"):
            self.state.updates.clear()
        self.state.webhook.url = ""
        self.state.webhook.secret_token = None
        self.state.dirty = True
        await self._notify()
        return True

    async def m_get_webhook_info(self, bot: JsonDict, params: Params) -> Any:
        webhook = self.state.webhook
        info: JsonDict = {
            "url": webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if webhook.url:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_date:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    async def m_send_message(self, bot: JsonDict, params: Params) -> Any:
        user = self._resolve_chat(params)
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT, required=True)
        content: JsonDict = {"text": text}
        if entities:
            content["entities"] = entities
        msg = await self._bot_message(bot, user, params, content)
        return msg.tg

    async def m_send_photo(self, bot: JsonDict, params: Params) -> Any:
        user = self._resolve_chat(params)
        content = self._caption_content(params)
        markup = self._markup(params)
        stored = self._file_input(params, "photo", "photo")
        content["photo"] = self._photo_sizes(stored)
        msg = await self._bot_message(bot, user, params, content, markup=markup)
        return msg.tg

    async def m_send_document(self, bot: JsonDict, params: Params) -> Any:
        user = self._resolve_chat(params)
        content = self._caption_content(params)
        markup = self._markup(params)
        stored = self._file_input(params, "document", "document")
        content["document"] = self._document(stored)
        msg = await self._bot_message(bot, user, params, content, markup=markup)
        return msg.tg

    async def m_send_media_group(self, bot: JsonDict, params: Params) -> Any:
        user = self._resolve_chat(params)
        media = params.get_json("media")
        if not isinstance(media, list) or not media:
            raise bad_request('parameter "media" is required')
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album: must include 2-10 items")
        kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
        if None in kinds or not kinds <= {"photo", "document"}:
            raise bad_request("unsupported media type in the album (sandbox supports photo and document)")
        if len(kinds) > 1:
            raise bad_request("documents can't be mixed with other media types")
        prepared: list[tuple[str, StoredFile, JsonDict]] = []
        for item in media:
            value = item.get("media")
            if not isinstance(value, str) or not value:
                raise bad_request("there is no media in the request")
            kind = str(item["type"])
            stored = self._store_input(params.attached(value), kind)
            sub = Params({k: v for k, v in item.items() if k in ("caption", "parse_mode", "caption_entities")})
            prepared.append((kind, stored, self._caption_content(sub)))
        group_id = str(secrets.randbelow(10**18))
        result: list[JsonDict] = []
        for index, (kind, stored, content) in enumerate(prepared):
            content["media_group_id"] = group_id
            if kind == "photo":
                content["photo"] = self._photo_sizes(stored)
            else:
                content["document"] = self._document(stored)
            item_params = params if index == 0 else Params({"chat_id": user.id})
            msg = await self._bot_message(bot, user, item_params, content, markup=("none", None))
            result.append(msg.tg)
        return result

    async def m_edit_message_text(self, bot: JsonDict, params: Params) -> Any:
        msg = self._target_message(params, "edit")
        text, entities = self._formatted(params, "text", "entities", MAX_TEXT, required=True)
        markup = self._markup(params, inline_only=True)
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        if "text" not in msg.tg:
            raise bad_request("there is no text in the message to edit")
        new = {
            "text": text,
            "entities": entities or None,
            "reply_markup": markup[1] if markup[0] == "inline" else None,
        }
        return await self._apply_edit(msg, new)

    async def m_edit_message_caption(self, bot: JsonDict, params: Params) -> Any:
        msg = self._target_message(params, "edit")
        content = self._caption_content(params)
        markup = self._markup(params, inline_only=True)
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        if "text" in msg.tg:
            raise bad_request("there is no caption in the message to edit")
        new = {
            "caption": content.get("caption"),
            "caption_entities": content.get("caption_entities"),
            "reply_markup": markup[1] if markup[0] == "inline" else None,
        }
        return await self._apply_edit(msg, new)

    async def m_edit_message_reply_markup(self, bot: JsonDict, params: Params) -> Any:
        msg = self._target_message(params, "edit")
        markup = self._markup(params, inline_only=True)
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return await self._apply_edit(msg, {"reply_markup": markup[1] if markup[0] == "inline" else None})

    async def _apply_edit(self, msg: StoredMessage, new: JsonDict) -> Any:
        if all(msg.tg.get(key) == value for key, value in new.items()):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a previous content and reply markup of the message"
            )
        for key, value in new.items():
            if value is None:
                msg.tg.pop(key, None)
            else:
                msg.tg[key] = value
        msg.tg["edit_date"] = int(time.time())
        msg.edited = True
        self.state.touch(msg)
        await self._notify()
        return msg.tg

    async def m_delete_message(self, bot: JsonDict, params: Params) -> Any:
        msg = self._target_message(params, "delete")
        msg.deleted = True
        self.state.touch(msg)
        await self._notify()
        return True

    async def m_delete_messages(self, bot: JsonDict, params: Params) -> Any:
        user = self._resolve_chat(params)
        ids = params.get_json("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            msg = self.state.get_message(user.id, int(message_id))
            if msg is not None:
                msg.deleted = True
                self.state.touch(msg)
        await self._notify()
        return True

    async def m_answer_callback_query(self, bot: JsonDict, params: Params) -> Any:
        query_id = params.get_str("callback_query_id")
        if not query_id:
            raise bad_request("callback_query_id is empty")
        if query_id not in self._open_callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        answer: JsonDict = {"text": text or None, "show_alert": params.get_bool("show_alert")}
        if params.get_str("url"):
            answer["url"] = params.get_str("url")
        fut = self._callback_waiters.get(query_id)
        if fut is not None and not fut.done():
            fut.set_result(answer)
        return True

    async def m_answer_inline_query(self, bot: JsonDict, params: Params) -> Any:
        query_id = params.get_str("inline_query_id")
        if not query_id:
            raise bad_request("inline_query_id is empty")
        fut = self._inline_waiters.get(query_id)
        if fut is None or fut.done():
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        results = params.get_json("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        fut.set_result(
            {
                "results": results,
                "cache_time": params.get_int("cache_time"),
                "is_personal": params.get_bool("is_personal"),
                "next_offset": params.get_str("next_offset"),
            }
        )
        return True

    async def m_get_file(self, bot: JsonDict, params: Params) -> Any:
        file_id = params.get_str("file_id")
        stored = self.state.files.get(file_id or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def _commands_key(self, params: Params) -> str:
        scope = params.get_json("scope")
        scope_type = scope.get("type", "default") if isinstance(scope, dict) else "default"
        return f"{scope_type}:{params.get_str('language_code') or ''}"

    async def m_set_my_commands(self, bot: JsonDict, params: Params) -> Any:
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        clean: list[JsonDict] = []
        for cmd in commands:
            if not isinstance(cmd, dict) or not re.match(r"^[a-z0-9_]{1,32}$", str(cmd.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = str(cmd.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": cmd["command"], "description": description})
        self.state.commands[self._commands_key(params)] = clean
        self.state.dirty = True
        return True

    async def m_get_my_commands(self, bot: JsonDict, params: Params) -> Any:
        return self.state.commands.get(self._commands_key(params), [])

    async def m_delete_my_commands(self, bot: JsonDict, params: Params) -> Any:
        self.state.commands.pop(self._commands_key(params), None)
        self.state.dirty = True
        return True

    async def m_send_chat_action(self, bot: JsonDict, params: Params) -> Any:
        self._resolve_chat(params)
        if not params.get_str("action"):
            raise bad_request("wrong parameter action in request")
        return True

    async def m_get_chat(self, bot: JsonDict, params: Params) -> Any:
        user = self._resolve_chat(params)
        return {
            **user.as_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ---------------------------------------------------------------- webhook
    def _ensure_webhook_task(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._webhook_loop())

    async def _webhook_loop(self) -> None:
        backoff = 0.5
        while not self._closing and self.state.webhook.url:
            if not self.state.updates:
                await self._wait_change(5.0)
                continue
            webhook = self.state.webhook
            update = self.state.updates[0]
            headers = {"Content-Type": "application/json"}
            if webhook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
            if self._http is None:
                self._http = aiohttp.ClientSession()
            try:
                async with self._http.post(
                    webhook.url,
                    data=json.dumps(update),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as resp:
                    status = resp.status
                    reply: tuple[dict[str, Any], dict[str, Upload]] = ({}, {})
                    if 200 <= status < 300:
                        reply = await self._read_webhook_reply(resp)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self._webhook_failed(f"Connection failed: {type(exc).__name__}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if not 200 <= status < 300:
                self._webhook_failed(f"Wrong response from the webhook: {status}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            self.stats.webhook_deliveries += 1
            if self.state.updates and self.state.updates[0]["update_id"] == update["update_id"]:
                self.state.updates.pop(0)
                self.state.dirty = True
            await self._webhook_reply(*reply)

    def _webhook_failed(self, message: str) -> None:
        self.stats.webhook_failures += 1
        self.state.webhook.last_error_date = int(time.time())
        self.state.webhook.last_error_message = message
        logger.warning("Sandbox webhook delivery to %s failed: %s", self.state.webhook.url, message)

    @staticmethod
    async def _read_webhook_reply(resp: aiohttp.ClientResponse) -> tuple[dict[str, Any], dict[str, Upload]]:
        """Telegram lets a webhook answer with a method call in the response body (JSON or multipart)."""
        values: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        if resp.content_type == "application/json":
            body = await resp.read()
            if body.strip():
                with contextlib.suppress(ValueError):
                    data = json.loads(body)
                    if isinstance(data, dict):
                        values = data
        elif resp.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(resp)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                    continue
                raw = bytes(await part.read())
                if part.filename:
                    files[part.name] = Upload(part.filename, part.headers.get("Content-Type"), raw)
                else:
                    values[part.name] = raw.decode("utf-8")
        return values, files

    async def _webhook_reply(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        method = values.pop("method", None)
        if not isinstance(method, str) or not method:
            return
        try:
            await self.call_method(self._default_bot_token, method, Params(values, files))
        except ApiError as exc:
            logger.warning("Webhook reply method %s failed: %s", method, exc.description)

    # =============================================================== files (bot)
    async def handle_bot_file(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request.match_info["token"]):
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        file_id = self.state.file_paths.get(request.match_info["path"])
        data = self.state.file_bytes(file_id) if file_id else None
        if file_id is None or data is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        stored = self.state.files[file_id]
        return web.Response(body=data, content_type=stored.mime_type or "application/octet-stream")

    # =============================================================== user API
    @staticmethod
    def _api_error(status: int, error: str) -> web.Response:
        return web.json_response({"error": error}, status=status)

    def _api_user(self, request: web.Request) -> SandboxUser:
        raw = request.match_info["user_id"]
        try:
            user_id = int(raw)
        except ValueError as exc:
            raise UserApiError(400, f"invalid user id {raw!r}") from exc
        user = self.state.users.get(user_id)
        if user is None:
            raise UserApiError(404, f"unknown user {user_id}")
        return user

    @staticmethod
    async def _api_json(request: web.Request) -> JsonDict:
        try:
            data = await request.json()
        except ValueError as exc:
            raise UserApiError(400, "malformed JSON body") from exc
        if not isinstance(data, dict):
            raise UserApiError(400, "JSON body must be an object")
        return data

    def _file_url(self, request: web.Request, file_id: str) -> str:
        return f"{request.url.origin()}/sandbox/api/files/{quote(file_id)}"

    def view_message(self, msg: StoredMessage, request: web.Request) -> JsonDict:
        tg = msg.tg
        inline = None
        markup = tg.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            inline = [
                [{k: v for k, v in b.items() if k in ("text", "callback_data", "url")} for b in row]
                for row in markup["inline_keyboard"]
            ]
        photos = []
        if tg.get("photo"):
            best = max(tg["photo"], key=lambda p: p.get("width", 0) * p.get("height", 0))
            photos.append(
                {
                    "file_id": best["file_id"],
                    "url": self._file_url(request, best["file_id"]),
                    "width": best.get("width"),
                    "height": best.get("height"),
                }
            )
        document = None
        if tg.get("document"):
            doc = tg["document"]
            document = {
                "file_id": doc["file_id"],
                "file_name": doc.get("file_name"),
                "mime_type": doc.get("mime_type"),
                "file_size": doc.get("file_size"),
                "url": self._file_url(request, doc["file_id"]),
            }
        view: JsonDict = {
            "message_id": msg.message_id,
            "from_bot": msg.from_bot,
            "text": tg.get("text", tg.get("caption")),
            "entities": tg.get("entities", tg.get("caption_entities")) or [],
            "edited": msg.edited,
            "deleted": msg.deleted,
            "date": tg["date"],
            "version": msg.version,
            "inline_keyboard": inline,
            "reply_keyboard": [[b["text"] for b in row] for row in msg.reply_keyboard] if msg.reply_keyboard else None,
            "photos": photos,
            "document": document,
        }
        if "reply_to_message" in tg:
            view["reply_to_message_id"] = tg["reply_to_message"]["message_id"]
        for key in ("contact", "location", "media_group_id"):
            if key in tg:
                view[key] = tg[key]
        return view

    async def _run_api(self, request: web.Request, func: Callable[[], Awaitable[Any]]) -> web.Response:
        try:
            result = await func()
        except UserApiError as exc:
            return self._api_error(exc.status, exc.error)
        except ApiError as exc:
            return self._api_error(exc.code, exc.description)
        if isinstance(result, web.Response):
            return result
        return web.json_response(result)

    async def api_list_users(self, request: web.Request) -> web.Response:
        return web.json_response([u.as_api() for u in self.state.users.values()])

    async def api_get_user(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            return self._api_user(request).as_api()

        return await self._run_api(request, run)

    async def api_create_user(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            data = await self._api_json(request)
            first_name = data.get("first_name")
            user_id = data.get("id")
            if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0):
                raise UserApiError(400, "id must be a positive integer")
            if first_name is None and user_id in self.state.users:
                first_name = self.state.users[user_id].first_name
            if not isinstance(first_name, str) or not first_name.strip():
                raise UserApiError(400, "first_name is required")
            for key in ("username", "language_code", "label", "last_name"):
                if data.get(key) is not None and not isinstance(data[key], str):
                    raise UserApiError(400, f"{key} must be a string")
            username = data.get("username")
            if isinstance(username, str):
                username = username.lstrip("@") or None
            user = self.state.upsert_user(
                user_id=user_id,
                first_name=first_name,
                username=username,
                last_name=data.get("last_name"),
                language_code=data.get("language_code", "ru" if user_id not in self.state.users else None),
                label=data.get("label"),
            )
            await self._notify()
            return user.as_api()

        return await self._run_api(request, run)

    async def api_send_message(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            user = self._api_user(request)
            content: JsonDict = {}
            if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                post = await request.post()
                photo = post.get("photo")
                document = post.get("document")
                caption = post.get("caption")
                text = post.get("text")
                if isinstance(photo, web.FileField):
                    data = photo.file.read()
                    if not data:
                        raise UserApiError(400, "empty photo")
                    stored = self.state.add_file(
                        data, kind="photo", file_name=photo.filename, mime_type=photo.content_type
                    )
                    content["photo"] = self._photo_sizes(stored)
                elif isinstance(document, web.FileField):
                    data = document.file.read()
                    stored = self.state.add_file(
                        data, kind="document", file_name=document.filename, mime_type=document.content_type
                    )
                    content["document"] = self._document(stored)
                elif isinstance(text, str) and text.strip():
                    content["text"] = text
                else:
                    raise UserApiError(400, "multipart body needs a 'photo' or 'document' file part or 'text'")
                if isinstance(caption, str) and caption and "text" not in content:
                    content["caption"] = caption
                reply_raw = post.get("reply_to_message_id")
                reply_id = int(reply_raw) if isinstance(reply_raw, str) and reply_raw.isdigit() else None
            else:
                data_json = await self._api_json(request)
                text = data_json.get("text")
                contact = data_json.get("contact")
                location = data_json.get("location")
                if isinstance(text, str) and text.strip():
                    if utf16_len(text) > MAX_TEXT:
                        raise UserApiError(400, "text is longer than 4096 characters")
                    content["text"] = text
                    entities = auto_entities(text)
                    if entities:
                        content["entities"] = entities
                elif isinstance(contact, dict) and contact.get("phone_number"):
                    content["contact"] = {
                        "phone_number": str(contact["phone_number"]),
                        "first_name": str(contact.get("first_name") or user.first_name),
                        "user_id": int(contact.get("user_id") or user.id),
                    }
                elif isinstance(location, dict) and "latitude" in location and "longitude" in location:
                    content["location"] = {
                        "latitude": float(location["latitude"]),
                        "longitude": float(location["longitude"]),
                    }
                else:
                    raise UserApiError(400, "text (non-empty string), contact or location is required")
                reply_raw = data_json.get("reply_to_message_id")
                reply_id = reply_raw if isinstance(reply_raw, int) else None
            if reply_id:
                target = self.state.get_message(user.id, reply_id)
                if target is None:
                    raise UserApiError(400, f"message {reply_id} to reply to not found")
                quoted = copy.deepcopy(target.tg)
                quoted.pop("reply_to_message", None)
                content["reply_to_message"] = quoted
            if "caption" in content:
                entities = auto_entities(content["caption"])
                if entities:
                    content["caption_entities"] = entities
            chat = self.state.chat(user.id)
            if chat.one_time_keyboard and chat.reply_keyboard and "text" in content:
                texts = {b["text"] for row in chat.reply_keyboard for b in row}
                if content["text"] in texts:
                    chat.reply_keyboard, chat.one_time_keyboard = None, False
            msg = self.state.add_message(user.id, from_bot=False, sender=user.as_telegram(), content=content)
            self._push_update("message", copy.deepcopy(msg.tg))
            await self._notify()
            return self.view_message(msg, request)

        return await self._run_api(request, run)

    def _push_update(self, kind: str, payload: JsonDict) -> None:
        self.state.push_update(kind, payload)
        self.stats.updates_created += 1

    async def api_get_messages(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            user = self._api_user(request)
            try:
                after = int(request.query.get("after", "0") or 0)
                wait = min(max(float(request.query.get("wait", "0") or 0), 0.0), 60.0)
                version_raw = request.query.get("version")
                since: int | None = int(version_raw) if version_raw not in (None, "") else None
            except ValueError as exc:
                raise UserApiError(400, "after, wait and version must be numbers") from exc
            chat = self.state.chat(user.id)
            if since is None and wait > 0:
                since = chat.version
            deadline = time.monotonic() + wait
            while True:
                selected = [
                    m
                    for m in chat.messages.values()
                    if m.message_id > after or (since is not None and m.version > since)
                ]
                interesting = any(m.from_bot or m.edited or m.deleted for m in selected)
                remaining = deadline - time.monotonic()
                if interesting or remaining <= 0 or self._closing:
                    break
                await self._wait_change(remaining)
            return {
                "messages": [self.view_message(m, request) for m in sorted(selected, key=lambda m: m.message_id)],
                "version": chat.version,
                "reply_keyboard": [[b["text"] for b in row] for row in chat.reply_keyboard]
                if chat.reply_keyboard
                else None,
            }

        return await self._run_api(request, run)

    async def api_press_button(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            user = self._api_user(request)
            data = await self._api_json(request)
            message_id = data.get("message_id")
            cb_data = data.get("data")
            if not isinstance(message_id, int) or isinstance(message_id, bool):
                raise UserApiError(400, "message_id (integer) is required")
            if not isinstance(cb_data, str) or not cb_data:
                raise UserApiError(400, "data (non-empty string) is required")
            msg = self.state.get_message(user.id, message_id)
            if msg is None or not msg.from_bot:
                raise UserApiError(400, f"bot message {message_id} not found in the chat with user {user.id}")
            wait = data.get("wait", self.callback_timeout)
            wait = float(wait) if isinstance(wait, int | float) else self.callback_timeout
            query_id = str(secrets.randbelow(2**63))
            fut: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
            self._callback_waiters[query_id] = fut
            self._open_callbacks.add(query_id)
            self._push_update(
                "callback_query",
                {
                    "id": query_id,
                    "from": user.as_telegram(),
                    "message": copy.deepcopy(msg.tg),
                    "chat_instance": str((user.id * 2654435761 + 97) % 10**18),
                    "data": cb_data,
                },
            )
            await self._notify()
            try:
                answer = await asyncio.wait_for(asyncio.shield(fut), timeout=max(wait, 0.0))
                return {"answered": True, **answer}
            except TimeoutError:
                return {"text": None, "show_alert": False, "answered": False}
            finally:
                self._callback_waiters.pop(query_id, None)

        return await self._run_api(request, run)

    async def api_inline_query(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            user = self._api_user(request)
            data = await self._api_json(request)
            query = data.get("query", "")
            if not isinstance(query, str):
                raise UserApiError(400, "query must be a string")
            wait = data.get("wait", self.callback_timeout)
            wait = float(wait) if isinstance(wait, int | float) else self.callback_timeout
            query_id = str(secrets.randbelow(2**63))
            fut: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
            self._inline_waiters[query_id] = fut
            self._push_update(
                "inline_query",
                {
                    "id": query_id,
                    "from": user.as_telegram(),
                    "query": query,
                    "offset": str(data.get("offset") or ""),
                    "chat_type": "sender",
                },
            )
            await self._notify()
            try:
                answer = await asyncio.wait_for(asyncio.shield(fut), timeout=max(wait, 0.0))
                return {"answered": True, **answer}
            except TimeoutError:
                return {"results": None, "answered": False}
            finally:
                self._inline_waiters.pop(query_id, None)

        return await self._run_api(request, run)

    async def api_get_file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        stored = self.state.files.get(file_id)
        data = self.state.file_bytes(file_id) if stored else None
        if stored is None or data is None:
            return self._api_error(404, f"unknown file {file_id}")
        headers = {}
        if stored.file_name:
            headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(stored.file_name)}"
        return web.Response(body=data, content_type=stored.mime_type or "application/octet-stream", headers=headers)

    async def api_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.as_dict())

    async def api_bot_info(self, request: web.Request) -> web.Response:
        bot = self.bot_user(self._default_bot_token)
        info = await self.m_get_webhook_info(bot, Params({}))
        return web.json_response({"bot": bot, "commands": self.state.commands, "webhook": info})

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        index = STATIC_DIR / "index.html"
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})
