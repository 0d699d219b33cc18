"""More kinds of message: sendVideo, sendVoice, sendAudio (files), sendLocation, sendContact, sendPoll, and
editMessageMedia. Required parameters and the objects returned follow the Bot API documentation."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import bad_request
from ..files import document, file_input, photo_sizes, store_input
from ..hub import Hub
from ..params import Params
from ..state import JsonDict, StoredFile
from .common import bot_message, caption_content, formatted, markup, resolve_recipient, target_message
from .messages import apply_edit


def media_object(hub: Hub, kind: str, stored: StoredFile, params: Params) -> Any:
    """The Message field for a file of `kind`: Video, Voice, Audio (with what the bot said about it), Document,
    or the list of PhotoSize."""
    if kind == "photo":
        return photo_sizes(hub.state, stored)
    obj: JsonDict = document(stored)
    if kind == "document":
        return obj
    if kind == "voice":
        obj.pop("file_name", None)  # Voice has no file_name
    obj["duration"] = params.get_int("duration") or 0
    if kind == "video":
        obj["width"] = params.get_int("width") or 0
        obj["height"] = params.get_int("height") or 0
    if kind == "audio":
        for key in ("performer", "title"):
            if params.get_str(key):
                obj[key] = params.get_str(key)
    return obj


async def _send_file(hub: Hub, bot: JsonDict, params: Params, kind: str) -> Any:
    user = resolve_recipient(hub, params)
    content = caption_content(params)
    keyboard = markup(params)
    stored = file_input(hub.state, params, kind, kind)
    content[kind] = media_object(hub, kind, stored, params)
    msg = await bot_message(hub, bot, user, params, content, keyboard=keyboard)
    return msg.tg


async def send_video(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return await _send_file(hub, bot, params, "video")


async def send_voice(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return await _send_file(hub, bot, params, "voice")


async def send_audio(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return await _send_file(hub, bot, params, "audio")


async def send_location(hub: Hub, bot: JsonDict, params: Params) -> Any:
    # Official server (Client.cpp, `get_location`), before it looks at the chat: «latitude is empty», «longitude is
    # empty»; the range is TDLib's (Location.cpp).
    latitude, longitude = params.get_float("latitude"), params.get_float("longitude")
    if latitude is None:
        raise bad_request("latitude is empty")
    if longitude is None:
        raise bad_request("longitude is empty")
    user = resolve_recipient(hub, params)
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong location specified")
    location: JsonDict = {"latitude": latitude, "longitude": longitude}
    if params.get_float("horizontal_accuracy") is not None:
        location["horizontal_accuracy"] = params.get_float("horizontal_accuracy")
    msg = await bot_message(hub, bot, user, params, {"location": location})
    return msg.tg


async def send_contact(hub: Hub, bot: JsonDict, params: Params) -> Any:
    # Official server (`get_required_string_arg`, before it looks at the chat): «Parameter "…" is required».
    phone, first_name = params.get_str("phone_number"), params.get_str("first_name")
    if not phone:
        raise bad_request('parameter "phone_number" is required')
    if not first_name:
        raise bad_request('parameter "first_name" is required')
    user = resolve_recipient(hub, params)
    contact: JsonDict = {"phone_number": phone, "first_name": first_name}
    for key in ("last_name", "vcard"):
        if params.get_str(key):
            contact[key] = params.get_str(key)
    msg = await bot_message(hub, bot, user, params, {"contact": contact})
    return msg.tg


async def send_poll(hub: Hub, bot: JsonDict, params: Params) -> Any:
    """Bot API (sendPoll): question 1-300 characters, 2-12 options of 1-100 characters each. The texts are TDLib's
    (td/telegram/PollOption.cpp `get_poll_options`/`get_poll_option`; an empty text fails in `get_formatted_text`
    with «Text must be non-empty»), as the official server passes them on (first letter lower-cased). A single
    option passes TDLib and is refused by Telegram's own server (POLL_ANSWERS_INVALID, which the official server
    passes on unchanged because the second letter is a capital)."""
    user = resolve_recipient(hub, params)
    question = (params.get_str("question") or "").strip()
    if not question:
        raise bad_request("text must be non-empty")
    if len(question) > 300:
        raise bad_request("poll question length must not exceed 300")
    raw = params.get_json("options")
    if raw is not None and not isinstance(raw, list):
        raise bad_request("can't parse options JSON object")
    items = raw or []
    if not items:
        raise bad_request("poll must have at least one answer option")
    if len(items) > 12:
        raise bad_request("poll can't have more than 12 options")
    options: list[str] = []
    for item in items:
        text = item.get("text") if isinstance(item, dict) else item  # InputPollOption or a plain string
        if not isinstance(text, str) or not text.strip():
            raise bad_request("text must be non-empty")
        if len(text.strip()) > 100:
            raise bad_request("poll options length must not exceed 100")
        options.append(text)
    if len(options) < 2:
        raise bad_request("POLL_ANSWERS_INVALID")
    poll_type = params.get_str("type") or "regular"
    if poll_type not in ("regular", "quiz"):
        raise bad_request("wrong poll type specified")
    poll: JsonDict = {
        "id": str(secrets.randbelow(10**18)),
        "question": question,
        "options": [{"text": o.strip(), "voter_count": 0} for o in options],
        "total_voter_count": 0,
        "is_closed": params.get_bool("is_closed"),
        "is_anonymous": params.get_bool("is_anonymous") if params.has("is_anonymous") else True,
        "type": poll_type,
        "allows_multiple_answers": params.get_bool("allows_multiple_answers"),
    }
    msg = await bot_message(hub, bot, user, params, {"poll": poll})
    return msg.tg


MEDIA_KINDS = ("photo", "video", "audio", "document", "animation")


async def edit_message_media(hub: Hub, bot: JsonDict, params: Params) -> Any:
    """Bot API (editMessageMedia): replaces the photo/video/audio/document of a message (not a text message)."""
    msg = target_message(hub, params, "edit")
    media = params.get_json("media")
    if not isinstance(media, dict) or media.get("type") not in ("photo", "video", "audio", "document"):
        raise bad_request("can't parse InputMedia JSON object")
    keyboard = markup(params, inline_only=True)
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    if not any(kind in msg.tg for kind in MEDIA_KINDS):
        raise bad_request("there is no media in the message to edit")
    value = media.get("media")
    if not isinstance(value, str) or not value:
        raise bad_request("there is no media in the request")
    kind = str(media["type"])
    stored = store_input(hub.state, params.attached(value), kind)
    sub = Params({k: v for k, v in media.items() if k in ("caption", "parse_mode", "caption_entities")})
    caption, entities = formatted(sub, "caption", "caption_entities", 1024, required=False)
    new: JsonDict = {kind: media_object(hub, kind, stored, Params(media))}
    for other in MEDIA_KINDS:
        if other != kind and other in msg.tg:
            new[other] = None
    new.update({"caption": caption, "caption_entities": entities or None})
    new["reply_markup"] = keyboard[1] if keyboard[0] == "inline" else None
    return await apply_edit(hub, msg, new)


METHODS = {
    "sendvideo": send_video,
    "sendvoice": send_voice,
    "sendaudio": send_audio,
    "sendlocation": send_location,
    "sendcontact": send_contact,
    "sendpoll": send_poll,
    "editmessagemedia": edit_message_media,
}
