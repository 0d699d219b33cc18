"""Fixtures: a real database (PostgreSQL when DATABASE_URL says so, else an SQLite file), the sandbox on a
free port, and the bot, its outbox sender and its scheduler running in-process against them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.application import App
from app.settings import LIBRARY, Settings
from db.engine import make_engine, make_sessionmaker, migrate
from db.models import InboxUpdate, Outbox, User
from flows.clock import FrozenClock
from sandbox.server import SandboxServer
from tests.chat import Person, create_person

ADMIN_ID = 1
# Monday 21 December 2026, 10:00 in Moscow.
START = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        await connection.exec_driver_sql("CREATE SCHEMA public")
    await engine.dispose()


async def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker wipes a database of its own (`test_gw0`, …) next to the one named, so
    parallel workers never drop each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            exists = await connection.exec_driver_sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
            if exists.first() is None:
                await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


# Each worker migrates one database to the newest revision once and copies it for every test (a file copy on
# SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL): running fourteen revisions per test cost ~2 s of each.
_TEMPLATES: dict[str, str] = {}


async def _migrated_template(kind: str, url: str) -> str:
    if kind not in _TEMPLATES:
        engine = make_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        _TEMPLATES[kind] = url
    return _TEMPLATES[kind]


async def _postgres_from_template(url: str) -> str | None:
    """The worker's database made afresh from its migrated template (None outside xdist: no database of our own
    to drop, the caller resets the schema instead)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    base = make_url(url)
    template = f"{base.database}_tpl"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            if "postgres" not in _TEMPLATES:
                await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                await connection.exec_driver_sql(f'CREATE DATABASE "{template}"')
        await _migrated_template("postgres", base.set(database=template).render_as_string(hide_password=False))
        # The worker's database is not the one `admin` is connected to (that is the one named in DATABASE_URL).
        worker = create_async_engine(make_url(os.environ["DATABASE_URL"]), isolation_level="AUTOCOMMIT")
        try:
            async with worker.connect() as connection:
                await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)')
                await connection.exec_driver_sql(f'CREATE DATABASE "{base.database}" TEMPLATE "{template}"')
        finally:
            await worker.dispose()
    finally:
        await admin.dispose()
    return url


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> str:
    """A database with no tables at all (for tests of the migrations themselves)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        url = await _worker_database(url)
        await _reset_postgres(url)
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'konveyer.sqlite3'}"


@pytest.fixture
async def database_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to the newest revision, empty of rows."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        url = await _worker_database(url)
        if await _postgres_from_template(url) is None:
            await _reset_postgres(url)
        return url
    template = tmp_path_factory.getbasetemp() / f"template-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite3"
    await _migrated_template("sqlite", f"sqlite+aiosqlite:///{template}")
    target = tmp_path / "konveyer.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's database, for tests of a service without the bot around it."""
    engine = make_engine(database_url)
    await migrate(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def sqlite_log_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A bare SQLite file with one table, `log (who TEXT)`, for the tests of SQLite's driver and writer turns."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log (who TEXT)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@dataclass
class Harness:
    sandbox: SandboxServer
    base: str
    settings: Settings
    clock: FrozenClock
    http: aiohttp.ClientSession
    app: App
    admin: Person
    people: dict[str, Person] = field(default_factory=dict)
    _next_id: int = 1000

    @property
    def core(self):  # type: ignore[no-untyped-def]
        assert self.app.core is not None
        return self.app.core

    async def start_app(self) -> None:
        self.app = App(self.settings, self.clock, scheduler_interval=3600)
        await self.app.start()

    async def restart(self) -> None:
        """Stop the bot as a crash or a deploy would, and start a fresh process on the same database."""
        await self.app.stop()
        await self.start_app()

    async def person(self, name: str, *roles: str, language: str = "ru") -> Person:
        """A new employee joins the way people do: the admin makes an invite, the person opens it."""
        self._next_id += 1
        person = await create_person(self.http, self.base, self._next_id, name, language, label=",".join(roles))
        await self.admin.send("/invite " + " ".join(roles))
        invite = await self.admin.expect("start=")
        code = re.search(r"start=(\S+)", invite["text"])
        assert code is not None
        await person.send(f"/start {code.group(1)}")
        await person.expect(name)
        self.people[name] = person
        return person

    async def blocks_the_bot(self, person: Person, name: str) -> None:
        """The person blocks the bot, and the bot has heard (Telegram tells it by an update of its own)."""
        async with self.http.post(f"{person.api}/block") as response:
            assert response.status == 200
        for _ in range(200):
            async with self.core.sessionmaker() as session:
                user = (await session.execute(select(User).where(User.name == name))).scalar_one()
            if user.unreachable_at is not None:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{name} was not marked unreachable")

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until every queued message has been delivered."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.core.sessionmaker() as session:
                pending = (
                    await session.execute(
                        select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))
                    )
                ).scalar_one()
                pending += (
                    await session.execute(
                        select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending")
                    )
                ).scalar_one()
            if not pending:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{pending} message(s) still in the outbox")
            await asyncio.sleep(0.02)

    async def tick(self) -> int:
        await self.settle()
        fired = await self.app.scheduler.run_once()  # type: ignore[union-attr]
        await self.settle()
        return fired

    async def advance(self, **delta: float) -> int:
        self.clock.advance(**delta)
        return await self.tick()

    async def move_to(self, moment: datetime) -> int:
        self.clock.set(moment)
        return await self.tick()


