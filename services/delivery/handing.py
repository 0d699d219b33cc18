"""The sender's side of an answer that claims its own first message (`services.answer_claim`).

A form's answer writes its messages with one statement; offered the chats where this sender could send now (nothing
of the chat in flight here, the limits allow: counted at once), that statement claims each chat's first message
where a pass would (`services/outbox_answer.py` `_ANSWER_PG`). The claim is the transaction's: the sender learns of
it by the session's own end — its commit starts the requests (no claim statement, no pass), its rollback gives the
limits and the chats back. Until a claimed row's request starts it is `handing` here, and an open offer's rows are not
known yet at all: this sender's sweep of its never-started rows (`_put_back_unstarted`) leaves both alone. A crash
between the commit and the start leaves the row `sending` for a dead sender: uncertain, as a crash mid-request."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session, SessionTransaction

from db.models import Outbox
from services.answer_claim import Behind, Offer
from services.delivery.base import _Claimed
from services.delivery.limits import Taken
from services.delivery.queue import QueueMixin
from services.outbox import file_ids

_SETTLED = "konveyer.delivery.settled"


@dataclass
class _Settled:
    """What one statement of a transaction claimed for `sender`, and what it counted against the limits."""

    sender: HandingMixin
    rows: list[Outbox]
    behind: dict[int, list[Behind]]
    taken: list[Taken]


class HandingMixin(QueueMixin):
    # The sender's own state these work on (`services/delivery/sender.py`).
    in_flight: set[int]
    next_rows: dict[int, list[Behind]]
    waiting_chats: set[int]
    wakeup: asyncio.Event
    _pass_wanted: bool
    _stopping: bool
    _postgresql: bool
    _autocommit: AsyncEngine | None
    _start: Callable[[list[_Claimed]], None]

    def _init_handing(self) -> None:
        # Offers given and not settled (their statements under way), with their counts against the limits.
        self.offers: dict[Offer, list[Taken]] = {}
        # Rows an answer's transaction claimed, committed or not, whose requests have not started here: by id.
        self.answers_unstarted: dict[int, Outbox] = {}
        # Committed: to start, with the rows of their chats behind them.
        self.ready: list[_Settled] = []
        # A transaction that claimed rows here ended without its commit: did its COMMIT commit after all?
        self._put_back_wanted = False
        # This sender's own claims (a pass, a hand-over) and its sweep of never-started rows under way: no offer
        # meanwhile (`offer`). An outcome's chained claim needs no such guard: its chats are in flight here.
        self._own_claims = 0
        # The sender's loop runs (`OutboxSender.run`): nothing is offered before it or after it ends.
        self._running = False

    @contextlib.contextmanager
    def _claiming(self) -> Iterator[None]:
        """Around this sender's own claims and sweep, from the limits' count (or the sweep's list of rows to leave
        alone) to the requests' start: an offer made in between could claim beside a row of the same chat this
        sender is claiming, or commit a row the sweep's list does not name yet (sent twice)."""
        self._own_claims += 1
        try:
            yield
        finally:
            self._own_claims -= 1

    def offer(self, chats: set[int]) -> Offer | None:
        """The chats whose first message a transaction's statement may claim now (the same rules as `_take_handed`):
        each counted against the limits and held busy here until the statement says what it claimed."""
        if not self._running or self._stopping or self._own_claims or (self._postgresql and self._liveness is None):
            # On PostgreSQL not before this sender holds its liveness lock: until then another worker's sweep would
            # take a row claimed under its key for a dead sender's (on SQLite this process is the only sender).
            # Without an offer the messages are handed over after the commit.
            return None
        allowed: list[int] = []
        taken: list[Taken] = []
        for chat_id in sorted(chats):
            if chat_id in self.in_flight or chat_id in self.next_rows or (
                self.limiter.chat_wait(chat_id) > 0 or self.limiter.global_wait() > 0
            ):
                continue  # its messages go the usual way: handed over after the commit, or a pass
            taken.append(self.limiter.take(chat_id))
            self.in_flight.add(chat_id)
            allowed.append(chat_id)
        if not allowed:
            return None
        offer = Offer(self.key, self.clock.now(), allowed)
        self.offers[offer] = taken
        return offer

    def settle(self, session: Session, offer: Offer, claimed: list[Outbox], behind: dict[int, list[Behind]]) -> None:
        """The statement claimed `claimed` (none if it failed): the offer's other chats are free again; the claimed
        rows wait here for the transaction's end."""
        taken = self.offers.pop(offer)
        went = {row.chat_id for row in claimed}
        for count in taken:
            if count.chat_id not in went:
                self._free(count)
        if claimed:
            for row in claimed:
                self.answers_unstarted[row.id] = row
            settled = _Settled(self, claimed, behind, [count for count in taken if count.chat_id in went])
            session.info.setdefault(_SETTLED, []).append(settled)

    def _free(self, count: Taken) -> None:
        """A chat offered or claimed whose message does not go from here after all: its place in the limits back,
        and the chat no longer busy here; a pass looks at it if it saw rows waiting there meanwhile."""
        self.limiter.give_back(count)
        self.in_flight.discard(count.chat_id)
        if count.chat_id in self.waiting_chats or count.chat_id in self.next_rows:
            self.next_rows.pop(count.chat_id, None)
            self._pass_wanted = True
            self.wakeup.set()

    def _committed(self, settled: _Settled) -> None:
        self.ready.append(settled)
        self.wakeup.set()

    def _rolled_back(self, settled: _Settled) -> None:
        for row in settled.rows:
            self.answers_unstarted.pop(row.id, None)
        for count in settled.taken:
            self._free(count)
        # A failed COMMIT may have committed after all: its rows would be this sender's, never started.
        self._put_back_wanted = True
        self.wakeup.set()

    def _not_started(self) -> tuple[set[int], set[datetime]]:
        """For the sweep of never-started rows (run under `_claiming`, so no offer opens meanwhile): the rows a
        transaction claimed that are not started yet, and the claim times of the open offers (their statements'
        rows are not known yet; each is claimed at exactly its offer's time). Not «no earlier than the oldest
        offer»: under a stream of answers some offer is nearly always open, and a lost claim of the sender's own
        would wait for a quiet moment."""
        return set(self.answers_unstarted), {offer.now for offer in self.offers}

    async def _start_answers(self) -> None:
        """Start the requests of the rows committed transactions claimed (their stored files and edited messages
        read first, when they have any, as a claim reads them). If that read fails they wait for the next turn,
        still left alone by the sweep."""
        ready, self.ready = self.ready, []
        rows = [row for settled in ready for row in settled.rows]
        try:
            if any(row.ref_id or _has_files(row) for row in rows):
                ids, values = [row.id for row in rows], [_values_of(row) for row in rows]
                if self._autocommit is not None:
                    async with self._autocommit.connect() as connection:
                        claimed = await self._claimed(connection, ids, values)
                else:  # SQLite: the read in a transaction of its own
                    async with self.sessionmaker() as session, session.begin():
                        claimed = await self._claimed(await session.connection(), ids, values)
            else:
                claimed = [_Claimed(row, None, None) for row in rows]
        except BaseException:
            self.ready[:0] = ready
            raise
        for settled in ready:
            for chat_id, waiting in settled.behind.items():
                # A pass that ran meanwhile may have noted rows of the chat too (it was busy here): both, in order.
                known = {row_id for row_id, *_rest in self.next_rows.get(chat_id, [])}
                merged = self.next_rows.get(chat_id, []) + [row for row in waiting if row[0] not in known]
                self.next_rows[chat_id] = sorted(merged, key=lambda row: row[0])
        for row in rows:
            self.answers_unstarted.pop(row.id, None)
        self._start(claimed)

    async def _drain_answers(self, seconds: float) -> None:
        """As the sender stops: the answers' transactions still open may commit (the inbox stops first, so there
        should be none); whatever committed is started rather than left `sending` for a key about to die, which
        the next sweep would mark uncertain."""
        deadline = time.monotonic() + seconds
        while self.offers or self.answers_unstarted:
            if self.ready:
                await self._start_answers()
            elif time.monotonic() >= deadline:
                return
            else:
                await asyncio.sleep(0.01)


def _has_files(row: Outbox) -> bool:
    return any(isinstance(file_id, int) for file_id in file_ids(row.payload))


def _values_of(row: Outbox) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in Outbox.__table__.columns}


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction goes on, and may still roll back
    for settled in session.info.pop(_SETTLED, ()):
        settled.sender._committed(settled)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """The session's outermost transaction ended, however (a rollback, a failed flush or COMMIT, a close with it
    open): what is still here did not commit (`after_commit` takes it). `after_soft_rollback` is not enough: a
    transaction a failed flush deactivated ends by its close, not by a rollback of its own."""
    if transaction.parent is not None:
        # A flush's or a savepoint's (the answer's statement never runs in a savepoint: `services.outbox_answer`).
        return
    for settled in session.info.pop(_SETTLED, ()):
        settled.sender._rolled_back(settled)
