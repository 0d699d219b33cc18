"""getMe and the two ways of getting updates: getUpdates (long polling) and setWebhook/deleteWebhook/getWebhookInfo."""

from __future__ import annotations

import copy
import re
import time
from typing import Any

from ..errors import ApiError, bad_request
from ..hub import UPDATE_TYPES, Hub
from ..params import Params
from ..state import JsonDict

SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


async def get_me(hub: Hub, bot: JsonDict, params: Params) -> Any:
    return {
        **bot,
        "can_join_groups": True,  # BotFather's default (/setjoingroups)
        "can_read_all_group_messages": not hub.group_privacy,  # privacy mode (/setprivacy), on by default
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def get_updates(hub: Hub, bot: JsonDict, params: Params) -> Any:
    state = hub.state
    if state.webhook.url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = lenient_int(params, "offset", 0)
    limit = min(max(lenient_int(params, "limit", 100), 1), 100)
    timeout = min(max(params.get_float("timeout") or 0.0, 0.0), 50.0)
    set_allowed_updates(hub, params)
    if offset != 0:
        state.confirm_updates(offset)
    hub.poll_generation += 1
    generation = hub.poll_generation
    hub.notify_updates()  # wakes an older poll so it can report the conflict
    deadline = time.monotonic() + timeout
    while True:
        if generation != hub.poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        if state.updates or hub.closing or state.webhook.url:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await hub.wait_change(remaining)
    result: list[JsonDict] = []
    for update in state.updates[:limit]:
        result.append(copy.deepcopy(update))
        if hub.faults.duplicate_next():  # a fault asked for: the same update_id delivered twice
            result.append(copy.deepcopy(update))
    return result


def lenient_int(params: Params, name: str, default: int) -> int:
    """getUpdates reads its numbers as the official server does: a missing or empty value is the default, and
    text that is not a number counts as 0 (td::to_integer), which `limit` then raises to its minimum of 1."""
    value = params.values.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.match(r"^\s*([+-]?\d+)", str(value))
    return int(match.group(1)) if match else 0


def set_allowed_updates(hub: Hub, params: Params) -> None:
    """`allowed_updates` (getUpdates and setWebhook): a JSON list of update types; omitted keeps the previous
    setting; an empty list means the default set. Updates already queued are not filtered (as documented)."""
    if not params.has("allowed_updates"):
        return
    allowed = params.get_json("allowed_updates")
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise bad_request("can't parse allowed_updates JSON object")
    hub.state.webhook.allowed_updates = [a for a in allowed if a in UPDATE_TYPES] or None
    hub.state.dirty = True


async def set_webhook(hub: Hub, bot: JsonDict, params: Params) -> Any:
    url = params.get_str("url") or ""
    if url and not re.match(r"^https?://[^\s/]+", url):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get_str("secret_token")
    if secret is not None and secret != "" and not SECRET_TOKEN_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    state = hub.state
    if params.get_bool("drop_pending_updates"):
        state.updates.clear()
    webhook = state.webhook
    webhook.url = url
    webhook.secret_token = secret or None
    webhook.max_connections = params.get_int("max_connections") or 40
    set_allowed_updates(hub, params)
    webhook.last_error_date = None
    webhook.last_error_message = None
    state.dirty = True
    if url:
        hub.kick_webhook()
    hub.notify_updates()
    return True


async def delete_webhook(hub: Hub, bot: JsonDict, params: Params) -> Any:
    state = hub.state
    if params.get_bool("drop_pending_updates"):
        state.updates.clear()
    state.webhook.url = ""
    state.webhook.secret_token = None
    state.dirty = True
    hub.notify_updates()
    return True


async def get_webhook_info(hub: Hub, bot: JsonDict, params: Params) -> Any:
    webhook = hub.state.webhook
    info: JsonDict = {
        "url": webhook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(hub.state.updates),
    }
    if webhook.url:
        info["max_connections"] = webhook.max_connections
        if webhook.allowed_updates is not None:
            info["allowed_updates"] = webhook.allowed_updates
        if webhook.last_error_date:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
    return info


METHODS = {
    "getme": get_me,
    "getupdates": get_updates,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
}