# The tests that take minutes, longest first (as measured on CI's two cores: --durations; re-measured 2026-12-02
# with two workers on SQLite: the bench smoke ~170 s, the staff's reclamation list ~125 s, the last four 45–60 s).
# The full SQLite run of 2026-12-02 16:07 (four workers, machine shared, load 10–14) added the ones that start
# processes or run CPU-bound loops, which load stretches most: the migration report (four `konveyer` processes)
# 664 s, the import's memory 211 s, the lazy-import check 123 s, the structural mutations 114 s (the run: 2286 s);
# before, they were handed out in file order, wherever that put them.
# Started first (and handed out one at a time, `--maxschedchunk 1` in pyproject.toml, so they spread over the
# workers), each runs while the workers share the many short ones; started last, one of them alone decides when
# the run ends.
LONG_TESTS = (
    "tests/test_drill.py::",
    "tests/test_migrate.py::test_cases_move_onto_the_new_version_after_a_report",
    "tests/test_bench.py::test_bench_smoke",
    "tests/test_commerceml_memory.py::test_the_imports_memory_does_not_grow_with_the_file",
    "tests/test_medical_order_e2e.py::test_a_lead_from_the_site_becomes_a_deal_that_follows_its_items_to_the_payment",
    "tests/test_defect_return_e2e.py::test_repair_not_fixed_repeats_then_fixed_goes_back_to_the_shop",
    "tests/test_weekly_orders_e2e.py::test_a_full_week",
    "tests/test_dealer_portal_e2e.py::test_the_staffs_reclamation_list_comes_ten_a_page_oldest_first",
    "tests/test_layers.py::test_the_bot_loads_sheet_document_and_picture_libraries_only_when_it_makes_one",
    "tests/test_properties.py::test_structural_mutations_of_the_library_give_only_clear_problems",
    "tests/test_forms_in_view_e2e.py::test_the_return_from_repair_is_asked_as_such_and_kept_beside_the_first_arrival",
    "tests/test_what_people_see_e2e.py::test_no_internal_word_reaches_anyone_on_the_repair_path",
    "tests/test_items_e2e.py::test_three_items_at_their_own_pace_and_the_order_following_the_slowest",
    "tests/test_fulfillment_e2e.py::test_new_client_from_first_request_to_paid_receiving",
    "tests/test_defect_return_e2e.py::test_return_by_offset_notifies_the_accountant",
    "tests/test_defect_return_e2e.py::test_the_supplier_gets_the_shipment_data_by_e_mail",
    "tests/test_digests_e2e.py::test_the_director_gets_the_morning_digest_on_working_days_and_not_on_holidays",
    "tests/test_dealer_portal_e2e.py::test_a_reclamation_with_a_part_from_the_catalogue_runs_to_the_end",
)


