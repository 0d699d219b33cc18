"""Delivery: every message goes out once, in order per chat, within Telegram's limits, through 429s."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from docx import Document
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from app.container import build_core
from app.settings import Settings
from db.models import Case, Definition, Outbox, StoredFile, Task, TaskCard, User
from flows.status import OutboxStatus
from sandbox.server import SandboxServer
from services import outbox
from services.cases.documents import DocumentJobs
from services.core import Core
from services.delivery import OutboxSender, RateLimiter
from services.files import render_failed, rendered
from tests.chat import Person, create_person, picture

TOKEN = "42:outbox-test"  # the sandbox below is told to accept exactly this one


def test_rate_limiter_keeps_to_the_total_and_per_chat_limits() -> None:
    now = [0.0]
    limiter = RateLimiter(30.0, 1.0, burst=1.0, monotonic=lambda: now[0])
    assert limiter.global_wait() == 0
    limiter.take(1)
    assert limiter.global_wait() == pytest.approx(1 / 30)
    assert limiter.chat_wait(1) == pytest.approx(1.0)
    assert limiter.chat_wait(2) == 0
    now[0] += 1 / 30
    assert limiter.global_wait() == pytest.approx(0)
    limiter.hold_chat(2, 5)
    assert limiter.chat_wait(2) == pytest.approx(5)


def test_a_chat_may_get_a_short_burst_then_one_a_second() -> None:
    now = [0.0]
    limiter = RateLimiter(1000.0, 1.0, burst=1000.0, chat_burst=2, monotonic=lambda: now[0])
    limiter.take(7)
    assert limiter.chat_wait(7) == 0  # a reply and the next question go together
    limiter.take(7)
    assert limiter.chat_wait(7) == pytest.approx(1.0)  # then one a second
    now[0] += 1.0
    assert limiter.chat_wait(7) == 0
    limiter.take(7)
    assert limiter.chat_wait(7) == pytest.approx(1.0)
    limiter.hold_chat(7, 5)  # a 429 holds the chat whatever the burst
    assert limiter.chat_wait(7) == pytest.approx(5)


def test_a_message_that_did_not_go_gives_its_place_in_the_limits_back() -> None:
    """Counted for a claim that did not get its row (another worker's came first): the chat and the total are as
    before; but what happened to the chat meanwhile (Telegram's retry_after) stands."""
    now = [0.0]
    limiter = RateLimiter(30.0, 1.0, burst=1.0, monotonic=lambda: now[0])
    limiter.give_back(limiter.take(1))
    assert limiter.global_wait() == 0 and limiter.chat_wait(1) == 0
    limiter.take(1)
    now[0] += 0.5
    limiter.give_back(limiter.take(1))  # the second message of the chat did not go: the first's spacing stands
    assert limiter.chat_wait(1) == pytest.approx(0.5)
    taken = limiter.take(2)
    limiter.hold_chat(2, 5)
    limiter.give_back(taken)
    assert limiter.chat_wait(2) == pytest.approx(5)


@contextlib.asynccontextmanager
async def delivering(
    tmp_path: Path, database_url: str, *, per_chat_rate: float = 1.0, per_chat_burst: float = 1.0
) -> AsyncIterator[tuple[Core, SandboxServer, Bot]]:
    """The bot's core on the test's database, a sandbox that enforces Telegram's limits (30/s in total, these per
    chat, 429 with retry_after beyond), and a bot talking to it."""
    sandbox = SandboxServer(token=TOKEN, global_rate=30, per_chat_rate=per_chat_rate, per_chat_burst=per_chat_burst)
    base = await sandbox.start()
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url))
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    try:
        yield core, sandbox, bot
    finally:
        await bot.session.close()
        await core.close()
        await sandbox.stop()


@pytest.fixture
async def delivery(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Core, SandboxServer, Bot]]:
    async with delivering(tmp_path, database_url) as parts:
        yield parts


async def _people(sandbox: SandboxServer, count: int) -> list[int]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        return [(await create_person(http, sandbox.base_url, 5000 + i, f"P{i}")).id for i in range(count)]


