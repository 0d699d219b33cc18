"""Parameters of one Bot API call, read from the query string, a JSON body or a form (with uploaded files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import bad_request


@dataclass
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Request parameters of a Bot API call: strings from forms, native values from JSON bodies."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        return (value is not None and value != "") or name in self.files

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        return str(value).strip().lower() in ("true", "1", "yes")

    def get_json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad_request(f"can't parse {name} JSON object") from exc
        return value

    def input_file(self, name: str) -> Upload | str | None:
        """An uploaded file (directly under `name` or via "attach://x"), a file_id/URL string, or None."""
        if name in self.files:
            return self.files[name]
        value = self.values.get(name)
        if not isinstance(value, str) or not value:
            return None
        return self.attached(value)

    def attached(self, value: str) -> Upload | str:
        if value.startswith("attach://"):
            key = value[len("attach://") :]
            if key not in self.files:
                raise bad_request(f"file {key} not found in the request")
            return self.files[key]
        return value


async def read_params(request: web.Request) -> Params:
    """Telegram accepts parameters in the query string, a JSON body, a urlencoded or a multipart form."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON body") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            values.update(body)
        elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            post = await request.post()
            for key, value in post.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    values[key] = value
    return Params(values, files)
