"""The user-side JSON API: tools, tests and the web page play the people talking to the bot.

Errors are ``{"error": "..."}`` with an HTTP status. Endpoints (all under ``/sandbox/api``):

- ``GET /users``, ``POST /users`` {id?, first_name, username?, last_name?, language_code?, label?},
  ``GET /users/{id}``;
- ``POST /users`` also takes ``started: false``: a person who never pressed Start (the bot gets 403 writing first);
- ``POST /users/{id}/messages``: JSON {text | contact | location, reply_to_message_id?} or a multipart form
  with a ``photo``, ``voice`` (and ``duration``) or ``document`` file part (and ``caption``), or ``text``;
  ``media_group_id`` makes a photo or a document one of an album (each of its files posted with the same id);
  a person who blocked the bot gets 409 (unblock first);
- ``GET /users/{id}/messages?after=&version=&wait=``: the chat as the person sees it, long-polling up to
  `wait` seconds for something from the bot;
- ``POST /users/{id}/callbacks`` {message_id, data, wait?, unchecked?}: press an inline button that is on that
  message now (else 400); answers with the bot's answerCallbackQuery (``answered: false`` when the bot did not
  answer within `wait`). ``unchecked: true`` sends a press no up-to-date client could (a button removed a moment
  ago, the press crossing the edit, or data a modified client made up), for tests of how the bot refuses those;
- ``POST /users/{id}/inline_queries`` {query, offset?, wait?}: answers the bot's answerInlineQuery with its
  ``query_id`` (a result of it is picked with ``POST /users/{id}/inline_results``, `sandbox.inline`);
- ``GET /files/{file_id}``, ``GET /stats``, ``GET /bot``.

What else people do (block, edit, forward) is in `sandbox.people`; group chats with the bot in `sandbox.groups`;
faults on demand in `sandbox.faults`.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .botapi.common import MAX_TEXT
from .botapi.updates import get_webhook_info
from .errors import ApiError, UserApiError
from .files import ImageUnreadable, add_photo, document, photo_sizes, voice_of
from .formatting import auto_entities, utf16_len
from .hub import Hub
from .params import Params
from .state import JsonDict, SandboxUser
from .views import api_error, read_json, view_message

API = "/sandbox/api"


class UserApi:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{API}/users", self.list_users)
        app.router.add_post(f"{API}/users", self.create_user)
        app.router.add_get(API + "/users/{user_id}", self.get_user)
        app.router.add_post(API + "/users/{user_id}/messages", self.send_message)
        app.router.add_get(API + "/users/{user_id}/messages", self.get_messages)
        app.router.add_post(API + "/users/{user_id}/callbacks", self.press_button)
        app.router.add_post(API + "/users/{user_id}/inline_queries", self.inline_query)
        app.router.add_get(f"{API}/stats", self.stats)
        app.router.add_get(f"{API}/bot", self.bot_info)

    # ---------------------------------------------------------------- helpers
    def user(self, request: web.Request) -> SandboxUser:
        raw = request.match_info["user_id"]
        try:
            user_id = int(raw)
        except ValueError as exc:
            raise UserApiError(400, f"invalid user id {raw!r}") from exc
        user = self.hub.state.users.get(user_id)
        if user is None:
            raise UserApiError(404, f"unknown user {user_id}")
        return user

    @staticmethod
    async def run(func: Callable[[], Awaitable[Any]]) -> web.Response:
        try:
            result = await func()
        except UserApiError as exc:
            return api_error(exc.status, exc.error)
        except ApiError as exc:
            return api_error(exc.code, exc.description)
        if isinstance(result, web.Response):
            return result
        return web.json_response(result)

    # ---------------------------------------------------------------- people
    async def list_users(self, request: web.Request) -> web.Response:
        return web.json_response([u.as_api() for u in self.hub.state.users.values()])

    async def get_user(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            return self.user(request).as_api()

        return await self.run(run)

    async def create_user(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            state = self.hub.state
            data = await read_json(request)
            first_name = data.get("first_name")
            user_id = data.get("id")
            if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0):
                raise UserApiError(400, "id must be a positive integer")
            if first_name is None and user_id in state.users:
                first_name = state.users[user_id].first_name
            if not isinstance(first_name, str) or not first_name.strip():
                raise UserApiError(400, "first_name is required")
            for key in ("username", "language_code", "label", "last_name"):
                if data.get(key) is not None and not isinstance(data[key], str):
                    raise UserApiError(400, f"{key} must be a string")
            username = data.get("username")
            if isinstance(username, str):
                username = username.lstrip("@") or None
            started = data.get("started", True)
            if not isinstance(started, bool):
                raise UserApiError(400, "started must be a boolean")
            user = state.upsert_user(
                user_id=user_id,
                first_name=first_name,
                username=username,
                last_name=data.get("last_name"),
                language_code=data.get("language_code", "ru" if user_id not in state.users else None),
                label=data.get("label"),
            )
            if "started" in data:
                user.started = started  # False: a person who never pressed Start; the bot cannot write first
            # No notify: a new (or renamed) person queues no update and changes no chat's messages.
            return user.as_api()

        return await self.run(run)

    # ---------------------------------------------------------------- messages
    async def send_message(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            state = self.hub.state
            user = self.user(request)
            if user.blocked:
                raise UserApiError(409, f"user {user.id} has blocked the bot: POST /users/{user.id}/unblock first")
            content: JsonDict = {}
            if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
                post = await request.post()
                photo = post.get("photo")
                doc = post.get("document")
                caption = post.get("caption")
                text = post.get("text")
                if isinstance(photo, web.FileField):
                    data = photo.file.read()
                    if not data:
                        raise UserApiError(400, "empty photo")
                    try:
                        stored = add_photo(state, data, file_name=photo.filename, mime_type=photo.content_type)
                    except ImageUnreadable as exc:  # a Telegram client sends only pictures it could show as photos
                        raise UserApiError(400, f"the photo is not an image a client could send: {exc}") from exc
                    content["photo"] = photo_sizes(state, stored)
                elif isinstance(voice := post.get("voice"), web.FileField):
                    content["voice"] = voice_of(state, voice, post.get("duration"))
                elif isinstance(doc, web.FileField):
                    data = doc.file.read()
                    stored = state.add_file(data, kind="document", file_name=doc.filename, mime_type=doc.content_type)
                    content["document"] = document(stored)
                elif isinstance(text, str) and text.strip():
                    content["text"] = text
                else:
                    raise UserApiError(400, "multipart body needs a 'photo', 'voice' or 'document' file part or 'text'")
                if isinstance(caption, str) and caption and "text" not in content:
                    content["caption"] = caption
                group = post.get("media_group_id")
                if isinstance(group, str) and group:
                    # An album: Telegram's client sends its photos (or files) as messages of their own that share
                    # the album's media_group_id, and the bot gets an update for each.
                    if "photo" not in content and "document" not in content:
                        raise UserApiError(400, "only a photo or a document can be part of an album")
                    content["media_group_id"] = group
                reply_raw = post.get("reply_to_message_id")
                reply_id = int(reply_raw) if isinstance(reply_raw, str) and reply_raw.isdigit() else None
            else:
                data_json = await read_json(request)
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
                target = state.get_message(user.id, reply_id)
                if target is None:
                    raise UserApiError(400, f"message {reply_id} to reply to not found")
                quoted = copy.deepcopy(target.tg)
                quoted.pop("reply_to_message", None)
                content["reply_to_message"] = quoted
            if "caption" in content:
                entities = auto_entities(content["caption"])
                if entities:
                    content["caption_entities"] = entities
            chat = state.chat(user.id)
            if chat.one_time_keyboard and chat.reply_keyboard and "text" in content:
                texts = {b["text"] for row in chat.reply_keyboard for b in row}
                if content["text"] in texts:
                    chat.reply_keyboard, chat.one_time_keyboard = None, False
            user.started = True  # whoever writes to the bot has started it
            msg = state.add_message(user.id, from_bot=False, sender=user.as_telegram(), content=content)
            self.hub.push_update("message", copy.deepcopy(msg.tg))
            await self.hub.notify(user.id)
            return view_message(msg, request)

        return await self.run(run)

    async def get_messages(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            return await self.read_chat(request, self.user(request).id)

        return await self.run(run)

    async def read_chat(self, request: web.Request, chat_id: int) -> JsonDict:
        """A chat as its members see it (``after``, ``version``, ``wait`` from the query), waiting up to `wait`
        seconds for something from the bot."""
        hub = self.hub
        try:
            after = int(request.query.get("after", "0") or 0)
            wait = min(max(float(request.query.get("wait", "0") or 0), 0.0), 60.0)
            version_raw = request.query.get("version")
            since: int | None = int(version_raw) if version_raw not in (None, "") else None
        except ValueError as exc:
            raise UserApiError(400, "after, wait and version must be numbers") from exc
        chat = hub.state.chat(chat_id)
        if since is None and wait > 0:
            since = chat.version
        deadline = time.monotonic() + wait
        while True:
            seen = chat.version  # what this look covers: a change after it ends the wait below at once
            selected = [
                m
                for m in chat.messages.values()
                if m.message_id > after or (since is not None and m.version > since)
            ]
            interesting = any(m.from_bot or m.edited or m.deleted for m in selected)
            remaining = deadline - time.monotonic()
            if interesting or remaining <= 0 or hub.closing:
                break
            await hub.wait_change(remaining, chat_id, seen)
        return {
            "messages": [view_message(m, request) for m in sorted(selected, key=lambda m: m.message_id)],
            "version": chat.version,
            "reply_keyboard": [[b["text"] for b in row] for row in chat.reply_keyboard]
            if chat.reply_keyboard
            else None,
        }

    # ---------------------------------------------------------------- buttons and inline mode
    def _wait_seconds(self, data: JsonDict) -> float:
        wait = data.get("wait", self.hub.callback_timeout)
        return float(wait) if isinstance(wait, int | float) else self.hub.callback_timeout

    async def press_button(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            user = self.user(request)
            return await self.press(user, user.id, await read_json(request))

        return await self.run(run)

    async def press(self, user: SandboxUser, chat_id: int, data: JsonDict) -> JsonDict:
        """`user` presses a button of a bot message in the chat `chat_id` (theirs with the bot, or a group's)."""
        hub = self.hub
        message_id = data.get("message_id")
        cb_data = data.get("data")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise UserApiError(400, "message_id (integer) is required")
        if not isinstance(cb_data, str) or not cb_data:
            raise UserApiError(400, "data (non-empty string) is required")
        msg = hub.state.get_message(chat_id, message_id)
        if msg is None or not msg.from_bot:
            raise UserApiError(400, f"bot message {message_id} not found in chat {chat_id}")
        # A real client can only press a button that is on the message now: a made-up callback_data, a button
        # the bot has since removed, or a deleted message is refused.
        keyboard = (msg.tg.get("reply_markup") or {}).get("inline_keyboard") or []
        unchecked = data.get("unchecked") is True  # see the module docstring: a test's explicit exception
        if not unchecked and not any(b.get("callback_data") == cb_data for row in keyboard for b in row):
            raise UserApiError(400, f"message {message_id} has no button with callback_data {cb_data!r}")
        now = time.monotonic()
        for stale in [q for q, at in hub.open_callbacks.items() if now - at > hub.callback_answer_ttl]:
            del hub.open_callbacks[stale]
        wait = self._wait_seconds(data)
        query_id = str(secrets.randbelow(2**63))
        fut: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        hub.callback_waiters[query_id] = fut
        hub.open_callbacks[query_id] = time.monotonic()
        hub.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.as_telegram(),
                "message": copy.deepcopy(msg.tg),
                "chat_instance": str((chat_id * 2654435761 + 97) % 10**18),
                "data": cb_data,
            },
        )
        hub.notify_updates()  # a press is the bot's to see: the chat's messages are as they were
        try:
            answer = await asyncio.wait_for(asyncio.shield(fut), timeout=max(wait, 0.0))
            return {"answered": True, **answer}
        except TimeoutError:
            return {"text": None, "show_alert": False, "answered": False}
        finally:
            hub.callback_waiters.pop(query_id, None)

    async def inline_query(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            hub = self.hub
            user = self.user(request)
            data = await read_json(request)
            query = data.get("query", "")
            if not isinstance(query, str):
                raise UserApiError(400, "query must be a string")
            wait = self._wait_seconds(data)
            query_id = str(secrets.randbelow(2**63))
            fut: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
            hub.inline_waiters[query_id] = fut
            hub.inline_asked[query_id] = {"user_id": user.id, "query": query}
            hub.push_update(
                "inline_query",
                {
                    "id": query_id,
                    "from": user.as_telegram(),
                    "query": query,
                    "offset": str(data.get("offset") or ""),
                    "chat_type": "sender",
                },
            )
            hub.notify_updates()  # an inline query is the bot's alone: no chat changes
            try:
                answer = await asyncio.wait_for(asyncio.shield(fut), timeout=max(wait, 0.0))
                return {"answered": True, "query_id": query_id, **answer}
            except TimeoutError:
                return {"results": None, "answered": False}
            finally:
                hub.inline_waiters.pop(query_id, None)
                hub.inline_asked.pop(query_id, None)

        return await self.run(run)

    # ---------------------------------------------------------------- the sandbox itself
    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.hub.stats.as_dict())

    async def bot_info(self, request: web.Request) -> web.Response:
        hub = self.hub
        bot = hub.bot_user(hub.default_bot_token)
        info = await get_webhook_info(hub, bot, Params({}))
        return web.json_response({"bot": bot, "commands": hub.state.commands, "webhook": info})
