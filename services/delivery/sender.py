"""The outbox sender's loop: passes that write the answered outcomes, read the queue, pick what the limits allow
and claim it in one transaction; the requests go out after that commit (see the package's docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import Bot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from db import driver
from db.engine import autocommit
from db.models import Outbox
from db.step_writes import connection_of
from flows.clock import Clock, SystemClock
from flows.status import OutboxStatus
from integrations.email import Mailer
from services.delivery.base import DocumentRenderer, _Claimed, _Outcome
from services.delivery.chaining import ChainingMixin
from services.delivery.channels import ChannelsMixin
from services.delivery.limits import RateLimiter
from services.delivery.queue import _QUEUE
from services.delivery.recovery import RecoveryMixin
from services.delivery.telegram import TelegramMixin
from services.files import FileStore
from services.outbox import RENDER, Written
from services.sms import SMS, SmsGateway

log = logging.getLogger(__name__)

# One pass at a time across workers (PostgreSQL): the queue's read and the claim are one consistent step.
_PASS_LOCK = text("SELECT pg_advisory_xact_lock(727003)")


class OutboxSender(ChainingMixin, RecoveryMixin, TelegramMixin, ChannelsMixin):
    """Delivers outbox rows with a couple of statements per batch, not two transactions per message.

    Each pass of `dispatch` is one transaction: it writes the outcomes of the requests answered since the
    last pass, reads the pending rows, picks those the limits allow now, and claims them with one
    UPDATE ... RETURNING. The requests go out only after that commit (claimed before the request, so never
    sent twice). A chat stays busy until its outcome is written, so the next pass sees the chat's rows as
    they really are (a 429'd row back in `pending` before the one after it; an edit's message `sent`).
    An answer whose chat has nothing waiting does not start a pass: its outcome is written by a statement of its
    own. The messages an update (or a fired timer) queued are handed over by chat after its commit (`notify`) and
    claimed by one statement without a pass where it is their chat's turn (`_take_handed`); on PostgreSQL a form's
    answer claims its first message itself, in the statement that writes it, and the sender starts its request after
    the commit (`handing`).

    Its parts: the queue's statements, the claim and the outcomes (`queue`), an answer's own claim (`handing`), the
    outcomes' own writes and the claims without a pass (`chaining`), liveness and a crash's orphans (`recovery`),
    Telegram's requests (`telegram`), e-mail, SMS and render jobs (`channels`), the limits (`limits`).
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
        # Rows whose request was started here and whose outcome is not written yet: any other row this sender holds
        # `sending` was never requested (its claim's answer was lost), and its sweep puts it back.
        self.started: set[int] = set()
        self.outcomes: list[_Outcome] = []  # answered, not yet written
        # Chats whose next row the last pass left waiting because the chat was busy: their answer starts the next
        # pass at once (outcomes, then the claim, in one transaction). Any other answer's outcome is written at once
        # by a write of its own that reads no queue and takes no passes' lock (`flush`).
        self.waiting_chats: set[int] = set()
        # Per chat with a row in flight here: the Telegram rows the last pass saw waiting behind it, in order. When
        # its answer says sent, the outcome's write claims the next of them (`flush`): no queue read, no passes'
        # lock, and the outcome is written as soon as the answer came (a reply and the next question: one pass).
        self.next_rows: dict[int, list[tuple[int, datetime | None, str]]] = {}
        # Chats an update's transaction just queued messages for (`notify`): their first rows are claimed without a
        # pass (`_take_handed`), unless a pass comes first.
        self.handed: set[int] = set()
        # Rows a form's answer claimed in its own transaction (`handing`): their requests start after its commit.
        self._init_handing()
        self._tasks: set[asyncio.Task[None]] = set()  # the requests under way
        # PostgreSQL: plain answers' outcomes, with their chats' next claim if any, go as one statement in autocommit
        # (atomic by itself): no BEGIN and COMMIT round trips around it.
        bind = sessionmaker.kw.get("bind")
        self._autocommit = autocommit(bind) if isinstance(bind, AsyncEngine) else None
        self._postgresql = isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql"
        # A full pass (outcomes, the queue's read, the claim) is wanted: a new row, an answer whose chat has its next
        # row waiting, a row put back. Otherwise answers only need their outcomes written, without the queue.
        self._pass_wanted = True
        self._pass_due = 0.0  # time.monotonic() of the next full pass at the latest (a row's not_before, the poll)
        self.wakeup = asyncio.Event()
        self.stats = {"sent": 0, "retry_after": 0, "network_retries": 0, "failed": 0, "uncertain": 0}
        self._stopping = False
        self.key = secrets.randbits(31)  # this sender, for the liveness lock and `claimed_by`
        self._liveness: AsyncConnection | None = None

    def notify(self, written: Written | None = None) -> None:
        """Called after a transaction that wrote outbox rows, so delivery starts without waiting a poll. `written`
        (what it queued, when known): only Telegram messages — their chats' first rows are taken without a pass
        (`_take_handed`); nothing — nothing to do."""
        if written is not None and not written.other:
            if written.chats:
                self.handed |= written.chats
                self.wakeup.set()
            return
        self._pass_wanted = True
        self.wakeup.set()

    async def run(self) -> None:
        await self._hold_liveness()
        await self.recover()
        # From here to the loop's end answers may claim their messages (`handing`): something starts them. A loop
        # that never started or died would leave every such chat busy here and its rows `sending` for a live key.
        self._running = True
        try:
            await self._serve()
        finally:
            self._running = False

    async def _serve(self) -> None:
        swept = time.monotonic()
        tasks = self._tasks
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
                if self.ready:  # rows an answer's transaction claimed and committed: straight to their requests
                    await self._start_answers()
                if self._put_back_wanted:
                    self._put_back_wanted = False
                    await self.put_back_unstarted()
                if self._pass_wanted or time.monotonic() >= self._pass_due:
                    self._pass_wanted = False
                    self.handed.clear()  # the pass reads the whole queue: their rows among it
                    self._pass_due = time.monotonic() + await self.dispatch(tasks)
                else:
                    # Only answers whose chats have nothing waiting: their outcomes, without reading the queue.
                    await self.flush()
                    if self.handed and not self._pass_wanted:
                        # Messages an update just queued: their chats' first rows, claimed by one statement.
                        await self._take_handed()
            except Exception:  # the sender must outlive a bad row or a database hiccup
                log.exception("outbox: dispatch failed")
                self._pass_due = time.monotonic() + 1.0
                # A claim may have committed with its answer lost: its rows are this sender's, never started, and
                # their chats look busy to every pass until they are put back — which comes first, then.
                with contextlib.suppress(Exception):
                    await self.put_back_unstarted()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=max(0.0, self._pass_due - time.monotonic()))
            except TimeoutError:
                pass
        with contextlib.suppress(Exception):
            # Briefly: the application gives the whole stop 5 s, and the requests' outcomes below must fit in it.
            await self._drain_answers(1.0)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        # The answers of the last requests must reach the database, or the next start marks them uncertain.
        try:
            await self.flush()
        except Exception:
            log.exception("outbox: writing the last outcomes failed")
        if self.ready or self._put_back_wanted:
            # Committed by answers and not started as the sender stopped, or a COMMIT that failed and may have
            # committed after all: back to waiting, sent after the restart (or by another worker).
            for settled in self.ready:
                for row in settled.rows:
                    self.answers_unstarted.pop(row.id, None)
            self.ready = []
            with contextlib.suppress(Exception):
                await self.put_back_unstarted()
        with contextlib.suppress(Exception):
            await self._let_go_of_liveness()

    def stop(self) -> None:
        self._stopping = True
        self.wakeup.set()

    def _start(self, claimed: list[_Claimed]) -> None:
        for item in claimed:
            self.in_flight.add(item.row.chat_id)
            self.started.add(item.row.id)
            task = asyncio.create_task(self._deliver(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def dispatch(self, tasks: set[asyncio.Task[None]]) -> float:
        """One pass: write outcomes, claim the rows the limits allow now, start their requests.

        Returns how long to sleep before looking again.
        """
        with self._claiming():  # no answer's own claim beside this one's chats (`handing`)
            return await self._pass(tasks)

    async def _pass(self, tasks: set[asyncio.Task[None]]) -> float:
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
            found: Sequence[Any]
            async with self.sessionmaker() as session, session.begin():
                if self._postgresql:
                    # One pass at a time across workers: reading what is pending and what is being sent, then
                    # claiming, must be one consistent step or two workers could send one chat's rows out of order.
                    # The lock (which begins the transaction) and the queue's read go straight to the driver, as a
                    # step's writes do (`db.driver.fetch`): SQLAlchemy's execution path around them cost
                    # more client CPU than their round trips, and a pass runs once or twice per update.
                    connection, _raw = await connection_of(session)
                    await driver.fetch(session, _PASS_LOCK, {}, begin=True)
                    await self._write_outcomes(session, outcomes)
                    # What waits and which chats are being sent to, in one statement (compiled once; see `_queue`
                    # for which of its statuses is written in).
                    found = await driver.fetch(session, _QUEUE, {})
                else:
                    connection = await session.connection()
                    await self._write_outcomes(session, outcomes)
                    found = (await connection.execute(_QUEUE)).all()
                # (id, chat_id, not_before, channel, waiting): the chats with a row being sent come with no id.
                rows = sorted((tuple(row[:4]) for row in found if row[4]), key=lambda row: row[0])
                # The chats whose outcomes are written above are free again; the rest are still in flight,
                # here or in another worker.
                elsewhere = {row[1] for row in found if not row[4]}
                local = self.in_flight - {o.chat_id for o in outcomes}
                chosen, next_wake = self._choose(rows, local | elsewhere, local, now, next_wake)
                if chosen:
                    claimed = await self._claim(connection, chosen)
        except BaseException:
            self.outcomes[:0] = outcomes  # not written: keep them (and their chats busy) for the next pass
            raise
        for outcome in outcomes:
            self.in_flight.discard(outcome.chat_id)
            self.started.discard(outcome.row_id)
        self._start(claimed)
        return max(0.005, next_wake)

    def _choose(
        self, rows: Sequence[Any], busy_chats: set[int], local: set[int], now: datetime, next_wake: float
    ) -> tuple[list[int], float]:
        """The pending rows to send now within the limits (the first pending row of each free chat); and, for each
        chat with a Telegram message in flight here (`local`, or chosen now), the rows waiting behind it
        (`next_rows`, for its answer to claim the next)."""
        seen: set[int] = set()
        chosen: list[int] = []
        self.waiting_chats = waiting = set()
        behind: dict[int, list[tuple[int, datetime | None, str]]] = {}
        mine = set(local)
        for row_id, chat_id, not_before, channel in rows:
            if chat_id in seen or chat_id in busy_chats:
                waiting.add(chat_id)  # behind a row of its chat in flight or chosen now: its answer starts a pass
                behind.setdefault(chat_id, []).append((row_id, not_before, channel))
                if chat_id not in seen and chat_id not in local and (not_before is None or not_before <= now):
                    # In flight in another worker, whose answer wakes nobody here (it never saw this row): look
                    # again after one poll interval, not the idle wait of five. Under load passes come sooner anyway.
                    # (A crashed worker's row left `sending` costs these looks until the recovery sweeps it.)
                    next_wake = min(next_wake, self.poll_interval)
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
                next_wake = min(next_wake, global_wait)
                break
            limiter.take(chat_id)
            chosen.append(row_id)
            if channel == "telegram":
                mine.add(chat_id)
        self.next_rows = {chat: waiting_rows for chat, waiting_rows in behind.items() if chat in mine}
        return chosen, next_wake

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
            row.channel == "telegram"
            and outcome.values["status"] == OutboxStatus.SENT
            and self.next_rows.get(row.chat_id)
            and outcome.undelivered is None
        ):
            # Sent, with a row of its chat waiting behind it: the outcome's write (at once, like any other) claims
            # that row, and its request follows (`flush`). Its order and the chat's limits are kept as a pass
            # keeps them; no queue read, no passes' lock.
            self.wakeup.set()
        elif (
            row.chat_id in self.waiting_chats
            # Rows noted behind a message that did not go (refused, uncertain, due again): no outcome claims them.
            or self.next_rows.get(row.chat_id)
            or outcome.undelivered is not None
            or outcome.values["status"] == OutboxStatus.PENDING
        ):
            # The chat's next row goes out with this outcome's write (or the row itself is due again).
            self._pass_wanted = True
            self.wakeup.set()
        else:
            # Written at once, by a write of its own (no queue read, no passes' lock): an outcome that waits
            # is a crash window in which a message that reached the person counts as unsent (a card is sent
            # again at the restart) — the drill's kills found one at 0.2 s.
            self.wakeup.set()

    async def _deliver_one(self, item: _Claimed) -> _Outcome:
        row = item.row
        if row.channel == RENDER:
            return await self._render(row)
        if row.channel == "email":
            return await self._deliver_email(row)
        if row.channel == SMS:
            return await self._deliver_sms(row)
        return await self._deliver_telegram(item)
