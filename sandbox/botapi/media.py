"""Messages with files: sendPhoto, sendDocument, sendMediaGroup, and getFile."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import bad_request
from ..files import document, file_input, photo_sizes, store_input
from ..hub import Hub
from ..params import Params
from ..state import JsonDict, StoredFile
from .common import bot_message, caption_content, markup, resolve_recipient


async def send_photo(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_recipient(hub, params)
    content = caption_content(params)
    keyboard = markup(params)
    stored = file_input(hub.state, params, "photo", "photo")
    content["photo"] = photo_sizes(hub.state, stored)
    msg = await bot_message(hub, bot, user, params, content, keyboard=keyboard)
    return msg.tg


async def send_document(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_recipient(hub, params)
    content = caption_content(params)
    keyboard = markup(params)
    stored = file_input(hub.state, params, "document", "document")
    content["document"] = document(stored)
    msg = await bot_message(hub, bot, user, params, content, keyboard=keyboard)
    return msg.tg


async def send_media_group(hub: Hub, bot: JsonDict, params: Params) -> Any:
    user = resolve_recipient(hub, params)
    media = params.get_json("media")
    if not isinstance(media, list) or not media:
        raise bad_request('parameter "media" is required')
    # The documentation says 2-10 items, but the official server sends a one-item album as a single message.
    if not 1 <= len(media) <= 10:
        raise bad_request("wrong number of media in the album: must include 2-10 items")
    kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
    if None in kinds or not kinds <= {"photo", "document"}:
        raise bad_request("unsupported media type in the album (sandbox supports photo and document)")
    if len(kinds) > 1:
        raise bad_request("documents can't be mixed with other media types")
    prepared: list[tuple[str, StoredFile, JsonDict]] = []
    for item in media:
        value = item.get("media")
        if not isinstance(value, str) or not value:
            raise bad_request("there is no media in the request")
        kind = str(item["type"])
        stored = store_input(hub.state, params.attached(value), kind)
        sub = Params({k: v for k, v in item.items() if k in ("caption", "parse_mode", "caption_entities")})
        prepared.append((kind, stored, caption_content(sub)))
    hub.spend(user.id, len(prepared))  # all or nothing: an album is not cut in half by flood control
    group_id = str(secrets.randbelow(10**18))
    result: list[JsonDict] = []
    for index, (kind, stored, content) in enumerate(prepared):
        content["media_group_id"] = group_id
        if kind == "photo":
            content["photo"] = photo_sizes(hub.state, stored)
        else:
            content["document"] = document(stored)
        item_params = params if index == 0 else Params({"chat_id": user.id})
        msg = await bot_message(hub, bot, user, item_params, content, keyboard=("none", None), counted=True)
        result.append(msg.tg)
    return result


async def get_file(hub: Hub, bot: JsonDict, params: Params) -> Any:
    file_id = params.get_str("file_id")
    stored = hub.state.files.get(file_id or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }


METHODS = {
    "sendphoto": send_photo,
    "senddocument": send_document,
    "sendmediagroup": send_media_group,
    "getfile": get_file,
}
