"""Updates in and out of the durable inbox (`services.inbox`).

Storing and handling: a processor stores what Telegram brought (its receivers, long polling and the webhook, are
`tgbot.receive`), takes pending rows in per-person order and feeds each to the dispatcher; the update's own
transaction marks it done (see `DbSessionMiddleware`), so a crash at any point means it is handled after restart,
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import POOL_RECYCLE
from services import inbox, people
from services.core import Core
from tgbot.conversation import Conversation

T = TypeVar("T")
log = logging.getLogger(__name__)

REASK_SWEEP = 5.0  # seconds between looks for lost form questions
REASK_AFTER = timedelta(seconds=20)  # a person who has not written by then gets the question again
# Updates handled at once. Each holds a pooled connection for its transaction; more than the pool keeps warm
# (db.engine: 20) would open and close overflow connections under load, each preparing its statements anew
# (in the bench, 200 people at once: ~8% of the bot's CPU in connecting and preparing). On 2 cores more
# handlers at once add no throughput, only waiting inside the database; the rest wait their turn here, in order.
HANDLING_AT_ONCE = 16
# Looks at updates stored behind a claim under way (`_look_behind`), each holding a pooled connection while it waits
# for that claim: more at once are left to the passes, so the webhook's own store never waits for the pool on them.
LOOKS_AT_ONCE = 8
LOOK_WAIT = 5.0  # seconds a look waits for a claim under way; half the lease it writes (`inbox.LEASE`)


def person_of(payload: dict[str, Any]) -> int:
    """Whose update this is: the user behind it, else its chat; 0 for updates with neither."""
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from") or value.get("user")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
        chat = value.get("chat") or (value.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return 0


def incoming(payloads: Sequence[dict[str, Any]]) -> list[inbox.Incoming]:
    return [
        inbox.Incoming(update_id=int(p["update_id"]), person_id=person_of(p), payload=p)
        for p in payloads
        if isinstance(p.get("update_id"), int)
    ]


class InboxProcessor:
    """Feeds pending updates to the dispatcher: people in parallel, each person's updates in order."""

    def __init__(
        self,
        core: Core,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        poll_interval: float = 0.5,
        handling: bool = True,
        shared: bool = False,
    ) -> None:
        self.core = core
        # Other workers take updates from the same inbox (webhook mode on PostgreSQL): a pass leases what it starts.
        self.shared = shared and not core.sqlite
        # Off: updates are stored but not handled (a crash drill stops here between receiving and handling).
        self.handling = handling
        self.bot = bot
        self.dispatcher = dispatcher
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._busy: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(HANDLING_AT_ONCE)
        self._stopping = False
        self._unstarted: list[int] = []
        self._running: dict[int, int] = {}  # person -> the update their worker is on
        self._next: dict[int, inbox.Due] = {}  # person -> their next update, found due while their worker finished
        # Shared: person -> their updates received here, stored behind an older pending one of theirs, not started
        # here yet (another worker's claim may have chained them: this worker cannot know, and the timed pass forgets).
        self._behind: dict[int, set[int]] = {}
        # Not shared: person -> the newest update this process stored for them, kept until an update of theirs at
        # least as new ends. An update's end looks for the person's next one only when one was stored after it
        # (or when its own update was not stored here: after a restart, say) — not a pass per update.
        self._stored_up_to: dict[int, int] = {}
        # While a pass's read is under way: the updates whose workers ended meanwhile. The read's snapshot may have
        # been taken before such an update committed, so it comes back as pending although it is done; started
        # again, its claim would only be declined (one wasted locking statement, a slot, and the person's next
        # update queued behind it). In the bench's 200 people this was 1–15% of the claims. Not when shared: a
        # lease's UPDATE sees each row as committed, and a leased row skipped would wait out its lease.
        self._ended_during_read: set[int] | None = None
        self._looks: set[asyncio.Task[None]] = set()  # shared: looks at updates stored behind (`_look_behind`)
        self._not_reading = asyncio.Event()  # cleared while a pass reads (leases, when shared): `stop` waits for it
        self._not_reading.set()
        self._asking: AsyncConnection | None = None  # PostgreSQL: the timed passes' question's connection
        self._asking_since = 0.0  # when it was taken (time.monotonic)

    def notify(self) -> None:
        self._wake.set()

    async def store(self, payloads: Sequence[dict[str, Any]]) -> int:
        rows = incoming(payloads)
        # PostgreSQL, this process alone handling the inbox: the INSERT says which new updates are due (no older one
        # of their person pending), and those start at once — no pass reads them back (in the open loop, where each
        # update comes alone, that pass was one statement of every update's eight or so). SQLite keeps its pass: one
        # read in the process, and its INSERT is an executemany without RETURNING.
        direct = not self.shared and self.handling and not self.core.sqlite and not self._stopping
        stored_due: list[tuple[int, int, bool]] = []
        async with self.core.single_statements.begin() as connection:  # one statement: no ORM session needed
            if direct:
                stored_due = await inbox.store_due(connection, rows, self.core.clock.now())
                new = len(stored_due)
            else:
                new = await inbox.store(connection, rows, self.core.clock.now(), sqlite=self.core.sqlite)
        if not self.shared and self.handling:
            # Before the pass below runs (in the same step): a person's update ending now sees what came after it.
            stored = self._stored_up_to
            for row in rows:
                if row.update_id > stored.get(row.person_id, -1):
                    stored[row.person_id] = row.update_id
        if direct:
            if self._start_stored(rows, stored_due):
                self.notify()
        elif new:
            self.notify()
        return new

    def _start_stored(self, rows: list[inbox.Incoming], stored_due: list[tuple[int, int, bool]]) -> bool:
        """Start the new updates the INSERT found due, the first of each person in the batch whose worker is not
        running (a running one's end looks for the person's next: `_later_stored`). Whether a pass is still wanted:
        an update behind an older pending one that is not being handled here (stored before a restart, or waiting
        for its retry)."""
        if self._stopping:
            return False  # stored: the next start's pass finds them
        payloads = {row.update_id: row.payload for row in rows}
        seen: set[int] = set()
        wanted = False
        for update_id, person_id, due in sorted(stored_due):
            if person_id in seen or person_id in self._busy:
                seen.add(person_id)
                continue  # behind an update of theirs in this batch, or of their worker here: its end looks
            seen.add(person_id)
            if due:
                payload = payloads[update_id]
                self._start(inbox.Due(person_id, update_id, parsed=payload))
            else:
                wanted = True
        return wanted

    async def receive(self, payload: dict[str, Any], raw: str) -> None:
        """One update from the webhook. A worker sharing the inbox stores it leased to itself when its person has
        nothing older pending (`inbox.store_leased`), and hands it straight to its handler: no pass reads it back.
        Otherwise (behind an older update, a repeat, or not handling here) it is stored as ever, for the passes."""
        rows = incoming([payload])
        if not (self.shared and self.handling and not self._stopping and rows):
            await self.store([payload])
            return
        async with self.core.single_statements.begin() as connection:
            leased = await inbox.store_leased(connection, rows[0], self.core.clock.now(), raw)
        if leased is None:
            return  # a repeat: stored before, handled (or being handled) by whoever has it
        item = inbox.Due(rows[0].person_id, rows[0].update_id, raw, parsed=rows[0].payload)  # decoded once
        if not leased:
            # Behind an older update of the person, still pending: that one's claim chains it, wherever it runs —
            # unless that claim is under way already (it began before this store committed and did not see it). A
            # look after the webhook's answer (`inbox.lease_behind`) waits for such a claim and leases this one
            # when it is due then; else a pass starts it in its turn (this worker's when it next finishes an update
            # of this person, or any worker's timed pass). The answer does not wait: Telegram's delivery does not
            # stall behind another update's transaction.
            if len(self._looks) >= LOOKS_AT_ONCE:
                self._behind.setdefault(item.person_id, set()).add(item.update_id)  # for a pass, in its turn
                return
            look = asyncio.create_task(self._look_behind(rows[0], item))
            self._looks.add(look)
            look.add_done_callback(self._looks.discard)
            return
        await self._hand_over(item)

    async def _look_behind(self, update: inbox.Incoming, item: inbox.Due) -> None:
        """`inbox.lease_behind`, and the update handed over if it leased it. Bounded: a claim that holds the older
        update longer than `LOOK_WAIT` is not waited for (the statement is cancelled; a pass finds the update), so
        the lease written is never one that has run out already. Not leased, the update is left for a pass (this
        worker's when an update of the same person ends here, or any worker's timed pass)."""
        leased = False
        try:
            if not self._stopping:
                async with self.core.single_statements.begin() as connection:
                    leased = await asyncio.wait_for(inbox.lease_behind(connection, update), LOOK_WAIT)
            if leased:
                await self._hand_over(item)
        except TimeoutError:
            log.info("update %s waits behind a long claim: left to the passes", update.update_id)
        except Exception:  # not lost: a pass finds it in its turn (a lease written but not handed over runs out)
            log.exception("looking again at update %s stored behind failed", update.update_id)
        finally:
            if not leased:
                self._behind.setdefault(item.person_id, set()).add(item.update_id)

    async def _hand_over(self, item: inbox.Due) -> None:
        """An update leased to this worker: started now, or next after its person's update running here (the older
        first, as `_follow` keeps them)."""
        if self._stopping:
            self._unstarted.append(item.update_id)
        elif item.person_id not in self._busy:
            self._start(item)
        elif self._running.get(item.person_id) != item.update_id:
            await self._follow(item)

    async def run(self) -> None:
        try:
            await self._passes()
        finally:
            await self._close_asking()

    async def _passes(self) -> None:
        swept = time.monotonic()
        timed = False
        found = True  # whether the last pass found any update due (started, queued or already ended)
        while not self._stopping:
            try:
                # A timed pass (nothing woke it) after a pass that found nothing, on PostgreSQL, first asks whether
                # there is anything it could start (`inbox.any_due`, one prebuilt statement on the driver): an idle
                # worker, or one whose people's updates are all leased to their workers, pays that question twice a
                # second, not the pass. After a pass that found work the next is likely to find some too, and the
                # question would only come before the lease (one statement more): it leases at once.
                if not timed or found or await self._anything_due():
                    found = await self.drain()
                if time.monotonic() - swept > REASK_SWEEP:
                    swept = time.monotonic()
                    await self.reask_lost_questions()
            except Exception:  # the database may be away for a moment; the rows wait for us
                log.exception("inbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
                timed = False
            except TimeoutError:
                # A timed pass: what this worker stored behind others and is due by now is found by it (or by
                # another worker's); the rest are due only once their person's older update is done, by whoever
                # finishes it, or by the next timed pass.
                self._behind.clear()
                timed = True
            self._wake.clear()

    async def _anything_due(self) -> bool:
        """`inbox.any_due` on a connection kept for it while the processor runs (taking one from the pool and giving
        it back cost more client CPU than the question: 0.70 → 0.26 ms a question on a loaded machine, against 1.1–1.6
        ms for the lease pass); one that failed is closed, and another taken at the next timed pass."""
        if not self.handling or self.core.sqlite:
            return True  # `drain` returns at once when not handling; SQLite's pass is its one read anyway
        return await self._on_asking(inbox.any_due)

    async def _on_asking(self, question: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`question` on the connection kept for the timed passes' questions, taken if there is none; closed if the
        question fails (the database went away, or the server dropped it), so the next one takes another."""
        if self._asking is not None and time.monotonic() - self._asking_since > POOL_RECYCLE:
            # Kept out of the pool, it would miss the pool's recycling (a firewall or pooler cutting it would cost a
            # failed pass): given back at least every POOL_RECYCLE seconds while kept (counted from when it was
            # taken, so it may be up to twice that old), and taken again through the pool, which retires old ones.
            await self._close_asking()
        if self._asking is None:
            self._asking = await self.core.single_statements.connect()
            self._asking_since = time.monotonic()
        try:
            return await question(self._asking)
        except BaseException:
            await self._close_asking()
            raise

    async def _close_asking(self) -> None:
        asking, self._asking = self._asking, None
        if asking is not None:
            with contextlib.suppress(Exception):
                await asking.close()

    async def drain(self) -> bool:
        """Start a worker for every person whose oldest waiting update is due and who has no worker yet: the
        updates are found and read in one statement for everybody, on a plain connection (and leased to this
        worker in the same statement when other workers share the inbox: `inbox.lease`). Whether it found any."""
        if not self.handling or self._stopping:
            return False  # a stopping worker leases nothing more: `stop` has given back (or is giving back) its own
        ended: set[int] = set()
        self._ended_during_read = None if self.shared else ended
        self._not_reading.clear()
        try:
            async with self.core.single_statements.connect() as connection:
                due = await (inbox.lease(connection) if self.shared else inbox.pending(connection))
            if self._stopping:
                # `stop` came while the read was under way: what it leased is given back at once, not started (else
                # it would wait out its lease, 10 s, before another worker could take it).
                if self.shared and due:
                    try:
                        await self._release([item.update_id for item in due])
                    except Exception:
                        log.exception("giving back %d updates leased as the worker stopped failed; they wait out their "
                                      "lease (%s)", len(due), inbox.LEASE)
                return False
        finally:
            self._ended_during_read = None
            self._not_reading.set()
        for item in due:
            if item.update_id in ended:
                continue  # done here after the read's snapshot (or declined, or failed: a retry waits its turn)
            if item.person_id in self._busy:
                # Their previous update is committed (this one would not be due otherwise) and its worker is
                # finishing: it starts this one next. (Leased, it would not come back to another pass for a while.)
                if self._running.get(item.person_id) != item.update_id:
                    self._next[item.person_id] = item
                continue
            self._start(item)
        return bool(due)

    def _start(self, item: inbox.Due) -> None:
        behind = self._behind.get(item.person_id)
        if behind is not None:
            behind.discard(item.update_id)
            if not behind:
                del self._behind[item.person_id]
        self._running[item.person_id] = item.update_id
        self._busy[item.person_id] = asyncio.create_task(self._person(item), name=f"inbox:{item.person_id}")

    async def _person(self, item: inbox.Due) -> None:
        """One update of one person; their next one (if any) is found by the next pass, which this one's end
        wakes — so a person's updates go one at a time, in order, and each costs no look-up of its own."""
        try:
            async with self._slots:
                if not self._stopping:
                    chained = await self.handle(item.update_id, item.payload)
                    if chained is not None:
                        await self._follow(chained)
                elif self.shared:
                    self._unstarted.append(item.update_id)  # leased, never started: given back at `stop`
        finally:
            if self._ended_during_read is not None:
                self._ended_during_read.add(item.update_id)
            self._busy.pop(item.person_id, None)
            self._running.pop(item.person_id, None)
            following = self._next.pop(item.person_id, None)
            if following is not None and not self._stopping:
                self._start(following)
            else:
                if following is not None and self.shared:
                    self._unstarted.append(following.update_id)
                # Others of this person may have arrived meanwhile. A worker sharing the inbox knows: what it
                # received was either started at once or stored behind an older update of its person (`_behind`);
                # a pass only when this person has one stored behind here that no claim chained (a later update
                # stored while this one's claim ran, before its commit) — not at every end while anybody's is
                # behind: most were chained by whoever handled their person's older update, and with a burst
                # stored behind that was a lease statement for most updates. The updates other workers stored
                # behind this one are theirs to look for (`_look_behind`), and every worker's timed pass finds
                # whatever is left. A worker alone knows what it stored
                # (`_stored_up_to`): a pass only when a later update of this person was stored, or when this one
                # was not stored here; the timed pass finds the rest (a retry's turn).
                if self.shared:
                    if self._still_behind(item):
                        self._wake.set()
                elif self._later_stored(item):
                    self._wake.set()

    def _still_behind(self, item: inbox.Due) -> bool:
        """Shared, at the end of `item`: whether its person has an update stored behind here that may wait still.
        Theirs up to `item` are forgotten: a claim of `item` needed the older ones done (claims go in the person's
        order), most likely chained elsewhere; if it was declined instead, the timed pass finds them. (A hint for
        waking a pass early: the timed pass is what finds every update.)"""
        behind = self._behind.get(item.person_id)
        if behind is None:
            return False
        behind.difference_update([update_id for update_id in behind if update_id <= item.update_id])
        if not behind:
            del self._behind[item.person_id]
            return False
        return True

    def _later_stored(self, item: inbox.Due) -> bool:
        """Not shared, at the end of `item`: whether a later update of its person may be waiting — one stored here
        after it, or nothing known (`item` was not stored by this process). Forgets the person when nothing is."""
        newest = self._stored_up_to.get(item.person_id)
        if newest is None:
            return True
        if newest > item.update_id:
            return True
        del self._stored_up_to[item.person_id]
        return False

    async def _follow(self, chained: inbox.Due) -> None:
        """The person's next update, leased to this worker with the claim of their previous one: started when that
        one's worker ends. (A pass cannot have queued another one meanwhile — the leased one holds the person's
        later updates back — but if one is there, the older goes first and the other is given back.)"""
        queued = self._next.get(chained.person_id)
        if queued is not None and queued.update_id != chained.update_id:
            first, other = sorted((queued, chained), key=lambda due: due.update_id)
            self._next[chained.person_id] = first
            await self._release([other.update_id])
            return
        self._next[chained.person_id] = chained

    async def _release(self, update_ids: list[int]) -> None:
        """Give leased updates back to every worker at once (`inbox.release`)."""
        async with self.core.single_statements.begin() as connection:
            await inbox.release(connection, update_ids)

    async def handle(self, update_id: int, payload: dict[str, Any]) -> inbox.Due | None:
        """Feed one update to the dispatcher. A worker sharing the inbox gets back the person's next update when
        the claim leased it too (`inbox.take_with_person_and_next`): it is this worker's to start next."""
        try:
            update = Update.model_validate(payload, context={"bot": self.bot})
        except Exception as error:  # not an update we can read: parking it beats retrying it for ever
            log.error("update %s cannot be read: %s", update_id, error)
            async with self.core.sessionmaker() as session, session.begin():
                await inbox.give_up(session, update_id, f"unreadable update: {error}", self.core.clock.now())
            return None
        declined: set[int] = set()  # filled by `DbSessionMiddleware` when the claim finds it not this one's turn
        following: list[inbox.Due] | None = [] if self.shared else None  # filled once the update has committed
        await self.dispatcher.feed_update(
            self.bot, update, inbox_update_id=update_id, inbox_declined=declined, inbox_following=following
        )
        if declined and self.shared:
            # Done elsewhere already, or an older update of the person came in after this one was leased (another
            # worker received it): given back at once, so it follows that one instead of waiting out the lease.
            await self._release(list(declined))
        return following[0] if following else None

    async def reask_lost_questions(self, older_than: timedelta = REASK_AFTER) -> int:
        """A form question that may not have arrived, and the person has not written since: ask it again."""
        if not self.handling:
            return 0
        cutoff = datetime.now(UTC) - older_than
        if self.core.sqlite:
            async with self.core.db.connect() as connection:
                ids = await inbox.lost_questions(connection, cutoff)
        else:  # on the timed passes' connection (`_anything_due`): one prebuilt statement, no ORM session
            ids = await self._on_asking(lambda connection: inbox.lost_questions(connection, cutoff))
        for user_id in ids:
            async with self.core.sessionmaker() as session, session.begin():
                user = await people.user_for_update(session, user_id, lock=not self.core.sqlite)
                if user is None or user.question_lost_at is None or user.question_lost_at >= cutoff:
                    continue  # answered or re-asked meanwhile
                conversation = Conversation(self.core, session, user)
                task = await conversation.active_task()
                if task is None:
                    user.question_lost_at = None
                    continue
                await conversation.reasked(task, answering=False)
            self.core.outbox_written()
        return len(ids)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        # A pass's lease under way ends first (it gives back what it leased, `drain`), before the database goes; at
        # most 5 s, past which whatever it leases waits out its lease.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._not_reading.wait(), timeout=5)
        if self._looks:
            # A look that has not leased by now is cancelled (its statement with it): its update is left unleased for
            # the other workers' passes, not leased to a worker going away.
            _done, pending = await asyncio.wait(set(self._looks), timeout=5)
            for look in pending:
                look.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in list(self._busy.values()):
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
        if self._unstarted:
            # A worker going away (a deploy) gives its leases back: the other workers need not wait them out.
            try:
                await self._release(self._unstarted)
            except Exception:  # they are not lost: the other workers take them when the lease runs out
                log.exception("giving back %d leased updates at stop failed; they wait out their lease (%s)",
                              len(self._unstarted), inbox.LEASE)
            self._unstarted = []
