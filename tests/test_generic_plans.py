"""PostgreSQL may plan a prepared statement once for any values of its parameters (a generic plan, which asyncpg's
statements can get after five runs; the tests force it). The questions the inbox and the outbox ask over and over —
is any update due, which ones, which messages wait, which were caught mid-send — name the status they look for in
the statement itself, so that plan still knows it looks for the rare `pending` rows among everything already
handled and sent, and reads them through their index (the clock's poll of its due timers likewise:
tests/test_indexes_of_what_goes_on.py). With the status a parameter it planned for
an average status: the timed pass scanned every update ever received (4.6 ms a question at 10,000 updates in the
bot bench, growing with the table)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.driver import fetch_on
from services.delivery.queue import _HANDED_PG, _HANDED_SQLITE, _QUEUE, _WAITING_IN
from services.delivery.sender import OutboxSender
from services.inbox.leasing import _ANY_DUE, _lease, _pending
from tests.revisions import indexes_down_and_up, partial_condition
from tests.table_reads import index_entries_read, rows_read

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
        any_due = bool(await fetch_on(connection, _ANY_DUE, {"now": NOW}))
        due = (await connection.execute(_pending(200), {"now": NOW})).all()
        read = await rows_read(session, "inbox") - before
    assert any_due is True
    # Each person's oldest waiting update, in order; the second of person 7 waits behind the first.
    assert [(person, update_id) for person, update_id, _payload in due] == [(7, HANDLED + 1), (8, HANDLED + 3)]
    assert read < 50, read  # the pending updates (and their people's older ones), not the 5,000 handled


# What the statistics said when they were taken (the bot bench ANALYZEs between rounds, autovacuum whenever it likes):
# none yet; a handful pending; a burst (300 of 5,000 pending); a backlog (half the inbox waiting, a restart after a
# stop). By the time of the reads every one of those updates has been handled: three wait, as in `busy_day`.
STATISTICS = {"none": None, "quiet": 0, "burst": 300, "backlog": HANDLED // 2}


@pytest.mark.parametrize("statistics", list(STATISTICS))
async def test_the_passes_read_the_pending_updates_alone_whatever_the_statistics(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], statistics: str
) -> None:
    """A pass's read of the due updates (`_pending`, ORDER BY update_id LIMIT n) and the webhook workers' lease of them
    (`_lease`), and the timed pass's question (`_ANY_DUE`), custom and generic plans: each reads the index entries of
    the pending updates (and of their people's older ones), not those of the 5,000 handled. With statistics taken
    during a burst or a backlog (in a larger inbox, with none at all), a generic plan — and in a backlog's a custom
    one — walked the primary key in update_id order and tested every update ever received (the bot bench: ~10,000
    entries a pass, 3.6–5.6 ms); the lease's UPDATE joined its chosen ids to a scan of the whole inbox, and the timed
    pass's EXISTS scanned the table for a pending update. Before ix_inbox_waiting: burst, the generic read 5,004
    entries, the lease 5,010–10,008 rows, the question 4,703 rows; backlog, 5,004 entries under either plan."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts the index entries a PostgreSQL plan reads")
    engine = sessionmaker.kw["bind"]
    async with sessionmaker() as session, session.begin():
        await session.execute(text("ALTER TABLE inbox SET (autovacuum_enabled = false)"))  # the statistics stay ours
        await session.execute(text(
            "INSERT INTO inbox (update_id, person_id, payload, status, attempts, received_at, handled_at) "
            "SELECT n, n % 200, '{}', 'done', 1, :now, :now FROM generate_series(1, :handled) AS n"
        ), {"now": NOW, "handled": HANDLED})
    waiting = STATISTICS[statistics]
    if waiting is not None:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            flip = "UPDATE inbox SET status = :status, handled_at = NULL WHERE update_id > :first"
            await connection.execute(text(flip), {"status": "pending", "first": HANDLED - waiting})
            await connection.execute(text("ANALYZE inbox"))
            await connection.execute(text(flip), {"status": "done", "first": HANDLED - waiting})
            # The flips' dead row versions gone (their index entries with them), as a vacuum would leave them: the
            # statistics stay what ANALYZE saw.
            await connection.execute(text("VACUUM inbox"))
    async with sessionmaker() as session, session.begin():
        # Person 7 with two waiting (the second behind the first), person 8 with one.
        await session.execute(text(
            "INSERT INTO inbox (update_id, person_id, payload, status, attempts, received_at) VALUES "
            "(:handled + 1, 7, '{}', 'pending', 0, :now), (:handled + 2, 7, '{}', 'pending', 0, :now), "
            "(:handled + 3, 8, '{}', 'pending', 0, :now)"
        ), {"now": NOW, "handled": HANDLED})
    reads: dict[str, tuple[int, int]] = {}  # (index entries, rows) read by each read under each plan
    for generic in (False, True):
        plan = "generic" if generic else "custom"
        async with sessionmaker() as session, session.begin():
            connection = await _generic(session) if generic else await session.connection()
            for name in ("pending", "lease", "any due"):
                rows, entries = await rows_read(session, "inbox"), await index_entries_read(session, "inbox")
                if name == "pending":
                    found = (await connection.execute(_pending(200), {"now": NOW})).all()
                elif name == "lease":  # rolled back with the session's transaction
                    found = (await connection.execute(_lease(200), {"now": NOW, "until": NOW})).all()
                else:
                    found = await fetch_on(connection, _ANY_DUE, {"now": NOW})
                reads[f"{name}, {plan}"] = (
                    await index_entries_read(session, "inbox") - entries, await rows_read(session, "inbox") - rows,
                )
                if name == "any due":
                    assert [row[0] for row in found] == [HANDLED + 1]
                else:  # each person's oldest waiting update, in order; the second of person 7 waits behind the first
                    assert sorted((row[0], row[1]) for row in found) == [(7, HANDLED + 1), (8, HANDLED + 3)], name
            await session.rollback()
    too_many = {read: counts for read, counts in reads.items() if max(counts) >= 50}
    assert not too_many, (statistics, reads)  # (index entries, rows) read


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


