"""«My cases»: the cases a person started, was given a task in or finished one in — and nobody else's. On PostgreSQL,
in a company with a thousand other cases whose tasks other people did, the list reads only the person's own rows
(it used to read the whole tasks table on every press — nothing indexed who finished a task — and test every case
against what it read)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text

from app.container import build_core
from app.settings import Settings
from bench.scenario import HAPPY_PATH, PROCESS, staff
from db.models import Case, Company, Definition, Setting, Task
from services import access, people
from services.access import Viewer
from services.cases import CaseService
from services.digests import key_of as digest_key
from services.menu import WALK, Menu, Walk
from tests.revisions import indexes_down_and_up
from tests.table_reads import rows_read

INDEX = "ix_tasks_done_by"


async def test_my_cases_lists_what_the_person_started_was_given_or_did_and_reads_no_one_elses_tasks(
    tmp_path: Path, database_url: str
) -> None:
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    postgresql = database_url.startswith("postgresql")
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
        shop, service, warehouse = users["initiator"], users["service_manager"], users["warehouse_head"]
        cases = {}
        for name in ("moved on", "waiting"):
            async with core.sessionmaker() as session, session.begin():
                loaded = await CaseService(core, session).start(shop, PROCESS)
            first = HAPPY_PATH[0]
            task = next(t for t in loaded.state.open_tasks() if t.key == first.task)
            assert task.id is not None
            async with core.sessionmaker() as session, session.begin():
                loaded = await CaseService(core, session).submit(shop, task.id, first.outcome, dict(first.values))
            cases[name] = loaded
        # The service manager moves the first claim on (a task done by them); the check that follows is the
        # warehouse head's (a task given to them, not done yet). The second claim waits for the service manager
        # (the one person of the role: given to them).
        moved = cases["moved on"]
        for step, actor in ((HAPPY_PATH[1], service), (HAPPY_PATH[2], warehouse)):
            task = next(t for t in moved.state.open_tasks() if t.key == step.task)
            assert task.id is not None
            async with core.sessionmaker() as session, session.begin():
                service_ = CaseService(core, session)
                moved = await service_.claim(actor, task.id)
                if actor is service:
                    moved = await service_.submit(actor, task.id, step.outcome, dict(step.values))
        # The accountant finished a task in the second claim (a row of its history: who did it is kept whoever the
        # task was given to — today the engine lets only the one it was given to finish it, the list does not lean
        # on that).
        async with core.sessionmaker() as session, session.begin():
            await session.execute(insert(Task).values(
                case_id=cases["waiting"].row.id, key="check_payment", stage="registered", visit=1, kind="confirm",
                role="accountant", status="done", outcome="done", created_at=core.clock.now(),
                done_by=users["accountant"].id, done_at=core.clock.now()))
        if postgresql:
            # A thousand more claims, started by the director, each with a task the director finished, and the
            # planner told of them (the statistics committed, as autovacuum's would be).
            async with core.sessionmaker() as session, session.begin():
                waiting = cases["waiting"].row.id
                await session.execute(text(
                    "INSERT INTO cases (definition_id, process, title, stage, status, visit, data, initiator_id, "
                    "created_at, updated_at) SELECT definition_id, process, title, stage, status, visit, data, "
                    ":director, created_at, updated_at FROM cases, generate_series(1, 1000) WHERE id = :case"
                ), {"case": waiting, "director": users["director"].id})
                await session.execute(text(
                    "INSERT INTO tasks (case_id, key, stage, visit, kind, role, status, outcome, created_at, "
                    "done_by, done_at) SELECT c.id, 'move_to_service', 'registered', 1, 'confirm', 'service_manager', "
                    "'done', 'done', now(), :director, now() FROM cases c WHERE c.initiator_id = :director"
                ), {"director": users["director"].id})
            async with core.db.begin() as connection:
                await connection.execute(text("ANALYZE tasks"))
                await connection.execute(text("ANALYZE cases"))

        async def mine(user: Any, role: str) -> tuple[list[int], int]:
            async with core.sessionmaker() as session, session.begin():
                before = await rows_read(session, "cases", "tasks") if postgresql else 0
                listed = [case.id for case, _spec in await Menu(core, session).my_cases(Viewer.of(user, {role}))]
                return listed, (await rows_read(session, "cases", "tasks") - before) if postgresql else 0

        moved_id, waiting_id = cases["moved on"].row.id, cases["waiting"].row.id
        by_shop, _ = await mine(shop, "shop_manager")
        by_service, service_read = await mine(service, "service_manager")
        by_warehouse, _ = await mine(warehouse, "warehouse_head")
        by_accountant, _ = await mine(users["accountant"], "accountant")
    finally:
        await core.close()
    assert sorted(by_shop) == sorted([moved_id, waiting_id])  # started both
    assert sorted(by_service) == sorted([moved_id, waiting_id])  # did a task in the first, given the second's
    assert by_warehouse == [moved_id]  # given the check
    assert by_accountant == [waiting_id]  # did a task there
    assert service_read < 50  # rows of cases and tasks read for the list: their own, not the company's


async def test_the_index_of_who_finished_a_task_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0022_tasks_done_by_index adds the index «my cases» reads who finished a task through, on done tasks only, on
    PostgreSQL and SQLite alike; its downgrade drops that index and no other, and the upgrade brings it back."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "tasks", "0021_follow_key_index", at="0022_tasks_done_by_index"
    )
    assert INDEX not in before
    assert before == {name: index for name, index in at_head.items() if name != INDEX}
    assert again == at_head
    assert at_head[INDEX]["column_names"] == ["done_by"]
    where = "postgresql_where" if empty_database_url.startswith("postgresql") else "sqlite_where"
    assert at_head[INDEX]["dialect_options"][where].strip("()") == "done_by IS NOT NULL"


async def test_a_busy_persons_cases_are_found_walking_the_newest_and_come_out_as_a_quiet_persons_do(
    tmp_path: Path, database_url: str
) -> None:
    """«My cases» of a person with a part in many cases walks the newest cases (`services.menu.Walk`); of a quiet
    one, reads the person's own set. Both give the same page: the person's own (and those of a process they are told
about), not cancelled, the latest changed
    first (the same moment: the newer case first) — however the walk's batches fall, and when it gives up for the
    set after a few cases. Checked against the rows as written, for every person and several page sizes."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    postgresql = database_url.startswith("postgresql")
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            loaded = await CaseService(core, session).start(users["initiator"], PROCESS)
        shop, director, service = users["initiator"], users["director"], users["service_manager"]
        accountant, warehouse = users["accountant"], users["warehouse_head"]
        base = loaded.row.updated_at
        async with core.sessionmaker() as session, session.begin():
            # A dealer's manager: their organisation's cases only, whoever else's they took part in.
            dealer_company = Company(name="ООО «Дилер»", data={}, kind="dealer", created_at=core.clock.now(),
                                     updated_at=core.clock.now())
            session.add(dealer_company)
            await session.flush()
            dealer = await people.register(session, tg_id=910_000, name="Дилер", username=None, language="ru",
                                           now=core.clock.now())
            dealer.organisation_id = dealer_company.id
        # Thirty claims more: every third started by the director, the rest by the shop, but those of every fourth
        # (the dealer's organisation's) and one of no organisation by the dealer; every other one given to the
        # service manager; the accountant finished a task in the first two written only, the dealer in two; every
        # fifth cancelled. Last changed in another order than written, some at the same moment (the id decides).
        written: dict[int, dict[str, Any]] = {loaded.row.id: {
            "initiator": shop.id, "status": loaded.row.status, "at": loaded.row.updated_at, "part": set(),
            "company": None}}
        async with core.sessionmaker() as session, session.begin():
            for n in range(30):
                at = base + timedelta(minutes=(n * 7) % 16)
                status = "cancelled" if n % 5 == 4 else "active"
                company = dealer_company.id if n % 4 == 1 else None
                initiator = dealer.id if n % 8 == 1 or n == 3 else director.id if n % 3 == 0 else shop.id
                case_id = (await session.execute(insert(Case).values(
                    definition_id=loaded.row.definition_id, process=PROCESS, title=f"claim {n}", stage="registered",
                    status=status, visit=1, data={}, initiator_id=initiator, created_at=at, updated_at=at,
                    company_id=company,
                ).returning(Case.id))).scalar_one()
                part = set()
                if n in (6, 13):  # no organisation's, and the dealer's organisation's
                    part.add(dealer.id)
                    await session.execute(insert(Task).values(
                        case_id=case_id, key="confirm_defect", stage="registered", visit=1, kind="confirm",
                        role="dealer", status="open", created_at=at, assignee_id=dealer.id))
                if n % 2 == 0:
                    part.add(service.id)
                    await session.execute(insert(Task).values(
                        case_id=case_id, key="move_to_service", stage="registered", visit=1, kind="confirm",
                        role="service_manager", status="open", created_at=at, assignee_id=service.id))
                if n < 2:
                    part.add(accountant.id)
                    await session.execute(insert(Task).values(
                        case_id=case_id, key="check_payment", stage="registered", visit=1, kind="confirm",
                        role="accountant", status="done", outcome="done", created_at=at, done_by=accountant.id,
                        done_at=at))
                written[case_id] = {"initiator": initiator, "status": status, "at": at, "part": part,
                                    "company": company}

        # The director is told of every registered claim (the definition's notice at «registered»): all of them are
        # his to follow, whoever started them (`access.told_processes`).
        told = {director.id}

        def expected(user_id: int, page: int) -> list[int]:
            scope = dealer_company.id if user_id == dealer.id else "any"
            own = [i for i, c in written.items()
                   if c["status"] != "cancelled"
                   and (c["initiator"] == user_id or user_id in c["part"] or user_id in told)
                   and scope in ("any", c["company"])]
            return sorted(own, key=lambda i: (written[i]["at"], i), reverse=True)[:page]

        # A walk a case at a time first crosses from a batch to the next at cases of their own for some people,
        # and between two cases changed at the same moment.
        ways = {"the set": Walk(from_rows=10**9), "the walk": Walk(from_rows=0),
                "a walk from one case": Walk(from_rows=0, batch=1), "a walk given up": Walk(from_rows=0, depth=3)}
        seen: dict[tuple[str, str, int], list[int]] = {}
        for who, user, role in ((("shop", shop, "shop_manager"), ("director", director, "director"),
                                 ("service", service, "service_manager"), ("accountant", accountant, "accountant"),
                                 ("warehouse", warehouse, "warehouse_head"), ("dealer", dealer, "dealer"))):
            for way, walk in ways.items():
                for page in (1, 2, 3, 10):
                    async with core.sessionmaker() as session:
                        listed = await Menu(core, session).my_cases(Viewer.of(user, {role}), page, walk)
                    seen[(who, way, page)] = [case.id for case, _spec in listed]
                    assert seen[(who, way, page)] == expected(user.id, page), (who, way, page)
        assert seen[("warehouse", "the walk", 10)] == []  # no part in any
        assert len(seen[("accountant", "the walk", 10)]) == 2  # two in all: the walk went to the end
        # The dealer's organisation's 1, 17 and 25 they started (9 was cancelled) and 13 given to them; not 3 they
        # started nor 6 given to them, of no organisation.
        assert len(seen[("dealer", "the walk", 10)]) == 4

        if postgresql:
            # The service manager given a task in 5,000 claims more, changed before all of the above: their list
            # (ten of the newest above) is found by the walk. It reads the rows of its bounded count of the person's
            # own (`Walk.from_rows`) and a few dozen cases; the set's read, all 5,000 of both.
            async with core.sessionmaker() as session, session.begin():
                await session.execute(text(
                    "INSERT INTO cases (definition_id, process, title, stage, status, visit, data, initiator_id, "
                    "created_at, updated_at) SELECT definition_id, process, title, stage, 'active', visit, data, "
                    ":director, created_at - interval '1 day', updated_at - interval '1 day' "
                    "FROM cases, generate_series(1, 5000) WHERE id = :case"
                ), {"case": loaded.row.id, "director": director.id})
                await session.execute(text(
                    "INSERT INTO tasks (case_id, key, stage, visit, kind, role, status, created_at, assignee_id) "
                    "SELECT c.id, 'move_to_service', 'registered', 1, 'confirm', 'service_manager', 'open', now(), "
                    ":service FROM cases c WHERE c.updated_at < :base"
                ), {"service": service.id, "base": base})
            async with core.db.begin() as connection:
                await connection.execute(text("ANALYZE tasks"))
                await connection.execute(text("ANALYZE cases"))
            reads = {}
            for way, walk in (("the walk", WALK), ("the set", Walk(from_rows=10**9))):
                async with core.sessionmaker() as session, session.begin():
                    before = await rows_read(session, "cases", "tasks")
                    listed = await Menu(core, session).my_cases(Viewer.of(service, {"service_manager"}), walk=walk)
                    reads[way] = await rows_read(session, "cases", "tasks") - before
                assert [case.id for case, _spec in listed] == expected(service.id, 10), way
            assert reads["the walk"] < WALK.from_rows + 100
            assert reads["the set"] > 10_000
    finally:
        await core.close()


