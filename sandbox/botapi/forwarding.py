"""forwardMessage and copyMessage between chats the sandbox knows (Bot API: forwardMessage returns the sent
Message with `forward_origin`; copyMessage returns only its MessageId and the copy has no link to the original)."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..params import Params
from ..state import JsonDict, StoredMessage
from .common import bot_message, formatted, markup, resolve_chat, resolve_recipient

# What a forward or copy never carries over from the original.
NOT_COPIED = {"message_id", "from", "chat", "date", "edit_date", "reply_to_message", "reply_markup", "forward_origin"}
SERVICE_KEYS = {"new_chat_members", "left_chat_member", "pinned_message", "my_chat_member"}


def _source(hub: Hub, params: Params, action: str) -> StoredMessage:
    raw = params.values.get("from_chat_id")
    if raw is None or raw == "":
        raise bad_request('parameter "from_chat_id" is required')
    chat = resolve_chat(hub, Params({"chat_id": raw}))
    message_id = params.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    msg = hub.state.get_message(chat.id, message_id)
    if msg is None:
        raise bad_request(f"message to {action} not found")
    if SERVICE_KEYS & msg.tg.keys():
        raise bad_request(f"message can't be {'copied' if action == 'copy' else 'forwarded'}")
    return msg


async def forward_message(hub: Hub, bot: JsonDict, params: Params) -> Any:
    original = _source(hub, params, "forward")  # the official server checks the source first
    user = resolve_recipient(hub, params)
    if original.tg.get("has_protected_content"):
        raise bad_request("message can't be forwarded")
    content = {k: copy.deepcopy(v) for k, v in original.tg.items() if k not in NOT_COPIED}
    content["forward_origin"] = copy.deepcopy(original.tg.get("forward_origin")) or {
        "type": "user",
        "sender_user": original.tg["from"],
        "date": original.tg["date"],
    }
    msg = await bot_message(hub, bot, user, Params({"chat_id": user.id}), content, keyboard=("none", None))
    return msg.tg


async def copy_message(hub: Hub, bot: JsonDict, params: Params) -> Any:
    original = _source(hub, params, "copy")  # the official server checks the source first
    user = resolve_recipient(hub, params)
    if original.tg.get("has_protected_content"):
        raise bad_request("message can't be copied")
    content = {k: copy.deepcopy(v) for k, v in original.tg.items() if k not in NOT_COPIED}
    if params.has("caption") and "text" not in content:  # a new caption replaces the old one
        caption, entities = formatted(params, "caption", "caption_entities", 1024, required=False)
        content.pop("caption", None)
        content.pop("caption_entities", None)
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
    msg = await bot_message(hub, bot, user, params, content, keyboard=markup(params))
    return {"message_id": msg.message_id}


METHODS = {
    "forwardmessage": forward_message,
    "copymessage": copy_message,
}
