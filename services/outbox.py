"""The outbox's rows: every message to a person is written here first, in the same transaction as the change
that caused it; `services.delivery.OutboxSender` delivers them within Telegram's limits, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Outbox
from flows.status import OutboxStatus
from flows.values import utf16_length
from services import tg_html


async def repeat_pending(session: AsyncSession, chat_id: int, text: str) -> bool:
    """The same text already waits for this chat: a burst of fifty «I did not understand» collapses into one,
    and the answer to the person's next real message does not queue behind the others."""
    rows = await session.execute(
        select(Outbox.payload).where(
            Outbox.chat_id == chat_id, Outbox.status == OutboxStatus.PENDING, Outbox.method == "sendMessage"
        )
    )
    return any(payload.get("text") == text for payload in rows.scalars())


def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    ref_id: int | None = None,
    case_id: int | None = None,
) -> Outbox:
    row = Outbox(
        chat_id=chat_id,
        method=method,
        payload=payload,
        ref_id=ref_id,
        case_id=case_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        not_before=None,
        created_at=now,
    )
    session.add(row)
    return row


QUESTION = "question"  # a form's question: if it may not have arrived, it is asked again (`question_lost_at`)


MAX_TEXT = 4000  # Telegram refuses more than 4096 characters; the margin is for what counts double


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """A long text as several messages, cut between lines (a line longer than a message between words), so
    that nothing is lost to «…» — a summary's last entries must be seen before «Confirm»."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_length(line) > limit:
            fits = _fitting(line, limit)
            cut = line.rfind(" ", 0, fits)
            cut = cut if cut > 0 else fits
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if utf16_length(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()] or [""]


def _fitting(line: str, limit: int) -> int:
    """How many characters of `line` fit in `limit` as Telegram counts them (UTF-16 code units)."""
    size = 0
    for index, char in enumerate(line):
        size += 2 if ord(char) > 0xFFFF else 1
        if size > limit:
            return index
    return len(line)


ALBUM = 10  # Telegram's most files in one sendMediaGroup


def files(
    session: AsyncSession,
    chat_id: int,
    now: datetime,
    items: list[tuple[int, str, str]],
    *,
    case_id: int | None = None,
) -> None:
    """Files (stored file id, kind, caption) as Telegram shows them best: photos in albums of up to ten,
    documents grouped the same way (an album cannot mix the two). A lone file goes as itself."""
    for kind in ("photo", "document"):
        own = [(file_id, caption) for file_id, k, caption in items if (k == "photo") == (kind == "photo")]
        for start in range(0, len(own), ALBUM):
            group = own[start : start + ALBUM]
            if len(group) == 1:
                file_id, caption = group[0]
                method = "sendPhoto" if kind == "photo" else "sendDocument"
                payload: dict[str, Any] = {"file_id": file_id, "caption": caption[:1000]}
            else:
                method = "sendMediaGroup"
                payload = {"kind": kind, "media": [{"file_id": f, "caption": c[:1000]} for f, c in group]}
            enqueue(session, chat_id=chat_id, method=method, payload=payload, now=now, case_id=case_id)


HTML = "HTML"  # the parse mode of a message an admin's template wrote (services/channels.py)


def pieces(text: str, parse_mode: str | None = None) -> list[str]:
    """A text as the messages it takes: plain text cut between lines; HTML also with its tags closed at each cut
    and opened again after it (services/tg_html.py)."""
    return tg_html.split(text, MAX_TEXT) if parse_mode == HTML else split_text(text)


def message(
    session: AsyncSession,
    chat_id: int,
    text: str,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    *,
    case_id: int | None = None,
    purpose: str | None = None,
    parse_mode: str | None = None,
) -> Outbox:
    """A text message; a text longer than Telegram takes goes as several, cut between lines, the buttons (and the
    purpose) on the last one, which is the row returned (a card's later edits go to it). `parse_mode` HTML: the
    text is Telegram's HTML (an admin's template), and each piece says so."""
    mode: dict[str, Any] = {"parse_mode": parse_mode} if parse_mode else {}
    *head, last = pieces(text, parse_mode)
    for piece in head:
        enqueue(session, chat_id=chat_id, method="sendMessage", payload={"text": piece, **mode}, now=now,
                case_id=case_id)  # fmt: skip
    payload: dict[str, Any] = {"text": last, **mode}
    if reply_markup:
        payload["reply_markup"] = reply_markup
    if purpose:
        payload["purpose"] = purpose
    return enqueue(session, chat_id=chat_id, method="sendMessage", payload=payload, now=now, case_id=case_id)


RENDER = "render"  # the channel of render jobs: documents made after the step's commit, off the event loop


def render_job(session: AsyncSession, *, payload: dict[str, Any], now: datetime, case_id: int | None) -> Outbox:
    """A document to render, claimed and run by the sender like any other row: durable (a crash re-runs it)
    and ordered before the e-mails that attach it (jobs and e-mails share chat 0, one at a time)."""
    row = enqueue(session, chat_id=0, method="renderDocument", payload=payload, now=now, case_id=case_id)
    row.channel = RENDER
    return row
