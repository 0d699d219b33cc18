"""A form's answer claims its own message, on PostgreSQL and on SQLite: the statement that writes the answer's draft
and its messages also claims the first of them for this process's sender, where the sender would claim it; once the
transaction commits the sender sends it — no claim of its own, no pass over the queue. Whatever becomes of the
transaction, the message goes once: a rollback gives the claim back, and the update's retry sends it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from db.models import Outbox, Task, User
from services import answer_claim, outbox, outbox_answer
from services.core import Core
from services.delivery import LIVENESS, OutboxSender
from tests.chat import start_a_return_of_faulty_watches
from tests.conftest import Harness
from tests.inbox_harness import postgres_only
from tests.test_outbox import _people, _run_until_sent, _until, delivering, sender_at_rest, sender_statements

# What only PostgreSQL has: a deferred trigger, other workers and their liveness locks, a server to lose.
_ON_POSTGRESQL = postgres_only("PostgreSQL's own side of it")


async def _asked_the_quantity(
    harness_factory: Callable[..., Awaitable[Harness]], *, burst_rested: bool = False, **settings: Any
) -> tuple[Harness, Any, OutboxSender]:
    """Марина has started a return of faulty watches and is asked the quantity; the sender is at rest (nothing in
    flight, her chat's limit lets a message go now — with `burst_rested`, her chat's whole burst)."""
    harness = await harness_factory(**settings)
    manager = await harness.person("Марина", "shop_manager")
    await start_a_return_of_faulty_watches(manager)
    await harness.settle()
    sender = harness.app.sender
    assert sender is not None
    await sender_at_rest(sender, manager.id)
    if burst_rested:
        limiter = sender.limiter
        await _until(lambda: limiter.chat_ready.get(manager.id, 0.0) <= limiter.monotonic())
    return harness, manager, sender


async def test_an_answer_is_sent_without_the_sender_claiming_it(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """Марина answers the quantity: the next question reaches her, claimed by the answer's own statement — the
    sender makes no claim and no pass for it — and it went once, by this process's sender."""
    # No timed pass of the sender for 25 s.
    harness, manager, sender = await _asked_the_quantity(harness_factory, outbox_poll_interval=5.0)
    seen, stop_listening = sender_statements(harness.core)
    try:
        await manager.send("2")
        await manager.expect("Сумма закупки")
        await harness.settle()
    finally:
        stop_listening()
    assert seen == []
    async with harness.core.sessionmaker() as session:
        question = (
            await session.execute(select(Outbox).where(Outbox.payload["text"].as_string().contains("Сумма закупки")))
        ).scalars().one()
    assert (question.status, question.attempts, question.claimed_by) == ("sent", 1, sender.key)
    assert not sender.answers_unstarted and not sender.offers and not sender.in_flight


async def _her_form(harness: Harness, tg_id: int) -> tuple[int, int, dict[str, Any]]:
    """Her user id, the form's task and its draft so far: what an answer's transaction writes onto."""
    async with harness.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == tg_id))).scalars().one()
        task = await session.get(Task, user.active_task_id)
        assert task is not None and task.draft is not None
        return user.id, task.id, dict(task.draft)


@contextlib.asynccontextmanager
async def _answering(harness: Harness, sender: OutboxSender) -> AsyncIterator[AsyncSession]:
    """A transaction as an update's answer runs: carrying the sender, as the middleware gives it."""
    async with harness.core.sessionmaker() as session:
        session.info[answer_claim.HANDING] = sender
        async with session.begin():
            yield session


def _offers_seen(sender: OutboxSender) -> list[list[int]]:
    """The chats each of the sender's offers holds from now on (an offer it refused is not there)."""
    offered: list[list[int]] = []
    offer = sender.offer

    def recording(chats: Any) -> Any:
        made = offer(chats)
        if made is not None:
            offered.append(list(made.chats))
        return made

    sender.offer = recording  # type: ignore[method-assign]
    return offered


async def _a_running_sender(core: Core, bot: Any) -> OutboxSender:
    """A sender as its loop would have it (its liveness lock held, running), the loop itself played by the test."""
    sender = OutboxSender(bot, core.sessionmaker, core.files)
    await sender._hold_liveness()
    sender._running = True
    return sender