async def _run_until_sent(sender: OutboxSender, core: Core, expected: int, timeout: float = 20.0) -> None:
    task = asyncio.create_task(sender.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with core.sessionmaker() as session:
                statuses = list((await session.execute(select(Outbox.status))).scalars())
            if statuses.count("sent") == expected:
                return
            assert asyncio.get_running_loop().time() < deadline, statuses
            await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await task


async def test_each_message_once_and_in_order_within_the_limits(delivery: tuple[Core, SandboxServer, Bot]) -> None:
    core, sandbox, bot = delivery
    chats = await _people(sandbox, 25)
    async with core.sessionmaker() as session, session.begin():
        for chat in chats:
            outbox.message(session, chat, f"Уведомление для {chat}", core.clock.now())
        for n in range(3):  # three in a row to one person must keep their order
            outbox.message(session, chats[0], f"Сообщение {n}", core.clock.now())
    # This sandbox allows no burst in a chat, so neither does the sender.
    sender = OutboxSender(bot, core.sessionmaker, core.files, global_rate=30, per_chat_rate=1.0, per_chat_burst=1)
    await _run_until_sent(sender, core, expected=len(chats) + 3)
    assert sandbox.stats.rate_limited == 0  # the sender kept under the limits by itself
    assert all(sandbox.stats.messages_per_chat[c] == (4 if c == chats[0] else 1) for c in chats)
    texts = sandbox.stats.texts_per_chat[chats[0]]
    assert texts == [f"Уведомление для {chats[0]}", "Сообщение 0", "Сообщение 1", "Сообщение 2"]


async def test_a_sent_messages_write_claims_its_chats_next_row_without_another_pass(
    tmp_path: Path, database_url: str
) -> None:
    """A reply and the next question to one person: the pass claims the reply; the write of its outcome (as soon
    as Telegram answered) claims the question, without reading the queue again. The order holds, a chat's burst
    is kept (the third message waits its second), nothing is sent twice."""
    async with delivering(tmp_path, database_url, per_chat_burst=2.0) as (core, sandbox, bot):
        claims: list[str] = []
        seen, stop_listening = sender_statements(core, claims)
        try:
            (chat,) = await _people(sandbox, 1)
            texts = ["📌 Карточка задачи", "✏️ Вопрос", "Третье"]
            async with core.sessionmaker() as session, session.begin():
                for text in texts:
                    outbox.message(session, chat, text, core.clock.now())
            # A long poll: every pass here is one the sender wanted, not one its timer started.
            sender = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0)
            await _run_until_sent(sender, core, expected=3)
        finally:
            stop_listening()
        assert sandbox.stats.texts_per_chat[chat] == texts
        assert sandbox.stats.rate_limited == 0
        assert seen[:3] == ["read", "claim", "claim"]  # the question claimed by the reply's outcome
        assert seen.count("claim") == 3
        # On PostgreSQL the reply's outcome and the question's claim are one statement.
        assert len([sql for sql in claims if sql.startswith("WITH")]) == (0 if core.sqlite else 1)


async def test_a_pass_reads_the_queue_only_once_it_holds_the_passes_lock(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """PostgreSQL: the pass's lock and its read of the queue go straight to the driver, yet the read is a statement
    of its own after the lock (its snapshot taken once the lock is held: a row committed while the pass waited is
    seen), both still reach the statement listeners, and a row due later comes back as an aware time the pass waits
    for, not a row it claims."""
    from sqlalchemy import event, text, update

    core, sandbox, bot = delivery
    if core.sqlite:
        pytest.skip("the passes' lock is PostgreSQL's (SQLite's transactions take the write lock in turns)")
    now_chat, later_chat = await _people(sandbox, 2)
    sender = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0)  # a pass's own wait: 25 s
    seen: list[str] = []

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        seen.append("lock" if "pg_advisory_xact_lock" in sql else "read" if "waiting" in sql else "other")

    engine = core.sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    try:
        async with core.sessionmaker() as holder, holder.begin():
            await holder.execute(text("SELECT pg_advisory_xact_lock(727003)"))  # another worker's pass
            seen.clear()
            passing = asyncio.create_task(sender.dispatch(sender._tasks))
            await asyncio.sleep(0.3)
            assert not passing.done()  # waiting for the lock, the queue not read yet
            assert "read" not in seen
            async with core.sessionmaker() as writer, writer.begin():  # committed while the pass waits
                outbox.message(writer, now_chat, "Сейчас", core.clock.now())
                later = outbox.message(writer, later_chat, "Позже", core.clock.now())
                await writer.flush()
                due = sender.clock.now() + timedelta(seconds=3)
                await writer.execute(update(Outbox).where(Outbox.id == later.id).values(not_before=due))
        wait = await asyncio.wait_for(passing, 5)
        assert 1.0 < wait <= 4.0  # the later row's time (from the pass's start), read back from the driver, not 25 s
        assert [name for name in seen if name != "other"][:2] == ["lock", "read"]  # the writer's rows in between
        await asyncio.gather(*sender._tasks)
        await sender.flush()
        assert sandbox.stats.texts_per_chat[now_chat] == ["Сейчас"]
        assert sandbox.stats.texts_per_chat.get(later_chat, []) == []
        async with core.sessionmaker() as session:
            statuses = dict((await session.execute(select(Outbox.chat_id, Outbox.status))).all())
        assert statuses == {now_chat: "sent", later_chat: "pending"}
    finally:
        event.remove(engine, "before_cursor_execute", statement)


async def test_a_row_behind_another_workers_message_is_looked_at_again_after_one_poll_interval(
    tmp_path: Path, database_url: str
) -> None:
    """PostgreSQL, two workers: worker B writes a row to a chat while A's message to it is in flight. B's pass sees
    the chat busy elsewhere; A's answer wakes only A, which never saw the row. B looks again after one poll interval
    (not the idle wait of five), and sends it then, after A's message."""
    if not database_url.startswith("postgresql"):
        pytest.skip("one worker on SQLite")
    sandbox = SandboxServer(token=TOKEN, global_rate=30, per_chat_rate=1000.0, per_chat_burst=2.0)
    base = await sandbox.start()
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url))
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    try:
        (chat,) = await _people(sandbox, 1)
        a = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0, per_chat_rate=1000.0)
        b = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0, per_chat_rate=1000.0)
        async with core.sessionmaker() as session, session.begin():
            outbox.message(session, chat, "Первое", core.clock.now())
        await a.dispatch(a._tasks)  # A claims it; its request is under way
        async with core.sessionmaker() as session, session.begin():  # B's step, while A's message is in flight
            outbox.message(session, chat, "Второе", core.clock.now())
        assert await b.dispatch(b._tasks) == pytest.approx(5.0)  # busy in A: B looks again in one interval, not 25 s
        await asyncio.gather(*a._tasks)
        await a.flush()  # «Первое» sent; A knew nothing behind it, so it claims nothing
        assert not a._tasks
        await b.dispatch(b._tasks)  # B's next look
        await asyncio.gather(*b._tasks)
        await b.flush()
        assert sandbox.stats.texts_per_chat[chat] == ["Первое", "Второе"]
    finally:
        await bot.session.close()
        await core.close()
        await sandbox.stop()


