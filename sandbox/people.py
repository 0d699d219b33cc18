"""What people do besides writing and pressing buttons (user API, under ``/sandbox/api/users/{id}``):

- ``POST .../block`` / ``POST .../unblock``: the person blocks or unblocks the bot. The bot gets a
  ``my_chat_member`` update (member -> kicked, kicked -> member) and, while blocked, every message to the person
  fails with 403 «Forbidden: bot was blocked by the user». Answers the user as ``GET /users/{id}`` does.
- ``PATCH .../messages/{message_id}`` {text}: the person edits a text message they sent; the bot gets
  ``edited_message``. Answers the message as the chat view shows it.
- ``DELETE .../messages/{message_id}``: the person deletes a message they sent (Telegram tells the bot nothing
  about deletions in private chats). Answers ``{"deleted": true}``.
- ``POST .../forwards`` {message_id, from_user_id?}: the person forwards a message to the bot, from their own
  chat with it or from the chat of ``from_user_id``; the bot gets a ``message`` with ``forward_origin``.
- ``POST .../web_app`` {message_id, text, auth_date?}: the person opens the Mini App of the ``web_app`` button
  `text` on that bot message (or, without message_id, on the reply keyboard shown); answers ``{"url", "init_data",
  "launch_url"}`` with `init_data` signed as Telegram signs it (`sandbox.webapp`), and `launch_url` the address a
  Telegram client loads: the button's URL with ``#tgWebAppData=<init_data>&tgWebAppVersion=…&tgWebAppPlatform=…``
  (so a browser can play the client). `auth_date` (Unix time) is when Telegram says it was opened; without it,
  now — a test whose bot runs on a moved clock passes that clock's now.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from aiohttp import web

from .botapi.chat import member
from .errors import UserApiError
from .formatting import auto_entities, utf16_len
from .hub import Hub
from .state import JsonDict
from .user_api import UserApi
from .views import read_json, view_message
from .webapp import init_data, launch_url, web_app_url

USERS = "/sandbox/api/users/{user_id}"


class People:
    def __init__(self, hub: Hub, user_api: UserApi) -> None:
        self.hub = hub
        self.user_api = user_api

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(USERS + "/block", self.block)
        app.router.add_post(USERS + "/unblock", self.unblock)
        app.router.add_patch(USERS + "/messages/{message_id}", self.edit)
        app.router.add_delete(USERS + "/messages/{message_id}", self.delete)
        app.router.add_post(USERS + "/forwards", self.forward)
        app.router.add_post(USERS + "/web_app", self.open_web_app)

    def _bot(self) -> JsonDict:
        return self.hub.bot_user(self.hub.default_bot_token)

    async def _set_blocked(self, request: web.Request, blocked: bool) -> web.Response:
        async def run() -> Any:
            user = self.user_api.user(request)
            if user.blocked != blocked:
                user.blocked = blocked
                self.hub.state.dirty = True
                old, new = ("member", "kicked") if blocked else ("kicked", "member")
                bot = self._bot()
                # ChatMemberBanned always carries until_date, also as the old status of an unblock (a client
                # library refuses the update without it).
                self.hub.push_update(
                    "my_chat_member",
                    {
                        "chat": user.as_chat(),
                        "from": user.as_telegram(),
                        "date": int(time.time()),
                        "old_chat_member": member(old, bot),
                        "new_chat_member": member(new, bot),
                    },
                )
                if not blocked:
                    user.started = True  # unblocking in a client restarts the bot
                self.hub.notify_updates()  # the bot's my_chat_member; the chat's messages are as they were
            return user.as_api()

        return await self.user_api.run(run)

    async def block(self, request: web.Request) -> web.Response:
        return await self._set_blocked(request, True)

    async def unblock(self, request: web.Request) -> web.Response:
        return await self._set_blocked(request, False)

    def _own_message(self, request: web.Request) -> Any:
        user = self.user_api.user(request)
        raw = request.match_info["message_id"]
        if not raw.isdigit():
            raise UserApiError(400, f"invalid message id {raw!r}")
        msg = self.hub.state.get_message(user.id, int(raw))
        if msg is None or msg.from_bot:
            raise UserApiError(404, f"user {user.id} has no message {raw} of their own")
        return user, msg

    async def edit(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            _, msg = self._own_message(request)
            data = await read_json(request)
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise UserApiError(400, "text (non-empty string) is required")
            if "text" not in msg.tg:
                raise UserApiError(400, "only text messages can be edited")
            if utf16_len(text) > 4096:
                raise UserApiError(400, "text is longer than 4096 characters")
            if text == msg.tg["text"]:
                raise UserApiError(400, "the text is the same")  # a client sends nothing then
            msg.tg["text"] = text
            entities = auto_entities(text)
            if entities:
                msg.tg["entities"] = entities
            else:
                msg.tg.pop("entities", None)
            msg.tg["edit_date"] = int(time.time())
            msg.edited = True
            self.hub.state.touch(msg)
            self.hub.push_update("edited_message", copy.deepcopy(msg.tg))
            await self.hub.notify(msg.chat_id)
            return view_message(msg, request)

        return await self.user_api.run(run)

    async def delete(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            _, msg = self._own_message(request)
            msg.deleted = True
            self.hub.state.touch(msg)
            await self.hub.notify(msg.chat_id)
            return {"deleted": True}

        return await self.user_api.run(run)

    async def forward(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            state = self.hub.state
            user = self.user_api.user(request)
            if user.blocked:
                raise UserApiError(409, f"user {user.id} has blocked the bot: POST /users/{user.id}/unblock first")
            data = await read_json(request)
            message_id = data.get("message_id")
            source_id = data.get("from_user_id", user.id)
            if not isinstance(message_id, int) or not isinstance(source_id, int):
                raise UserApiError(400, "message_id (integer) is required; from_user_id must be an integer")
            original = state.get_message(source_id, message_id)
            if original is None:
                raise UserApiError(404, f"message {message_id} not found in the chat of user {source_id}")
            sender = original.tg["from"]
            content: JsonDict = {
                key: copy.deepcopy(value)
                for key, value in original.tg.items()
                if key not in ("message_id", "from", "chat", "date", "reply_to_message", "reply_markup", "edit_date")
            }
            content["forward_origin"] = {"type": "user", "sender_user": sender, "date": original.tg["date"]}
            user.started = True
            msg = state.add_message(user.id, from_bot=False, sender=user.as_telegram(), content=content)
            self.hub.push_update("message", copy.deepcopy(msg.tg))
            await self.hub.notify(user.id)
            return view_message(msg, request)

        return await self.user_api.run(run)

    async def open_web_app(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            state = self.hub.state
            user = self.user_api.user(request)
            data = await read_json(request)
            text, message_id = data.get("text"), data.get("message_id")
            if message_id is not None:
                msg = state.get_message(user.id, message_id) if isinstance(message_id, int) else None
                if msg is None or not msg.from_bot:
                    raise UserApiError(404, f"bot message {message_id} not found in the chat with user {user.id}")
                rows = (msg.tg.get("reply_markup") or {}).get("inline_keyboard") or []
            else:
                rows = state.chat(user.id).reply_keyboard or []
            urls = [web_app_url(b) for row in rows for b in row if b.get("text") == text]
            url = next((u for u in urls if u), None)
            if url is None:
                raise UserApiError(400, f"no web_app button {text!r} there")
            auth_date = data.get("auth_date")
            if auth_date is not None and not isinstance(auth_date, int):
                raise UserApiError(400, "auth_date must be Unix time, an integer")
            signed = init_data(self.hub.default_bot_token, user, auth_date=auth_date)
            return {"url": url, "init_data": signed, "launch_url": launch_url(url, signed)}

        return await self.user_api.run(run)
