"""Indexes that hold what is still going on (migration 0028): the clock finds its due timers, and an SMS's delivery
report its message, without reading what was done before them; the revision's way down gives the old indexes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Timer
from flows.status import TimerStatus
from scheduler.timers import _DUE
from services.sms import SmsReport, record_reports
from tests.revisions import partial_condition, tables_down_and_up
from tests.table_reads import index_entries_read, rows_read

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
DONE = 5000  # timers fired or cancelled, messages sent: what a few weeks leave behind
REVISION, BEFORE = "0028_indexes_without_history", "0027_cases_updated_at_index"
CHANGED = {"tasks": "ix_tasks_open_role", "timers": "ix_timers_due", "cases": "ix_cases_parent_id",
           "outbox": "ix_outbox_external_id"}  # fmt: skip


async def test_the_revision_keeps_four_indexes_to_what_goes_on_and_its_way_down_gives_them_back(
    empty_database_url: str,
) -> None:
    tables = await tables_down_and_up(empty_database_url, tuple(CHANGED), BEFORE, at=REVISION)
    for table, (at, before, again) in tables.items():
        assert again == at, table
        name = CHANGED[table]
        # Nothing else of the table's indexes moved.
        assert {n: i for n, i in at.items() if n != name} == {n: i for n, i in before.items() if n != name}, table
    tasks, timers, cases, outbox = (tables[t] for t in ("tasks", "timers", "cases", "outbox"))
    assert "ix_tasks_open_role" not in tasks[0] and tasks[1]["ix_tasks_open_role"]["column_names"] == ["status", "role"]
    assert "ix_tasks_open_assignee" in tasks[0]  # «my cases» reads a person's tasks whatever their status
    assert timers[0]["ix_timers_due"]["column_names"] == ["due_at", "id"]
    assert partial_condition(timers[0], "ix_timers_due", empty_database_url) == "status = 'pending'"
    assert timers[1]["ix_timers_due"]["column_names"] == ["status", "due_at"]
    assert partial_condition(cases[0], "ix_cases_parent_id", empty_database_url) == "parent_id IS NOT NULL"
    assert partial_condition(outbox[0], "ix_outbox_external_id", empty_database_url) == "external_id IS NOT NULL"
    for table, index in (("cases", "ix_cases_parent_id"), ("outbox", "ix_outbox_external_id")):
        assert not tables[table][1][index].get("dialect_options", {}).get("postgresql_where"), index
        assert not tables[table][1][index].get("dialect_options", {}).get("sqlite_where"), index


async def _timers(session: AsyncSession, postgres: bool) -> dict[datetime, int]:
    """Weeks of timers fired or cancelled; three pending: two due, one due tomorrow. Returns the pending ones' ids."""
    past = NOW - timedelta(days=20)
    if postgres:
        await session.execute(text(
            "INSERT INTO timers (kind, due_at, status, payload, fired_at) SELECT 'deadline', "
            "CAST(:past AS timestamptz) + n * interval '1 minute', CASE WHEN n % 3 = 0 THEN 'cancelled' ELSE 'fired' "
            "END, '{}', :now FROM generate_series(1, :done) AS n"
        ), {"past": past, "now": NOW, "done": DONE})
    else:
        session.add_all(Timer(kind="deadline", due_at=past + timedelta(minutes=n), status=TimerStatus.FIRED,
                              payload={}, fired_at=NOW) for n in range(50))  # fmt: skip
    pending = [Timer(kind="remind", due_at=NOW + timedelta(minutes=m), payload={}) for m in (-5, -30, 24 * 60)]
    session.add_all(pending)
    await session.flush()
    return {t.due_at: t.id for t in pending}


async def test_the_clock_finds_its_due_timers_without_reading_those_fired_or_cancelled(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    postgres = database_url.startswith("postgresql")
    async with sessionmaker() as session, session.begin():
        ids = await _timers(session, postgres)
    if not postgres:  # SQLite counts no reads: its plan names the index it walks
        poll = _DUE.compile(dialect=sqlite.dialect())
        values = {"now": NOW.isoformat(), "limit": 200, "param_1": 0}  # param_1: SQLite's OFFSET with a LIMIT
        async with sessionmaker() as session:
            connection = await session.connection()
            plan = (await connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(poll), tuple(values[name] for name in poll.positiontup or ())
            )).all()
            due = list((await connection.execute(_DUE, {"now": NOW, "limit": 200})).scalars())
        assert due == [t for d, t in sorted(ids.items()) if d <= NOW]
        assert "USING INDEX ix_timers_due" in " ".join(str(row[-1]) for row in plan), plan
        return
    async with sessionmaker() as session, session.begin():
        await session.execute(text("ANALYZE timers"))
    for generic in (False, True):
        async with sessionmaker() as session, session.begin():
            connection = await session.connection()
            if generic:  # as a prepared statement's plan after five runs may be: for any status, any time
                await connection.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
            rows, entries = await rows_read(session, "timers"), await index_entries_read(session, "timers")
            due = list((await connection.execute(_DUE, {"now": NOW, "limit": 200})).scalars())
            read = (await index_entries_read(session, "timers") - entries, await rows_read(session, "timers") - rows)
        assert due == [t for d, t in sorted(ids.items()) if d <= NOW]  # the two due ones, the older first
        assert max(read) < 50, (generic, read)  # (index entries, rows): not the 5,000 done


async def test_a_delivery_report_finds_its_sms_without_reading_the_telegram_messages(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("counts the index entries a PostgreSQL plan reads")
    async with sessionmaker() as session, session.begin():
        await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at, sent_at) "
            "SELECT 'telegram', n % 200, 'sendMessage', '{}', 'sent', 1, :now, :now FROM generate_series(1, :done) n"
        ), {"now": NOW, "done": DONE})
        await session.execute(text(
            "INSERT INTO outbox (channel, chat_id, method, payload, status, attempts, created_at, sent_at, "
            "external_id) VALUES ('sms', 0, 'sms', '{}', 'sent', 1, :now, :now, '201-7')"
        ), {"now": NOW})
        await session.execute(text("ANALYZE outbox"))
    async with sessionmaker() as session, session.begin():
        rows, entries = await rows_read(session, "outbox"), await index_entries_read(session, "outbox")
        recorded = await record_reports(session, [SmsReport("201-7", 103, "Delivered", final=True, delivered=True)])
        read = (await index_entries_read(session, "outbox") - entries, await rows_read(session, "outbox") - rows)
        report = (await session.execute(text("SELECT report FROM outbox WHERE external_id = '201-7'"))).scalar_one()
    assert (recorded, report) == (1, "103 Delivered")
    assert max(read) < 50, read
