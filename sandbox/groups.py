"""Group chats in the user API (under ``/sandbox/api/groups``): people make a group, add and remove members (the bot
among them), write there and press buttons, and the bot gets the updates Telegram sends for it.

- ``POST /groups`` {title, creator_id, type?: "group" | "supergroup", member_ids?, bot?: bool}: a new group with
  its creator and members. With ``bot: true`` the bot is added at once: in a basic group it gets
  ``my_chat_member`` (left -> member) and a ``message`` with ``group_chat_created``; in a supergroup (which a bot
  cannot be in at creation) the same as when someone adds it later. Answers the group as ``GET /groups/{id}``.
- ``GET /groups``, ``GET /groups/{id}``: {id, title, type, creator_id, members: {person id: status}, bot_status}.
- ``POST /groups/{id}/members`` {user_id | bot: true, by?}: `by` (default: the creator) adds a person or the bot.
  The bot: ``my_chat_member`` (left -> member) and a ``message`` with ``new_chat_members`` [bot]. A person: a
  ``message`` with ``new_chat_members`` (a service message: every bot in the group gets it), and, when the bot is
  an administrator and asked for them in ``allowed_updates``, ``chat_member``.
- ``DELETE /groups/{id}/members/{user_id}?by=`` (the bot's id for the bot): `by` removes them (a person who
  removes themself leaves). The bot: ``my_chat_member`` (-> kicked; sends there get 403 «bot was kicked from the
  group chat») and nothing more from that group; a person: ``left_chat_member`` and, for an administrator bot,
  ``chat_member`` (-> left in a group, -> kicked in a supergroup).
- ``PATCH /groups/{id}/members/{user_id}`` {status: "administrator" | "member", by?}: promote or demote (the bot:
  ``my_chat_member``; a person: ``chat_member`` for an administrator bot).
- ``POST /groups/{id}/messages`` {from_user_id, text, reply_to_message_id?}: a member writes in the group. With
  privacy mode on (Telegram's default, `SandboxServer(group_privacy=...)`) the bot gets only commands
  (``/cmd`` or ``/cmd@its_username``, not another bot's), mentions of its @username, replies to its messages
  and service messages; as an administrator, or with privacy off, everything.
- ``GET /groups/{id}/messages?after=&version=&wait=``: the group's chat as its members see it.
- ``POST /groups/{id}/callbacks`` {from_user_id, message_id, data, wait?}: a member presses a button on a bot
  message in the group.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from aiohttp import web

from .botapi.chat import member_update
from .errors import UserApiError
from .formatting import auto_entities, utf16_len
from .hub import Hub
from .state import PRESENT, JsonDict, SandboxGroup, SandboxUser
from .user_api import UserApi
from .views import read_json, view_message

GROUPS = "/sandbox/api/groups"


class Groups:
    def __init__(self, hub: Hub, user_api: UserApi) -> None:
        self.hub = hub
        self.user_api = user_api

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(GROUPS, self.list_groups)
        app.router.add_post(GROUPS, self.create)
        app.router.add_get(GROUPS + "/{group_id}", self.get_group)
        app.router.add_post(GROUPS + "/{group_id}/members", self.add_member)
        app.router.add_delete(GROUPS + "/{group_id}/members/{user_id}", self.remove_member)
        app.router.add_patch(GROUPS + "/{group_id}/members/{user_id}", self.change_member)
        app.router.add_post(GROUPS + "/{group_id}/messages", self.send)
        app.router.add_get(GROUPS + "/{group_id}/messages", self.read)
        app.router.add_post(GROUPS + "/{group_id}/callbacks", self.press)

    # ---------------------------------------------------------------- helpers
    def _bot(self) -> JsonDict:
        return self.hub.bot_user(self.hub.default_bot_token)

    def _group(self, request: web.Request) -> SandboxGroup:
        raw = request.match_info["group_id"]
        group = self.hub.state.groups.get(int(raw)) if re.fullmatch(r"-?\d+", raw) else None
        if group is None:
            raise UserApiError(404, f"unknown group {raw}")
        return group

    def _person(self, raw: object, what: str) -> SandboxUser:
        user_id = int(raw) if isinstance(raw, int | str) and re.fullmatch(r"\d+", str(raw)) else None
        person = self.hub.state.users.get(user_id) if user_id is not None else None
        if person is None:
            raise UserApiError(400 if user_id is None else 404, f"{what}: unknown user {raw!r}")
        return person

    def _member(self, group: SandboxGroup, raw: object, what: str) -> SandboxUser:
        person = self._person(raw, what)
        if not group.present(person.id):
            raise UserApiError(409, f"{what}: user {person.id} is not in group {group.id}")
        return person

    def _service(self, group: SandboxGroup, actor: SandboxUser, content: JsonDict) -> None:
        """A service message in the group: stored, and delivered to the bot while it is in the group."""
        msg = self.hub.state.add_message(group.id, from_bot=False, sender=actor.as_telegram(), content=content)
        if group.bot_status in PRESENT:
            self.hub.push_update("message", copy.deepcopy(msg.tg))

    def _bot_status(self, group: SandboxGroup, actor: SandboxUser, new: str) -> None:
        old, group.bot_status = group.bot_status, new
        self.hub.state.dirty = True
        self.hub.push_update("my_chat_member", member_update(group, actor.as_telegram(), self._bot(), old, new))

    def _person_status(self, group: SandboxGroup, actor: SandboxUser, person: SandboxUser, new: str) -> None:
        old = group.members.get(person.id, "left")
        group.members[person.id] = new
        self.hub.state.dirty = True
        # Bot API (Update.chat_member): «The bot must be an administrator in the chat and must explicitly specify
        # "chat_member" in the list of allowed_updates to receive these updates» (the hub checks the second part).
        if group.bot_status == "administrator":
            change = member_update(group, actor.as_telegram(), person.as_telegram(), old, new)
            self.hub.push_update("chat_member", change)

    def _add_bot(self, group: SandboxGroup, actor: SandboxUser) -> None:
        if group.bot_status in PRESENT:
            raise UserApiError(409, f"the bot is already in group {group.id}")
        self._bot_status(group, actor, "member")
        bot = self._bot()
        self._service(
            group, actor, {"new_chat_members": [bot], "new_chat_member": bot, "new_chat_participant": bot}
        )

    # ---------------------------------------------------------------- groups
    async def list_groups(self, request: web.Request) -> web.Response:
        return web.json_response([g.as_api() for g in self.hub.state.groups.values()])

    async def get_group(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            return self._group(request).as_api()

        return await self.user_api.run(run)

    async def create(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            data = await read_json(request)
            title, kind = data.get("title"), data.get("type", "group")
            if not isinstance(title, str) or not title.strip() or len(title) > 128:
                raise UserApiError(400, "title (1-128 characters) is required")
            if kind not in ("group", "supergroup"):
                raise UserApiError(400, 'type must be "group" or "supergroup"')
            creator = self._person(data.get("creator_id"), "creator_id")
            others = [self._person(raw, "member_ids") for raw in data.get("member_ids") or []]
            group = self.hub.state.add_group(title=title.strip(), kind=kind, creator_id=creator.id)
            for person in others:
                group.members.setdefault(person.id, "member")
            if data.get("bot") is True:
                if kind == "group":
                    # Bot API (Message.group_chat_created): the bot was in the group from its creation
                    self._bot_status(group, creator, "member")
                    self._service(group, creator, {"group_chat_created": True})
                else:
                    self._add_bot(group, creator)
            await self.hub.notify(group.id)
            return group.as_api()

        return await self.user_api.run(run)

    # ---------------------------------------------------------------- members
    async def add_member(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            group = self._group(request)
            data = await read_json(request)
            actor = self._member(group, data.get("by", group.creator_id), "by")
            if data.get("bot") is True or data.get("user_id") == self._bot()["id"]:
                self._add_bot(group, actor)
            else:
                person = self._person(data.get("user_id"), "user_id")
                if group.present(person.id):
                    raise UserApiError(409, f"user {person.id} is already in group {group.id}")
                self._person_status(group, actor, person, "member")
                joined = person.as_telegram()
                self._service(
                    group,
                    actor,
                    {"new_chat_members": [joined], "new_chat_member": joined, "new_chat_participant": joined},
                )
            await self.hub.notify(group.id)
            return group.as_api()

        return await self.user_api.run(run)

    async def remove_member(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            group = self._group(request)
            raw = request.match_info["user_id"]
            actor = self._member(group, request.query.get("by", str(group.creator_id)), "by")
            # A basic group forgets a person it removed (left); a supergroup bans them (kicked) until unbanned. The
            # bot itself sees the group as forbidden either way (kicked), and gets no message about its removal.
            gone = "kicked" if group.type == "supergroup" else "left"
            if raw == str(self._bot()["id"]):
                if group.bot_status not in PRESENT:
                    raise UserApiError(409, f"the bot is not in group {group.id}")
                self._bot_status(group, actor, "kicked")
                self.hub.notify_updates()  # the bot's my_chat_member only: no message in the group
            else:
                person = self._member(group, raw, "user_id")
                self._person_status(group, actor, person, "left" if person.id == actor.id else gone)
                left = person.as_telegram()
                self._service(group, actor, {"left_chat_member": left, "left_chat_participant": left})
                await self.hub.notify(group.id)
            return group.as_api()

        return await self.user_api.run(run)

    async def change_member(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            group = self._group(request)
            data = await read_json(request)
            status = data.get("status")
            if status not in ("administrator", "member"):
                raise UserApiError(400, 'status must be "administrator" or "member"')
            actor = self._member(group, data.get("by", group.creator_id), "by")
            raw = request.match_info["user_id"]
            if raw == str(self._bot()["id"]):
                if group.bot_status not in PRESENT:
                    raise UserApiError(409, f"the bot is not in group {group.id}")
                self._bot_status(group, actor, status)
            else:
                self._person_status(group, actor, self._member(group, raw, "user_id"), status)
            self.hub.notify_updates()  # my_chat_member or chat_member for the bot; no message in the group
            return group.as_api()

        return await self.user_api.run(run)

    # ---------------------------------------------------------------- messages
    def _for_the_bot(self, group: SandboxGroup, text: str, reply: JsonDict | None) -> bool:
        """Bot API («Privacy mode»): with privacy on, a bot that is not an administrator gets only commands meant
        for it, messages that mention it, and replies to its messages."""
        if group.bot_status not in PRESENT:
            return False
        if group.bot_status == "administrator" or not self.hub.group_privacy:
            return True
        username = self.hub.BOT_USERNAME.lower()
        if reply is not None and reply.get("from", {}).get("id") == self._bot()["id"]:
            return True
        command = re.match(r"^/[A-Za-z0-9_]{1,32}(?:@(\w+))?", text)
        if command is not None and (command.group(1) is None or command.group(1).lower() == username):
            return True
        return f"@{username}" in text.lower()

    async def send(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            state = self.hub.state
            group = self._group(request)
            data = await read_json(request)
            author = self._member(group, data.get("from_user_id"), "from_user_id")
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise UserApiError(400, "text (non-empty string) is required")
            if utf16_len(text) > 4096:
                raise UserApiError(400, "text is longer than 4096 characters")
            content: JsonDict = {"text": text}
            entities = auto_entities(text)
            if entities:
                content["entities"] = entities
            reply: JsonDict | None = None
            reply_id = data.get("reply_to_message_id")
            if reply_id is not None:
                target = state.get_message(group.id, reply_id) if isinstance(reply_id, int) else None
                if target is None:
                    raise UserApiError(400, f"message {reply_id} to reply to not found")
                reply = copy.deepcopy(target.tg)
                reply.pop("reply_to_message", None)
                content["reply_to_message"] = reply
            msg = state.add_message(group.id, from_bot=False, sender=author.as_telegram(), content=content)
            if self._for_the_bot(group, text, reply):
                self.hub.push_update("message", copy.deepcopy(msg.tg))
            await self.hub.notify(group.id)
            return view_message(msg, request)

        return await self.user_api.run(run)

    async def read(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            return await self.user_api.read_chat(request, self._group(request).id)

        return await self.user_api.run(run)

    async def press(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            group = self._group(request)
            data = await read_json(request)
            person = self._member(group, data.get("from_user_id"), "from_user_id")
            return await self.user_api.press(person, group.id, data)

        return await self.user_api.run(run)
