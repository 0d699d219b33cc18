"""How the user API shows things: a message as a person's client shows it, and the user API's errors."""

from __future__ import annotations

from aiohttp import web

from .errors import UserApiError
from .files import user_file_url
from .state import JsonDict, StoredMessage


def api_error(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


async def read_json(request: web.Request) -> JsonDict:
    try:
        data = await request.json()
    except ValueError as exc:
        raise UserApiError(400, "malformed JSON body") from exc
    if not isinstance(data, dict):
        raise UserApiError(400, "JSON body must be an object")
    return data


def view_message(msg: StoredMessage, request: web.Request) -> JsonDict:
    """A message as the person's client shows it (a flat JSON shape of the user API, not Telegram's)."""
    tg = msg.tg
    inline = None
    markup = tg.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        shown = ("text", "callback_data", "url", "switch_inline_query_current_chat")
        inline = [[{k: v for k, v in b.items() if k in shown} for b in row] for row in markup["inline_keyboard"]]
    photos = []
    if tg.get("photo"):
        best = max(tg["photo"], key=lambda p: p.get("width", 0) * p.get("height", 0))
        photos.append(
            {
                "file_id": best["file_id"],
                "url": user_file_url(request, best["file_id"]),
                "width": best.get("width"),
                "height": best.get("height"),
            }
        )
    doc_view = None
    if tg.get("document"):
        doc = tg["document"]
        doc_view = {
            "file_id": doc["file_id"],
            "file_name": doc.get("file_name"),
            "mime_type": doc.get("mime_type"),
            "file_size": doc.get("file_size"),
            "url": user_file_url(request, doc["file_id"]),
        }
    view: JsonDict = {
        "message_id": msg.message_id,
        "from_bot": msg.from_bot,
        "text": tg.get("text", tg.get("caption")),
        "entities": tg.get("entities", tg.get("caption_entities")) or [],
        "edited": msg.edited,
        "deleted": msg.deleted,
        "date": tg["date"],
        "version": msg.version,
        "inline_keyboard": inline,
        "reply_keyboard": [[b["text"] for b in row] for row in msg.reply_keyboard] if msg.reply_keyboard else None,
        "photos": photos,
        "document": doc_view,
    }
    if tg["chat"].get("type") != "private":
        view["from"] = tg["from"]  # in a group, who wrote it
    if "reply_to_message" in tg:
        view["reply_to_message_id"] = tg["reply_to_message"]["message_id"]
    for key in ("contact", "location", "media_group_id", "new_chat_members", "left_chat_member", "group_chat_created"):
        if key in tg:
            view[key] = tg[key]
    return view
