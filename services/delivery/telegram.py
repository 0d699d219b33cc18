"""Telegram's requests for the outbox's rows: messages and edits (as stored, without aiogram's models; a card's edit
sent afresh where its message may never have arrived), files and albums."""

from __future__ import annotations

import contextlib
import logging
from http import HTTPStatus
from typing import Any

import orjson
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, TelegramMethod
from aiogram.types import (
    BufferedInputFile,
    FSInputFile,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientError, ClientTimeout

from db.models import Outbox, StoredFile
from flows.status import OutboxStatus
from services import outbox
from services.delivery.base import MAX_ATTEMPTS, SenderBase, _Claimed, _Outcome
from services.files import render_failed, rendered

log = logging.getLogger(__name__)


class TelegramMixin(SenderBase):
    async def _deliver_telegram(self, item: _Claimed) -> _Outcome:
        row, ref, stored = item.row, item.ref, item.stored
        carried = ([stored] if stored is not None else []) + item.album
        if any(render_failed(f) for f in carried):
            return self._outcome(row, OutboxStatus.FAILED, error=outbox.NOT_RENDERED)
        if not all(rendered(f) for f in carried):
            # Its render job has not run yet: the chat waits (its later messages stay behind this one).
            return self._outcome(row, OutboxStatus.PENDING, delay=0.5, attempt_back=True)
        if ref is not None and ref.status != OutboxStatus.SENT and row.method == "editMessageText":
            if ref.status in (OutboxStatus.UNCERTAIN, OutboxStatus.FAILED):
                return await self._fresh_card(row, ref)
        if ref is not None and ref.status != OutboxStatus.SENT:
            waiting = ref.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
            return self._outcome(
                row,
                OutboxStatus.PENDING if waiting else OutboxStatus.FAILED,
                error=None if waiting else outbox.EDIT_NOT_SENT,
                delay=0.5,
            )
        try:
            sent = await self._call(row, ref, stored, item.album)
        except TelegramRetryAfter as exc:
            self.stats["retry_after"] += 1
            self.limiter.hold_chat(row.chat_id, exc.retry_after)
            return self._outcome(row, OutboxStatus.PENDING, delay=exc.retry_after, error=str(exc), attempt_back=True)
        except TelegramNetworkError as exc:
            if row.method.startswith("send") and _may_have_arrived(exc):
                self.stats["uncertain"] += 1
                return self._outcome(row, OutboxStatus.UNCERTAIN, error=str(exc))
            self.stats["network_retries"] += 1
            status = OutboxStatus.PENDING if row.attempts < MAX_ATTEMPTS else OutboxStatus.FAILED
            return self._outcome(row, status, delay=min(60.0, 2.0**row.attempts), error=str(exc))
        except TelegramServerError as exc:
            status = OutboxStatus.PENDING if row.attempts < MAX_ATTEMPTS else OutboxStatus.FAILED
            return self._outcome(row, status, delay=min(60.0, 2.0**row.attempts), error=str(exc))
        except TelegramBadRequest as exc:
            if "message is not modified" in str(exc):
                return self._outcome(row, OutboxStatus.SENT, message_id=ref.message_id if ref else None)
            self.stats["failed"] += 1
            log.warning("outbox: %s to %s refused: %s", row.method, row.chat_id, exc)
            return self._outcome(row, OutboxStatus.FAILED, error=str(exc))
        except TelegramForbiddenError as exc:
            self.stats["failed"] += 1
            outcome = self._outcome(row, OutboxStatus.FAILED, error=str(exc))
            outcome.blocked = "blocked" in str(exc).lower()
            return outcome
        self.stats["sent"] += 1
        if isinstance(sent, list):  # an album: one message per file, the first stands for the row
            self.limiter.spent(row.chat_id, len(sent) - 1)
            # Only a file Telegram did not know yet: the id of one sent by its id is on record already (the outcome
            # then needs no write beyond its row, `_Outcome.plain`).
            learned = [(f.id, tg) for f, m in zip(item.album, sent, strict=False)
                       if f.tg_file_id is None and (tg := _sent_file_id(m))]  # fmt: skip
            first = sent[0].message_id if sent else None
            return self._outcome(row, OutboxStatus.SENT, message_id=first, learned=learned)
        if row.method in _RAW:  # the Message as Telegram sent it (an edit may answer True)
            message_id = _raw_message_id(sent) if isinstance(sent, dict) else None
            return self._outcome(row, OutboxStatus.SENT, message_id=message_id or (ref.message_id if ref else None))
        message_id = sent.message_id if isinstance(sent, Message) else (ref.message_id if ref else None)
        tg_file_id = _sent_file_id(sent)
        learned = [(stored.id, tg_file_id)] if stored is not None and stored.tg_file_id is None and tg_file_id else []
        return self._outcome(row, OutboxStatus.SENT, message_id=message_id, learned=learned)

    async def _fresh_card(self, row: Outbox, ref: Outbox) -> _Outcome:
        """The message to edit may never have arrived: send the card afresh instead of failing for good (a live
        button under a finished task would stay otherwise). Later edits go to the fresh message."""
        payload = dict(row.payload)
        keyboard = _markup(payload.pop("reply_markup", None))
        try:
            sent = await self.bot.send_message(row.chat_id, payload["text"], reply_markup=keyboard, **_mode(payload))
        except TelegramRetryAfter as exc:
            self.limiter.hold_chat(row.chat_id, exc.retry_after)
            return self._outcome(row, OutboxStatus.PENDING, delay=exc.retry_after, error=str(exc), attempt_back=True)
        except TelegramNetworkError as exc:
            return self._outcome(row, OutboxStatus.UNCERTAIN, error=str(exc))
        except TelegramAPIError as exc:
            return self._outcome(row, OutboxStatus.FAILED, error=str(exc))
        self.stats["sent"] += 1
        outcome = self._outcome(row, OutboxStatus.SENT, message_id=sent.message_id)
        outcome.replaces = ref.id
        return outcome

    async def _call(self, row: Outbox, ref: Outbox | None, stored: StoredFile | None, album: list[StoredFile]) -> Any:
        payload = dict(row.payload)
        markup = payload.pop("reply_markup", None)
        if row.method in _RAW:
            # Most of what goes out (a reply, a question, a card's edit): sent as stored (`_post`).
            params: dict[str, Any] = {"chat_id": row.chat_id}
            if row.method != "sendMessage":
                assert ref is not None and ref.message_id is not None
                params["message_id"] = ref.message_id
            if row.method != "editMessageReplyMarkup":
                params["text"] = payload["text"]
                params.update(_mode(payload))
            if markup:
                params["reply_markup"] = markup  # none: an edit takes the buttons away
            return await self._post(row.method, params)
        keyboard = _markup(markup)
        if row.method == "sendMediaGroup":
            return await self._album(row, album)
        if row.method in ("sendDocument", "sendPhoto"):
            if stored is None:
                raise TelegramBadRequest(method=None, message="the file is gone")  # type: ignore[arg-type]
            media = self._media(stored)
            caption = payload.get("caption")
            if row.method == "sendPhoto":
                return await self.bot.send_photo(row.chat_id, media, caption=caption, reply_markup=keyboard)
            return await self.bot.send_document(row.chat_id, media, caption=caption, reply_markup=keyboard)
        raise ValueError(f"unknown outbox method {row.method}")

    async def _post(self, method: str, params: dict[str, Any]) -> Any:
        """One of `_RAW`'s methods as JSON straight to the bot's HTTP session; its answer's `result` as it came.
        aiogram's method and answer models (their validation, the form's encoding, the Message's dozens of fields)
        cost more CPU than the request itself, and the sender needs only the message id. A refusal goes through
        aiogram's own `check_response` with the method aiogram would have sent, and a network error is worded as
        aiogram words it (`_may_have_arrived` reads it), so every outcome is what it was. The session's request
        middlewares do not run here: the bot registers none."""
        session = self.bot.session
        assert isinstance(session, AiohttpSession), "the outbox posts through aiogram's aiohttp session"
        http = await session.create_session()
        url = session.api.api_url(token=self.bot.token, method=method)
        try:
            async with http.post(
                url, data=orjson.dumps(params), headers=_JSON, timeout=ClientTimeout(total=session.timeout)
            ) as response:
                status, content = response.status, await response.read()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=_RAW[method](**params), message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=_RAW[method](**params), message=f"{type(exc).__name__}: {exc}") from exc
        if status == HTTPStatus.OK:
            with contextlib.suppress(ValueError):
                answer = orjson.loads(content)
                if isinstance(answer, dict) and answer.get("ok") is True:
                    return answer.get("result")
        # Refused, or an answer aiogram must judge: its exceptions, as for any other method.
        return session.check_response(self.bot, _RAW[method](**params), status, content.decode(errors="replace")).result

    def _media(self, stored: StoredFile) -> Any:
        """Telegram's own id of a file it has seen, else the file from disk."""
        if stored.tg_file_id:
            return stored.tg_file_id
        path = self.files.path(stored)
        if path.exists():
            return FSInputFile(path, filename=stored.file_name)
        return BufferedInputFile(b"", filename=stored.file_name)

    async def _album(self, row: Outbox, album: list[StoredFile]) -> Any:
        """Photos (or documents) in one album, each with its caption; a file gone from storage is left out."""
        if not album:
            raise TelegramBadRequest(method=None, message="the files are gone")  # type: ignore[arg-type]
        captions = {item.get("file_id"): item.get("caption") for item in row.payload.get("media", [])}
        kind = InputMediaPhoto if row.payload.get("kind") == "photo" else InputMediaDocument
        media = [kind(media=self._media(stored), caption=captions.get(stored.id)) for stored in album]
        return await self.bot.send_media_group(row.chat_id, media)  # type: ignore[arg-type]


