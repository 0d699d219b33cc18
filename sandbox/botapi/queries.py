"""Answers to what people do with buttons and inline mode: answerCallbackQuery, answerInlineQuery.

The user API's press/inline endpoints wait on a future per query id (in the hub); these methods resolve it."""

from __future__ import annotations

import re
import time
from typing import Any

from ..errors import bad_request
from ..hub import Hub
from ..inline import check_result, keep_answer
from ..params import Params
from ..state import JsonDict

START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


async def answer_callback_query(hub: Hub, bot: JsonDict, params: Params) -> Any:
    query_id = params.get_str("callback_query_id")
    if not query_id:
        raise bad_request("callback_query_id is empty")
    pressed = hub.open_callbacks.get(query_id)
    # Telegram waits only so long for an answer (the client stops its spinner); later, or a second answer, or an id
    # it never sent: «query is too old and response timeout expired or query ID is invalid».
    if pressed is None or time.monotonic() - pressed > hub.callback_answer_ttl:
        hub.open_callbacks.pop(query_id or "", None)
        raise bad_request(QUERY_TOO_OLD)
    text = params.get_str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    del hub.open_callbacks[query_id]
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
    # Bot API (answerInlineQuery): «No more than 50 results per query are allowed»; next_offset «can't exceed 64
    # bytes»; result ids are 1-64 bytes and unique. The official server passes Telegram's own codes through.
    if len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH")
    ids = [r.get("id") if isinstance(r, dict) else None for r in results]
    if not all(isinstance(i, str) and 1 <= len(i.encode()) <= 64 for i in ids):
        raise bad_request("RESULT_ID_INVALID")
    if len(set(ids)) != len(ids):
        raise bad_request("RESULT_ID_DUPLICATE")
    if len((params.get_str("next_offset") or "").encode()) > 64:
        raise bad_request("NEXT_OFFSET_INVALID")
    for result in results:
        check_result(result)
    button = params.get_json("button")
    # InlineQueryResultsButton: «start_parameter … 1-64 characters, only A-Z, a-z, 0-9, _ and - are allowed».
    start = button.get("start_parameter") if isinstance(button, dict) else None
    if start is not None and not (isinstance(start, str) and START_PARAMETER.fullmatch(start)):
        raise bad_request("START_PARAM_INVALID")
    keep_answer(hub, query_id, results)
    fut.set_result(
        {
            "results": results,
            "cache_time": params.get_int("cache_time"),
            "is_personal": params.get_bool("is_personal"),
            "next_offset": params.get_str("next_offset"),
            "button": button,  # shown above the results (text, start_parameter or web_app)
        }
    )
    return True


METHODS = {
    "answercallbackquery": answer_callback_query,
    "answerinlinequery": answer_inline_query,
}
