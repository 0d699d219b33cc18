"""How a case step is written: the step's rows in a few multi-row statements, and nothing lost on the way
(rows the step buffers are written, a timer set and cancelled in the same step ends cancelled)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.container import build_core
from app.settings import Settings
from bench.scenario import HAPPY_PATH, PROCESS, staff
from db.models import AuditEntry, Case, Outbox, Task, TaskCard, Timer, User
from flows.runtime import EngineError
from flows.status import TaskStatus, TimerStatus
from services import outbox
from services.cases import CaseService, Loaded
from services.cases.store import CaseStore
from services.core import Core
from tests.revisions import indexes_down_and_up, partial_condition
from tests.table_reads import index_entries_read, rows_read


async def test_a_step_writes_its_audit_and_timers_in_one_statement_each(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    inserts: Counter[str] = Counter()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            inserts[words[2]] += 1

    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
        event.listen(core.db.sync_engine, "before_cursor_execute", seen)
        async with core.sessionmaker() as session, session.begin():
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        first = HAPPY_PATH[0]
        task = next(t for t in loaded.state.open_tasks() if t.key == first.task)
        assert task.id is not None
        async with core.sessionmaker() as session, session.begin():
            await CaseService(core, session).submit(users["initiator"], task.id, first.outcome, dict(first.values))
        event.remove(core.db.sync_engine, "before_cursor_execute", seen)
        async with core.sessionmaker() as session:
            audit = list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())
            timers = list((await session.execute(select(Timer))).scalars())
            cards = list((await session.execute(select(TaskCard))).scalars())
            tasks = list((await session.execute(select(Task))).scalars())
    finally:
        await core.close()
    # The step's writes go to the driver's connection directly, yet listeners see them (the bench counts them):
    # the case row's versioned UPDATE on PostgreSQL, on SQLite the step's statements (one call, its SQL joined,
    # the case's versioned UPDATE first), once per step.
    written = [s for s in statements if 'UPDATE "cases"' in s or s.startswith("UPDATE cases SET")]
    assert len(written) >= 2
    # Two steps (start, submit): at most one audit INSERT and one timer INSERT each, whatever the row count.
    assert inserts["audit"] <= 2 and len(audit) > 2
    actions = [a.action for a in audit]
    assert actions[0] == "case.started" and "task.done" in actions  # in the order they happened
    assert inserts["timers"] <= 2 and timers, "the submitted start form sets the next task's deadline timers"
    # Every card points at its own message (inserted in the same flush).
    assert cards and all(c.outbox_id for c in cards)
    assert {c.task_id for c in cards} <= {t.id for t in tasks}


async def test_each_step_of_a_defect_return_is_one_read_and_one_write(tmp_path: Path, database_url: str) -> None:
    """Seed 1's happy path, each person's step in its own transaction as the bot runs it: the case read (with its
    open tasks, their cards, its followers and the files its chats were sent) and the step's rows written, one
    statement each, whatever the step sends; a step that renders a document also reserves its file."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.split()[0] not in ("BEGIN", "COMMIT") and not statement.startswith('INSERT INTO files'):
            statements.append(statement)

    steps: dict[str, int] = {}
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
        event.listen(core.db.sync_engine, "before_cursor_execute", seen)
        for _case in range(2):  # the first reads the process's definition and its people once for the process
            async with core.sessionmaker() as session, session.begin():
                loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
            for step in HAPPY_PATH:
                task = next(t for t in loaded.state.open_tasks() if t.key == step.task)
                assert task.id is not None and task.assignee_id == users[step.actor].id  # one person per role
                statements.clear()
                async with core.sessionmaker() as session, session.begin():
                    loaded = await CaseService(core, session).submit(users[step.actor], task.id, step.outcome, {
                        **step.values})
                steps[step.task] = len(statements)
    finally:
        await core.close()
    assert loaded.state.stage == "done"
    assert steps == {step.task: 2 for step in HAPPY_PATH}, (steps, statements)


