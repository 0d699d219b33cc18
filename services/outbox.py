"""The outbox's rows: every message to a person is written here first, in the same transaction as the change
that caused it; `services.delivery.OutboxSender` delivers them within Telegram's limits, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Outbox
from flows.status import OutboxStatus


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


def message(
    session: AsyncSession,
    chat_id: int,
    text: str,
    now: datetime,
    reply_markup: dict[str, Any] | None = None,
    *,
    case_id: int | None = None,
    purpose: str | None = None,
) -> Outbox:
    # Telegram refuses more than 4096 characters; a long title or answer must not cost the whole reply.
    payload: dict[str, Any] = {"text": text if len(text) <= 4096 else text[:4095] + "…"}
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
