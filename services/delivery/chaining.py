"""Claims without a pass: the sender's own shortcuts past the queue's read and the passes' lock.

- An answer's outcome is written by a statement of its own (`flush`), and where its Telegram message was sent and the
  last pass saw the chat's next row waiting behind it, the same statement claims that row (`_chain`): a reply and the
  next question, one write.
- The messages an update (or a fired timer) queued are handed over by chat after its commit (`OutboxSender.notify`)
  and the first row of each chat whose turn it is is claimed by one statement (`_take_handed`).

Both count against the limits before their claim and give back what a claim did not get (`_give_back`); whatever they
cannot judge (a row not due, a chat busy elsewhere, a claim that failed) wants a pass, which sorts the chats out as
before."""

from __future__ import annotations

from flows.status import OutboxStatus
from services.delivery.base import _Claimed, _Outcome
from services.delivery.handing import HandingMixin
from services.delivery.limits import Taken


class ChainingMixin(HandingMixin):
    # The sender's own state these work on (`services/delivery/sender.py`).
    outcomes: list[_Outcome]
    handed: set[int]

    async def flush(self) -> None:
        """Write the outcomes answered so far (the sender's passes do it on their own), and claim the next row of
        each chat whose message was sent and has rows waiting behind it (its request starts after the claim)."""
        outcomes, self.outcomes = self.outcomes, []
        if not outcomes:
            return
        chain, taken = ([], []) if self._stopping else self._chain(outcomes)
        claimed: list[_Claimed] = []
        try:
            # Without the passes' lock: the rows leave `sending` for good (sent, failed, uncertain), and a pass of
            # another worker sees their chats busy or free, either of which holds (nothing of theirs is claimed).
            # A chat's next row is claimed only if still pending: a pass of another worker that saw the chat free
            # chose that same row (the chat's first pending one), and one of the two claims gets it.
            if self._autocommit is not None and all(o.plain for o in outcomes):
                async with self._autocommit.connect() as connection:
                    if chain:  # the outcomes and the claim: one statement, atomic by itself
                        claimed = await self._write_and_claim(connection, outcomes, chain)
                    else:
                        await self._write_rows(connection, outcomes)
            else:
                async with self.sessionmaker() as session, session.begin():
                    await self._write_outcomes(session, outcomes)
                    if chain:
                        claimed = await self._claim(await session.connection(), chain)
        except BaseException:
            self.outcomes[:0] = outcomes
            if chain:
                self._pass_wanted = True  # whatever became of the chained claim, a pass sorts the chats out
            raise
        finally:
            self._give_back(taken, claimed)
        for outcome in outcomes:
            self.in_flight.discard(outcome.chat_id)
            self.started.discard(outcome.row_id)
        self._start(claimed)
        if len(claimed) < len(chain):
            self._pass_wanted = True  # a row taken elsewhere or gone: the pass looks at its chat afresh
            self.wakeup.set()

    def _chain(self, outcomes: list[_Outcome]) -> tuple[list[int], list[Taken]]:
        """The next row of each chat whose Telegram message was just sent, where the limits let it go now (the
        same rules as `_choose`), and their counts against the limits; a chat whose next row must wait wants a
        pass, which times it."""
        now = self.clock.now()
        chain: list[int] = []
        taken: list[Taken] = []
        for outcome in outcomes:
            behind = self.next_rows.get(outcome.chat_id)
            if not behind:
                continue
            if outcome.channel != "telegram" or outcome.values["status"] != OutboxStatus.SENT:
                continue  # `_deliver` wanted a pass for it
            row_id, not_before, channel = behind[0]
            chat_id = outcome.chat_id
            if (
                channel != "telegram"
                or (not_before is not None and not_before > now)
                or self.limiter.chat_wait(chat_id) > 0
                or self.limiter.global_wait() > 0
            ):
                self.next_rows.pop(chat_id, None)
                self._pass_wanted = True
                self.wakeup.set()
                continue
            taken.append(self.limiter.take(chat_id))
            del behind[0]
            if not behind:
                self.next_rows.pop(chat_id, None)
                self.waiting_chats.discard(chat_id)  # nothing known behind it: its answer needs no pass
            chain.append(row_id)
        return chain, taken

    async def _take_handed(self) -> None:
        """Claim the first waiting row of each chat an update's transaction just wrote to (`notify`), where a pass
        would claim it: the chat has nothing in flight anywhere, no older row waiting, the row is a Telegram message
        due now, and the limits let it go. One statement (`_claim_handed`), no passes' lock, no queue read: a row a
        pass of another worker claims first is simply not returned, and a chat whose row could not be taken here
        wants a pass, which sorts it out as before (a chat in flight here, a row that must wait, the limits)."""
        with self._claiming():  # no answer's own claim beside this one's chats (`handing`)
            await self._claim_handed_chats()

    async def _claim_handed_chats(self) -> None:
        chats, self.handed = self.handed, set()
        ready: list[int] = []
        taken: list[Taken] = []  # counted before the claim: what the limits allow decides which chats it claims
        for chat_id in chats:
            if (
                chat_id in self.in_flight
                or chat_id in self.next_rows
                or (self.limiter.chat_wait(chat_id) > 0 or self.limiter.global_wait() > 0)
            ):
                self._pass_wanted = True
                self.wakeup.set()
                continue
            taken.append(self.limiter.take(chat_id))
            ready.append(chat_id)
        if not ready:
            return
        claimed: list[_Claimed] = []
        try:
            if self._autocommit is not None:  # PostgreSQL: one statement, its own transaction
                async with self._autocommit.connect() as connection:
                    claimed, behind = await self._claim_handed(connection, ready)
            else:
                async with self.sessionmaker() as session, session.begin():
                    claimed, behind = await self._claim_handed(await session.connection(), ready)
        except BaseException:
            self._pass_wanted = True  # whatever became of the claim, a pass sorts the chats out
            self.wakeup.set()
            raise
        finally:
            self._give_back(taken, claimed)
        # A chat with more rows behind the one claimed: its answer's outcome claims the next, as after a pass.
        for item in claimed:
            waiting = behind.get(item.row.chat_id)
            if waiting:
                self.next_rows[item.row.chat_id] = waiting
        self._start(claimed)
        if len(claimed) < len(ready):
            self._pass_wanted = True  # a chat busy elsewhere, a row not due, another channel: the pass times it
            self.wakeup.set()

    def _give_back(self, taken: list[Taken], claimed: list[_Claimed]) -> None:
        """A chat counted against the limits for a claim that did not get its row (another worker's claim came
        first, the row was not due, the claim failed) sends nothing now: its place is given back, or its next
        message would wait up to a chat's interval for nothing."""
        went = {item.row.chat_id for item in claimed}
        for count in taken:
            if count.chat_id not in went:
                self.limiter.give_back(count)