async def test_a_timer_set_and_cancelled_in_one_step_is_stored_cancelled(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            store = CaseStore(session, core.registry, sqlite=core.sqlite, now=now)
            store.set_timer(loaded.row.id, None, "wait", now, {"stage": "x", "visit": 1})
            store.set_timer(loaded.row.id, None, "remind", now, {})
            store.cancel_timers(case_id=loaded.row.id, kind="wait")
            await store.write_rows()
        async with core.sessionmaker() as session:
            rows = (await session.execute(select(Timer.kind, Timer.status).where(Timer.case_id == loaded.row.id)
                                          .where(Timer.kind.in_(["wait", "remind"])).where(Timer.task_id.is_(None))))
            stored = dict(rows.all())
            assert (await session.get(Case, loaded.row.id)) is not None
    finally:
        await core.close()
    assert stored == {"wait": TimerStatus.CANCELLED, "remind": TimerStatus.PENDING}


async def test_a_step_cancels_the_stored_timers_it_replaces_and_keeps_the_ones_it_sets(
    tmp_path: Path, database_url: str
) -> None:
    """A deadline moved: the old timers go, the new ones (written in the same statement on PostgreSQL) stay."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            store = CaseStore(session, core.registry, sqlite=core.sqlite, now=now)
            store.set_timer(loaded.row.id, None, "wait", now, {"stage": "old", "visit": 1})
            await store.write_rows()
        async with core.sessionmaker() as session, session.begin():
            store = CaseStore(session, core.registry, sqlite=core.sqlite, now=now)
            store.cancel_timers(case_id=loaded.row.id, kind="wait")
            store.set_timer(loaded.row.id, None, "wait", now, {"stage": "new", "visit": 1})
            store.audit(loaded, None, "deadline.moved", {})
            await store.write_rows()
        async with core.sessionmaker() as session:
            rows = await session.execute(select(Timer.payload, Timer.status).where(Timer.case_id == loaded.row.id)
                                         .where(Timer.kind == "wait"))
            stored = {payload["stage"]: status for payload, status in rows.all()}
            moved = (await session.execute(select(AuditEntry).where(AuditEntry.action == "deadline.moved"))).all()
    finally:
        await core.close()
    assert stored == {"old": TimerStatus.CANCELLED, "new": TimerStatus.PENDING}
    assert len(moved) == 1


async def _two_shops_claims_registered(core: Core) -> tuple[dict[str, User], dict[str, Loaded]]:
    """The staff, and two shops' claims ("ours", "other"), each past its first step (registered)."""
    async with core.sessionmaker() as session, session.begin():
        users = await staff(session, core.clock.now())
    loaded = {}
    for shop in ("ours", "other"):
        async with core.sessionmaker() as session, session.begin():
            loaded[shop] = await CaseService(core, session).start(users["initiator"], PROCESS)
        first = HAPPY_PATH[0]
        task = next(t for t in loaded[shop].state.open_tasks() if t.key == first.task)
        assert task.id is not None
        async with core.sessionmaker() as session, session.begin():
            loaded[shop] = await CaseService(core, session).submit(
                users["initiator"], task.id, first.outcome, dict(first.values))
    return users, loaded


async def _a_thousand_copies(session: Any, case_id: int) -> None:
    """The other cases of a busy company: a thousand more, copies of the case's row."""
    await session.execute(text(
        "INSERT INTO cases (definition_id, process, title, stage, status, visit, data, initiator_id, "
        "created_at, updated_at) SELECT definition_id, process, title, stage, status, visit, data, "
        "initiator_id, created_at, updated_at FROM cases, generate_series(1, 1000) WHERE id = :case"
    ), {"case": case_id})


async def test_a_task_done_cancels_its_own_timers_and_reads_no_other_cases(tmp_path: Path, database_url: str) -> None:
    """The service manager moves a claim on: the reminders and the deadline of that task go, while another shop's
    claim keeps its own. On PostgreSQL the step finds its timers through the task and case indexes: with thousands
    of other cases' timers pending it reads none of them (it used to walk every pending timer on each such step)."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    postgresql = database_url.startswith("postgresql")
    try:
        users, loaded = await _two_shops_claims_registered(core)
        other_id = loaded["other"].row.id
        if postgresql:
            # The other cases of a busy company (a thousand more, copies of the other shop's claim), five timers each
            # pending, and the planner told of them (the statistics committed, as autovacuum's would be).
            async with core.sessionmaker() as session, session.begin():
                await _a_thousand_copies(session, other_id)
                await session.execute(text(
                    "INSERT INTO timers (case_id, task_id, kind, due_at, status, payload) "
                    "SELECT c.id, NULL, 'remind', now(), 'pending', '{}' FROM cases c, generate_series(1, 5) "
                    "WHERE c.id <> :ours"
                ), {"ours": loaded["ours"].row.id})
            async with core.db.begin() as connection:
                await connection.execute(text("ANALYZE timers"))
        step = HAPPY_PATH[1]
        task = next(t for t in loaded["ours"].state.open_tasks() if t.key == step.task)
        assert task.id is not None
        async with core.sessionmaker() as session:
            timers_before = {status for (status,) in (await session.execute(
                select(Timer.status).where(Timer.task_id == task.id))).all()}
        async with core.sessionmaker() as session, session.begin():
            before = await rows_read(session, "timers") if postgresql else 0
            service = CaseService(core, session)
            actor = users[step.actor]
            await service.claim(actor, task.id)
            await service.submit(actor, task.id, step.outcome, dict(step.values))
            during = (await rows_read(session, "timers") - before) if postgresql else 0
        async with core.sessionmaker() as session:
            ours = {status for (status,) in (await session.execute(
                select(Timer.status).where(Timer.task_id == task.id))).all()}
            others = Counter(status for (status,) in (await session.execute(
                select(Timer.status).where(Timer.case_id == other_id))).all())
    finally:
        await core.close()
    assert timers_before == {TimerStatus.PENDING}  # the task had its reminders and deadline waiting
    assert ours == {TimerStatus.CANCELLED}
    assert set(others) == {TimerStatus.PENDING}
    assert during < 100  # rows of the timers table the step read (its own task's and case's are a handful)


async def _ours_moved_on(core: Core, users: dict[str, User], ours: Loaded) -> tuple[Any, Loaded, int]:
    """The service manager takes our claim's task and moves it on (the happy path's second step): the task, the case
    as the step left it, and the index entries of tasks and timers the step read."""
    step = HAPPY_PATH[1]
    task = next(t for t in ours.state.open_tasks() if t.key == step.task)
    assert task.id is not None
    async with core.sessionmaker() as session, session.begin():
        before = await index_entries_read(session, "tasks", "timers")
        service = CaseService(core, session)
        actor = users[step.actor]
        await service.claim(actor, task.id)
        moved = await service.submit(actor, task.id, step.outcome, dict(step.values))
        during = await index_entries_read(session, "tasks", "timers") - before
    return task, moved, during


def _task_columns_copied() -> tuple[str, str]:
    """A task's columns but its id, case and status — as an INSERT's list and as `t.`'s — for copies of a task
    made by SQL (`INSERT INTO tasks (case_id, status, …) SELECT …, … FROM tasks t`)."""
    columns = [c.name for c in Task.__table__.columns if c.name not in ("id", "case_id", "status")]
    return ", ".join(columns), ", ".join(f"t.{name}" for name in columns)


async def _a_thousand_busy_claims(session: AsyncSession, other: int) -> None:
    """A thousand copies of the other claim, each with its open tasks (five copies each) and five pending
    reminders; and no statistics to come of them before the step (a server whose autovacuum is on could analyze
    them meanwhile, and the plan under test would not appear): this database is the test's own."""
    await session.execute(text("ALTER TABLE tasks SET (autovacuum_enabled = off)"))
    await session.execute(text("ALTER TABLE timers SET (autovacuum_enabled = off)"))
    await _a_thousand_copies(session, other)
    copied, from_t = _task_columns_copied()
    await session.execute(text(
        f"INSERT INTO tasks (case_id, status, {copied}) SELECT c.id, 'open', {from_t} FROM tasks t, cases c, "
        "generate_series(1, 5) WHERE t.case_id = :case AND t.status = 'open' AND c.id > :case"
    ), {"case": other})
    await session.execute(text(
        "INSERT INTO timers (case_id, task_id, kind, due_at, status, payload) "
        "SELECT c.id, NULL, 'remind', now(), 'pending', '{}' FROM cases c, generate_series(1, 5) WHERE c.id > :case"
    ), {"case": other})


