"""PostgreSQL may plan a prepared statement once for any values of its parameters (a generic plan, which asyncpg's
statements can get after five runs; the tests force it). The questions the inbox and the outbox ask over and over —
is any update due, which ones, which messages wait, which were caught mid-send — name the status they look for in
the statement itself, so that plan still knows it looks for the rare `pending` rows among everything already
handled and sent, and reads them through their index. (The timers' poll needs nothing of the kind: its index is
(status, due_at), which the due time alone keeps to the due timers; checked.) With the status a parameter it planned for
an average status: the timed pass scanned every update ever received (4.6 ms a question at 10,000 updates in the
bot bench, growing with the table)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.driver import fetch_on
from services.delivery.queue import _QUEUE
from services.delivery.sender import OutboxSender
from services.inbox.leasing import _ANY_DUE, _pending
from tests.revisions import indexes_down_and_up
from tests.table_reads import rows_read

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
HANDLED = 5000  # updates handled and messages sent before, as a day's work leaves them


@pytest.fixture
async def busy_day(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> async_sessionmaker[AsyncSession]:
    if not database_url.startswith("postgresql"):
        pytest.skip("counts the rows a PostgreSQL generic plan reads (SQLite prepares no generic plans)")
    async with sessionmaker() as session, session.begin():
        # Five thousand updates handled; person 7 with two waiting (the second behind the first), person 8 with one.
        await session.execute(text(
            "INSERT INTO inbox (update_id, person_id, payload, status, attempts, received_at, handled_at) "
            "SELECT n, n % 200, '{}', 'done', 1, :now, :now FROM generate_series(1, :handled) AS n"
        ), {"now": NOW, "handled": HANDLED})
        await session.execute(text(
            "INSERT INTO inbox (update_id, person_id, payload, status, attempts, received_at) VALUES "
            "(:handled + 1, 7, '{}', 'pending', 0, :now), (:handled + 2, 7, '{}', 'pending', 0, :now), "
            "(:handled + 3, 8, '{}', 'pending', 0, :now)"
        ), {"now": NOW, "handled": HANDLED})
        # Five thousand messages sent, two waiting to go to one chat.
        await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at, sent_at) "
            "SELECT 'telegram', n % 200, 'sendMessage', '{}', CASE WHEN n > :handled THEN 'pending' ELSE 'sent' END, "
            "1, :now, :now FROM generate_series(1, :handled + 2) AS n"
        ), {"now": NOW, "handled": HANDLED})
    async with sessionmaker() as session, session.begin():
        await session.execute(text("ANALYZE inbox, outbox"))  # as autovacuum's statistics would say
    return sessionmaker


async def _generic(session: AsyncSession) -> Any:
    """The session's connection in a transaction whose statements are planned as a generic plan at once."""
    connection = await session.connection()
    await connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    return connection


async def test_the_timed_pass_finds_the_due_updates_without_reading_the_handled_ones(
    busy_day: async_sessionmaker[AsyncSession],
) -> None:
    async with busy_day() as session, session.begin():
        connection = await _generic(session)
        before = await rows_read(session, "inbox")
        any_due = (await fetch_on(connection, _ANY_DUE, {"now": NOW}))[0][0]
        due = (await connection.execute(_pending(200), {"now": NOW})).all()
        read = await rows_read(session, "inbox") - before
    assert any_due is True
    # Each person's oldest waiting update, in order; the second of person 7 waits behind the first.
    assert [(person, update_id) for person, update_id, _payload in due] == [(7, HANDLED + 1), (8, HANDLED + 3)]
    assert read < 50, read  # the pending updates (and their people's older ones), not the 5,000 handled


async def test_the_minute_sweep_for_messages_caught_mid_send_reads_only_those_in_flight(
    busy_day: async_sessionmaker[AsyncSession],
) -> None:
    """The sender looks every minute for rows a dead sender left `sending`: after five minutes its statements run
    on generic plans, and with the status a parameter one of its four read every message ever sent."""
    async with busy_day() as session, session.begin():
        connection = await _generic(session)
        await connection.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at, claimed_at, "
            "claimed_by) VALUES ('telegram', 9, 'sendMessage', '{}', 'sending', 1, :long_ago, :long_ago, 4242)"
        ), {"long_ago": datetime(2026, 12, 20, tzinfo=UTC)})
        # The sweep's own transactions become savepoints of this one: what they read is counted here.
        sender = OutboxSender(
            None, async_sessionmaker(bind=connection, join_transaction_mode="create_savepoint"), None,  # type: ignore[arg-type]
        )
        before = await rows_read(session, "outbox")
        await sender.recover()
        read = await rows_read(session, "outbox") - before
        statuses = dict((await connection.execute(text("SELECT chat_id, status FROM outbox WHERE chat_id = 9"))).all())
    assert statuses == {9: "uncertain"}  # the dead sender's message is not sent again
    assert read < 50, read




async def test_the_sender_reads_the_waiting_messages_whatever_the_statistics_promise(
    busy_day: async_sessionmaker[AsyncSession],
) -> None:
    """Statistics taken during a burst (3,000 messages waiting), read after it was sent; and a generic plan, which
    guesses for any status. Asked for the first thousand waiting by id, PostgreSQL expected to find them early
    walking the primary key and tested every message sent; the waiting rows' own index holds them in id order."""
    async with busy_day() as session, session.begin():
        first = (await session.execute(text("SELECT min(id) FROM outbox"))).scalar_one()
        await session.execute(text("UPDATE outbox SET status = 'pending' WHERE id < :first + 3000"), {"first": first})
    async with busy_day() as session, session.begin():
        await session.execute(text("ANALYZE outbox"))
    async with busy_day() as session, session.begin():
        await session.execute(text("UPDATE outbox SET status = 'sent' WHERE id < :first + 3000"), {"first": first})
    for generic in (False, True):
        async with busy_day() as session, session.begin():
            connection = await _generic(session) if generic else await session.connection()
            before = await rows_read(session, "outbox")
            queue = await fetch_on(connection, _QUEUE, {})
            read = await rows_read(session, "outbox") - before
        waiting = sorted(row[0] for row in queue if row[4])
        assert waiting == [first + HANDLED, first + HANDLED + 1]  # the two still waiting, nothing being sent
        assert read < 50, (generic, read)


async def test_the_index_of_the_waiting_messages_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0023_outbox_waiting_index adds the waiting rows' own index on PostgreSQL and SQLite alike; its downgrade drops
    that index and no other, and the upgrade brings it back."""
    at, before, again = await indexes_down_and_up(
        empty_database_url, "outbox", "0022_tasks_done_by_index", at="0023_outbox_waiting_index"
    )
    assert "ix_outbox_waiting" not in before
    assert before == {name: index for name, index in at.items() if name != "ix_outbox_waiting"}
    assert again == at
    assert at["ix_outbox_waiting"]["column_names"] == ["id"]
    where = "postgresql_where" if empty_database_url.startswith("postgresql") else "sqlite_where"
    condition = at["ix_outbox_waiting"]["dialect_options"][where]  # PostgreSQL's: ((status)::text = 'pending'::text)
    assert condition.replace("::text", "").replace("(", "").replace(")", "") == "status = 'pending'"
