"""Status columns: the database refuses a value that is no declared status (SQLite and PostgreSQL), and the
revision that adds the constraints keeps every row of a database made before it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import is_sqlite, make_engine, make_sessionmaker, migrate
from db.models import AuditEntry, Case, Definition, Outbox, Task, Timer, User, WorkPeriod
from flows.status import CaseStatus, OutboxStatus, TaskStatus, TimerStatus

NOW = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
TABLES = {"cases": Case, "tasks": Task, "timers": Timer, "outbox": Outbox}


@pytest.fixture
async def engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(empty_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _fill(engine: AsyncEngine) -> None:
    """One of everything that has a status, plus rows that point at them (cascading foreign keys). Written
    with Core inserts naming only the columns revision 0001 has: later revisions add more to the models."""

    async def add(model: Any, **values: Any) -> int:
        # A table of just these columns (and the key): the model's own would add later columns' Python defaults.
        full = model.__table__
        named = [c for c in full.c if c.name in values or c.primary_key]
        table = Table(full.name, MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key) for c in named))
        result = await session.execute(insert(table).values(**values))
        return int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0

    async with make_sessionmaker(engine)() as session, session.begin():
        await add(User, id=1, tg_id=1, name="A", language="ru", is_admin=False, active=True, created_at=NOW)
        await add(Definition, id=1, process="p", version=1, digest="d", source="", path="p.yaml", created_at=NOW)
        for status in CaseStatus:
            await add(
                Case, definition_id=1, process="p", title="", stage="s", status=status, visit=1, data={},
                initiator_id=1, created_at=NOW, updated_at=NOW,
            )  # fmt: skip
        for status in TaskStatus:
            task_id = await add(
                Task, case_id=2, key="k", stage="s", visit=1, kind="form", status=status, created_at=NOW
            )
            await add(WorkPeriod, task_id=task_id, case_id=2, user_id=1, started_at=NOW)
        for status in TimerStatus:
            await add(Timer, case_id=2, task_id=1, kind="remind", due_at=NOW, status=status, payload={})
        for status in OutboxStatus:
            await add(
                Outbox, channel="telegram", chat_id=1, method="sendMessage", payload={}, status=status, attempts=0,
                created_at=NOW,
            )  # fmt: skip
        await add(AuditEntry, case_id=2, action="case.started", data={}, at=NOW)


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with make_sessionmaker(engine)() as session:
        models = (*TABLES.values(), WorkPeriod, AuditEntry)
        count = select(func.count())
        return {m.__tablename__: (await session.execute(count.select_from(m))).scalar_one() for m in models}


async def test_the_database_refuses_an_undeclared_status(engine: AsyncEngine) -> None:
    await migrate(engine)
    await _fill(engine)
    for table in TABLES:
        async with engine.connect() as connection:
            with pytest.raises(IntegrityError):
                # Past the ORM, as a bulk UPDATE or another program would write it.
                await connection.execute(text(f"UPDATE {table} SET status = 'bogus'"))
            await connection.rollback()
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(
                text("INSERT INTO timers (kind, due_at, status, payload) VALUES ('wait', CURRENT_DATE, 'late', '{}')")
            )
        await connection.rollback()
    # The ORM does not even send one.
    async with make_sessionmaker(engine)() as session:
        session.add(Timer(kind="wait", due_at=NOW, status="late", payload={}))
        with pytest.raises(StatementError, match="late"):
            await session.flush()
    # Rows read back as the enums' members, equal to the old strings.
    async with make_sessionmaker(engine)() as session:
        task = (await session.execute(select(Task).where(Task.status == "open"))).scalar_one()
        assert task.status is TaskStatus.OPEN and task.status == "open"
        assert (await session.get(Outbox, 1)).status is OutboxStatus.PENDING  # type: ignore[union-attr]


async def test_the_constraints_revision_keeps_every_row(engine: AsyncEngine) -> None:
    await migrate(engine, "0001")
    await _fill(engine)
    before = await _counts(engine)
    assert before["tasks"] == len(TaskStatus) and before["audit"] == 1
    async with engine.connect() as connection:
        await connection.execute(text("UPDATE outbox SET status = 'bogus' WHERE id = 1"))  # nothing refuses yet
        await connection.rollback()
    await migrate(engine)  # 0001 -> 0002: on SQLite every status table is rebuilt
    assert await _counts(engine) == before
    async with engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(text("UPDATE outbox SET status = 'bogus' WHERE id = 1"))
        await connection.rollback()
        if is_sqlite(str(engine.url)):
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1  # on again
            # name -> partial: the «my tasks» indexes are rebuilt with their WHERE
            indexes = {r[1]: r[4] for r in (await connection.execute(text("PRAGMA index_list(tasks)"))).all()}
            assert indexes["ix_tasks_open_assignee_due"] == indexes["ix_tasks_open_pool_due"] == 1
            assert indexes["ix_tasks_open_assignee"] == 0
    # Foreign keys still hold: deleting a case still takes its tasks, timers and audit with it.
    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(text("DELETE FROM cases WHERE id = 2"))
    after = await _counts(engine)
    assert after["tasks"] == after["timers"] == after["work_periods"] == after["audit"] == 0
    await migrate(engine)  # and again: nothing to do