async def test_a_step_reads_its_own_cases_open_tasks_and_timers_however_many_others_wait(
    tmp_path: Path, database_url: str
) -> None:
    """A busy company: a thousand other claims, each with open tasks and pending reminders, and no statistics
    gathered on them yet (a database between two autovacuum runs). The service manager moves our claim on: the
    step reads our case's open tasks and cancels our task's timers through the case's and the task's own index
    entries; it used to AND them with the status indexes and so read every other claim's open task and pending
    timer as well (18,000 index entries per step in the engine bench's database)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts index entries read from PostgreSQL's per-transaction statistics")
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        users, loaded = await _two_shops_claims_registered(core)
        ours, other = loaded["ours"].row.id, loaded["other"].row.id
        async with core.sessionmaker() as session, session.begin():
            await _a_thousand_busy_claims(session, other)
        task, moved, during = await _ours_moved_on(core, users, loaded["ours"])
        async with core.sessionmaker() as session:
            timers = Counter(status for (status,) in (await session.execute(
                select(Timer.status).where(Timer.task_id == task.id))).all())
            others_open = (await session.execute(text(
                "SELECT count(*) FROM tasks WHERE status = 'open' AND case_id > :case"), {"case": other})).scalar()
            others_pending = (await session.execute(text(
                "SELECT count(*) FROM timers WHERE status = 'pending' AND case_id > :case"), {"case": other})).scalar()
    finally:
        await core.close()
    assert moved.row.id == ours and task.id not in {t.id for t in moved.state.open_tasks()}
    assert set(timers) == {TimerStatus.CANCELLED}  # our task's reminders and deadline went
    assert others_open and others_pending == 5000  # nobody else's moved
    assert during < 100, during  # index entries of tasks and timers the step read: its own, a handful


async def test_a_step_of_a_long_case_reads_its_open_tasks_not_the_hundreds_it_has_done(
    tmp_path: Path, database_url: str
) -> None:
    """A long case (a medical order's hundreds of item tracks, nearly all done) in a busy company: our claim has
    been through five hundred steps, each leaving a done task and its fired reminders behind, and a thousand other
    claims wait with open tasks and pending reminders; no statistics gathered on any of it yet. The service manager
    moves our claim on: the step reads our case's open tasks through an index of open tasks alone and none of the
    done ones (it read every task the case ever had, done or not, and tested each one's status)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts index entries read from PostgreSQL's per-transaction statistics")
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    copied, from_t = _task_columns_copied()
    try:
        users, loaded = await _two_shops_claims_registered(core)
        ours, other = loaded["ours"].row.id, loaded["other"].row.id
        async with core.sessionmaker() as session, session.begin():
            await _a_thousand_busy_claims(session, other)
            # Our claim's past: five hundred done tasks (copies of its registration form), two fired reminders each.
            await session.execute(text(
                f"INSERT INTO tasks (case_id, status, {copied}) SELECT t.case_id, 'done', {from_t} FROM tasks t, "
                "generate_series(1, 500) WHERE t.case_id = :case AND t.status = 'done'"
            ), {"case": ours})
            await session.execute(text(
                "INSERT INTO timers (case_id, task_id, kind, due_at, status, payload) "
                "SELECT t.case_id, t.id, 'remind', now(), 'fired', '{}' FROM tasks t, generate_series(1, 2) "
                "WHERE t.case_id = :case AND t.status = 'done'"
            ), {"case": ours})
            done = (await session.execute(text(
                "SELECT count(*) FROM tasks WHERE case_id = :case AND status = 'done'"), {"case": ours})).scalar()
        task, moved, during = await _ours_moved_on(core, users, loaded["ours"])
        async with core.sessionmaker() as session:
            timers = Counter(status for (status,) in (await session.execute(
                select(Timer.status).where(Timer.task_id == task.id))).all())
    finally:
        await core.close()
    assert done is not None and done > 500  # the claim's history
    assert moved.row.id == ours and task.id not in {t.id for t in moved.state.open_tasks()}
    assert set(timers) == {TimerStatus.CANCELLED}  # our task's reminders and deadline went
    assert during < 100, during  # index entries of tasks and timers the step read: its open tasks', a handful


async def test_the_index_of_the_open_tasks_by_case_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0024_tasks_open_case_index adds the open tasks' index by case on PostgreSQL and SQLite alike; its downgrade
    drops that index and no other, and the upgrade brings it back."""
    at, before, again = await indexes_down_and_up(
        empty_database_url, "tasks", "0023_outbox_waiting_index", at="0024_tasks_open_case_index"
    )
    assert "ix_tasks_open_case" not in before
    assert before == {name: index for name, index in at.items() if name != "ix_tasks_open_case"}
    assert again == at
    assert at["ix_tasks_open_case"]["column_names"] == ["case_id"]
    assert partial_condition(at, "ix_tasks_open_case", empty_database_url) == "status = 'open'"


async def test_a_step_written_from_an_older_state_of_the_case_is_refused(tmp_path: Path, database_url: str) -> None:
    """Two steps from the same state of a case: the second to write finds the case's version moved on and is
    refused whole (on SQLite the trigger that writes the step's rows checks it first), so nothing of it is stored."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        async with core.sessionmaker() as session, session.begin():
            old = await CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now()).load(loaded.row.id)
        first = HAPPY_PATH[0]
        task = next(t for t in loaded.state.open_tasks() if t.key == first.task)
        assert task.id is not None
        async with core.sessionmaker() as session, session.begin():
            await CaseService(core, session).submit(users["initiator"], task.id, first.outcome, dict(first.values))
        async with core.sessionmaker() as session:
            before = (await session.execute(select(AuditEntry.id))).scalars().all()
        with pytest.raises(StaleDataError):
            async with core.sessionmaker() as session, session.begin():
                store = CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now())
                old.state.title = "written from an older state"
                store.audit(old, None, "case.renamed", {})
                await store.write_case(old)
        async with core.sessionmaker() as session:
            case = await session.get(Case, loaded.row.id)
            after = (await session.execute(select(AuditEntry.id))).scalars().all()
    finally:
        await core.close()
    assert case is not None and case.title != "written from an older state"
    assert after == before  # the refused step's audit entry went with it


async def test_two_people_finishing_the_same_task_at_once_move_the_case_once(tmp_path: Path, database_url: str) -> None:
    """The service manager's «done» and a colleague's at the same moment: the second step waits for the case's lock
    and then finds the task done (on PostgreSQL its first read, made before the lock was granted, saw the case's
    tasks as they were; it is read again), so the case moves on once and the second person is told."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        for step in HAPPY_PATH[:1]:
            task = next(t for t in loaded.state.open_tasks() if t.key == step.task)
            assert task.id is not None
            async with core.sessionmaker() as session, session.begin():
                loaded = await CaseService(core, session).submit(users[step.actor], task.id, step.outcome, {
                    **step.values})
        step = HAPPY_PATH[1]
        task = next(t for t in loaded.state.open_tasks() if t.key == step.task)
        assert task.id is not None and task.assignee_id == users[step.actor].id  # the one service manager's
        manager, task_id = users[step.actor], task.id
        holding = asyncio.Event()
        second_waits = asyncio.Event()

        async def first() -> None:
            async with core.sessionmaker() as session, session.begin():
                await CaseService(core, session).submit(manager, task_id, step.outcome, {})
                holding.set()
                await second_waits.wait()  # the case's lock is held until the second step is waiting for it

        async def second() -> str:
            await holding.wait()
            try:
                async with core.sessionmaker() as session, session.begin():
                    await CaseService(core, session).submit(manager, task_id, step.outcome, {})
            except EngineError as refused:
                return str(refused)
            return "done twice"

        async def until_second_waits() -> None:
            await holding.wait()
            if not core.sqlite:  # SQLite: a writer's turn comes only after the first commits, read and all
                await _until_a_backend_waits_for_a_lock(core)
            second_waits.set()

        *_, answer = await asyncio.gather(first(), until_second_waits(), second())
        async with core.sessionmaker() as session:
            tasks = (await session.execute(select(Task.key, Task.status).where(Task.case_id == loaded.row.id)
                                           .order_by(Task.id))).all()
            case = await session.get(Case, loaded.row.id)
    finally:
        await core.close()
    assert answer == "This task is already done or no longer needed."
    assert [(key, str(status)) for key, status in tasks] == [
        ("__start__", "done"), ("move_to_service", "done"), ("confirm_defect", "open")]
    assert case is not None and case.stage == "inspection"


async def test_a_step_that_changes_only_tasks_is_read_by_the_step_that_waited_for_it(
    tmp_path: Path, database_url: str
) -> None:
    """A timer started on a task, a card sent again: the step changes the case's tasks or cards, not the case, and
    moves the case's version on (`CaseStore.touch`), so a step that waited for the case's lock reads those tasks as
    that step left them (a second «⏸ Pause» does not add the time twice)."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    moved_due = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        task = next(t for t in loaded.state.open_tasks() if t.key == HAPPY_PATH[0].task)
        holding, second_waits = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with core.sessionmaker() as session, session.begin():
                store = CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now())
                mine = await store.load(loaded.row.id)
                await session.execute(update(Task).where(Task.id == task.id).values(due_at=moved_due))
                await store.touch(mine)
                holding.set()
                await second_waits.wait()

        async def second() -> datetime | None:
            await holding.wait()
            async with core.sessionmaker() as session, session.begin():
                store = CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now())
                waited = await store.load(loaded.row.id)
            assert task.id is not None
            return waited.task_rows[task.id].due_at

        async def until_second_waits() -> None:
            await holding.wait()
            if not core.sqlite:
                await _until_a_backend_waits_for_a_lock(core)
            second_waits.set()

        _, _, seen = await asyncio.gather(first(), until_second_waits(), second())
    finally:
        await core.close()
    assert seen is not None and seen.astimezone(UTC) == moved_due


_WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def _until_a_backend_waits_for_a_lock(core: Core) -> None:
    async with core.db.connect() as connection:
        for _ in range(3000):
            waiting = await connection.scalar(_WAITING_FOR_A_LOCK)
            if waiting:
                return
            # A transaction keeps the list of backends its first look at pg_stat_activity found: when the second
            # step's connection is opened after that look (a loaded machine), no later look in it sees the step
            # waiting. Each look is its own transaction.
            await connection.rollback()
            await asyncio.sleep(0.01)
    raise AssertionError("the second step never waited for the case's lock")


async def test_a_changed_task_row_gets_its_changes_and_keeps_the_rest(tmp_path: Path, database_url: str) -> None:
    """A step writes only what changed on a task (on PostgreSQL all changed tasks by one statement of one shape):
    a moved deadline keeps the person's draft and when they took it; a task handed back to its pool has no
    assignee (a NULL written, not skipped); a task done loses its draft."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        task = next(t for t in loaded.state.open_tasks() if t.key == HAPPY_PATH[0].task)
        assert task.id is not None
        now = core.clock.now()
        async with core.sessionmaker() as session, session.begin():
            row = await session.get(Task, task.id)
            assert row is not None
            row.draft, row.claimed_at = {"answers": {"brand": "Longines"}}, now
        # Microseconds and another zone than UTC come back as the same moment.
        moved = (now + timedelta(days=3, microseconds=123457)).astimezone(timezone(timedelta(hours=3)))
        kept = await _change_task(core, loaded.row.id, task.id, now, due_at=moved)
        assert kept.due_at == moved
        assert kept.draft == {"answers": {"brand": "Longines"}} and kept.claimed_at is not None
        assert kept.assignee_id == users["initiator"].id
        released = await _change_task(core, loaded.row.id, task.id, now, assignee_id=None)
        assert released.assignee_id is None and released.draft is not None
        done = await _change_task(core, loaded.row.id, task.id, now, status=TaskStatus.DONE, outcome="submit")
    finally:
        await core.close()
    assert done.status == TaskStatus.DONE and done.outcome == "submit"
    assert done.draft is None and done.due_at == moved


async def _change_task(core: Core, case_id: int, task_id: int, now: datetime, **changes: Any) -> Task:
    """One step that changes these attributes of a task's state; the task's row as it was then stored."""
    async with core.sessionmaker() as session, session.begin():
        store = CaseStore(session, core.registry, sqlite=core.sqlite, now=now)
        case = await store.load(case_id)
        state_task = next(t for t in case.state.tasks if t.id == task_id)
        for key, value in changes.items():
            setattr(state_task, key, value)
        await store.sync_tasks(case)
    async with core.sessionmaker() as session:
        row = await session.get(Task, task_id)
    assert row is not None
    return row


async def test_the_load_reads_the_rows_as_stored_and_the_session_tracks_them(tmp_path: Path, database_url: str) -> None:
    """The case and its open tasks, read as plain columns: their objects hold the stored values (a JSON column
    decoded, a moment with its zone); read again under the lock they take what another writer stored meanwhile
    (the session's own objects, not copies); a change made to them afterwards is written by the session."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            started = await CaseService(core, session).start(users["initiator"], PROCESS)
        task = next(t for t in started.state.open_tasks() if t.key == HAPPY_PATH[0].task)
        assert task.id is not None
        async with core.sessionmaker() as session, session.begin():
            store = CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now())
            unlocked = await store.load(started.row.id, lock=False)
            # Another writer's changes, as the session's objects do not know them (SQLite lets no other writer in).
            draft = {"answers": {"brand": "Longines"}}
            await session.execute(update(Task).where(Task.id == task.id).values(draft=draft)
                                  .execution_options(synchronize_session=False))
            await session.execute(update(Case).where(Case.id == started.row.id).values(title="renamed meanwhile")
                                  .execution_options(synchronize_session=False))
            assert unlocked.row.title != "renamed meanwhile"
            locked = await store.load_by_task(task.id)
            assert locked.row is unlocked.row and locked.row.title == "renamed meanwhile"
            trow = locked.task_rows[task.id]
            assert trow is unlocked.task_rows[task.id] and trow.draft == draft
            assert trow.created_at.utcoffset() is not None and trow.created_at == started.task_rows[task.id].created_at
            assert locked.row.data == started.row.data and locked.row.version == started.row.version
            assert not session.dirty and not session.new  # read as loaded: nothing for the unit of work
            trow.draft = None  # as a handler changes a task row directly
        async with core.sessionmaker() as session:
            row = await session.get(Task, task.id)
    finally:
        await core.close()
    assert row is not None and row.draft is None


