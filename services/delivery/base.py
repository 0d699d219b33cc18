"""What the sender's parts share: the records of a claimed row and its outcome, the sender's state, and how an
outcome is made from the claimed row."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from db.models import Outbox, StoredFile
from flows.clock import Clock
from flows.status import OutboxStatus, transition
from integrations.email import Mailer
from services.delivery.limits import RateLimiter
from services.files import FileStore
from services.outbox import QUESTION, RENDER
from services.sms import SmsGateway

MAX_ATTEMPTS = 8
# An SMS gateway's outage is waited out: pauses doubling up to 10 minutes, about four hours in all.
SMS_MAX_ATTEMPTS = 30
SMS_MAX_PAUSE = 600.0
# Longer than any request may take (aiogram's default timeout is 60 s): a `sending` row older than this
# belongs to a worker that died mid-request.
SENDING_LEASE = timedelta(minutes=3)
LIVENESS = 727004  # advisory lock space of the senders' liveness locks (the key is the sender's)
# Runs a render job's payload (`services.cases.documents.DocumentJobs.render`): the document's bytes.
DocumentRenderer = Callable[[dict[str, Any]], Awaitable[bytes]]


@dataclass
class _Claimed:
    """A row this sender has claimed (committed as `sending`), with what its request needs."""

    row: Outbox
    ref: Outbox | None
    stored: StoredFile | None
    album: list[StoredFile] = field(default_factory=list)  # sendMediaGroup: its files, in the album's order


@dataclass
class _Outcome:
    """What became of one claimed row; written with the other outcomes in the sender's next transaction."""

    row_id: int
    chat_id: int
    values: dict[str, Any]
    # Telegram's file_id of each stored file this message carried: the next send reuses it instead of uploading.
    learned: list[tuple[int, str]] = field(default_factory=list)
    question_lost: bool = False  # a form question that may not have arrived: ask it again
    blocked: bool = False  # the person blocked the bot
    replaces: int | None = None  # a fresh card sent instead of editing this (lost) message
    rendered: tuple[int, str, int] | None = None  # a render job's file: (id, path, size); a failed one: size -1
    undelivered: Outbox | None = None  # an e-mail or SMS that failed for good: its person must be told
    channel: str = "telegram"  # the row's: only a Telegram message's answer may claim its chat's next row
    # The claim this outcome answers (the row's `claimed_at` as claimed): written only onto that claim, so an
    # outcome written again after a lost acknowledgement cannot undo what a later claim of the row did.
    claimed_at: datetime | None = None

    @property
    def plain(self) -> bool:
        """Nothing to write but the row's own columns (most answers): one statement, no transaction around it."""
        return not (self.learned or self.question_lost or self.blocked or self.replaces is not None
                    or self.rendered is not None or self.undelivered is not None)  # fmt: skip


class SenderBase:
    """The state of an `OutboxSender` its parts (queue, recovery, Telegram, other channels) work on."""

    bot: Bot
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    files: FileStore
    limiter: RateLimiter
    sms_limiter: RateLimiter
    mailer: Mailer | None
    sms: SmsGateway | None
    sms_retry_base: float
    documents: DocumentRenderer | None
    on_failed: Callable[[AsyncSession, list[Outbox]], Awaitable[None]] | None
    semaphore: asyncio.Semaphore
    stats: dict[str, int]
    key: int
    started: set[int]
    _liveness: AsyncConnection | None

    def _outcome(
        self,
        row: Outbox,
        status: OutboxStatus,
        *,
        delay: float = 0.0,
        error: str | None = None,
        message_id: int | None = None,
        learned: list[tuple[int, str]] | None = None,
        attempt_back: bool = False,
        external_id: str | None = None,
    ) -> _Outcome:
        """The row's new values, from the claimed row (written only onto that claim: `_Outcome.claimed_at`)."""
        now = self.clock.now()
        sent = status == OutboxStatus.SENT
        values: dict[str, Any] = {
            "status": transition(OutboxStatus.SENDING, status),
            "error": error,
            "not_before": now + timedelta(seconds=delay) if status == OutboxStatus.PENDING else row.not_before,
            # a 429 is not the message's fault
            "attempts": row.attempts - 1 if attempt_back else row.attempts,
            "sent_at": now if sent else row.sent_at,
            "message_id": message_id if sent else row.message_id,
            "external_id": external_id if sent else row.external_id,
        }
        lost = status in (OutboxStatus.UNCERTAIN, OutboxStatus.FAILED) and row.payload.get("purpose") == QUESTION
        outcome = _Outcome(
            row.id, row.chat_id, values, learned or [], question_lost=lost, channel=row.channel,
            claimed_at=row.claimed_at,
        )  # fmt: skip
        notice = "notice" in row.payload  # a notification with a fallback (services/channels.py)
        # A render job has its own row; a Telegram message failing is the chat's business unless it is a notification.
        if status == OutboxStatus.FAILED and (notice or row.channel not in ("telegram", RENDER)):
            row.error = error
            outcome.undelivered = row
        return outcome
