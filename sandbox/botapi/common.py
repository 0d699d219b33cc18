"""What many Bot API methods share: finding the chat, parsing formatted text and keyboards, replies, and storing
the bot's message in the chat."""

from __future__ import annotations

import copy
import re
from typing import Any

from ..errors import bad_request
from ..formatting import EntityParseError, parse_formatted, utf16_len
from ..hub import Hub
from ..params import Params
from ..state import JsonDict, SandboxUser, StoredMessage

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
INLINE_BUTTON_ACTIONS = (
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def resolve_chat(hub: Hub, params: Params) -> SandboxUser:
    raw = params.values.get("chat_id")
    if raw is None or raw == "":
        raise bad_request("chat_id is empty")
    ref: int | str = raw if isinstance(raw, int) and not isinstance(raw, bool) else str(raw)
    user = hub.state.find_user(ref)
    if user is None:
        raise bad_request("chat not found")
    return user


def formatted(
    params: Params, text_key: str, entities_key: str, limit: int, *, required: bool
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


def caption_content(params: Params) -> JsonDict:
    caption, entities = formatted(params, "caption", "caption_entities", MAX_CAPTION, required=False)
    content: JsonDict = {}
    if caption:
        content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
    return content


def markup(params: Params, *, inline_only: bool = False) -> tuple[str, Any]:
    """Returns (kind, value): ("none", None) | ("inline", markup) | ("reply", (rows, one_time))
    | ("remove", None) | ("force_reply", None)."""
    raw = params.get_json("reply_markup")
    if raw is None:
        return "none", None
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        return "inline", {"inline_keyboard": inline_keyboard(raw["inline_keyboard"])}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        rows = raw["keyboard"]
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
        return "reply", (norm, bool(raw.get("one_time_keyboard")))
    if raw.get("remove_keyboard"):
        return "remove", None
    if raw.get("force_reply"):
        return "force_reply", None
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_keyboard(rows: Any) -> list[list[JsonDict]]:
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
            for key in INLINE_BUTTON_ACTIONS:
                if key in button:
                    btn[key] = button[key]
                    actions += 1
            if actions == 0:
                raise bad_request("text buttons are unallowed in the inline keyboard")
            out_row.append(btn)
        if out_row:
            result.append(out_row)
    return result


def reply_to(hub: Hub, chat_id: int, params: Params) -> JsonDict | None:
    reply_id = params.get_int("reply_to_message_id")
    allow = params.get_bool("allow_sending_without_reply")
    reply_params = params.get_json("reply_parameters")
    if isinstance(reply_params, dict) and reply_params.get("message_id"):
        reply_id = int(reply_params["message_id"])
        allow = allow or bool(reply_params.get("allow_sending_without_reply"))
    if not reply_id:
        return None
    target = hub.state.get_message(chat_id, reply_id)
    if target is None:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    quoted = copy.deepcopy(target.tg)
    quoted.pop("reply_to_message", None)
    return quoted


async def bot_message(
    hub: Hub,
    bot: JsonDict,
    user: SandboxUser,
    params: Params,
    content: JsonDict,
    *,
    keyboard: tuple[str, Any] | None = None,
) -> StoredMessage:
    """Stores a message from the bot in the chat with `user`, applying its keyboard and reply."""
    kind, value = keyboard if keyboard is not None else markup(params)
    reply = reply_to(hub, user.id, params)
    if reply is not None:
        content["reply_to_message"] = reply
    reply_keyboard: list[list[JsonDict]] | None = None
    if kind == "inline":
        content["reply_markup"] = value
    elif kind == "reply":
        reply_keyboard = value[0]
    if params.get_bool("protect_content"):
        content["has_protected_content"] = True
    state = hub.state
    msg = state.add_message(user.id, from_bot=True, sender=bot, content=content, reply_keyboard=reply_keyboard)
    chat = state.chat(user.id)
    if kind == "reply":
        chat.reply_keyboard, chat.one_time_keyboard = value
    elif kind == "remove":
        chat.reply_keyboard, chat.one_time_keyboard = None, False
    hub.stats.messages_per_chat[user.id] += 1
    hub.stats.texts_per_chat.setdefault(user.id, []).append(str(content.get("text") or content.get("caption") or ""))
    await hub.notify()
    return msg


def target_message(hub: Hub, params: Params, action: str) -> StoredMessage:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    user = resolve_chat(hub, params)
    message_id = params.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    msg = hub.state.get_message(user.id, message_id)
    if msg is None:
        raise bad_request(f"message to {action} not found")
    return msg