async def test_a_steps_messages_stay_out_of_the_unit_of_work_until_someone_flushes(
    tmp_path: Path, database_url: str
) -> None:
    """While a step is open its messages and cards are queued for its writer, not added to the session; a flush
    in the meantime (someone reads a card of this very step) writes them, and a step that ends with some not taken
    leaves them to the session: none is lost."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    now = core.clock.now()
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, now)
            started = await CaseService(core, session).start(users["initiator"], PROCESS)
        task = started.state.open_tasks()[0]
        async with core.sessionmaker() as session, session.begin():
            opened = outbox.open_step(session)
            assert opened and not outbox.open_step(session)  # a step within the step shares it
            first = outbox.message(session, 501, "first", now)
            outbox.card(session, task.id, users["initiator"].id, first)
            assert not session.new
            await outbox.flush(session)
            assert first.id is not None
            card = (await session.execute(select(TaskCard).where(TaskCard.outbox_id == first.id))).scalar_one()
            assert card.task_id == task.id
            second = outbox.message(session, 501, "second", now)
            outbox.close_step(session, opened)
            assert second in session.new and "konveyer.outbox.step" not in session.info
        async with core.sessionmaker() as session:
            texts = [p["text"] for p in (await session.execute(
                select(Outbox.payload).where(Outbox.chat_id == 501).order_by(Outbox.id))).scalars()]
    finally:
        await core.close()
    assert texts == ["first", "second"]
