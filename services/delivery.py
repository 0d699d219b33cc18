"""Delivery of the outbox (`services.outbox`): rows written in the same transaction as the change that caused
them are delivered by `OutboxSender` within Telegram's limits, once.

Delivery guarantees:
- a row is claimed (pending -> sending, committed) before the request, so two workers never send it twice;
- a 429 puts it back with `not_before = now + retry_after`; a refused connection (nothing reached Telegram)
  retries with backoff; edits are idempotent and always retried;
- a timeout or a connection lost after the request left is ambiguous, so a new message is marked `uncertain`,
  not sent again:
  sending twice is worse for people than a rare lost message, which the admin panel lists.
- a row left in `sending` by a crashed worker (its liveness lock is free on PostgreSQL, or it was claimed
  longer ago than the lease) is marked `uncertain`, for the same reason; other workers' live rows are left
  alone. A task card among them is sent afresh and a form question is asked again: work must not wait in
  silence behind a message whose fate is unknown.
- per chat, one message at a time across all workers: a chat with a row `sending` anywhere is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
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
from sqlalchemy import CompoundSelect, Integer, Table, bindparam, literal, select, text, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Outbox, StoredFile, TaskCard, User
from flows.clock import Clock, SystemClock
from flows.status import OutboxStatus, transition
from integrations.email import Attachment, Mailer
from services.files import NOT_RENDERED, RENDER_FAILED_SIZE, FileStore, render_failed, rendered
from services.outbox import QUESTION, RENDER, enqueue
from services.sms import SMS, SmsGateway, SmsRefused, SmsTemporary, SmsUncertain, awaiting_report, record_reports

log = logging.getLogger(__name__)

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


class RateLimiter:
    """A token bucket for all chats plus one per chat (Telegram: ~30 msg/s in total, ~1 msg/s per chat, short
    bursts tolerated). Per chat it is a GCRA: `chat_burst` messages may go at once, then one per interval, so a
    reply and the next question do not wait a second between them."""

    def __init__(
        self,
        global_rate: float,
        per_chat_rate: float,
        *,
        burst: float = 1.0,
        chat_burst: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.global_rate = global_rate
        self.per_chat_interval = 1.0 / per_chat_rate if per_chat_rate > 0 else 0.0
        self.chat_slack = max(0, chat_burst - 1) * self.per_chat_interval
        self.monotonic = monotonic
        self.tokens = burst
        self.burst = burst
        self.updated = monotonic()
        self.chat_ready: dict[int, float] = {}  # per chat: the theoretical time of its next message

    def _refill(self) -> None:
        now = self.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.global_rate)
        self.updated = now

    def chat_wait(self, chat_id: int) -> float:
        return max(0.0, self.chat_ready.get(chat_id, 0.0) - self.chat_slack - self.monotonic())

    def global_wait(self) -> float:
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.global_rate

    def take(self, chat_id: int) -> None:
        self._refill()
        self.tokens -= 1
        now = self.monotonic()
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), now) + self.per_chat_interval

    def answered(self, chat_id: int) -> None:
        """The request reached Telegram somewhere between the claim and the answer: count this message's spacing
        from the answer, so network jitter cannot squeeze two messages closer than the limit allows."""
        now = self.monotonic()
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), now + self.per_chat_interval)

    def spent(self, chat_id: int, messages: int) -> None:
        """`messages` more went to this chat in one request (an album counts each of its messages)."""
        if messages > 0:
            self.chat_ready[chat_id] = self.chat_ready.get(chat_id, 0.0) + messages * self.per_chat_interval

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        """Nothing to this chat for `seconds` (Telegram's retry_after), whatever the burst allows."""
        until = self.monotonic() + seconds + self.chat_slack
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), until)


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


