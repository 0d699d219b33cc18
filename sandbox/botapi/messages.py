"""Text messages: sendMessage, the editMessage* family and deleteMessage(s)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..params import Params
from ..state import JsonDict, StoredMessage
from .common import (
    MAX_TEXT,
    bot_message,
    caption_content,
    formatted,
    markup,
    resolve_chat,
    resolve_recipient,
    target_message,
)

MAX_DELETE = 100
"""deleteMessages: «A JSON-serialized list of 1-100 identifiers of messages to delete»."""


async def send_message(hub: Hub, bot: JsonDict, params: Params) -> Any:
    text, entities = formatted(params, "text", "entities", MAX_TEXT, required=True)  # checked before the chat
    user = resolve_recipient(hub, params)
    content: JsonDict = {"text": text}
    if entities:
        content["entities"] = entities
    msg = await bot_message(hub, bot, user, params, content)
    return msg.tg


async def edit_message_text(hub: Hub, bot: JsonDict, params: Params) -> Any:
    msg = target_message(hub, params, "edit")
    text, entities = formatted(params, "text", "entities", MAX_TEXT, required=True)
    keyboard = markup(params, inline_only=True)
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if "text" not in msg.tg:
        raise bad_request("there is no text in the message to edit")
    new = {
        "text": text,
        "entities": entities or None,
        "reply_markup": keyboard[1] if keyboard[0] == "inline" else None,
    }
    return await apply_edit(hub, msg, new)


async def edit_message_caption(hub: Hub, bot: JsonDict, params: Params) -> Any:
    msg = target_message(hub, params, "edit")
    content = caption_content(params)
    keyboard = markup(params, inline_only=True)
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if "text" in msg.tg:
        raise bad_request("there is no caption in the message to edit")
    new = {
        "caption": content.get("caption"),
        "caption_entities": content.get("caption_entities"),
        "reply_markup": keyboard[1] if keyboard[0] == "inline" else None,
    }
    return await apply_edit(hub, msg, new)


async def edit_message_reply_markup(hub: Hub, bot: JsonDict, params: Params) -> Any:
    msg = target_message(hub, params, "edit")
    keyboard = markup(params, inline_only=True)
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return await apply_edit(hub, msg, {"reply_markup": keyboard[1] if keyboard[0] == "inline" else None})


async def apply_edit(hub: Hub, msg: StoredMessage, new: JsonDict) -> Any:
    if all(msg.tg.get(key) == value for key, value in new.items()):
        raise bad_request(
            "message is not modified: specified new message content and reply markup are exactly "
            "the same as a current content and reply markup of the message"
        )
    hub.spend(msg.chat_id)  # edits count against the chat's limits as new messages do
    for key, value in new.items():
        if value is None:
            msg.tg.pop(key, None)
        else:
            msg.tg[key] = value
    msg.tg["edit_date"] = int(time.time())
    msg.edited = True
    hub.state.touch(msg)
    await hub.notify(msg.chat_id)
    return msg.tg


async def delete_message(hub: Hub, bot: JsonDict, params: Params) -> Any:
    msg = target_message(hub, params, "delete")
    msg.deleted = True
    hub.state.touch(msg)
    await hub.notify(msg.chat_id)
    return True


async def delete_messages(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_chat(hub, params)
    ids = params.get_json("message_ids")
    if not isinstance(ids, list) or not ids:
        raise bad_request("message identifiers are not specified")
    if len(ids) > MAX_DELETE:
        raise bad_request("too many message identifiers specified")
    for message_id in ids:
        msg = hub.state.get_message(user.id, int(message_id))
        if msg is not None:
            msg.deleted = True
            hub.state.touch(msg)
    await hub.notify(user.id)
    return True


METHODS = {
    "sendmessage": send_message,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "deletemessages": delete_messages,
}