# How many workers `-n auto` (pyproject.toml) starts. The suite mostly waits — Telegram's flood limits in the sandbox
# pace each chat at about a message a second — so workers overlap well past the two cores: the SQLite run of
# 2026-12-06 took 22m46s with six workers and 14m26s with twelve, for about the same CPU (1,260 and 1,120 s; a
# machine shared with other tests either way). On PostgreSQL each worker holds its own connections: twelve
# peaked at 77 of the server's 100 (`pg_stat_activity`, sampled each second), so ten there.
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return 10 if os.environ.get("DATABASE_URL", "").startswith("postgresql") else 12


def _long_rank(item: pytest.Item) -> int:
    return next((rank for rank, prefix in enumerate(LONG_TESTS) if item.nodeid.startswith(prefix)), len(LONG_TESTS))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_long_rank)  # stable: everything else keeps its order


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "without_flood_limits: the test's sandbox does not enforce Telegram's flood limits"
    )
    config.addinivalue_line("markers", "sandbox(**kwargs): keyword arguments for the test's SandboxServer")


@pytest.fixture
async def harness_factory(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Builds the sandbox, the bot and the admin; keyword arguments change the bot's settings."""
    made: list[Harness] = []
    async with aiohttp.ClientSession() as http:

        async def make(**overrides: Any) -> Harness:
            # Telegram's flood limits and token check are on, as in production. SANDBOX_FLOOD_LIMITS=off turns
            # the limits off for a quick local run (the token is checked either way).
            sandbox = SandboxServer(enforce_limits=os.environ.get("SANDBOX_FLOOD_LIMITS", "on") != "off")
            base = await sandbox.start()
            values: dict[str, Any] = {
                "api_base": base,
                "data_dir": tmp_path / "data",
                "database_url": database_url,
                "admin_ids": [ADMIN_ID],
                # The bot paces itself as in production (about one message a second per chat after a short
                # burst), so the sandbox, which enforces Telegram's limits, rarely has to answer 429.
                "outbox_per_chat_rate": 1.0,
                # The burst the sandbox enforces (SandboxServer's per_chat_burst=3). Production keeps 2 (Telegram's
                # burst is not published; one less is its margin); here the limit is known, and the bot's bucket,
                # counted from each answer on the same clock, cannot get ahead of the sandbox's.
                "outbox_per_chat_burst": 3,
                "outbox_global_rate": 30.0,
                "outbox_poll_interval": 0.05,
                "bot_token": None,
            }
            settings = Settings(**{**values, **overrides})
            admin = await create_person(http, base, ADMIN_ID, "Админ", label="admin")
            app = App(settings, clock, scheduler_interval=3600)
            await app.start()
            harness = Harness(
                sandbox=sandbox, base=base, settings=settings, clock=clock, http=http, app=app, admin=admin
            )
            made.append(harness)
            await admin.send("/start")
            await admin.expect("Админ")
            return harness

        try:
            yield make
        finally:
            for harness in made:
                await harness.app.stop()
                await harness.sandbox.stop()


@pytest.fixture
async def harness(harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    return await harness_factory()


def library_with(tmp_path: Path, *names: str) -> Path:
    """The shipped library plus test definitions from tests/data, in a folder of the test's own."""
    library = tmp_path / "library"
    shutil.copytree(LIBRARY, library)
    for name in names:
        shutil.copy(Path(__file__).parent / "data" / name, library / name)
    return library
