"""Files: storing what the bot uploads or refers to by file_id, the `PhotoSize`/`Document` objects Telegram
returns, and the two download routes (the bot's ``/file/bot<token>/<path>``, the user API's ``/sandbox/api/files``)."""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web

from .errors import ApiError, bad_request
from .hub import Hub
from .params import Params, Upload
from .state import JsonDict, SandboxState, StoredFile


def file_input(state: SandboxState, params: Params, name: str, kind: str) -> StoredFile:
    value = params.input_file(name)
    if value is None:
        raise bad_request(f"there is no {name} in the request")
    return store_input(state, value, kind)


def store_input(state: SandboxState, value: Upload | str, kind: str) -> StoredFile:
    """An upload becomes a new file; a string must be a known file_id of the same kind (URLs are not fetched)."""
    if isinstance(value, Upload):
        if not value.data:
            raise bad_request("file must be non-empty")
        if kind == "photo" and not (
            value.data[:4] == b"\x89PNG"
            or value.data[:2] == b"\xff\xd8"
            or value.data[:3] == b"GIF"
            or value.data[:4] == b"RIFF"
        ):
            raise bad_request("IMAGE_PROCESS_FAILED")
        mime = value.content_type if value.content_type != "application/octet-stream" else None
        if kind == "photo":
            return add_photo(state, value.data, file_name=value.filename, mime_type=mime)
        return state.add_file(value.data, kind=kind, file_name=value.filename, mime_type=mime)
    if re.match(r"^https?://", value):
        raise bad_request("failed to get HTTP URL content")
    stored = state.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored


THUMBNAIL_SIDES = (90, 320, 800)
"""Telegram stores a photo in several sizes (types s/m/x: longest side 90, 320, 800) below the largest one, which
is at most 1280 (y) or 2560 (w) px, and returns them all, smallest first."""
MAX_PHOTO_SIDE = 2560


def add_photo(state: SandboxState, data: bytes, *, file_name: str | None, mime_type: str | None) -> StoredFile:
    """Stores a photo with its smaller sizes; returns the largest. The sandbox has no image library, so a smaller
    size carries the original bytes under its own file_id and the dimensions Telegram would give it."""
    largest = state.add_file(data, kind="photo", file_name=file_name, mime_type=mime_type)
    width, height = largest.width or 320, largest.height or 320
    scale = min(1.0, MAX_PHOTO_SIDE / max(width, height))
    largest.width, largest.height = max(1, round(width * scale)), max(1, round(height * scale))
    for side in THUMBNAIL_SIDES:
        if max(largest.width, largest.height) <= side:
            break
        ratio = side / max(largest.width, largest.height)
        small = state.add_file(data, kind="photo", file_name=file_name, mime_type=mime_type)
        small.width, small.height = max(1, round(largest.width * ratio)), max(1, round(largest.height * ratio))
        small.sizes_of = largest.file_id
    return largest


def photo_sizes(state: SandboxState, stored: StoredFile) -> list[JsonDict]:
    """Every size of the photo `stored` belongs to, smallest first, as the `photo` field of a Message."""
    root = stored.sizes_of or stored.file_id
    members = [f for f in state.files.values() if f.file_id == root or f.sizes_of == root]
    members.sort(key=lambda f: (f.width or 0) * (f.height or 0))
    return [
        {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": f.file_size,
            "width": f.width or 320,
            "height": f.height or 320,
        }
        for f in members
    ]


def document(stored: StoredFile) -> JsonDict:
    doc: JsonDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
    }
    if stored.file_name:
        doc["file_name"] = stored.file_name
    if stored.mime_type:
        doc["mime_type"] = stored.mime_type
    return doc


def voice_of(state: SandboxState, part: web.FileField, duration: object) -> JsonDict:
    """The `Voice` object of a voice message a person records (OGG/Opus in real clients)."""
    data = part.file.read()
    stored = state.add_file(data, kind="voice", file_name=None, mime_type=part.content_type or "audio/ogg")
    seconds = int(duration) if isinstance(duration, str) and duration.isdigit() else max(1, len(data) // 2000)
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "duration": seconds,
        "mime_type": stored.mime_type,
        "file_size": stored.file_size,
    }


def user_file_url(request: web.Request, file_id: str) -> str:
    return f"{request.url.origin()}/sandbox/api/files/{quote(file_id)}"


class FileRoutes:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def bot_download(self, request: web.Request) -> web.StreamResponse:
        """``GET /file/bot<token>/<file_path>``: what the bot downloads after getFile."""
        state = self.hub.state
        if not self.hub.token_ok(request.match_info["token"]):
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        file_id = state.file_paths.get(request.match_info["path"])
        data = state.file_bytes(file_id) if file_id else None
        if file_id is None or data is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        stored = state.files[file_id]
        return web.Response(body=data, content_type=stored.mime_type or "application/octet-stream")

    async def user_download(self, request: web.Request) -> web.Response:
        """``GET /sandbox/api/files/{file_id}``: what a person (or the web page) sees of a file in the chat."""
        state = self.hub.state
        file_id = request.match_info["file_id"]
        stored = state.files.get(file_id)
        data = state.file_bytes(file_id) if stored else None
        if stored is None or data is None:
            return web.json_response({"error": f"unknown file {file_id}"}, status=404)
        headers = {}
        if stored.file_name:
            headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(stored.file_name)}"
        return web.Response(body=data, content_type=stored.mime_type or "application/octet-stream", headers=headers)
