"""What many Bot API methods share: finding the chat, parsing formatted text and keyboards, replies, and storing
the bot's message in the chat."""

from __future__ import annotations

import copy
import re
from typing import Any

from ..errors import ApiError, bad_request
from ..formatting import (
    EntityParseError,
    UnsupportedParseMode,
    parse_formatted,
    trim,
    utf16_len,
    with_auto_entities,
)
from ..hub import Hub
from ..params import Params
from ..state import JsonDict, Peer, SandboxGroup, StoredMessage

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_INLINE_BUTTONS = 100
"""Telegram refuses bigger inline keyboards with «reply markup is too long» (REPLY_MARKUP_TOO_LONG)."""
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


def resolve_chat(hub: Hub, params: Params) -> Peer:
    raw = params.values.get("chat_id")
    if raw is None or raw == "":
        raise bad_request("chat_id is empty")
    ref: int | str = raw if isinstance(raw, int) and not isinstance(raw, bool) else str(raw).strip()
    group = hub.state.groups.get(ref if isinstance(ref, int) else int(ref) if re.fullmatch(r"-\d+", ref) else 0)
    if group is not None:
        return group
    # "@username" names public chats and channels only; a private user is never found by it (Bot API: chat_id is
    # "unique identifier for the target chat or username of the target channel").
    user = None if isinstance(ref, str) and ref.startswith("@") else hub.state.find_user(ref)
    if user is None:
        raise bad_request("chat not found")
    return user


def resolve_recipient(hub: Hub, params: Params) -> Peer:
    """The chat a new message goes to: a person who blocked the bot or never started it cannot receive one, nor can
    a group the bot is not (or no longer) a member of (the official server's texts)."""
    peer = resolve_chat(hub, params)
    if isinstance(peer, SandboxGroup):
        kind = "supergroup chat" if peer.type == "supergroup" else "group chat"
        if peer.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if peer.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        return peer
    if peer.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    if not peer.started:
        raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
    return peer


def formatted(
    params: Params, text_key: str, entities_key: str, limit: int, *, required: bool
) -> tuple[str | None, list[JsonDict]]:
    """Text and entities as Telegram stores them: parsed (or explicit entities, checked), trimmed, with the
    automatic url/mention/hashtag/bot_command/email entities added."""
    raw = params.get_str(text_key)
    if raw is None or raw.strip() == "":
        if required:
            raise bad_request("message text is empty")
        return None, []
    explicit = params.get_json(entities_key)
    parse_mode = params.get_str("parse_mode")
    try:
        # The official server parses with parse_mode when one is given (and not "none"); only otherwise does it
        # take the explicit entities.
        if isinstance(explicit, list) and (parse_mode or "").lower() in ("", "none"):
            text, entities = raw, checked_entities(raw, explicit)
        else:
            text, entities = parse_formatted(raw, parse_mode)
    except UnsupportedParseMode as exc:
        raise bad_request("unsupported parse_mode") from exc
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from exc
    text, entities = trim(text, entities)
    if not text:
        if required:
            raise bad_request("message text is empty")
        return None, []
    if utf16_len(text) > limit:
        raise bad_request("message is too long" if text_key == "text" else "message caption is too long")
    return text, with_auto_entities(text, entities)


def checked_entities(text: str, raw: list[Any]) -> list[JsonDict]:
    """Explicit entities must lie inside the text (UTF-16 offsets). The texts are TDLib's (`fix_formatted_text`,
    td/telegram/MessageEntity.cpp) as the official server passes them on: «Bad Request: » and the first letter
    lower-cased (telegram-bot-api, Client.cpp, `fail_query_with_error`); no «can't parse entities» prefix, which
    belongs to parse_mode errors."""
    size = utf16_len(text)
    result: list[JsonDict] = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request("can't parse MessageEntity: expected an Object")  # Client.cpp, `get_text_entity`
        if not isinstance(item.get("type"), str):
            raise bad_request("can't parse MessageEntity: Unsupported type specified")
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= 1_000_000:
            raise bad_request(f"receive an entity with incorrect offset {offset}")
        if not isinstance(length, int) or isinstance(length, bool) or not 0 <= length <= 1_000_000:
            raise bad_request(f"receive an entity with incorrect length {length}")
        if length == 0:
            continue
        if offset > size:
            raise bad_request(f"entity begins after the end of the text at UTF-16 offset {offset}")
        if offset + length > size:
            raise bad_request(
                f"entity beginning at UTF-16 offset {offset} ends after the end of the text at UTF-16 offset "
                f"{offset + length}"
            )
        result.append(dict(item))
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


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
        keyboard = inline_keyboard(raw["inline_keyboard"])
        if sum(len(row) for row in keyboard) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        return "inline", {"inline_keyboard": keyboard}
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
            if "web_app" in button:
                web_app = button["web_app"]
                url = web_app.get("url") if isinstance(web_app, dict) else None
                if not isinstance(url, str) or not url.startswith("https://"):
                    # Bot API (WebAppInfo): «An HTTPS URL of a Web App to be opened»
                    raise bad_request(
                        f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links are allowed"
                    )
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
    user: Peer,
    params: Params,
    content: JsonDict,
    *,
    keyboard: tuple[str, Any] | None = None,
    counted: bool = False,
) -> StoredMessage:
    """Stores a message from the bot in the chat with `user`, applying its keyboard and reply; spends flood
    control unless the caller already did (`counted`, for albums)."""
    kind, value = keyboard if keyboard is not None else markup(params)
    reply = reply_to(hub, user.id, params)
    if not counted:
        hub.spend(user.id)
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
    await hub.notify(user.id)
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
