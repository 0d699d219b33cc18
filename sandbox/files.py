"""Files: storing what the bot uploads or refers to by file_id, the `PhotoSize`/`Document` objects Telegram
returns, and the two download routes (the bot's ``/file/bot<token>/<path>``, the user API's ``/sandbox/api/files``)."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

from aiohttp import web
from PIL import Image, ImageOps

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
        mime = value.content_type if value.content_type != "application/octet-stream" else None
        if kind == "photo":
            try:
                return add_photo(state, value.data, file_name=value.filename, mime_type=mime)
            except ImageUnreadable as exc:  # Telegram's errors for an upload that is no usable photo
                dimensions = str(exc) == "PHOTO_INVALID_DIMENSIONS"
                raise bad_request("PHOTO_INVALID_DIMENSIONS" if dimensions else "IMAGE_PROCESS_FAILED") from exc
        return state.add_file(value.data, kind=kind, file_name=value.filename, mime_type=mime)
    if re.match(r"^https?://", value):
        raise bad_request("failed to get HTTP URL content")
    stored = state.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored


PHOTO_SIDES = (90, 320, 800, 1280)
"""Telegram keeps a photo in several sizes, each re-encoded as JPEG and fitted into a square of this side (types
s/m/x/y), smallest first; the largest is at most 1280 px, and no size is larger than the original."""
JPEG_QUALITY = 87


class ImageUnreadable(ValueError):
    """The bytes are not an image Telegram would take as a photo."""


def _decoded(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageUnreadable(str(exc)) from exc
    width, height = image.size
    # Bot API (sendPhoto): «The photo's width and height must not exceed 10000 in total. Width and height ratio must
    # be at most 20.»
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise ImageUnreadable("PHOTO_INVALID_DIMENSIONS")
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))  # JPEG has no transparency: Telegram shows it on white
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def add_photo(state: SandboxState, data: bytes, *, file_name: str | None, mime_type: str | None) -> StoredFile:
    """Stores a photo as Telegram does: decoded (ImageUnreadable if it is not an image), re-encoded as JPEG in
    each of `PHOTO_SIDES` below the original's size plus the largest one, each size a file of its own with its own
    file_id, file_unique_id, dimensions and byte size. Returns the largest; the others name it in `sizes_of`."""
    image = _decoded(data)
    longest = max(image.size)
    sides = {*(side for side in PHOTO_SIDES[:-1] if side < longest), min(longest, PHOTO_SIDES[-1])}
    stored: list[StoredFile] = []
    for side in sorted(sides, reverse=True):
        size = image.copy()
        size.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        size.save(out, format="JPEG", quality=JPEG_QUALITY)
        item = state.add_file(out.getvalue(), kind="photo", file_name=None, mime_type="image/jpeg")
        item.width, item.height = size.size
        if stored:
            item.sizes_of = stored[0].file_id
        stored.append(item)
    return stored[0]


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