def _may_have_arrived(exc: TelegramNetworkError) -> bool:
    """Only a refused connection proves the request never left; a timeout or a connection closed before the
    answer (Telegram may have carried the call out) is ambiguous, and a new message is not sent again."""
    said = str(exc)
    return not any(sign in said for sign in ("ClientConnectorError", "Cannot connect to host"))


class RawSendMessage(TelegramMethod[dict[str, Any]]):
    """sendMessage with the text, parse mode and buttons as the outbox row holds them, answered with the Message as
    Telegram sent it: no pydantic models of the keyboard, the method (with its two dozen unused fields) or the
    answer, of which the sender needs only the message id. Telegram sees the same request."""

    __returning__ = dict[str, Any]
    __api_method__ = "sendMessage"

    chat_id: int
    text: str
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None


# Sent by `_post`, each with the aiogram method that stands for it in an exception.
_RAW: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": RawSendMessage,
    "editMessageText": EditMessageText,
    "editMessageReplyMarkup": EditMessageReplyMarkup,
}
_JSON = {"Content-Type": "application/json"}


def _raw_message_id(sent: dict[str, Any]) -> int | None:
    message_id = sent.get("message_id")
    return message_id if isinstance(message_id, int) else None


def _mode(payload: dict[str, Any]) -> dict[str, Any]:
    """The parse mode of a text an admin's template wrote (HTML); a message without one goes as plain text."""
    mode = payload.get("parse_mode")
    return {"parse_mode": mode} if mode else {}


def _markup(markup: dict[str, Any] | None) -> Any:
    if not markup:
        return None
    if "inline_keyboard" in markup:
        return InlineKeyboardMarkup.model_validate(markup)
    if "keyboard" in markup:
        return ReplyKeyboardMarkup.model_validate(markup)
    return ReplyKeyboardRemove.model_validate(markup)


def _sent_file_id(sent: Any) -> str | None:
    if not isinstance(sent, Message):
        return None
    if sent.document is not None:
        return sent.document.file_id
    if sent.photo:
        return sent.photo[-1].file_id
    return None
