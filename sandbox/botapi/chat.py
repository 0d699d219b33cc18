"""The bot's settings and chat information: set/get/deleteMyCommands, sendChatAction, getChat, and the settings
methods the sandbox accepts without effect (the bot's description, menu button, ...)."""

from __future__ import annotations

import re
import time
from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..params import Params
from ..state import PRESENT, JsonDict, SandboxGroup
from .common import resolve_chat, resolve_recipient

SCOPES = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}
"""Bot API (BotCommandScope): the scope types and what identifies each one."""


def _commands_key(params: Params) -> str:
    """Commands are kept per scope (with its chat/user) and per language, as Telegram keeps them."""
    scope = params.get_json("scope")
    if scope is None:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    parts = [str(scope["type"])]
    for key in SCOPES[str(scope["type"])]:
        if scope.get(key) in (None, ""):
            raise bad_request(f'field "{key}" must be specified in the scope')
        parts.append(str(scope[key]))
    language = params.get_str("language_code") or ""
    if language and not re.match(r"^[a-z]{2}$", language):
        raise bad_request("invalid language code specified")
    return ":".join(parts) + f":{language}"


async def set_my_commands(hub: Hub, bot: JsonDict, params: Params) -> Any:
    commands = params.get_json("commands")
    if not isinstance(commands, list):
        raise bad_request('parameter "commands" is required')
    if len(commands) > 100:  # Bot API (setMyCommands): «At most 100 commands can be specified»
        raise bad_request("too many commands specified")
    clean: list[JsonDict] = []
    for cmd in commands:
        if not isinstance(cmd, dict) or not re.match(r"^[a-z0-9_]{1,32}$", str(cmd.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = str(cmd.get("description", ""))
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": cmd["command"], "description": description})
    hub.state.commands[_commands_key(params)] = clean
    hub.state.dirty = True
    return True


async def get_my_commands(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return hub.state.commands.get(_commands_key(params), [])


async def delete_my_commands(hub: Hub, bot: JsonDict, params: Params) -> Any:
    hub.state.commands.pop(_commands_key(params), None)
    hub.state.dirty = True
    return True


CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
    "record_audio",  # the old names of record_voice/upload_voice, still accepted by the official server
    "upload_audio",
}


async def send_chat_action(hub: Hub, bot: JsonDict, params: Params) -> Any:
    action = (params.get_str("action") or "").strip().lower()
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    resolve_recipient(hub, params)
    return True


async def get_chat(hub: Hub, bot: JsonDict, params: Params) -> Any:
    chat = resolve_chat(hub, params)
    pinned = hub.state.get_message(chat.id, hub.pinned.get(chat.id, 0))
    extra: JsonDict = {"pinned_message": pinned.tg} if pinned is not None else {}
    if isinstance(chat, SandboxGroup):
        if chat.bot_status not in PRESENT:
            raise bad_request("chat not found")  # a bot knows only the groups it is in
        extra["permissions"] = {"can_send_messages": True, "can_invite_users": True}
    return {
        **chat.as_chat(),
        **extra,
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


async def pin_chat_message(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_chat(hub, params)
    message_id = params.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    if hub.state.get_message(user.id, message_id) is None:
        raise bad_request("message to pin not found")
    hub.pinned[user.id] = message_id
    return True


async def unpin_chat_message(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_chat(hub, params)
    message_id = params.get_int("message_id")
    if message_id is None or hub.pinned.get(user.id) == message_id:
        hub.pinned.pop(user.id, None)
    return True


def member(status: str, user: JsonDict) -> JsonDict:
    """A ChatMember object (Bot API): a kicked member carries until_date 0 (for ever)."""
    data: JsonDict = {"status": status, "user": user}
    if status == "kicked":
        data["until_date"] = 0
    if status == "creator":
        data["is_anonymous"] = False
    if status == "administrator":  # ChatMemberAdministrator: the rights a group's creator gives by default
        data.update(can_be_edited=False, is_anonymous=False)
        for right in ADMIN_RIGHTS:
            data[right] = right not in ("can_promote_members", "can_manage_topics")
    return data


ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
    "can_pin_messages",
    "can_manage_topics",
)
"""ChatMemberAdministrator's rights (Bot API 9.x): all but the last two are required fields."""


async def get_chat_member(hub: Hub, bot: JsonDict, params: Params) -> Any:
    """In a private chat the members are the person and the bot; the bot is «kicked» once the person blocked it.
    In a group: every person ever in it with their status, and the bot."""
    chat = resolve_chat(hub, params)
    member_id = params.get_int("user_id")
    if member_id is None:
        raise bad_request('parameter "user_id" is required')
    if isinstance(chat, SandboxGroup):
        if member_id == bot["id"]:
            return member(chat.bot_status, bot)
        person = hub.state.users.get(member_id)
        if person is None:
            raise bad_request("user not found")
        return member(chat.members.get(member_id, "left"), person.as_telegram())
    if member_id == chat.id:
        return {"status": "member", "user": chat.as_telegram()}
    if member_id == bot["id"]:
        return member("kicked" if chat.blocked else "member", bot)
    raise bad_request("user not found")


def _group(hub: Hub, params: Params) -> SandboxGroup:
    chat = resolve_chat(hub, params)
    if not isinstance(chat, SandboxGroup) or chat.bot_status not in PRESENT:
        raise bad_request("chat not found")
    return chat


async def get_chat_member_count(hub: Hub, bot: JsonDict, params: Params) -> Any:
    chat = resolve_chat(hub, params)
    if not isinstance(chat, SandboxGroup):
        return 2  # a private chat: the person and the bot
    return sum(1 for status in chat.members.values() if status in PRESENT) + (chat.bot_status in PRESENT)


async def get_chat_administrators(hub: Hub, bot: JsonDict, params: Params) -> Any:
    chat = _group(hub, params)
    admins = [
        member(status, hub.state.users[user_id].as_telegram())
        for user_id, status in chat.members.items()
        if status in ("creator", "administrator") and user_id in hub.state.users
    ]
    return admins + ([member("administrator", bot)] if chat.bot_status == "administrator" else [])


async def leave_chat(hub: Hub, bot: JsonDict, params: Params) -> Any:
    """The bot leaves a group: it gets `my_chat_member` (-> left) like any change of its status."""
    chat = _group(hub, params)
    old, chat.bot_status = chat.bot_status, "left"
    hub.state.dirty = True
    hub.push_update("my_chat_member", member_update(chat, bot, bot, old, "left"))
    hub.notify_updates()  # the bot's own update: no message in the group
    return True


def member_update(chat: SandboxGroup, actor: JsonDict, subject: JsonDict, old: str, new: str) -> JsonDict:
    """A ChatMemberUpdated (Bot API): who (`from`) changed whose status in which chat, from what to what."""
    return {
        "chat": chat.as_chat(),
        "from": actor,
        "date": int(time.time()),
        "old_chat_member": member(old, subject),
        "new_chat_member": member(new, subject),
    }


async def set_chat_menu_button(hub: Hub, bot: JsonDict, params: Params) -> Any:
    """Bot API (MenuButton): commands, web_app (text and an HTTPS web_app.url) or default; per chat or the bot's."""
    button = params.get_json("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if button["type"] == "web_app":
        url = (button.get("web_app") or {}).get("url") if isinstance(button.get("web_app"), dict) else None
        if not button.get("text") or not isinstance(url, str):
            raise bad_request("can't parse menu button JSON object")
        if not url.startswith("https://"):
            raise bad_request(f"menu button Web App URL '{url}' is invalid: Only HTTPS links are allowed")
    key = resolve_chat(hub, params).id if params.has("chat_id") else 0
    hub.menu_buttons[key] = dict(button)
    return True


async def get_chat_menu_button(hub: Hub, bot: JsonDict, params: Params) -> Any:
    key = resolve_chat(hub, params).id if params.has("chat_id") else 0
    return hub.menu_buttons.get(key) or hub.menu_buttons.get(0) or {"type": "default"}


async def noop(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return True


METHODS = {
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "sendchataction": send_chat_action,
    "getchat": get_chat,
    "pinchatmessage": pin_chat_message,
    "unpinchatmessage": unpin_chat_message,
    "getchatmember": get_chat_member,
    "getchatmembercount": get_chat_member_count,
    "getchatadministrators": get_chat_administrators,
    "leavechat": leave_chat,
    "setchatmenubutton": set_chat_menu_button,
    "getchatmenubutton": get_chat_menu_button,
    **{
        name: noop
        for name in (
            "logout",
            "close",
            "setmydescription",
            "setmyshortdescription",
            "setmyname",
            "setmydefaultadministratorrights",
            "setmessagereaction",
        )
    },
}
