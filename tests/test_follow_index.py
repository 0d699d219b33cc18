"""A case's followers (and the digest subscriptions) are read from `settings` by the prefix of their keys as a range
of an index, not a scan of the table (services/following.py, migration 0021_follow_key_index): the same people as
before, case 1's prefix taking nothing of case 10's, 11's or 100's, and the initiator's mute read with them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select

from app.container import build_core
from app.settings import Settings
from bench.scenario import PROCESS, staff
from db.models import Case, Setting
from services import digests, following
from services.cases import CaseService
from services.cases.store import CaseStore
from services.core import Core
from tests.revisions import indexes_down_and_up

CASES = (1, 10, 11, 100)  # `follow:1:` is a prefix of none of the others' keys, though "1" is of their ids
FOLLOWERS = {1: [5, 7], 10: [1], 11: [2], 100: [3, 4]}
MUTED_BY_INITIATOR = {1, 100}
INDEX = "ix_settings_key_pattern"


async def _followed_cases(core: Core) -> int:
    """Cases 1, 10, 11 and 100 (one started as the product does, the others copies of its row), their followers
    and mutes set as the card's buttons set them; the initiator's id."""
    now = core.clock.now()
    async with core.sessionmaker() as session, session.begin():
        users = await staff(session, now)
        started = await CaseService(core, session).start(users["initiator"], PROCESS)
    async with core.sessionmaker() as session, session.begin():
        row = dict((await session.execute(select(Case.__table__).where(Case.id == started.row.id))).one()._mapping)
        copies = [{**row, "id": case_id} for case_id in CASES if case_id != started.row.id]
        if copies:
            await session.execute(insert(Case.__table__), copies)
        initiator = row["initiator_id"]
        for case_id, people in FOLLOWERS.items():
            for person in people:
                await following.set_following(session, case_id, person, True, now)
        for case_id in MUTED_BY_INITIATOR:
            await following.set_muted(session, case_id, initiator, True, now)
        await following.set_muted(session, 10, 5, True, now)  # someone else's mute: not the initiator's
        await following.set_muted(session, 1, 7, True, now)
    return int(initiator)


async def test_each_case_reads_its_own_followers_and_its_initiators_mute(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        initiator = await _followed_cases(core)
        expected = {case_id: (FOLLOWERS[case_id], case_id in MUTED_BY_INITIATOR) for case_id in CASES}
        async with core.sessionmaker() as session, session.begin():
            read = {case_id: await following.audience(session, case_id, initiator) for case_id in CASES}
        assert read == expected
        for case_id in CASES:  # as a step reads them, with the case (each load its own step)
            async with core.sessionmaker() as session, session.begin():
                store = CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now())
                await store.load(case_id)
                assert store.audience(case_id) == expected[case_id], case_id
        async with core.sessionmaker() as session, session.begin():
            await following.set_following(session, 1, 5, False, core.clock.now())
            await following.set_muted(session, 100, initiator, False, core.clock.now())
            assert await following.audience(session, 1, initiator) == ([7], True)
            assert await following.audience(session, 10, initiator) == ([1], False)
            assert await following.audience(session, 100, initiator) == ([3, 4], False)
    finally:
        await core.close()


async def _plans(core: Core, reads: list[tuple[str, str, Any]]) -> dict[str, str]:
    """EXPLAIN of each statement as the driver received it, with its arguments (PostgreSQL: sequential scans
    off, so the plan is the index's whenever the index can serve the query at all)."""
    plans: dict[str, str] = {}
    async with core.db.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        for name, sql, args in reads:
            if core.sqlite:
                rows = await driver.execute_fetchall("EXPLAIN QUERY PLAN " + sql, tuple(args or ()))
                plans[name] = "\n".join(str(row[-1]) for row in rows)
            else:
                async with driver.transaction():
                    await driver.execute("SET LOCAL enable_seqscan = off")
                    rows = await driver.fetch("EXPLAIN " + sql, *(args or ()))
                plans[name] = "\n".join(row[0] for row in rows)
    return plans


async def test_followers_and_subscriptions_are_read_through_an_index(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(database_url=database_url, data_dir=tmp_path, bot_token=None))
    try:
        initiator = await _followed_cases(core)
        async with core.sessionmaker() as session, session.begin():  # many other cases' followers and subscriptions
            await session.execute(insert(Setting), [
                {"key": key, "value": {}}
                for n in range(1000, 6000)
                for key in (f"follow:{n}:{n % 7}", f"mute:{n}:{n % 5}", f"digest:{n}")
            ])
        async with core.db.connect() as connection:
            await connection.exec_driver_sql("ANALYZE")
            await connection.commit()
        seen: list[tuple[str, Any]] = []

        def note(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            if "FROM settings" in statement:
                seen.append((statement, parameters))

        event.listen(core.db.sync_engine, "before_cursor_execute", note)
        try:
            async with core.sessionmaker() as session, session.begin():
                await CaseStore(session, core.registry, sqlite=core.sqlite, now=core.clock.now()).load(1)
            async with core.sessionmaker() as session, session.begin():
                assert await following.audience(session, 1, initiator) == (FOLLOWERS[1], True)
            await digests.ensure_subscriptions(core)
        finally:
            event.remove(core.db.sync_engine, "before_cursor_execute", note)
        reads = []
        for name, test in (
            ("the case's load", lambda sql: "FROM cases" in sql),
            ("following.audience", lambda sql: "FROM cases" not in sql and "settings.value" not in sql),
            ("the digests' subscriptions", lambda sql: "settings.value" in sql),
        ):
            found = [(sql, args) for sql, args in seen if test(sql)]
            assert found, name
            reads.append((name, *found[0]))
        plans = await _plans(core, reads)
    finally:
        await core.close()
    for name, plan in plans.items():
        if core.sqlite:
            the_range = r"SEARCH settings USING (COVERING )?INDEX sqlite_autoindex_settings_1 \(key>\? AND key<\?\)"
            assert re.search(the_range, plan), f"{name}:\n{plan}"
            assert "SCAN settings" not in plan, f"{name}:\n{plan}"
        else:
            # Not the table, nor the whole index (what sequential scans turned off leave a LIKE it cannot serve):
            # every scan of the settings' indexes has its condition, the range's by the index's operators.
            lines = [line.strip() for line in plan.splitlines()]
            conditions = [lines[n + 1] for n, line in enumerate(lines) if re.search(r"Scan on (pk|ix)_settings", line)]
            assert conditions and all(c.startswith("Index Cond:") for c in conditions), f"{name}:\n{plan}"
            assert any("~>=~" in c and "~<~" in c for c in conditions), f"{name}:\n{plan}"
            assert f"Index Scan on {INDEX}" in plan and "Seq Scan on settings" not in plan, f"{name}:\n{plan}"


async def test_the_index_comes_with_its_revision_and_goes_with_it(empty_database_url: str) -> None:
    """PostgreSQL: 0021_follow_key_index adds the index in byte order, its downgrade drops it. SQLite: no index of
    its own (the key's is in byte order already), nothing to add or drop."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "settings", "0020_catalog_offer_fks", at="0021_follow_key_index"
    )
    if empty_database_url.startswith("sqlite"):
        assert at_head == before == again == {}
    else:
        assert INDEX not in before
        assert at_head == again
        assert at_head[INDEX]["column_names"] == ["key"]
        assert at_head[INDEX]["dialect_options"]["postgresql_ops"] == {"key": "varchar_pattern_ops"}
