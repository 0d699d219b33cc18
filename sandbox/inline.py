"""A person picks one of the results the bot gave to their inline query (user API, under
``/sandbox/api/users/{id}``):

- ``POST .../inline_results`` {query_id, result_id}: the person taps a result of an answered inline query (their
  own; the answer is kept as a Telegram client keeps it while the results list is open). As in Telegram, the
  result's ``input_message_content`` is sent to the chat the query was typed in (here: their chat with the bot)
  as the person's own message with ``via_bot`` naming the bot, so the bot gets it as a ``message`` update; the
  bot gets a ``chosen_inline_result`` update as well only when its inline feedback is on (BotFather's
  /setinlinefeedback; the sandbox's ``inline_feedback``). Answers the message as the chat view shows it.

Only text content (``InputTextMessageContent``: ``message_text``, ``parse_mode`` or ``entities``,
``link_preview_options``) of ``article`` results is sent; another kind answers 501, as a method the sandbox lacks.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from .botapi.common import MAX_TEXT, formatted
from .errors import UserApiError, bad_request
from .hub import Hub
from .params import Params
from .state import JsonDict
from .user_api import UserApi
from .views import read_json, view_message

USERS = "/sandbox/api/users/{user_id}"
KEPT_ANSWERS = 1000  # a client keeps only the results on screen; the sandbox keeps the latest answers


def text_content(result: JsonDict) -> JsonDict:
    """What a chosen article result puts into the chat, as Telegram stores a message (entities parsed)."""
    content = result.get("input_message_content")
    if result.get("type") != "article" or not isinstance(content, dict) or "message_text" not in content:
        raise UserApiError(501, "the sandbox sends only article results with InputTextMessageContent")
    text, entities = formatted(Params(dict(content)), "message_text", "entities", MAX_TEXT, required=True)
    message: JsonDict = {"text": text}
    if entities:
        message["entities"] = entities
    return message


def check_result(result: Any) -> None:
    """At answerInlineQuery: an article's text is parsed then, so a bad one fails the answer, not the choice."""
    if isinstance(result, dict) and result.get("type") == "article":
        if not result.get("title"):
            raise bad_request("RESULT_TITLE_EMPTY")  # Telegram's code for an article without title
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            formatted(Params(dict(content)), "message_text", "entities", MAX_TEXT, required=True)


def keep_answer(hub: Hub, query_id: str, results: list[Any]) -> None:
    asked = hub.inline_asked.get(query_id)
    if asked is None:
        return
    hub.inline_answers[query_id] = {**asked, "results": copy.deepcopy(results)}
    while len(hub.inline_answers) > KEPT_ANSWERS:
        hub.inline_answers.pop(next(iter(hub.inline_answers)))


class InlineResults:
    def __init__(self, hub: Hub, user_api: UserApi) -> None:
        self.hub = hub
        self.user_api = user_api

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(USERS + "/inline_results", self.choose)

    async def choose(self, request: web.Request) -> web.Response:
        async def run() -> Any:
            hub = self.hub
            user = self.user_api.user(request)
            data = await read_json(request)
            answer = hub.inline_answers.get(str(data.get("query_id") or ""))
            if answer is None or answer["user_id"] != user.id:
                raise UserApiError(404, "no answered inline query of this person with that id")
            result = next((r for r in answer["results"] if r.get("id") == data.get("result_id")), None)
            if result is None:
                raise UserApiError(404, "the answer has no result with that id")
            if user.blocked:
                raise UserApiError(409, f"user {user.id} has blocked the bot: POST /users/{user.id}/unblock first")
            content = text_content(result)
            bot = hub.bot_user(hub.default_bot_token)
            content["via_bot"] = bot
            markup = result.get("reply_markup")
            if isinstance(markup, dict) and markup.get("inline_keyboard"):
                content["reply_markup"] = {"inline_keyboard": copy.deepcopy(markup["inline_keyboard"])}
            msg = hub.state.add_message(user.id, from_bot=False, sender=user.as_telegram(), content=content)
            hub.push_update("message", copy.deepcopy(msg.tg))
            if hub.inline_feedback:
                chosen: JsonDict = {"result_id": result["id"], "from": user.as_telegram(), "query": answer["query"]}
                hub.push_update("chosen_inline_result", chosen)
            await hub.notify(user.id)
            return view_message(msg, request)

        return await self.user_api.run(run)