# Refuses, at COMMIT and once, the transaction that writes the question about the purchase sum: a deferred
# constraint trigger, so the answer's statement (and its claim) has run when the transaction fails. Once: a
# sequence's count survives the rollback.
_FAIL_ONCE = [
    "CREATE SEQUENCE fail_once",
    """CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.payload->>'text' LIKE '%Сумма закупки%' AND nextval('fail_once') = 1 THEN
            RAISE EXCEPTION 'the commit failed';
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER fail_once AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fail_once()""",
]


@_ON_POSTGRESQL
async def test_an_answer_whose_commit_fails_gives_its_claim_back_and_its_retry_sends_once(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The answer's statement claimed the next question, then its transaction failed at COMMIT: nothing was sent,
    the sender holds nothing for it (the chat, its place in the limits, the row), and the update's retry asks the
    question once."""
    # No timed pass of the sender for 25 s: a pass claiming at the moment of the answer holds offers back (the
    # answer's question then goes by hand-over, claimed by no statement — once in CI, under load).
    harness, manager, sender = await _asked_the_quantity(harness_factory, outbox_poll_interval=5.0)
    async with harness.core.db.begin() as connection:
        for statement in _FAIL_ONCE:
            await connection.execute(text(statement))
    given_back: list[list[int]] = []
    rolled_back = sender._rolled_back

    def _rolled_back(settled: Any) -> None:
        given_back.append([row.id for row in settled.rows])
        rolled_back(settled)

    sender._rolled_back = _rolled_back  # type: ignore[method-assign]
    await manager.send("2")
    await manager.expect("Сумма закупки")
    await harness.settle()
    assert len(given_back) == 1 and len(given_back[0]) == 1  # the failed transaction had claimed the question
    questions = [m for m in await manager.bot_messages() if "Сумма закупки" in (m.get("text") or "")]
    assert len(questions) == 1
    async with harness.core.sessionmaker() as session:
        rows = (await session.execute(select(Outbox.id, Outbox.status).where(Outbox.id == given_back[0][0]))).all()
    assert rows == []  # the claimed row went with its transaction; the retry wrote its own
    assert not sender.answers_unstarted and not sender.offers and not sender.in_flight and not sender.ready


@_ON_POSTGRESQL
async def test_the_senders_sweep_leaves_an_answers_claim_alone_until_it_starts(
    tmp_path: Path, database_url: str
) -> None:
    """This sender's sweep puts back its rows claimed and never started (a claim whose answer was lost). An answer's
    claim is this sender's and not started either — while its statement runs, and after its commit until the
    sender starts it: the sweep leaves it alone then, and the message goes once."""
    async with delivering(tmp_path, database_url) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        sender = OutboxSender(bot, core.sessionmaker, core.files)
        # Nothing is offered before the sender holds its liveness lock (another worker would sweep its claims).
        assert sender.offer({chat}) is None
        await sender._hold_liveness()
        # Nor while its loop does not run: nothing would start what an answer claimed.
        assert sender.offer({chat}) is None
        sender._running = True  # as its loop does
        offer = sender.offer({chat})
        assert offer is not None and offer.chats == [chat] and chat in sender.in_flight
        # What the answer's statement writes, seen by the sweep as if that transaction had committed meanwhile.
        async with core.sessionmaker() as session, session.begin():
            row = outbox.message(session, chat, "✏️ Сумма закупки", core.clock.now())
            row.status, row.attempts, row.claimed_at, row.claimed_by = "sending", 1, offer.now, offer.key
        claimed = Outbox(**{column.name: getattr(row, column.name) for column in Outbox.__table__.columns})
        await sender.put_back_unstarted()  # the statement under way: its rows are claimed no earlier than its offer
        assert await _status(core, row.id) == "sending"
        async with core.sessionmaker() as session:
            async with session.begin():
                sender.settle(session.sync_session, offer, [claimed], {})
                await sender.put_back_unstarted()  # claimed, the transaction not ended
                assert await _status(core, row.id) == "sending"
            # Committed: the sender is told, and has not started it yet.
        assert [r.id for settled in sender.ready for r in settled.rows] == [row.id] and not sender.offers
        await sender.put_back_unstarted()
        assert await _status(core, row.id) == "sending"
        await sender._start_answers()
        await asyncio.gather(*sender._tasks)
        await sender.flush()
        await sender.recover()  # the minute's sweep, after it all
        assert await _status(core, row.id) == "sent"
        assert sandbox.stats.texts_per_chat[chat] == ["✏️ Сумма закупки"]
        assert not sender.answers_unstarted and not sender.in_flight
        await sender._let_go_of_liveness()


async def _status(core: Core, row_id: int) -> str:
    async with core.sessionmaker() as session:
        return (await session.execute(select(Outbox.status).where(Outbox.id == row_id))).scalar_one()


async def test_an_answers_two_messages_go_in_order_without_a_pass(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """An answer of two messages to one chat (a reply and the next question): the answer's statement claims the
    first, the first's outcome write claims the second (the one claim seen); no pass reads the queue, and they
    arrive in their order."""
    # No timed pass of the sender for 25 s; both messages within her chat's burst, as the sandbox's.
    harness, manager, sender = await _asked_the_quantity(harness_factory, burst_rested=True, outbox_poll_interval=5.0)
    _user, task_id, draft = await _her_form(harness, manager.id)
    seen, stop_listening = sender_statements(harness.core)
    try:
        async with _answering(harness, sender) as session:
            outbox.message(session, manager.id, "Принято: 2 шт.", harness.core.clock.now())
            outbox.message(session, manager.id, "✏️ Сумма закупки?", harness.core.clock.now())
            await outbox_answer.with_draft(session, task_id, draft)
        assert outbox.written(session).chats == set()  # claimed already: nothing to hand over
        await manager.expect("Сумма закупки?")
        await harness.settle()
    finally:
        stop_listening()
    assert seen == ["claim"]
    texts = [m.get("text") for m in await manager.bot_messages()]
    assert texts[-2:] == ["Принято: 2 шт.", "✏️ Сумма закупки?"]


async def test_an_answer_leaves_its_question_to_the_sender_while_her_chat_has_a_message_waiting(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A reminder to Марина waits in the outbox, written by another worker's step and not sent yet, when she
    answers: the answer's statement does not claim its next question ahead of it — the sender sends both, the
    reminder first."""
    # No timed pass of the sender for 25 s: the reminder waits until the answer's commit hands her chat over.
    harness, manager, sender = await _asked_the_quantity(harness_factory, burst_rested=True, outbox_poll_interval=5.0)
    _user, task_id, draft = await _her_form(harness, manager.id)
    async with harness.core.db.begin() as connection:  # not through a session: no hand-over to this sender
        await connection.execute(insert(Outbox).values(
            channel="telegram", chat_id=manager.id, method="sendMessage", payload={"text": "Напоминание"},
            status="pending", attempts=0, created_at=harness.core.clock.now()))  # fmt: skip
    offered = _offers_seen(sender)
    seen, stop_listening = sender_statements(harness.core)
    try:
        async with _answering(harness, sender) as session:
            outbox.message(session, manager.id, "✏️ Сумма закупки?", harness.core.clock.now())
            await outbox_answer.with_draft(session, task_id, draft)
        assert offered == [[manager.id]]  # her chat was offered to the answer, and the statement left it
        assert outbox.written(session).chats == {manager.id}  # not claimed: handed over to the sender after the commit
        await manager.expect("Сумма закупки?")
        await harness.settle()
    finally:
        stop_listening()
    assert "claim" in seen  # the sender's, of the reminder; the question went after it
    texts = [m.get("text") for m in await manager.bot_messages()]
    assert texts[-2:] == ["Напоминание", "✏️ Сумма закупки?"]


async def test_a_failed_flush_after_the_answer_gives_its_claim_back(tmp_path: Path, database_url: str) -> None:
    """The answer's statement claimed its message, then a flush of the same transaction failed (here a row the
    database refuses): the transaction never commits, and the sender holds nothing for it — the chat is not busy
    here, its place in the limits is back. (A transaction a failed flush ends closes without a rollback of its
    own: the sender hears of it all the same.)"""
    async with delivering(tmp_path, database_url) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        sender = await _a_running_sender(core, bot)
        try:
            offer = sender.offer({chat})
            assert offer is not None
            claimed = Outbox(id=10**9, chat_id=chat, method="sendMessage", payload={"text": "…"}, status="sending",
                             attempts=1, created_at=core.clock.now(), claimed_at=offer.now,
                             claimed_by=offer.key)  # fmt: skip
            with pytest.raises(IntegrityError):
                async with core.sessionmaker() as session, session.begin():
                    sender.settle(session.sync_session, offer, [claimed], {})
                    assert chat in sender.in_flight and sender.answers_unstarted
                    session.add(Outbox(chat_id=chat, method=None, payload={}, created_at=core.clock.now()))
                    await session.flush()
            assert not sender.answers_unstarted and not sender.ready and chat not in sender.in_flight
            # Its place in the limits back as the offer found it (within a burst a wait would still read 0).
            assert chat not in sender.limiter.chat_ready and sender._put_back_wanted
        finally:
            await sender._let_go_of_liveness()


@contextlib.asynccontextmanager
async def _an_answers_edit_of_her_question(
    tmp_path: Path, database_url: str
) -> AsyncIterator[tuple[Core, Any, int, OutboxSender, int]]:
    """Her question went out by a sender since stopped; a second sender runs, with limits of its own (a burst of two in
    the chat: it does not know of the first's message), and an answer's transaction has claimed for it, and committed,
    an edit of that question, not started yet. Yields the core, the sandbox, her chat, the sender and the edit's id."""
    async with delivering(tmp_path, database_url, per_chat_burst=2.0) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        async with core.sessionmaker() as session, session.begin():
            earlier = outbox.message(session, chat, "Вопрос", core.clock.now())
        await _run_until_sent(OutboxSender(bot, core.sessionmaker, core.files), core, expected=1)
        sender = await _a_running_sender(core, bot)
        try:
            offer = sender.offer({chat})
            assert offer is not None
            async with core.sessionmaker() as session:
                async with session.begin():
                    edit = outbox.enqueue(session, chat_id=chat, method="editMessageText", payload={"text": "Вопрос ✓"},
                                          now=core.clock.now(), ref_id=earlier.id)  # fmt: skip
                    edit.status, edit.attempts, edit.claimed_at, edit.claimed_by = "sending", 1, offer.now, offer.key
                    await session.flush()
                    copy = Outbox(**{c.name: getattr(edit, c.name) for c in Outbox.__table__.columns})
                    sender.settle(session.sync_session, offer, [copy], {})
            yield core, sandbox, chat, sender, edit.id
        finally:
            await sender._let_go_of_liveness()


async def test_an_answers_edit_of_her_earlier_message_goes_as_an_edit(tmp_path: Path, database_url: str) -> None:
    """An answer's first message edits one she was sent before (a question ticked as answered): claimed by the answer,
    the sender reads what the edit needs — which message of hers it is — when it starts it; the message she has
    changes, and nothing new arrives."""
    async with _an_answers_edit_of_her_question(tmp_path, database_url) as (core, sandbox, chat, sender, edit_id):
        await sender._start_answers()
        await asyncio.gather(*sender._tasks)
        await sender.flush()
        assert await _status(core, edit_id) == "sent"
        assert sandbox.stats.texts_per_chat[chat] == ["Вопрос"]  # no second message
        (message,) = [m for m in sandbox.hub.state.chat(chat).messages.values() if m.from_bot]
        assert (message.tg["text"], message.edited) == ("Вопрос ✓", True)
        assert not sender.answers_unstarted and not sender.ready and not sender.in_flight


@_ON_POSTGRESQL
async def test_an_answers_message_whose_start_fails_is_started_at_the_next_turn(
    tmp_path: Path, database_url: str
) -> None:
    """Committed, the answer's message waits for the sender to start it; reading what its request needs (the
    message it edits) fails — the database unreachable for that moment: it stays the sender's, left alone by the
    sweep, and the next turn sends it, once."""
    async with _an_answers_edit_of_her_question(tmp_path, database_url) as (core, sandbox, chat, sender, edit_id):
        working = sender._autocommit
        sender._autocommit = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
        with pytest.raises(OSError):
            await sender._start_answers()
        await sender.put_back_unstarted()  # what the loop does after a failure
        assert await _status(core, edit_id) == "sending" and sender.ready
        await sender._autocommit.dispose()
        sender._autocommit = working
        await sender._start_answers()
        await asyncio.gather(*sender._tasks)
        await sender.flush()
        assert await _status(core, edit_id) == "sent"
        assert sandbox.stats.texts_per_chat[chat] == ["Вопрос"]  # the edit changed it; no second message


async def _liveness_lock_free(database_url: str, key: int) -> bool:
    """Whether another worker (a connection of its own, not this pool's) could take the sender's liveness lock."""
    another_worker = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with another_worker.connect() as connection:
            probe = {"space": LIVENESS, "key": key}
            return bool((await connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"), probe)).scalar())
    finally:
        await another_worker.dispose()


@_ON_POSTGRESQL
async def test_a_running_senders_liveness_outlives_the_pools_connections(tmp_path: Path, database_url: str) -> None:
    """The pool retires its idle connections (its recycling every half hour, a restart of the database's side): a
    sender still running stays alive to the other workers' sweeps, which would otherwise mark what it is sending
    uncertain and ask its questions again."""
    async with delivering(tmp_path, database_url) as (core, _sandbox, bot):
        sender = OutboxSender(bot, core.sessionmaker, core.files)
        await sender._hold_liveness()
        try:
            async with core.sessionmaker() as session:
                await session.execute(text("SELECT 1"))  # the pool in use meanwhile
            await core.db.dispose()  # every idle connection closed, as recycling does one by one
            assert not await _liveness_lock_free(database_url, sender.key)
        finally:
            await sender._let_go_of_liveness()
        assert await _liveness_lock_free(database_url, sender.key)


@_ON_POSTGRESQL
async def test_a_stopped_sender_lets_go_of_its_liveness(tmp_path: Path, database_url: str) -> None:
    """A sender that stopped in a process that goes on (the pool keeps its connection) is not alive to the other
    workers' sweeps any more: another connection may take its liveness lock."""
    async with delivering(tmp_path, database_url) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        async with core.sessionmaker() as session, session.begin():
            outbox.message(session, chat, "Вопрос", core.clock.now())
        sender = OutboxSender(bot, core.sessionmaker, core.files)
        await _run_until_sent(sender, core, expected=1)
        assert sender._liveness is None
        assert await _liveness_lock_free(database_url, sender.key)


class _Network:
    """A TCP path to PostgreSQL that can stall: bytes stop getting through either way (the ends learn nothing),
    while a socket closed at one end still closes the other. (Across a real partition the database would learn of
    the closed socket only from TCP keepalive; the client's side is the same.)"""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port, self.cut = host, port, False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if not self.cut:
                    writer.write(data)
                    await writer.drain()
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.mark.parametrize("stop_cut_short", [False, True], ids=["the stop waits", "the stop's time runs out"])
@_ON_POSTGRESQL
async def test_a_sender_stopping_while_the_database_does_not_answer_stops_at_once_and_frees_its_lock(
    tmp_path: Path, database_url: str, stop_cut_short: bool
) -> None:
    """The path to the database stalls as the sender stops: its release of the liveness lock gets no answer. The
    stop does not wait for one (the application has five seconds for all of its stop) — nor, when the stop's own
    time runs out meanwhile, for the driver's polite goodbyes; the sender's connection is dropped, so the database
    ends its session, and the lock goes with it — the other workers do not take a stopped sender for a live one."""
    async with delivering(tmp_path, database_url) as (core, _sandbox, bot):
        url = core.db.url
        network = _Network(url.host or "127.0.0.1", url.port or 5432)
        through = create_async_engine(url.set(host="127.0.0.1", port=await network.start()), poolclass=NullPool)
        try:
            sender = OutboxSender(bot, async_sessionmaker(through), core.files)
            await sender._hold_liveness()
            assert not await _liveness_lock_free(database_url, sender.key)
            network.cut = True
            loop = asyncio.get_running_loop()
            began = loop.time()
            if stop_cut_short:
                stopping = asyncio.ensure_future(sender._let_go_of_liveness())
                await asyncio.sleep(0.3)
                stopping.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(stopping, 10)
                assert loop.time() - began < 1.5
            else:
                await asyncio.wait_for(sender._let_go_of_liveness(), 10)
                assert loop.time() - began < 3
            # The database sees the socket closed and ends the session, at its own pace: looked for, a while.
            deadline = loop.time() + 20
            while not await _liveness_lock_free(database_url, sender.key):
                assert loop.time() < deadline, "the stopped sender's lock is still held"
                await asyncio.sleep(0.05)
        finally:
            await through.dispose()
            await network.close()


async def test_a_savepoint_released_after_the_answer_does_not_start_its_message(
    tmp_path: Path, database_url: str
) -> None:
    """A savepoint released after the answer's statement is no commit: the transaction may still roll back, so the
    sender starts the message only when the transaction itself commits — and then sends it once."""
    async with delivering(tmp_path, database_url) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        sender = await _a_running_sender(core, bot)
        try:
            offer = sender.offer({chat})
            assert offer is not None
            async with core.sessionmaker() as session:
                async with session.begin():
                    row = outbox.message(session, chat, "✏️ Сумма закупки", core.clock.now())
                    row.status, row.attempts, row.claimed_at, row.claimed_by = "sending", 1, offer.now, offer.key
                    await session.flush()
                    claimed = Outbox(**{c.name: getattr(row, c.name) for c in Outbox.__table__.columns})
                    sender.settle(session.sync_session, offer, [claimed], {})
                    async with session.begin_nested():
                        pass
                    assert not sender.ready  # the savepoint's release told the sender nothing
                assert [r.id for settled in sender.ready for r in settled.rows] == [row.id]
            await sender._start_answers()
            await asyncio.gather(*sender._tasks)
            await sender.flush()
            assert await _status(core, row.id) == "sent"
            assert sandbox.stats.texts_per_chat[chat] == ["✏️ Сумма закупки"]
        finally:
            await sender._let_go_of_liveness()


async def test_a_record_of_an_unreachable_person_is_not_taken_for_the_answers_message(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """The answer's transaction also put on record that someone could not be reached in Telegram (a failed row of
    her chat, which nobody sends): the answer's statement claims her next question, not that record, which stays
    as it was written."""
    harness, manager, sender = await _asked_the_quantity(harness_factory, outbox_poll_interval=5.0)
    user_id, task_id, draft = await _her_form(harness, manager.id)
    seen, stop_listening = sender_statements(harness.core)
    try:
        async with _answering(harness, sender) as session:
            record = Outbox(channel="telegram", chat_id=manager.id, method="unreachable",
                            payload={"person": "Марина", "user_id": user_id, "notification": "task"},
                            status="failed", attempts=0, created_at=harness.core.clock.now(),
                            error="no chat")  # fmt: skip
            session.add(record)
            outbox.message(session, manager.id, "✏️ Сумма закупки?", harness.core.clock.now())
            await outbox_answer.with_draft(session, task_id, draft)
        await manager.expect("Сумма закупки?")
        await harness.settle()
    finally:
        stop_listening()
    assert seen == []  # the question was the answer's claim
    async with harness.core.sessionmaker() as session:
        kept = await session.get(Outbox, record.id)
    assert kept is not None
    assert (kept.status, kept.attempts, kept.claimed_by, kept.error) == ("failed", 0, None, "no chat")


async def test_no_offer_opens_while_the_sender_sweeps(tmp_path: Path, database_url: str) -> None:
    """The sweep of never-started rows spares the rows of the offers open when it made its list; an offer opened
    while its statement runs could commit a row that list does not spare, and the sweep would send it again: none
    opens then."""
    from sqlalchemy import event

    async with delivering(tmp_path, database_url) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        sender = await _a_running_sender(core, bot)
        offered_meanwhile: list[object] = []

        def during_the_sweep(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
            if sql.lstrip().startswith("UPDATE outbox"):
                offered_meanwhile.append(sender.offer({chat}))

        engine = core.sessionmaker.kw["bind"].sync_engine
        event.listen(engine, "before_cursor_execute", during_the_sweep)
        try:
            await sender.put_back_unstarted()
        finally:
            event.remove(engine, "before_cursor_execute", during_the_sweep)
            await sender._let_go_of_liveness()
        assert offered_meanwhile == [None]
        assert not sender.offers and chat not in sender.in_flight
