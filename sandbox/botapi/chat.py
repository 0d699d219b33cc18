"""The bot's settings and chat information: set/get/deleteMyCommands, sendChatAction, getChat, and the settings
methods the sandbox accepts without effect (the bot's description, menu button, ...)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..params import Params
from ..state import JsonDict
from .common import resolve_chat


def _commands_key(params: Params) -> str:
    scope = params.get_json("scope")
    scope_type = scope.get("type", "default") if isinstance(scope, dict) else "default"
    return f"{scope_type}:{params.get_str('language_code') or ''}"


async def set_my_commands(hub: Hub, bot: JsonDict, params: Params) -> Any:
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
    hub.state.commands[_commands_key(params)] = clean
    hub.state.dirty = True
    return True


async def get_my_commands(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return hub.state.commands.get(_commands_key(params), [])


async def delete_my_commands(hub: Hub, bot: JsonDict, params: Params) -> Any:
    hub.state.commands.pop(_commands_key(params), None)
    hub.state.dirty = True
    return True


async def send_chat_action(hub: Hub, bot: JsonDict, params: Params) -> Any:
    resolve_chat(hub, params)
    if not params.get_str("action"):
        raise bad_request("wrong parameter action in request")
    return True


async def get_chat(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_chat(hub, params)
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


async def noop(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return True


METHODS = {
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "sendchataction": send_chat_action,
    "getchat": get_chat,
    **{
        name: noop
        for name in (
            "logout",
            "close",
            "setmydescription",
            "setmyshortdescription",
            "setmyname",
            "setchatmenubutton",
            "setmydefaultadministratorrights",
            "setmessagereaction",
        )
    },
}