async def test_the_cases_of_every_process_a_director_is_told_of_are_read_in_one_statement(
    tmp_path: Path, database_url: str
) -> None:
    """A director is told of the cases of several processes as they go, or gets a digest of them (his roles'):
    «my cases» reads their newest in one statement — each process's range of its index, joined — where it made a
    read per process; the page is the same, the latest changed first across the processes (the newer case first
    at the same moment), done ones apart, a draft or a cancelled one in neither."""
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
            director = users["director"]
            # The owner's director: every role of every process is his, and his morning digest is on, so every
            # process's cases are his to follow.
            specs = core.registry.current_specs()
            viewer = Viewer.of(director, {role for spec in specs for role in spec.roles})
            session.add(Setting(key=digest_key(director.id), value={"on": True, "at": "09:00", "last": None}))
            told = sorted(access.told_processes(viewer, specs, digest=True))
            assert len(told) == len(specs) > 3, told
            definitions = dict((await session.execute(select(Definition.process, Definition.id))).all())
            base = core.clock.now()
            written: dict[int, tuple[str, Any]] = {}
            for n in range(40):
                process, status = told[n % len(told)], ("active", "done", "draft", "cancelled", "active")[n % 5]
                at = base + timedelta(minutes=(n * 7) % 23)  # not in the order written; some at the same moment
                case_id = (await session.execute(insert(Case).values(
                    definition_id=definitions[process], process=process, title=f"case {n}", stage="s", status=status,
                    visit=1, data={}, initiator_id=users["initiator"].id, created_at=at, updated_at=at,
                ).returning(Case.id))).scalar_one()
                written[case_id] = (status, at)

        def expected(status: str, page: int) -> list[int]:
            listed = [i for i, (s, _at) in written.items() if s == status]
            return sorted(listed, key=lambda i: (written[i][1], i), reverse=True)[:page]

        for closed, status in ((False, "active"), (True, "done")):
            for page in (1, 3, 10):
                event.listen(core.db.sync_engine, "before_cursor_execute", seen)
                try:
                    async with core.sessionmaker() as session:
                        listed = await Menu(core, session).my_cases(viewer, page, closed=closed)
                finally:
                    event.remove(core.db.sync_engine, "before_cursor_execute", seen)
                assert [case.id for case, _spec in listed] == expected(status, page), (status, page)
                # His own (none) read once, the told processes' once: not one statement per process.
                reads = [s for s in statements if re.search(r"\bFROM cases\b", s)]
                assert len(reads) == 2, reads
                statements.clear()
    finally:
        await core.close()


