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
        return state.add_file(value.data, kind=kind, file_name=value.filename, mime_type=mime)
    if re.match(r"^https?://", value):
        raise bad_request("failed to get HTTP URL content")
    stored = state.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored


def photo_sizes(stored: StoredFile) -> list[JsonDict]:
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "width": stored.width or 320,
            "height": stored.height or 320,
        }
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