CHAT, HISTORY = 7, 3000  # a person's chat with a year of messages sent


@pytest.mark.parametrize("statistics", [
    "none",
    "analyzed",
    "burst",
])
async def test_a_handed_message_is_claimed_without_reading_its_chats_history(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], statistics: str
) -> None:
    """An update's messages are claimed right after its commit (`_HANDED_PG`: the chat's first waiting row, where no
    older one waits and none is being sent, and whether more wait behind it), then the rows behind are read
    (`_WAITING_IN`). Each finds the chat's rows by chat_id and status: through the plain chat index they read every
    message the chat ever had, up to four times an update. The chat's waiting and in-flight rows have an index of
    their own (ix_outbox_chat_waiting): a few entries, custom or generic plan, with no statistics and with ANALYZE's.
    Before it, with 3,000 messages sent to the chat and no statistics: the claim 3,012 index entries (custom) and
    3,016 (generic), the read of the rows behind 3,007 and 3,009 (the plain chat index; after ANALYZE the status
    indexes served, 19 and 3). With statistics taken while a broadcast's 2,000 messages waited, the claim reads 3,018
    (custom) and 3,020 (generic; 6,020 before) and the generic read behind 3,006 while the plain chat index stayed (the
partial one, its pages left by that broadcast, was costed higher): the plain one is gone (migration 0026)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts the index entries a PostgreSQL plan reads")
    engine = sessionmaker.kw["bind"]
    async with sessionmaker() as session, session.begin():
        await session.execute(text("ALTER TABLE outbox SET (autovacuum_enabled = false)"))  # the statistics stay ours
        # The chat's history, and 2,000 messages sent to 199 other chats; one of those is waiting, one being sent.
        await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at, sent_at) "
            "SELECT 'telegram', CASE WHEN n <= :history THEN :chat ELSE 100 + n % 199 END, 'sendMessage', '{}', "
            "'sent', 1, :now, :now FROM generate_series(1, :history + 2000) AS n"
        ), {"now": NOW, "history": HISTORY, "chat": CHAT})
        await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at, claimed_at, "
            "claimed_by) VALUES ('telegram', 8, 'sendMessage', '{}', 'pending', 0, :now, NULL, NULL), "
            "('telegram', 9, 'sendMessage', '{}', 'sending', 1, :now, :now, 4242)"
        ), {"now": NOW})
    if statistics != "none":
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            # A burst: a broadcast's 2,000 messages to the other chats waiting when ANALYZE looked.
            flip = "UPDATE outbox SET status = :status WHERE chat_id >= 100"
            if statistics == "burst":
                await connection.execute(text(flip), {"status": "pending"})
            await connection.execute(text("ANALYZE outbox"))
            if statistics == "burst":
                await connection.execute(text(flip), {"status": "sent"})
                await connection.execute(text("VACUUM outbox"))  # the flips' dead versions gone, as a vacuum would
    async with sessionmaker() as session, session.begin():
        # The update's answer: two messages to the chat, the second behind the first.
        queued = (await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at) VALUES "
            "('telegram', :chat, 'sendMessage', '{}', 'pending', 0, :now), "
            "('telegram', :chat, 'sendMessage', '{}', 'pending', 0, :now) RETURNING id"
        ), {"now": NOW, "chat": CHAT})).scalars().all()
    first, second = sorted(queued)
    reads: dict[str, tuple[int, int]] = {}  # (index entries, rows) read by each statement under each plan
    for generic in (False, True):
        plan = "generic" if generic else "custom"
        async with sessionmaker() as session, session.begin():
            connection = await _generic(session) if generic else await session.connection()
            entries, rows = await index_entries_read(session, "outbox"), await rows_read(session, "outbox")
            handed = await fetch_on(connection, _HANDED_PG, {"chats": [CHAT], "now": NOW, "key": 4243})
            reads[f"handed, {plan}"] = (
                await index_entries_read(session, "outbox") - entries, await rows_read(session, "outbox") - rows,
            )
            entries, rows = await index_entries_read(session, "outbox"), await rows_read(session, "outbox")
            behind = (await connection.execute(_WAITING_IN, {"chats": [CHAT]})).all()
            reads[f"behind, {plan}"] = (
                await index_entries_read(session, "outbox") - entries, await rows_read(session, "outbox") - rows,
            )
            assert [(record[0], record[-1]) for record in handed] == [(first, True)], plan  # claimed; one behind it
            assert [row[0] for row in behind] == [second], plan
            await session.rollback()
    too_many = {read: counts for read, counts in reads.items() if max(counts) >= 50}
    assert not too_many, (statistics, reads)  # (index entries, rows) read


async def test_sqlite_finds_a_handed_chats_rows_through_the_index_of_its_waiting_ones(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """SQLite's plans for the same claim (`_HANDED_SQLITE`) and read (`_WAITING_IN`), without statistics and after
    ANALYZE, in a chat with a long history: each search of the outbox, the subqueries' too, goes through
    ix_outbox_chat_waiting (SQLite uses a partial index only when a term of the WHERE is one of its condition's OR
    terms: with `status IN (…)` it took the plain chat index everywhere)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's query plans")
    async with sessionmaker() as session, session.begin():
        await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at) "
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :history + 2000) "
            "SELECT 'telegram', CASE WHEN i <= :history THEN :chat ELSE 100 + i % 199 END, 'sendMessage', '{}', "
            "CASE WHEN i >= :history + 1999 THEN 'pending' ELSE 'sent' END, 1, :now FROM n"
        ), {"now": NOW, "history": HISTORY, "chat": CHAT})
    plans: dict[str, list[str]] = {}
    for statistics in ("none", "analyzed"):
        async with sessionmaker() as session, session.begin():
            connection = await session.connection()
            if statistics == "analyzed":
                await connection.exec_driver_sql("ANALYZE")
            for name, statement in (("handed", _HANDED_SQLITE), ("behind", _WAITING_IN)):
                compiled = statement.compile(dialect=connection.dialect)
                sql = str(compiled).replace("__[POSTCOMPILE_chats]", str(CHAT))
                values = {"now": NOW.isoformat(" "), "key": 4243}
                keys = [key for key in compiled.positiontup or () if key != "chats"]  # the chats are written in
                args = tuple(values.get(key, compiled.params.get(key)) for key in keys)
                rows = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args)).all()
                plans[f"{name}, {statistics}"] = [row[-1] for row in rows if row[-1].startswith("SEARCH")]
    wrong = {
        name: searches for name, searches in plans.items()
        if not searches or any("ix_outbox_chat_waiting" not in search for search in searches)
    }
    assert not wrong, plans


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
    assert partial_condition(at, "ix_outbox_waiting", empty_database_url) == "status = 'pending'"