async def test_the_index_of_the_newest_cases_comes_with_its_revision_and_goes_with_it(
    empty_database_url: str,
) -> None:
    """0027_cases_updated_at_index adds the index the panel's case list and a busy person's «my cases» read the
    newest cases through, (updated_at, id), on PostgreSQL and SQLite alike; its downgrade drops that index and no
    other, and the upgrade brings it back."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "cases", "0026_outbox_chat_waiting_index", at="0027_cases_updated_at_index"
    )
    assert "ix_cases_updated_at" not in before
    assert before == {name: index for name, index in at_head.items() if name != "ix_cases_updated_at"}
    assert again == at_head
    assert at_head["ix_cases_updated_at"]["column_names"] == ["updated_at", "id"]


async def test_the_index_of_the_newest_cases_gives_way_to_the_search_index_that_begins_with_its_columns(
    empty_database_url: str,
) -> None:
    """0042_cases_updated_at_dropped drops `ix_cases_updated_at` (updated_at, id): `ix_cases_search_stale`
    (updated_at, id, version) reads the newest cases as it did, and a case's write takes one entry fewer; its
    downgrade brings it back and touches no other index."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "cases", "0041_case_search", at="0042_cases_updated_at_dropped"
    )
    assert "ix_cases_updated_at" not in at_head
    assert at_head["ix_cases_search_stale"]["column_names"][:2] == ["updated_at", "id"]
    assert before["ix_cases_updated_at"]["column_names"] == ["updated_at", "id"]
    assert {name: index for name, index in before.items() if name != "ix_cases_updated_at"} == at_head
    assert again == at_head