def sender_statements(core: Core, claims: list[str] | None = None) -> tuple[list[str], Callable[[], None]]:
    """The sender's statements as they reach the database — its passes' «read» of the queue, its «claim»s (their
    text into `claims`, if given) — and how to stop listening."""
    from sqlalchemy import event

    seen: list[str] = []

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        if "AS waiting" in sql and "FROM outbox" in sql:  # every pass reads (on PostgreSQL after its lock)
            seen.append("read")
        elif "UPDATE outbox" in sql and "claimed_by" in sql and "RETURNING" in sql:
            seen.append("claim")
            if claims is not None:
                claims.append(sql)

    engine = core.sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    return seen, lambda: event.remove(engine, "before_cursor_execute", statement)


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "waited in vain"
        await asyncio.sleep(0.02)


async def sender_at_rest(sender: OutboxSender, *chats: int) -> None:
    """Until nothing is in flight and the limits let a message go to `chats` now (a chat that just got a burst
    would be timed by a pass, as it should: the tests that count passes start from rest)."""
    await _until(lambda: not sender.in_flight and sender.limiter.global_wait() == 0
                 and all(sender.limiter.chat_wait(chat) == 0 for chat in chats))  # fmt: skip


async def _queued(core: Core, chat: int, *texts: str, parse_mode: str | None = None) -> outbox.Written:
    """Messages one transaction queues for a chat (an update's answer), and what the transaction says it wrote."""
    async with core.sessionmaker() as session:
        async with session.begin():
            for text in texts:
                outbox.message(session, chat, text, core.clock.now(), parse_mode=parse_mode)
        return outbox.written(session)


async def test_an_answer_goes_out_without_the_sender_reading_its_queue(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """An update's transaction queued one message: told which chat, the sender claims it by one statement — no
    passes' lock, no read of the whole queue — and it arrives once."""
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    sender = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0)  # no timed pass for 25 s
    seen, stop_listening = sender_statements(core)
    running = asyncio.create_task(sender.run())
    try:
        await _until(lambda: "read" in seen)  # the pass every sender makes when it starts
        await _until(lambda: sender._pass_due > time.monotonic() + 5)  # done: the next in 25 s
        seen.clear()
        written = await _queued(core, chat, "Принято. Следующий вопрос?")
        assert written.chats == {chat} and not written.other
        sender.notify(written)
        await _until(lambda: not sender.in_flight and bool(sandbox.stats.texts_per_chat.get(chat)))  # sent, written
        assert sandbox.stats.texts_per_chat[chat] == ["Принято. Следующий вопрос?"]
        assert seen == ["claim"]
        async with core.sessionmaker() as session:
            assert list((await session.execute(select(Outbox.status))).scalars()) == ["sent"]
    finally:
        stop_listening()
        sender.stop()
        await running


async def test_an_answers_second_message_follows_its_first(tmp_path: Path, database_url: str) -> None:
    """Two messages in one answer (a reply and the next question): the first is claimed without a pass, the
    second by the write of the first's outcome (no pass either); in order, each once, within a chat's burst."""
    async with delivering(tmp_path, database_url, per_chat_burst=2.0) as (core, sandbox, bot):
        seen, stop_listening = sender_statements(core)
        (chat,) = await _people(sandbox, 1)
        sender = OutboxSender(bot, core.sessionmaker, core.files)  # a burst of two per chat, as the sandbox's
        sender.notify(await _queued(core, chat, "Фото сохранено", "✏️ Номер накладной?"))
        await sender._take_handed()
        async with core.sessionmaker() as session:
            second = (await session.execute(select(Outbox).order_by(Outbox.id.desc()))).scalars().first()
        assert second is not None and second.status == "pending"
        assert [row[0] for row in sender.next_rows[chat]] == [second.id]
        await asyncio.gather(*sender._tasks)  # the first's request
        await sender.flush()  # its outcome, and the second's claim
        await asyncio.gather(*sender._tasks)
        await sender.flush()
        stop_listening()
        assert sandbox.stats.texts_per_chat[chat] == ["Фото сохранено", "✏️ Номер накладной?"]
        assert sandbox.stats.rate_limited == 0
        assert seen == ["claim", "claim"]  # no pass: no read of the queue


