"""The bot's settings and chat information: set/get/deleteMyCommands, sendChatAction, getChat, and the settings
methods the sandbox accepts without effect (the bot's description, menu button, ...)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..params import Params
from ..state import JsonDict
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
    user = resolve_chat(hub, params)
    pinned = hub.state.get_message(user.id, hub.pinned.get(user.id, 0))
    extra: JsonDict = {"pinned_message": pinned.tg} if pinned is not None else {}
    return {
        **user.as_chat(),
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


async def get_chat_member(hub: Hub, bot: JsonDict, params: Params) -> Any:
    """In a private chat the members are the person and the bot; the bot is «kicked» once the person blocked it."""
    user = resolve_chat(hub, params)
    member_id = params.get_int("user_id")
    if member_id is None:
        raise bad_request('parameter "user_id" is required')
    if member_id == user.id:
        return {"status": "member", "user": user.as_telegram()}
    if member_id == bot["id"]:
        return {"status": "kicked", "user": bot, "until_date": 0} if user.blocked else {"status": "member", "user": bot}
    raise bad_request("user not found")


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
