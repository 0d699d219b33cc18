"""A sender's liveness and the rows of senders that died mid-request: never sent again as they were (they may
have arrived), a task card sent afresh, a form question asked again, a render job run again. And this sender's own
rows claimed but never started (a claim whose answer was lost): sent, once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from db.models import Outbox, TaskCard, User, status_is
from flows.status import OutboxStatus, transition
from services.delivery.base import LIVENESS, SENDING_LEASE, SenderBase
from services.outbox import QUESTION, RENDER, enqueue

log = logging.getLogger(__name__)

UNLOCK_WAIT = 1.0  # seconds the stop waits for the database to release the liveness lock


class RecoveryMixin(SenderBase):
    # `services/delivery/handing.py`: an answer's own claims, which the sweep of never-started rows leaves alone.
    _not_started: Callable[[], tuple[set[int], set[datetime]]]
    _claiming: Callable[[], AbstractContextManager[None]]
    # The sender's loop (`services/delivery/sender.py`): rows put back want its next pass.
    _pass_wanted: bool
    wakeup: asyncio.Event

    async def _hold_liveness(self) -> None:
        """PostgreSQL: hold a session advisory lock on this sender's key for the life of the process. A crashed
        sender's connection dies with it and the lock is gone, which is how `recover` knows its rows are orphans.
        On a connection of its own, kept checked out: a session's would go back to the pool at its commit, lock and
        all — lent to any statement, and closed by the pool's recycling within the half hour, when the other
        workers would take this live sender for a dead one and mark its messages in flight uncertain."""
        if self._liveness is not None:
            return
        bind = self.sessionmaker.kw.get("bind")
        if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
            return
        connection = await bind.connect()
        try:
            await connection.execute(text("SELECT pg_advisory_lock(:space, :key)"), self._liveness_key())
            await connection.commit()  # the lock is the connection's, not the transaction's: it stays
        except BaseException:
            await connection.close()
            raise
        self._liveness = connection

    async def _let_go_of_liveness(self) -> None:
        """As the sender stops: its lock released, then its connection back to the pool (which would keep the lock
        with it for as long as the engine lives: a sender stopped in a process that goes on, as in the tests, would
        look alive to every sweep). No answer within `UNLOCK_WAIT` (a part of the application's five-second stop),
        the release failed, or the stop itself cancelled meanwhile: the connection is dropped instead — its socket
        closed, the database ends the session when that reaches it, and the lock with it — and the stop goes on at
        once."""
        if self._liveness is None:
            return
        connection, self._liveness = self._liveness, None
        unlock = asyncio.ensure_future(self._unlock(connection))
        released = False
        try:
            await asyncio.wait({unlock}, timeout=UNLOCK_WAIT)
            released = unlock.done() and not unlock.cancelled() and unlock.exception() is None
        finally:
            if not released:
                # Not cancelled first: a cancelled statement has the driver ask the database to cancel it, and
                # SQLAlchemy's invalidation tries a polite close for two seconds, both over the same silent network.
                # The socket closed first (asyncpg's `terminate`), the statement fails at once.
                log.warning("the sender's liveness lock was not released: its connection is dropped")
                with contextlib.suppress(Exception):
                    driver = (await connection.get_raw_connection()).driver_connection
                    if driver is not None:
                        driver.terminate()
                with contextlib.suppress(Exception):
                    await connection.invalidate()
            if not unlock.done():
                unlock.cancel()
            await asyncio.wait({unlock})  # its end, whatever it was (a failure was reported above)
            if not unlock.cancelled():
                unlock.exception()  # retrieved: nobody else will
            with contextlib.suppress(Exception):
                await connection.close()

    async def _unlock(self, connection: AsyncConnection) -> None:
        await connection.execute(text("SELECT pg_advisory_unlock(:space, :key)"), self._liveness_key())
        await connection.commit()

    def _liveness_key(self) -> dict[str, int]:
        return {"space": LIVENESS, "key": self.key}

    async def _dead_senders(self, session: AsyncSession) -> list[int]:
        """Keys of senders with rows in flight whose liveness lock nobody holds any more."""
        keys = (
            await session.execute(
                select(Outbox.claimed_by)
                .where(status_is(Outbox.status, OutboxStatus.SENDING), Outbox.claimed_by.is_not(None))
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
        lease: a fresh `sending` row may be another worker's request in flight. And this sender's own rows claimed
        but never started go back to waiting (`_put_back_unstarted`)."""
        stale = self.clock.now() - SENDING_LEASE
        async with self.sessionmaker() as session, session.begin():
            # This sender's own rows in flight are not orphans: the periodic sweep runs while it sends (marking
            # them uncertain re-asked the questions of everyone it was answering at that moment).
            # `status_is`: the sweep runs every minute, so its statements soon get generic plans; with the status a
            # parameter those would read every message ever sent to find the few in flight.
            condition = status_is(Outbox.status, OutboxStatus.SENDING) & (
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
                .execution_options(synchronize_session=False)
            )
            lost_cards = await self._cards_of(session, condition)
            lost_questions = await self._question_chats(session, condition)
            result = await session.execute(
                update(Outbox)
                .where(condition)
                .values(status=transition(OutboxStatus.SENDING, OutboxStatus.UNCERTAIN))
                # Nothing loaded here reads a status afterwards; and a written-in status is beyond the ORM's own
                # evaluation of the WHERE, which would fetch the rows' ids back (RETURNING) to synchronise them.
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                log.warning("outbox: %s message(s) were being sent during a crash; not resending", result.rowcount)  # type: ignore[attr-defined]
            await self._put_back_unstarted(session)
            await self._resend_cards(session, lost_cards)
            if lost_questions:
                # Their people are asked again before their next message counts as an answer.
                await session.execute(
                    update(User).where(User.tg_id.in_(lost_questions)).values(question_lost_at=self.clock.now())
                )

    async def put_back_unstarted(self) -> None:
        """This sender's own never-started rows back to waiting, alone (after a failure of the sender's loop)."""
        async with self.sessionmaker() as session, session.begin():
            await self._put_back_unstarted(session)

    async def _put_back_unstarted(self, session: AsyncSession) -> None:
        """This sender's own rows that it claimed but never started: the claim committed and its answer was lost (a
        dropped connection), or a read after it failed, so the claim seemed to fail. Nobody else sweeps them (this
        sender is alive) and they keep their chats busy for every pass: back to waiting. Never requested: a row
        started is in `started` until its outcome is written, and this runs between the sender's passes, in the
        same task as every claim and start (no claim is half-way through here), so sending it now sends it once."""
        # Nor the rows an answer's transaction claimed for this sender and it has not started yet, nor those of a
        # statement under way (claimed at its offer's time): `services/delivery/handing.py`. No offer opens from
        # that list to the statement's end (`_claiming`): its rows could commit unlisted before the snapshot.
        with self._claiming():
            answers, offered_at = self._not_started()
            condition = and_(
                status_is(Outbox.status, OutboxStatus.SENDING),
                Outbox.claimed_by == self.key,
                Outbox.id.not_in(self.started | answers),
            )
            if offered_at:
                condition = and_(condition, Outbox.claimed_at.not_in(offered_at))
            never_started = await session.execute(
                update(Outbox)
                .where(condition)
                .values(
                    status=transition(OutboxStatus.SENDING, OutboxStatus.PENDING), claimed_by=None,
                    attempts=Outbox.attempts - 1,
                )
                .execution_options(synchronize_session=False)
            )
        if never_started.rowcount:  # type: ignore[attr-defined]
            log.warning("outbox: %s message(s) claimed here were never sent; sending them", never_started.rowcount)  # type: ignore[attr-defined]
            self._pass_wanted = True  # waiting again: a pass sends them, not the timed one a second or more away
            self.wakeup.set()

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
