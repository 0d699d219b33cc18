"""Answers to what people do with buttons and inline mode: answerCallbackQuery, answerInlineQuery.

The user API's press/inline endpoints wait on a future per query id (in the hub); these methods resolve it."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..params import Params
from ..state import JsonDict

QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


async def answer_callback_query(hub: Hub, bot: JsonDict, params: Params) -> Any:
    query_id = params.get_str("callback_query_id")
    if not query_id:
        raise bad_request("callback_query_id is empty")
    if query_id not in hub.open_callbacks:
        raise bad_request(QUERY_TOO_OLD)
    text = params.get_str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    hub.open_callbacks.discard(query_id)
    answer: JsonDict = {"text": text or None, "show_alert": params.get_bool("show_alert")}
    if params.get_str("url"):
        answer["url"] = params.get_str("url")
    fut = hub.callback_waiters.get(query_id)
    if fut is not None and not fut.done():
        fut.set_result(answer)
    return True


async def answer_inline_query(hub: Hub, bot: JsonDict, params: Params) -> Any:
    query_id = params.get_str("inline_query_id")
    if not query_id:
        raise bad_request("inline_query_id is empty")
    fut = hub.inline_waiters.get(query_id)
    if fut is None or fut.done():
        raise bad_request(QUERY_TOO_OLD)
    results = params.get_json("results")
    if not isinstance(results, list):
        raise bad_request("can't parse inline query results JSON object")
    fut.set_result(
        {
            "results": results,
            "cache_time": params.get_int("cache_time"),
            "is_personal": params.get_bool("is_personal"),
            "next_offset": params.get_str("next_offset"),
        }
    )
    return True


METHODS = {
    "answercallbackquery": answer_callback_query,
    "answerinlinequery": answer_inline_query,
}