async def test_the_index_of_the_chats_waiting_messages_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0026_outbox_chat_waiting_index puts the chats' waiting and in-flight rows' index in the place of the plain
    chat index, on PostgreSQL and SQLite alike; its downgrade brings the plain one back and drops the new one, and
    the upgrade swaps them again, touching no other index."""
    at, before, again = await indexes_down_and_up(
        empty_database_url, "outbox", "0025_inbox_waiting_index", at="0026_outbox_chat_waiting_index"
    )
    assert "ix_outbox_chat_waiting" not in before and "ix_outbox_chat_id" not in at
    assert before["ix_outbox_chat_id"]["column_names"] == ["chat_id"]
    assert {n: i for n, i in before.items() if n != "ix_outbox_chat_id"} == {
        n: i for n, i in at.items() if n != "ix_outbox_chat_waiting"
    }
    assert again == at
    assert at["ix_outbox_chat_waiting"]["column_names"] == ["chat_id"]
    assert partial_condition(at, "ix_outbox_chat_waiting", empty_database_url) == (
        "status = 'pending' OR status = 'sending'"
    )


async def test_the_index_of_the_waiting_updates_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0025_inbox_waiting_index adds the waiting updates' own index on PostgreSQL and SQLite alike; its downgrade drops
    that index and no other, and the upgrade brings it back."""
    at, before, again = await indexes_down_and_up(
        empty_database_url, "inbox", "0024_tasks_open_case_index", at="0025_inbox_waiting_index"
    )
    assert "ix_inbox_waiting" not in before
    assert before == {name: index for name, index in at.items() if name != "ix_inbox_waiting"}
    assert again == at
    assert at["ix_inbox_waiting"]["column_names"] == ["update_id"]
    assert partial_condition(at, "ix_inbox_waiting", empty_database_url) == "status = 'pending'"