async def test_a_second_message_withdrawn_meanwhile_does_not_hold_its_chat(tmp_path: Path, database_url: str) -> None:
    """The first message's outcome would claim the second, which is no longer waiting (withdrawn meanwhile): the
    chat's place in the limits counted for it is given back, so its next message is not held a second."""
    from sqlalchemy import update

    async with delivering(tmp_path, database_url, per_chat_burst=2.0) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        sender = OutboxSender(bot, core.sessionmaker, core.files)  # a burst of two per chat, as the sandbox's
        sender.notify(await _queued(core, chat, "Фото сохранено", "✏️ Номер накладной?"))
        await sender._take_handed()
        ((second, _due, _channel),) = sender.next_rows[chat]
        async with core.sessionmaker() as session, session.begin():
            await session.execute(update(Outbox).where(Outbox.id == second).values(status="failed"))
        await asyncio.gather(*sender._tasks)  # the first's request
        seen, stop_listening = sender_statements(core)
        await sender.flush()  # its outcome; the claim of the second gets nothing
        stop_listening()
        assert seen == ["claim"]  # the second was counted and tried
        assert not sender._tasks and sandbox.stats.texts_per_chat[chat] == ["Фото сохранено"]
        assert sender.limiter.chat_wait(chat) == 0


async def test_an_answers_second_message_goes_when_its_first_is_refused(tmp_path: Path, database_url: str) -> None:
    """Two messages in one answer, the first refused by Telegram for good (markup it cannot parse): the second does
    not wait for the sender's next timed pass — the refusal's outcome wants a pass at once, which sends it."""
    async with delivering(tmp_path, database_url, per_chat_burst=2.0) as (core, sandbox, bot):
        sender = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0)  # a timed pass every 25 s
        running = asyncio.create_task(sender.run())
        try:
            (chat,) = await _people(sandbox, 1)
            await _until(lambda: sender._pass_due > time.monotonic() + 5)  # the first pass done: the next in 25 s
            sender.notify(await _queued(core, chat, "<blink>Фото сохранено</blink>", "✏️ Номер накладной?",
                                        parse_mode=outbox.HTML))  # fmt: skip
            await _until(lambda: bool(sandbox.stats.texts_per_chat.get(chat)), timeout=10.0)
        finally:
            sender.stop()
            await running
        assert sandbox.stats.texts_per_chat[chat] == ["✏️ Номер накладной?"]
        async with core.sessionmaker() as session:
            statuses = list((await session.execute(select(Outbox.status).order_by(Outbox.id))).scalars())
        assert statuses[0] == "failed"


async def test_an_answer_waits_behind_its_chats_message_due_later(delivery: tuple[Core, SandboxServer, Bot]) -> None:
    """A chat whose older message waits out Telegram's retry_after: the answer queued after it is not claimed
    ahead of it; a pass times both, and they arrive in their order."""
    from sqlalchemy import update

    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    sender = OutboxSender(bot, core.sessionmaker, core.files, per_chat_burst=1)
    async with core.sessionmaker() as session, session.begin():
        older = outbox.message(session, chat, "Напоминание", core.clock.now())
        await session.flush()
        due = sender.clock.now() + timedelta(seconds=1.5)
        await session.execute(update(Outbox).where(Outbox.id == older.id).values(not_before=due))
    sender.notify(await _queued(core, chat, "Ответ"))
    sender._pass_wanted = False
    await sender._take_handed()
    assert not sender._tasks and sender._pass_wanted  # nothing claimed: a pass will time the chat
    # Nothing went: the chat's place in the limits is as before, so the pass is not held a second for nothing.
    assert sender.limiter.chat_wait(chat) == 0
    await _run_until_sent(sender, core, expected=2)
    assert sandbox.stats.texts_per_chat[chat] == ["Напоминание", "Ответ"]


async def test_an_answer_waits_behind_another_workers_message_in_flight(tmp_path: Path, database_url: str) -> None:
    """PostgreSQL, two workers: A's message to a person is in flight when B's update queues the next one. B, told
    of the chat, does not claim it beside A's (one message at a time per chat keeps their order); its pass finds
    the chat busy, looks again, and sends it after A's."""
    if not database_url.startswith("postgresql"):
        pytest.skip("one worker on SQLite")
    async with delivering(tmp_path, database_url, per_chat_rate=1000.0, per_chat_burst=2.0) as (core, sandbox, bot):
        (chat,) = await _people(sandbox, 1)
        a = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0, per_chat_rate=1000.0)
        b = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0, per_chat_rate=1000.0)
        await _queued(core, chat, "Первое")
        await a.dispatch(a._tasks)  # A claims it; its outcome is not written yet
        b.notify(await _queued(core, chat, "Второе"))
        b._pass_wanted = False
        await b._take_handed()
        assert not b._tasks and b._pass_wanted  # busy in A: not claimed beside it
        assert chat not in b.limiter.chat_ready  # and not counted against B's limits
        await asyncio.gather(*a._tasks)
        await a.flush()
        await b.dispatch(b._tasks)
        await asyncio.gather(*b._tasks)
        await b.flush()
        assert sandbox.stats.texts_per_chat[chat] == ["Первое", "Второе"]


async def test_retry_after_is_respected_and_nothing_is_sent_twice(delivery: tuple[Core, SandboxServer, Bot]) -> None:
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    async with core.sessionmaker() as session, session.begin():
        for n in range(3):
            outbox.message(session, chat, f"Сообщение {n}", core.clock.now())
    # A sender that ignores the per-chat limit meets 429s and must wait them out.
    sender = OutboxSender(bot, core.sessionmaker, core.files, global_rate=1000, per_chat_rate=1000)
    await _run_until_sent(sender, core, expected=3)
    assert sender.stats["retry_after"] >= 1 and sandbox.stats.rate_limited >= 1
    assert sandbox.stats.texts_per_chat[chat] == ["Сообщение 0", "Сообщение 1", "Сообщение 2"]