class OutboxSender:
    """Delivers outbox rows with a couple of statements per batch, not two transactions per message.

    Each pass of `dispatch` is one transaction: it writes the outcomes of the requests answered since the
    last pass, reads the pending rows, picks those the limits allow now, and claims them with one
    UPDATE ... RETURNING. The requests go out only after that commit (claimed before the request, so never
    sent twice). A chat stays busy until its outcome is written, so the next pass sees the chat's rows as
    they really are (a 429'd row back in `pending` before the one after it; an edit's message `sent`).
    """

    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        files: FileStore,
        *,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 2,
        poll_interval: float = 0.2,
        concurrency: int = 16,
        mailer: Mailer | None = None,
        documents: DocumentRenderer | None = None,
        on_failed: Callable[[AsyncSession, list[Outbox]], Awaitable[None]] | None = None,
        sms: SmsGateway | None = None,
        sms_rate: float = 5.0,
        sms_retry_base: float = 5.0,
    ) -> None:
        self.mailer = mailer
        self.sms = sms
        # SMS have limits of their own (the gateway's, and the money each costs): a bucket apart from Telegram's,
        # one number at a time (its lane) at most one a second.
        self.sms_limiter = RateLimiter(sms_rate, 1.0, burst=max(1.0, sms_rate))
        self.sms_retry_base = sms_retry_base  # seconds before the first retry of an SMS the gateway could not take
        self.documents = documents
        # Told, in the transaction that records it, of each e-mail or SMS that failed for good: someone must send
        # it by hand, and only a person can.
        self.on_failed = on_failed
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.clock: Clock = SystemClock()  # real seconds: Telegram's limits do not follow the business clock
        self.files = files
        # Burst of 1 in total keeps the send rate at the limit instead of spiking over it every second.
        self.limiter = RateLimiter(
            global_rate, per_chat_rate, burst=max(1.0, global_rate / 10), chat_burst=max(1, per_chat_burst)
        )
        self.poll_interval = poll_interval
        self.semaphore = asyncio.Semaphore(concurrency)
        # Chats with a claimed row whose outcome is not written yet: one message at a time per chat.
        self.in_flight: set[int] = set()
        self.outcomes: list[_Outcome] = []  # answered, not yet written
        # Chats whose next row the last pass left waiting because the chat was busy: their answer starts the next
        # pass at once. Any other answer's outcome waits (at most `poll_interval`) for the next pass that claims,
        # so a message costs one transaction, not a claim and an outcome pass of its own.
        self.waiting_chats: set[int] = set()
        self._outcome_timer: asyncio.TimerHandle | None = None
        # A full pass (outcomes, the queue's read, the claim) is wanted: a new row, an answer whose chat has its next
        # row waiting, a row put back. Otherwise answers only need their outcomes written, without the queue.
        self._pass_wanted = True
        self._pass_due = 0.0  # time.monotonic() of the next full pass at the latest (a row's not_before, the poll)
        self.wakeup = asyncio.Event()
        self.stats = {"sent": 0, "retry_after": 0, "network_retries": 0, "failed": 0, "uncertain": 0}
        self._stopping = False
        self.key = secrets.randbits(31)  # this sender, for the liveness lock and `claimed_by`
        self._liveness: AsyncSession | None = None

    def notify(self) -> None:
        """Called after a transaction that wrote outbox rows, so delivery starts without waiting a poll."""
        self._pass_wanted = True
        self.wakeup.set()

    async def _hold_liveness(self) -> None:
        """PostgreSQL: hold a session advisory lock on this sender's key for the life of the process. A crashed
        sender's connection dies with it and the lock is gone, which is how `recover` knows its rows are orphans."""
        if self._liveness is not None:
            return
        session = self.sessionmaker()
        connection = await session.connection()
        if connection.dialect.name != "postgresql":
            await session.close()
            return
        await connection.execute(text("SELECT pg_advisory_lock(:space, :key)"), {"space": LIVENESS, "key": self.key})
        await session.commit()  # the lock is the session's, not the transaction's: it stays
        self._liveness = session

    async def _dead_senders(self, session: AsyncSession) -> list[int]:
        """Keys of senders with rows in flight whose liveness lock nobody holds any more."""
        keys = (
            await session.execute(
                select(Outbox.claimed_by)
                .where(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_by.is_not(None))
                .distinct()
            )
        ).scalars()
        dead = []
        for key in keys:
            if key is None or key == self.key:
                continue
            probe = {"space": LIVENESS, "key": key}
            if (await session.execute(text("SELECT pg_try_advisory_xact_lock(:space, :key)"), probe)).scalar():
                dead.append(int(key))
        return dead

    async def recover(self) -> None:
        """After a crash: rows caught mid-send may have been delivered; never send them again. On PostgreSQL
        only the rows of senders that are gone (their liveness lock is free), or claimed longer ago than the
        lease: a fresh `sending` row may be another worker's request in flight."""
        stale = self.clock.now() - SENDING_LEASE
        async with self.sessionmaker() as session, session.begin():
            # This sender's own rows in flight are not orphans: the periodic sweep runs while it sends (marking
            # them uncertain re-asked the questions of everyone it was answering at that moment).
            condition = (Outbox.status == OutboxStatus.SENDING) & (
                (Outbox.claimed_by.is_(None)) | (Outbox.claimed_by != self.key)
            )
            if (await session.connection()).dialect.name == "postgresql":
                # Other workers may be sending right now; on SQLite this process is the only one.
                orphans = (Outbox.claimed_at.is_(None)) | (Outbox.claimed_at < stale)
                dead = await self._dead_senders(session)
                if dead:
                    orphans = orphans | Outbox.claimed_by.in_(dead)
                condition = condition & orphans
            # A render job caught mid-run has shown nothing to anyone: it simply runs again.
            await session.execute(
                update(Outbox)
                .where(condition, Outbox.channel == RENDER)
                .values(status=transition(OutboxStatus.SENDING, OutboxStatus.PENDING), claimed_by=None)
            )
            lost_cards = await self._cards_of(session, condition)
            lost_questions = await self._question_chats(session, condition)
            result = await session.execute(
                update(Outbox).where(condition).values(status=transition(OutboxStatus.SENDING, OutboxStatus.UNCERTAIN))
            )
            if result.rowcount:  # type: ignore[attr-defined]
                log.warning("outbox: %s message(s) were being sent during a crash; not resending", result.rowcount)  # type: ignore[attr-defined]
            await self._resend_cards(session, lost_cards)
            if lost_questions:
                # Their people are asked again before their next message counts as an answer.
                await session.execute(
                    update(User).where(User.tg_id.in_(lost_questions)).values(question_lost_at=self.clock.now())
                )

    async def _cards_of(self, session: AsyncSession, condition: Any) -> list[Outbox]:
        """The task cards among the rows about to become uncertain."""
        rows = await session.execute(
            select(Outbox).join(TaskCard, TaskCard.outbox_id == Outbox.id).where(condition).distinct()
        )
        return list(rows.scalars())

    async def _resend_cards(self, session: AsyncSession, rows: list[Outbox]) -> None:
        """A task card whose send is uncertain may never have arrived, and a task nobody sees waits in silence:
        it is sent afresh (a second copy of a card is harmless — its buttons are checked — a missing one is not),
        and the card's later edits go to the new message."""
        for row in rows:
            fresh = enqueue(
                session, chat_id=row.chat_id, method=row.method, payload=dict(row.payload), now=self.clock.now(),
                case_id=row.case_id,
            )  # fmt: skip
            await session.flush()
            await session.execute(update(TaskCard).where(TaskCard.outbox_id == row.id).values(outbox_id=fresh.id))

    async def _question_chats(self, session: AsyncSession, condition: Any) -> set[int]:
        """The chats of form questions among the rows about to become uncertain."""
        rows = await session.execute(select(Outbox.chat_id, Outbox.payload).where(condition))
        return {chat for chat, payload in rows.all() if payload.get("purpose") == QUESTION}

    async def run(self) -> None:
        await self._hold_liveness()
        await self.recover()
        swept = time.monotonic()
        tasks: set[asyncio.Task[None]] = set()
        while not self._stopping:
            if time.monotonic() - swept > 60:
                # A worker that died mid-request leaves its chats busy until its rows are swept.
                swept = time.monotonic()
                with contextlib.suppress(Exception):
                    await self.recover()
                with contextlib.suppress(Exception):
                    await self.poll_sms_reports()
            # Cleared before the pass, not after: a wakeup that arrives during it (an answer, a new row)
            # must start the next pass at once instead of being lost until the poll.
            self.wakeup.clear()
            try:
                if self._pass_wanted or time.monotonic() >= self._pass_due:
                    self._pass_wanted = False
                    self._pass_due = time.monotonic() + await self.dispatch(tasks)
                else:
                    # Only answers whose chats have nothing waiting: their outcomes, without reading the queue.
                    await self.flush()
            except Exception:  # the sender must outlive a bad row or a database hiccup
                log.exception("outbox: dispatch failed")
                self._pass_due = time.monotonic() + 1.0
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=max(0.0, self._pass_due - time.monotonic()))
            except TimeoutError:
                pass
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        # The answers of the last requests must reach the database, or the next start marks them uncertain.
        try:
            await self.flush()
        except Exception:
            log.exception("outbox: writing the last outcomes failed")
        if self._liveness is not None:
            await self._liveness.close()
            self._liveness = None

    def _outcomes_due(self) -> None:
        self._outcome_timer = None
        if self.outcomes:
            self.wakeup.set()

    def stop(self) -> None:
        self._stopping = True
        self.wakeup.set()

    async def flush(self) -> None:
        """Write the outcomes answered so far (the sender's passes do it on their own)."""
        outcomes, self.outcomes = self.outcomes, []
        if not outcomes:
            return
        try:
            # Without the passes' lock: the rows leave `sending` for good (sent, failed, uncertain), and a pass of
            # another worker sees their chats busy or free, either of which holds (nothing of theirs is claimed).
            async with self.sessionmaker() as session, session.begin():
                await self._write_outcomes(session, outcomes)
        except BaseException:
            self.outcomes[:0] = outcomes
            raise
        for outcome in outcomes:
            self.in_flight.discard(outcome.chat_id)

    async def dispatch(self, tasks: set[asyncio.Task[None]]) -> float:
        """One pass: write outcomes, claim the rows the limits allow now, start their requests.

        Returns how long to sleep before looking again.
        """
        global_wait = self.limiter.global_wait()
        if global_wait > 0:
            # Nothing may go out yet: do not read the queue only to find that out. At the limit every answer
            # wakes the sender, which would double the passes; the outcomes wait for the next pass.
            return global_wait
        now = self.clock.now()
        outcomes, self.outcomes = self.outcomes, []
        next_wake = self.poll_interval * 5
        claimed: list[_Claimed] = []
        try:
            async with self.sessionmaker() as session, session.begin():
                if (await session.connection()).dialect.name == "postgresql":
                    # One pass at a time across workers: reading what is pending and what is being sent, then
                    # claiming, must be one consistent step or two workers could send one chat's rows out of order.
                    await session.execute(text("SELECT pg_advisory_xact_lock(727003)"))
                await self._write_outcomes(session, outcomes)
                # What waits and which chats are being sent to, in one statement.
                found = (await session.execute(_QUEUE)).all()
                rows = sorted((row[:4] for row in found if row.waiting), key=lambda row: row[0])
                # The chats whose outcomes are written above are free again; the rest are still in flight,
                # here or in another worker.
                elsewhere = {row.chat_id for row in found if not row.waiting}
                busy_chats = (self.in_flight - {o.chat_id for o in outcomes}) | elsewhere
                chosen, next_wake = self._choose(rows, busy_chats, now, next_wake)
                if chosen:
                    claimed = await self._claim(session, chosen)
        except BaseException:
            self.outcomes[:0] = outcomes  # not written: keep them (and their chats busy) for the next pass
            raise
        for outcome in outcomes:
            self.in_flight.discard(outcome.chat_id)
        for item in claimed:
            self.in_flight.add(item.row.chat_id)
            task = asyncio.create_task(self._deliver(item))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return max(0.005, next_wake)

    def _choose(
        self, rows: Sequence[Any], busy_chats: set[int], now: datetime, next_wake: float
    ) -> tuple[list[int], float]:
        """The pending rows to send now within the limits (the first pending row of each free chat)."""
        seen: set[int] = set()
        chosen: list[int] = []
        self.waiting_chats = waiting = set()
        for row_id, chat_id, not_before, channel in rows:
            if chat_id in seen or chat_id in busy_chats:
                waiting.add(chat_id)  # behind a row of its chat in flight or chosen now: its answer starts a pass
                continue
            seen.add(chat_id)  # one message at a time per chat keeps their order
            if not_before is not None and not_before > now:
                next_wake = min(next_wake, (not_before - now).total_seconds())
                continue
            if channel == RENDER:
                chosen.append(row_id)  # no message to anyone: Telegram's limits do not apply
                continue
            limiter = self.sms_limiter if channel == SMS else self.limiter
            chat_wait = limiter.chat_wait(chat_id)
            if chat_wait > 0:
                next_wake = min(next_wake, chat_wait)
                continue
            global_wait = limiter.global_wait()
            if global_wait > 0:
                if channel == SMS:
                    next_wake = min(next_wake, global_wait)
                    continue  # Telegram's messages need not wait for the SMS bucket
                return chosen, min(next_wake, global_wait)
            limiter.take(chat_id)
            chosen.append(row_id)
        return chosen, next_wake

    async def _claim(self, session: AsyncSession, ids: list[int]) -> list[_Claimed]:
        """pending -> sending for `ids` in one statement; a row another worker took first is not returned."""
        # A Core statement built once, on the session's connection: the ORM's bulk UPDATE … RETURNING cost more than
        # the rest of the pass. The rows come back as plain `Outbox` objects outside the session (nothing loads or
        # flushes them; they carry the claimed values to the request and its outcome).
        connection = await session.connection()
        result = await connection.execute(_CLAIM, {"ids": ids, "now": self.clock.now(), "key": self.key})
        rows = {row.id: Outbox(**row._mapping) for row in result.all()}
        ref_ids = {row.ref_id for row in rows.values() if row.ref_id}
        refs = (
            {r.id: r for r in (await session.scalars(select(Outbox).where(Outbox.id.in_(ref_ids)))).all()}
            if ref_ids
            else {}
        )
        file_ids = {f for row in rows.values() for f in _file_ids(row.payload) if isinstance(f, int)}
        files = (
            {f.id: f for f in (await session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids)))).all()}
            if file_ids
            else {}
        )
        claimed = []
        for row_id in ids:  # in the outbox's order
            row = rows.get(row_id)
            if row is None:
                continue
            file_ref = row.payload.get("file_id")
            album = [files[f] for f in _file_ids(row.payload) if f in files] if row.method == "sendMediaGroup" else []
            claimed.append(
                _Claimed(
                    row,
                    refs.get(row.ref_id) if row.ref_id else None,
                    files.get(file_ref) if isinstance(file_ref, int) else None,
                    album,
                )
            )
        return claimed

    async def _write_outcomes(self, session: AsyncSession, outcomes: list[_Outcome]) -> None:
        if not outcomes:
            return
        # One executemany (bulk UPDATE by primary key); every row carries the same columns. Each status came
        # through transition() from `sending`, the status of the row this sender claimed.
        connection = await session.connection()  # a Core statement built once: nothing here for the ORM to track
        await connection.execute(_OUTCOME, [{"row_id": o.row_id, **{f"v_{k}": v for k, v in o.values.items()}}
                                            for o in outcomes])  # fmt: skip
        blocked = {o.chat_id for o in outcomes if o.blocked}
        if blocked:
            # Telegram: 403 «bot was blocked by the user». Marked for the admins (the update about it, when it
            # comes, also returns the person's pool tasks).
            await session.execute(
                update(User)
                .where(User.tg_id.in_(blocked), User.unreachable_at.is_(None))
                .values(unreachable_at=self.clock.now())
            )
        lost = {o.chat_id for o in outcomes if o.question_lost}
        if lost:
            await session.execute(
                update(User).where(User.tg_id.in_(lost)).values(question_lost_at=self.clock.now())
            )
        undelivered = [o.undelivered for o in outcomes if o.undelivered is not None]
        if undelivered and self.on_failed is not None:
            await self.on_failed(session, undelivered)
        for o in outcomes:
            if o.replaces is not None:
                # Later edits of the card go to the fresh message.
                await session.execute(
                    update(TaskCard).where(TaskCard.outbox_id == o.replaces).values(outbox_id=o.row_id)
                )
            if o.rendered is not None:
                file_id, path, size = o.rendered
                await session.execute(
                    update(StoredFile)
                    .where(StoredFile.id == file_id, StoredFile.path == NOT_RENDERED)
                    .values(path=path, size=size)
                )
            for stored_id, tg_file_id in o.learned:
                await session.execute(
                    update(StoredFile)
                    .where(StoredFile.id == stored_id, StoredFile.tg_file_id.is_(None))
                    .values(tg_file_id=tg_file_id)
                )

    async def _deliver(self, item: _Claimed) -> None:
        row = item.row
        try:
            async with self.semaphore:
                outcome = await self._deliver_one(item)
        except Exception as exc:
            # Whether it reached Telegram is unknown: never send it again, let the admin panel show it.
            log.exception("outbox: delivering %s failed", row.id)
            outcome = self._outcome(row, OutboxStatus.UNCERTAIN, error=f"{type(exc).__name__}: {exc}")
        (self.sms_limiter if row.channel == SMS else self.limiter).answered(row.chat_id)
        self.outcomes.append(outcome)
        if (
            row.chat_id in self.waiting_chats
            or outcome.undelivered is not None
            or outcome.values["status"] == OutboxStatus.PENDING
        ):
            # The chat's next row goes out with this outcome's write (or the row itself is due again).
            self._pass_wanted = True
            self.wakeup.set()
        elif self._outcome_timer is None:
            # Written with the next pass that claims (a new row's notify), or after `poll_interval` at the latest.
            self._outcome_timer = asyncio.get_running_loop().call_later(self.poll_interval, self._outcomes_due)

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
        """The row's new values, from the claimed row (nobody else changes a row while it is `sending`)."""
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
        outcome = _Outcome(row.id, row.chat_id, values, learned or [], question_lost=lost)
        notice = "notice" in row.payload  # a notification with a fallback (services/channels.py)
        # A render job has its own row; a Telegram message failing is the chat's business unless it is a notification.
        if status == OutboxStatus.FAILED and (notice or row.channel not in ("telegram", RENDER)):
            row.error = error
            outcome.undelivered = row
        return outcome

    async def _render(self, row: Outbox) -> _Outcome:
        """A render job: the document is written to the file store (in a worker thread) and its file row
        completed with the outcome; a failure is for the admins (the row fails with the error, its messages
        too), as a missing template was when documents were rendered inside the step."""
        file_id = int(row.payload["file_id"])
        if self.documents is None:
            return self._outcome(row, OutboxStatus.PENDING, delay=5.0, attempt_back=True,
                                 error="no document renderer in this process")  # fmt: skip
        try:
            content = await self.documents(row.payload)
            name = str(row.payload.get("name") or row.payload.get("template") or "document")
            path = await asyncio.to_thread(self.files.write, content, name)
        except Exception as exc:
            log.exception("outbox: render job %s failed", row.id)
            outcome = self._outcome(row, OutboxStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            outcome.rendered = (file_id, NOT_RENDERED, RENDER_FAILED_SIZE)
            return outcome
        outcome = self._outcome(row, OutboxStatus.SENT)
        outcome.rendered = (file_id, path, len(content))
        return outcome

    async def _deliver_email(self, row: Outbox) -> _Outcome:
        payload = row.payload
        if self.mailer is None or not self.mailer.configured:
            return self._outcome(row, OutboxStatus.FAILED, error="SMTP is not configured (SMTP_HOST, SMTP_FROM)")
        if "@" not in str(payload.get("to", "")):
            return self._outcome(row, OutboxStatus.FAILED, error=f"no e-mail address: {payload.get('to')!r}")
        attachments = []
        ids = [i for i in payload.get("file_ids", []) if isinstance(i, int)]
        if ids:
            async with self.sessionmaker() as session:
                for stored in (await session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))).all():
                    if not rendered(stored) and not render_failed(stored):
                        return self._outcome(row, OutboxStatus.PENDING, delay=1.0, attempt_back=True)
                    path = self.files.path(stored)
                    if path.exists():
                        attachments.append(Attachment(stored.file_name, path.read_bytes(), stored.mime_type))
        try:
            await self.mailer.send(
                str(payload["to"]),
                str(payload.get("subject", "")),
                str(payload.get("body", "")),
                attachments,
                html=str(payload["html"]) if payload.get("html") else None,
            )
        except aiosmtplib.SMTPTimeoutError as exc:
            return self._outcome(row, OutboxStatus.UNCERTAIN, error=str(exc))  # it may have been accepted
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            status = OutboxStatus.PENDING if row.attempts < MAX_ATTEMPTS else OutboxStatus.FAILED
            return self._outcome(row, status, delay=min(300.0, 5.0 * 2.0**row.attempts), error=str(exc))
        except aiosmtplib.SMTPException as exc:
            return self._outcome(row, OutboxStatus.FAILED, error=str(exc))
        self.stats["sent"] += 1
        return self._outcome(row, OutboxStatus.SENT)

    async def _deliver_sms(self, row: Outbox) -> _Outcome:
        """One SMS, claimed before the request like every row: sent at most once. The gateway down for a while
        (or unreachable) delays it with a growing pause, for up to a few hours, before it fails for good; a
        request that may have been carried out is `uncertain`, never sent again."""
        if self.sms is None or not self.sms.configured:
            return self._outcome(row, OutboxStatus.FAILED, error="SMS is not configured (SMS_PROVIDER, SMSRU_API_ID)")
        try:
            external_id = await self.sms.send(str(row.payload["to"]), str(row.payload.get("text", "")))
        except SmsTemporary as exc:
            self.stats["network_retries"] += 1
            status = OutboxStatus.PENDING if row.attempts < SMS_MAX_ATTEMPTS else OutboxStatus.FAILED
            delay = min(SMS_MAX_PAUSE, self.sms_retry_base * 2.0 ** (row.attempts - 1))
            return self._outcome(row, status, delay=delay, error=str(exc))
        except SmsUncertain as exc:
            self.stats["uncertain"] += 1
            return self._outcome(row, OutboxStatus.UNCERTAIN, error=str(exc))
        except SmsRefused as exc:
            self.stats["failed"] += 1
            return self._outcome(row, OutboxStatus.FAILED, error=str(exc))
        self.stats["sent"] += 1
        return self._outcome(row, OutboxStatus.SENT, external_id=external_id)

    async def poll_sms_reports(self, older_than: timedelta = timedelta(minutes=10)) -> int:
        """Delivery reports that never came by the gateway's callback, asked for by status."""
        if self.sms is None or not self.sms.configured:
            return 0
        async with self.sessionmaker() as session, session.begin():
            waiting = await awaiting_report(session, self.clock.now() - older_than)
            if not waiting:
                return 0
            return await record_reports(session, await self.sms.status(waiting))

    async def _deliver_one(self, item: _Claimed) -> _Outcome:
        row, ref, stored = item.row, item.ref, item.stored
        if row.channel == RENDER:
            return await self._render(row)
        if row.channel == "email":
            return await self._deliver_email(row)
        if row.channel == SMS:
            return await self._deliver_sms(row)
        carried = ([stored] if stored is not None else []) + item.album
        if any(render_failed(f) for f in carried):
            return self._outcome(row, OutboxStatus.FAILED, error="the document could not be rendered")
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
                error=None if waiting else "the message to edit was not sent",
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
            learned = [(f.id, tg) for f, m in zip(item.album, sent, strict=False) if (tg := _sent_file_id(m))]
            first = sent[0].message_id if sent else None
            return self._outcome(row, OutboxStatus.SENT, message_id=first, learned=learned)
        if isinstance(sent, dict):  # a raw sendMessage's answer: the Message as Telegram sent it
            return self._outcome(row, OutboxStatus.SENT, message_id=_raw_message_id(sent))
        message_id = sent.message_id if isinstance(sent, Message) else (ref.message_id if ref else None)
        tg_file_id = _sent_file_id(sent)
        learned = [(stored.id, tg_file_id)] if stored is not None and tg_file_id else []
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
        if row.method == "sendMessage":
            # Most of what goes out: sent as stored, its answer kept as it came (see `RawSendMessage`).
            return await self.bot(
                RawSendMessage(chat_id=row.chat_id, text=payload["text"], reply_markup=markup or None, **_mode(payload))
            )
        keyboard = _markup(markup)
        if row.method == "editMessageText":
            assert ref is not None and ref.message_id is not None
            return await self.bot.edit_message_text(
                text=payload["text"],
                chat_id=row.chat_id,
                message_id=ref.message_id,
                reply_markup=keyboard,
                **_mode(payload),
            )
        if row.method == "editMessageReplyMarkup":
            # Buttons taken away (no markup) or replaced under a message already sent.
            assert ref is not None and ref.message_id is not None
            return await self.bot.edit_message_reply_markup(
                chat_id=row.chat_id, message_id=ref.message_id, reply_markup=keyboard
            )
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


