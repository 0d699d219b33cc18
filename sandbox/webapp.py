"""Mini Apps: the `initData` a Telegram client hands a Web App opened from a `web_app` button, signed as Telegram
signs it (Bot API, «Validating data received via the Mini App»): the data-check-string is every field but `hash`
as ``key=value`` sorted by key and joined by newlines; ``hash`` = hex HMAC-SHA256 of it with the key
HMAC-SHA256(key="WebAppData", message=bot token)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import quote, urlencode

from .state import JsonDict, SandboxUser


def sign_init_data(token: str, fields: dict[str, str]) -> str:
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def init_data(token: str, user: SandboxUser, *, auth_date: int | None = None) -> str:
    fields = {
        "query_id": "AAH" + secrets.token_urlsafe(12),
        "user": json.dumps(user.as_telegram(), ensure_ascii=False, separators=(",", ":")),
        "chat_type": "private",
        "chat_instance": str((user.id * 2654435761 + 97) % 10**18),
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
    }
    return sign_init_data(token, fields)


WEB_APP_VERSION = "8.0"


def launch_url(url: str, signed: str) -> str:
    """What a Telegram client loads in its web view: the Web App's URL with the launch parameters in the fragment
    (core.telegram.org/bots/webapps: `tgWebAppData` is the URL-encoded initData; the version and platform ride
    along), so the page's own script finds initData there, as Telegram's telegram-web-app.js does."""
    fragment = f"tgWebAppData={quote(signed, safe='')}&tgWebAppVersion={WEB_APP_VERSION}&tgWebAppPlatform=web"
    return f"{url.split('#', 1)[0]}#{fragment}"


def web_app_url(button: JsonDict) -> str | None:
    web_app = button.get("web_app")
    url = web_app.get("url") if isinstance(web_app, dict) else None
    return url if isinstance(url, str) else None