async def test_a_message_caught_mid_send_by_a_crash_is_not_sent_again(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    async with core.sessionmaker() as session, session.begin():
        row = outbox.message(session, chat, "Может быть, уже доставлено", core.clock.now())
        row.status = "sending"  # as a crash between the request and its commit leaves it
        outbox.message(session, chat, "Следующее", core.clock.now())
    sender = OutboxSender(bot, core.sessionmaker, core.files)
    await _run_until_sent(sender, core, expected=1)
    async with core.sessionmaker() as session:
        statuses = sorted((await session.execute(select(Outbox.status))).scalars())
    assert statuses == ["sent", "uncertain"]
    assert sandbox.stats.texts_per_chat[chat] == ["Следующее"]


async def test_the_senders_own_sweep_leaves_its_messages_in_flight_alone(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """The sender looks for orphans every minute while it sends: a question it is sending at that moment is not an
    orphan — marking it uncertain would make the person answer it twice."""
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    now = core.clock.now()
    sender = OutboxSender(bot, core.sessionmaker, core.files)
    async with core.sessionmaker() as session, session.begin():
        session.add(User(tg_id=chat, name="P", language="ru", is_admin=False, active=True, created_at=now))
        question = Outbox(chat_id=chat, method="sendMessage", payload={"text": "✏️ Вопрос", "purpose": "question"},
                          status="sending", attempts=1, created_at=now, claimed_at=datetime.now(UTC),
                          claimed_by=sender.key)  # fmt: skip
        session.add(question)
    sender.started.add(question.id)  # its request under way (a row started stays here until its outcome is written)
    await sender.recover()
    async with core.sessionmaker() as session:
        row = (await session.execute(select(Outbox))).scalars().one()
        person = (await session.execute(select(User))).scalars().one()
    assert row.status == "sending" and person.question_lost_at is None


async def test_a_claim_whose_answer_was_lost_is_sent_by_the_senders_sweep(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """A claim committed but its answer lost (a dropped connection): the sender took it for failed and never sent
    the row, yet the row says this live sender is sending it — no one else may sweep it, and its chat looks busy
    to every pass. The sender's own sweep puts it back, and it goes out once — also when it was claimed behind a
    message of its chat that is being sent here (the claim rode with that one's outcome); the message being sent
    is left alone."""
    core, sandbox, bot = delivery
    first, second = await _people(sandbox, 2)
    sender = OutboxSender(bot, core.sessionmaker, core.files)
    just_now = datetime.now(UTC)  # the sender's clock is the wall's: Telegram's limits
    rows = [Outbox(chat_id=chat, method="sendMessage", payload={"text": text}, status="sending", attempts=1,
                   created_at=core.clock.now(), claimed_at=just_now, claimed_by=sender.key)
            for chat, text in ((first, "Первому"), (second, "Второму"), (second, "Второму ещё"))]  # fmt: skip
    async with core.sessionmaker() as session, session.begin():
        session.add_all(rows)
    sender.started.add(rows[1].id)  # its request under way here
    await sender.recover()
    async with core.sessionmaker() as session:
        statuses = dict((await session.execute(select(Outbox.id, Outbox.status))).all())
    assert [statuses[row.id] for row in rows] == ["pending", "sending", "pending"]
    sender.started.clear()  # its outcome written (here: the sweep at the start takes it back too, and it is sent)
    await _run_until_sent(sender, core, expected=3)
    assert sandbox.stats.texts_per_chat[first] == ["Первому"]
    assert sandbox.stats.texts_per_chat[second] == ["Второму", "Второму ещё"]


async def test_an_outcome_written_again_after_a_lost_acknowledgement_cannot_undo_a_later_send(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """Worker A's message met a 429: its outcome («waiting again») is written, but the acknowledgement is lost, so A
    keeps the outcome to write again. Meanwhile worker B claims the row and sends it. A's second write must not put
    the row back to waiting (it would go out twice): an outcome is written only onto the claim it answers."""
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    a = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0)
    b = OutboxSender(bot, core.sessionmaker, core.files, poll_interval=5.0)
    await _queued(core, chat, "Ваша заявка зарегистрирована")
    async with core.sessionmaker() as session, session.begin():
        claimed = await a._claim(await session.connection(), [(await session.execute(select(Outbox.id))).scalar_one()])
    postponed = a._outcome(claimed[0].row, OutboxStatus.PENDING, error="429", attempt_back=True)
    a.outcomes.append(postponed)
    a.in_flight.add(chat)
    await a.flush()  # written (its acknowledgement, as far as A knows, lost)
    await b.dispatch(b._tasks)  # B claims it and sends it
    await asyncio.gather(*b._tasks)
    await b.flush()
    a.outcomes.append(postponed)  # A writes its outcome again
    a.in_flight.add(chat)
    await a.flush()
    async with core.sessionmaker() as session:
        status = (await session.execute(select(Outbox.status))).scalar_one()
    assert status == "sent"
    assert sandbox.stats.texts_per_chat[chat] == ["Ваша заявка зарегистрирована"]


async def test_an_outcome_written_again_does_not_repeat_what_it_did_beyond_its_row(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """A question whose delivery is uncertain: its outcome marks the person to be asked again. Written again after
    its acknowledgement was lost — the person re-asked meanwhile — it changes nothing: what an outcome does beyond
    its row follows its row's fence (PostgreSQL, where the outcome's write says which rows it wrote)."""
    from sqlalchemy import update

    core, sandbox, bot = delivery
    if core.sqlite:
        pytest.skip("one process on SQLite: its writes' acknowledgements are not lost")
    (chat,) = await _people(sandbox, 1)
    sender = OutboxSender(bot, core.sessionmaker, core.files)
    async with core.sessionmaker() as session, session.begin():
        now = core.clock.now()
        session.add(User(tg_id=chat, name="P", language="ru", is_admin=False, active=True, created_at=now))
        outbox.message(session, chat, "✏️ Номер накладной?", now, purpose=outbox.QUESTION)
    async with core.sessionmaker() as session, session.begin():
        question = (await session.execute(select(Outbox.id))).scalar_one()
        claimed = await sender._claim(await session.connection(), [question])
    lost = sender._outcome(claimed[0].row, OutboxStatus.UNCERTAIN, error="timeout")
    assert lost.question_lost
    marked = []
    for _ in range(2):
        async with core.sessionmaker() as session, session.begin():
            await sender._write_outcomes(session, [lost])
            marked.append((await session.execute(select(User.question_lost_at))).scalar_one() is not None)
            await session.execute(update(User).values(question_lost_at=None))  # asked again
    assert marked == [True, False]  # the first write marks the person; the second, fenced off, does not


async def test_a_dead_senders_card_and_question_are_not_left_hanging(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """A sender killed mid-request: its rows are never sent again as they were, but the task card goes out afresh
    (a task nobody sees would wait in silence) and the person's form question will be asked again."""
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    now = core.clock.now()
    async with core.sessionmaker() as session, session.begin():
        person = User(tg_id=chat, name="P", language="ru", is_admin=False, active=True, created_at=now)
        session.add(person)
        session.add(Definition(process="p", version=1, digest="d", source="", path="p.yaml", created_at=now))
        await session.flush()
        case = Case(definition_id=1, process="p", title="t", stage="s", status="active", visit=1, data={},
                    initiator_id=person.id, created_at=now, updated_at=now)  # fmt: skip
        session.add(case)
        await session.flush()
        task = Task(case_id=case.id, key="k", stage="s", visit=1, kind="confirm", status="open", created_at=now)
        session.add(task)
        # Both were being sent by a sender that died: claimed long ago, by a sender whose lock nobody holds.
        long_ago = datetime.now(UTC) - timedelta(minutes=10)
        card = Outbox(chat_id=chat, method="sendMessage", payload={"text": "📌 Карточка задачи"}, status="sending",
                      attempts=1, created_at=now, claimed_at=long_ago, claimed_by=12345, case_id=case.id)  # fmt: skip
        question = Outbox(chat_id=chat, method="sendMessage", payload={"text": "✏️ Вопрос", "purpose": "question"},
                          status="sending", attempts=1, created_at=now, claimed_at=long_ago,
                          claimed_by=12345)  # fmt: skip
        session.add_all([card, question])
        await session.flush()
        session.add(TaskCard(task_id=task.id, user_id=person.id, outbox_id=card.id))
    sender = OutboxSender(bot, core.sessionmaker, core.files, global_rate=30, per_chat_rate=1.0, per_chat_burst=1)
    await _run_until_sent(sender, core, expected=1)
    async with core.sessionmaker() as session:
        rows = {r.id: r for r in (await session.execute(select(Outbox))).scalars()}
        shown = (await session.execute(select(TaskCard))).scalars().one()
        person = (await session.execute(select(User))).scalars().one()
    assert rows[card.id].status == "uncertain" and rows[question.id].status == "uncertain"  # never resent as such
    assert shown.outbox_id not in (card.id, question.id) and rows[shown.outbox_id].status == "sent"
    assert sandbox.stats.texts_per_chat[chat] == ["📌 Карточка задачи"]  # the card, afresh; the question waits
    assert person.question_lost_at is not None  # for the person's next message (or the sweep) to ask it again


async def _fault(sandbox: SandboxServer, **fault: object) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.base_url}/sandbox/api/faults", json=fault) as response:
            assert response.status == 200, await response.text()


async def test_telegram_errors_are_retried_and_a_lost_connection_is_never_sent_twice(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """Telegram answers 502 now and then, or says 429 for reasons of its own: the sender tries again later. A
    connection dropped after the request left is different — whether Telegram took the message is unknown, so the
    row is marked uncertain (the panel lists it) and never sent again: nobody gets a message twice."""
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    await _fault(sandbox, kind="error", status=502, method="sendMessage", count=1)
    await _fault(sandbox, kind="drop", method="sendMessage", count=1)
    await _fault(sandbox, kind="retry_after", retry_after=1, method="sendMessage", count=1)
    async with core.sessionmaker() as session, session.begin():
        for n in range(2):
            outbox.message(session, chat, f"Сообщение {n}", core.clock.now())
    sender = OutboxSender(bot, core.sessionmaker, core.files, global_rate=30, per_chat_rate=1.0, per_chat_burst=1)
    await _run_until_sent(sender, core, expected=1, timeout=30.0)
    assert sandbox.stats.errors[502] == 1 and sandbox.stats.errors[429] >= 1
    assert sender.stats["retry_after"] >= 1 and sender.stats["uncertain"] == 1
    async with core.sessionmaker() as session:
        rows = {r.payload["text"]: r.status for r in (await session.execute(select(Outbox))).scalars()}
    assert rows == {"Сообщение 0": "uncertain", "Сообщение 1": "sent"}
    assert sandbox.stats.texts_per_chat[chat] == ["Сообщение 1"]


async def test_a_person_who_blocked_the_bot_is_marked_unreachable_by_the_refusal(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """Telegram refuses a message to someone who blocked the bot (403 «Forbidden: bot was blocked by the user»):
    the row fails for good (no retries against a wall) and the person is marked unreachable for the admins, even
    before the bot reads the update about the block."""
    import aiohttp

    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    now = core.clock.now()
    async with core.sessionmaker() as session, session.begin():
        session.add(User(tg_id=chat, name="P", language="ru", is_admin=False, active=True, created_at=now))
        outbox.message(session, chat, "Новая задача", now)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sandbox.base_url}/sandbox/api/users/{chat}/block") as response:
            assert response.status == 200
    sender = OutboxSender(bot, core.sessionmaker, core.files)
    task = asyncio.create_task(sender.run())
    try:
        for _ in range(200):
            async with core.sessionmaker() as session:
                row = (await session.execute(select(Outbox))).scalars().one()
                person = (await session.execute(select(User))).scalars().one()
            if row.status != "pending" and row.status != "sending":
                break
            await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await task
    assert row.status == "failed" and row.error is not None and "bot was blocked by the user" in row.error
    assert row.attempts == 1 and person.unreachable_at is not None
    assert sandbox.stats.texts_per_chat.get(chat, []) == []


async def _render_with_document(core: Core, chat: int, template: str) -> tuple[int, int]:
    """What a step that renders a document leaves behind: the reserved file, its render job, and the
    message that carries the file to a person (ids of the file and of the job)."""
    definition_id, _spec = core.registry.latest("defect_return")
    now = core.clock.now()
    async with core.sessionmaker() as session, session.begin():
        stored = await core.files.reserve(session, name="Письмо.docx", kind="document", now=now, case_id=None,
                                          user_id=None)  # fmt: skip
        job = outbox.render_job(
            session,
            payload={"file_id": stored.id, "template": template, "definition_id": definition_id,
                     "data": {"brand": "Longines", "supplier": "alpha"}, "case": {"id": 1, "title": "Брак"},
                     "today": "2026-12-25"},
            now=now,
            case_id=None,
        )
        outbox.enqueue(session, chat_id=chat, method="sendDocument", now=now,
                       payload={"file_id": stored.id, "caption": "Сопроводительное письмо"})  # fmt: skip
        await session.flush()
        return stored.id, job.id


async def test_a_render_job_caught_by_a_crash_runs_again_and_its_document_goes_out_once(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    file_id, job_id = await _render_with_document(core, chat, "supplier_alpha.docx")
    async with core.sessionmaker() as session, session.begin():
        job = await session.get(Outbox, job_id)
        assert job is not None
        job.status = "sending"  # a worker died while rendering: nobody saw anything yet
    sender = OutboxSender(bot, core.sessionmaker, core.files, documents=DocumentJobs(core).render)
    await _run_until_sent(sender, core, expected=2)  # the job, then the document
    async with core.sessionmaker() as session:
        stored = await session.get(StoredFile, file_id)
        assert stored is not None and stored.size > 0
        assert Document(str(core.files.path(stored))).paragraphs  # a real .docx, rendered after the restart
    assert sandbox.stats.messages_per_chat[chat] == 1


async def test_a_document_the_database_could_not_record_is_rendered_again_later_not_failed(
    delivery: tuple[Core, SandboxServer, Bot], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The letter is rendered, but the connection drops as its file is recorded: nothing is wrong with the document,
    so the job waits to run again (the file still unrendered, its message waiting) instead of failing for good."""
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    file_id, job_id = await _render_with_document(core, chat, "supplier_alpha.docx")

    async def dropped(*_args: object) -> bool:
        raise OperationalError("UPDATE files", {}, ConnectionResetError("the server closed the connection"))

    monkeypatch.setattr(core.files, "fill", dropped)
    async with core.sessionmaker() as session:
        job = await session.get(Outbox, job_id)
    assert job is not None
    sender = OutboxSender(bot, core.sessionmaker, core.files, documents=DocumentJobs(core).render)
    outcome = await sender._render(job)
    assert outcome.values["status"] == OutboxStatus.PENDING and outcome.rendered is None
    assert "the server closed the connection" in (outcome.values["error"] or "")
    async with core.sessionmaker() as session:
        stored = await session.get(StoredFile, file_id)
    assert stored is not None and not rendered(stored) and not render_failed(stored)


async def _messages(sandbox: SandboxServer, chat: int) -> list[dict[str, Any]]:
    """What the bot sent to a person, as the sandbox's user API shows their chat."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        return await Person(http=http, base=sandbox.base_url, id=chat, name=str(chat)).bot_messages()


async def test_a_picture_keeps_telegrams_file_id_from_its_first_sending_and_is_sent_by_it_after(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """A chart the bot made goes to a person: uploaded the first time, and the id Telegram gave it is kept with the
    file, so the next person gets it by that id. Sent by its id, nothing about the file is written again: the
    outcome is its row's alone (on PostgreSQL one statement, no transaction around it)."""
    core, sandbox, bot = delivery
    first, second = await _people(sandbox, 2)
    async with core.sessionmaker() as session, session.begin():
        chart = await core.files.add(session, content=picture(), name="chart.png", kind="photo", now=core.clock.now(),
                                     case_id=None, user_id=None)  # fmt: skip
        outbox.enqueue(session, chat_id=first, method="sendPhoto", now=core.clock.now(),
                       payload={"file_id": chart.id, "caption": "Продажи за неделю"})  # fmt: skip
    await _run_until_sent(OutboxSender(bot, core.sessionmaker, core.files), core, expected=1)
    async with core.sessionmaker() as session:
        stored = await session.get(StoredFile, chart.id)
        assert stored is not None and stored.tg_file_id
    (sent,) = [m for m in await _messages(sandbox, first) if m["photos"]]
    assert stored.tg_file_id == sent["photos"][0]["file_id"]

    async with core.sessionmaker() as session, session.begin():
        outbox.enqueue(session, chat_id=second, method="sendPhoto", now=core.clock.now(),
                       payload={"file_id": chart.id, "caption": "Продажи за неделю"})  # fmt: skip
    written: list[str] = []
    engine = core.db.sync_engine

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        written.append(sql)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        await _run_until_sent(OutboxSender(bot, core.sessionmaker, core.files), core, expected=2)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert not [sql for sql in written if "UPDATE files" in sql]
    (again,) = [m for m in await _messages(sandbox, second) if m["photos"]]
    assert again["photos"][0]["file_id"] == stored.tg_file_id  # the same file, sent by its id


async def test_a_document_that_cannot_be_rendered_fails_instead_of_waiting_for_ever(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    await _render_with_document(core, chat, "no_such_template.docx")
    sender = OutboxSender(bot, core.sessionmaker, core.files, documents=DocumentJobs(core).render)
    task = asyncio.create_task(sender.run())
    try:
        for _ in range(400):
            async with core.sessionmaker() as session:
                rows = (await session.execute(select(Outbox.method, Outbox.status, Outbox.error))).all()
            if all(status == "failed" for _method, status, _error in rows):
                break
            await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await task
    assert {method: status for method, status, _error in rows} == {"renderDocument": "failed",
                                                                  "sendDocument": "failed"}
    assert any("no_such_template.docx" in (error or "") for _method, _status, error in rows)
    assert sandbox.stats.messages_per_chat.get(chat, 0) == 0


async def test_a_cards_edits_go_out_as_stored_and_an_unchanged_edit_counts_as_sent(
    delivery: tuple[Core, SandboxServer, Bot],
) -> None:
    """A card and its edits (posted as the rows hold them, not through aiogram's models): the text and buttons
    changed where the card is, the same edit again is Telegram's «message is not modified» (sent: the person sees
    what the row says), and an edit without buttons takes them away. Every edit answers with the card's message."""
    import aiohttp

    core, sandbox, bot = delivery
    (chat,) = await _people(sandbox, 1)
    now = core.clock.now()
    buttons = {"inline_keyboard": [[{"text": "Взять", "callback_data": "t:1:take"}]]}
    closed = {"text": "<b>Задача 1</b>: взята", "parse_mode": "HTML"}
    async with core.sessionmaker() as session, session.begin():
        card = outbox.message(session, chat, "Задача 1", now, reply_markup=buttons)
        await session.flush()
        for method, payload in (
            ("editMessageText", {**closed, "reply_markup": buttons}),
            ("editMessageText", {**closed, "reply_markup": buttons}),  # the same again: not modified
            ("editMessageReplyMarkup", {}),
        ):
            outbox.enqueue(session, chat_id=chat, method=method, payload=payload, now=now, ref_id=card.id)
    sender = OutboxSender(bot, core.sessionmaker, core.files, global_rate=30, per_chat_rate=1.0, per_chat_burst=1)
    await _run_until_sent(sender, core, expected=4, timeout=30.0)
    async with core.sessionmaker() as session:
        rows = list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())
    assert {row.message_id for row in rows} == {rows[0].message_id} and rows[0].message_id is not None
    assert sender.stats["failed"] == 0 and [row.attempts for row in rows] == [1, 1, 1, 1]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.base_url}/sandbox/api/users/{chat}/messages", params={"after": "0"}) as got:
            (shown,) = [m for m in (await got.json())["messages"] if m["from_bot"]]
    assert shown["text"] == "Задача 1: взята" and shown["entities"][0]["type"] == "bold"
    assert "reply_markup" not in shown


async def test_a_refused_connection_is_retried_not_taken_for_sent(tmp_path: Path, database_url: str) -> None:
    """Nothing listens where Telegram should be: the request never left, so the message is not uncertain (it
    would never go out) but pending again, its error worded as aiogram words a refused connection."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url))
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")))
    try:
        async with core.sessionmaker() as session, session.begin():
            outbox.message(session, 4242, "Привет", core.clock.now())
        sender = OutboxSender(bot, core.sessionmaker, core.files)
        task = asyncio.create_task(sender.run())
        try:
            for _ in range(200):
                if sender.stats["network_retries"]:
                    break
                await asyncio.sleep(0.05)
        finally:
            sender.stop()
            await task
        async with core.sessionmaker() as session:
            row = (await session.execute(select(Outbox))).scalars().one()
        assert sender.stats["network_retries"] == 1 and sender.stats["uncertain"] == 0
        assert row.status == "pending" and row.attempts == 1
        assert row.error is not None and row.error.startswith("HTTP Client says - ClientConnectorError")
    finally:
        await bot.session.close()
        await core.close()