def _raw_message_id(sent: dict[str, Any]) -> int | None:
    message_id = sent.get("message_id")
    return message_id if isinstance(message_id, int) else None


def _mode(payload: dict[str, Any]) -> dict[str, Any]:
    """The parse mode of a text an admin's template wrote (HTML); a message without one goes as plain text."""
    mode = payload.get("parse_mode")
    return {"parse_mode": mode} if mode else {}


def _queue() -> CompoundSelect:
    """The first thousand pending rows (id order restored by the caller) and, after them, every chat with a row
    being sent (here or by another worker)."""
    waiting = (
        select(Outbox.id, Outbox.chat_id, Outbox.not_before, Outbox.channel, literal(True).label("waiting"))
        .where(Outbox.status == OutboxStatus.PENDING)
        .order_by(Outbox.id)
        .limit(1000)
        .subquery()
    )
    sending = (
        select(
            literal(None, Integer).label("id"),
            Outbox.chat_id,
            literal(None, Outbox.not_before.type).label("not_before"),
            literal(None, Outbox.channel.type).label("channel"),
            literal(False).label("waiting"),
        )
        .where(Outbox.status == OutboxStatus.SENDING)
        .distinct()
    )
    return union_all(select(waiting), sending)


_QUEUE = _queue()

# A sent (or failed, or postponed) row's outcome: the columns `OutboxSender._outcome` sets, by primary key.
_OUTCOME_COLUMNS = ("status", "error", "not_before", "attempts", "sent_at", "message_id", "external_id")
_OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]
_OUTCOME = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("row_id", type_=Integer))
    .values({name: bindparam(f"v_{name}", type_=_OUTBOX.c[name].type) for name in _OUTCOME_COLUMNS})
)

# pending -> sending for the chosen ids; a row another worker took first is not returned.
_CLAIM = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)), _OUTBOX.c.status == OutboxStatus.PENDING)
    .values(
        status=transition(OutboxStatus.PENDING, OutboxStatus.SENDING),
        attempts=_OUTBOX.c.attempts + 1,
        claimed_at=bindparam("now", type_=_OUTBOX.c.claimed_at.type),
        claimed_by=bindparam("key", type_=_OUTBOX.c.claimed_by.type),
    )
    .returning(*_OUTBOX.c)
)


def _file_ids(payload: dict[str, Any]) -> list[Any]:
    """The stored files a row sends: one (`file_id`) or an album's (`media`)."""
    return [payload.get("file_id"), *(item.get("file_id") for item in payload.get("media", []))]


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
