"""Errors of the sandbox: Telegram-shaped Bot API errors and the user API's own errors."""

from __future__ import annotations

from .state import JsonDict


class ApiError(Exception):
    """A Telegram-shaped error response: ``{"ok": false, "error_code", "description", "parameters"?}``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        data: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


class UserApiError(Exception):
    """An error of the user-side API (``/sandbox/api/...``), answered as ``{"error": ...}`` with `status`."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
