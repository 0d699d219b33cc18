"""4. Scale: PostgreSQL with 100,000 open cases and 1,000,000 tasks, generated in a scratch database by a
few INSERT ... SELECT generate_series statements into the real tables made by the real migrations.

Measured: «my tasks» for a busy person (the real handler, and its query alone), «my cases» (the menu's query and
the cases' definitions) of a shop manager, of that busy person and of a director told of every process, claiming
due timers (the scheduler's real `due_timer_ids`, and `fire_timer` for one timer end to end), a task done (a service
manager moving a registered claim on: the real step, its reminder and deadline cancelled among every open case's), a
director's digest (open overdue tasks per process and stage), and the bot process's peak RSS while it serves
that database.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiogram.types import Chat, Message
from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.container import build_core
from app.settings import Settings
from bench.chat import Action, SimPerson
from bench.procs import BotProcess
from bench.report import latency_summary
from bench.scenario import START_FORM
from db.models import Setting, Task, User
from flows.runtime import START_TASK
from flows.status import TaskStatus
from sandbox.server import SandboxServer
from scheduler.timers import due_timer_ids, fire_timer
from services import people as people_repo
from services.core import Core
from services.queries import open_tasks_page
from services.waiting_moves import hand_stages, waiting_page

log = logging.getLogger(__name__)

FIRST_TG = 5_000_000
BUSY_TG = FIRST_TG + 1  # a service manager: the role that owns most of seed 1's tasks
SHOP_TG = FIRST_TG + 500  # a shop manager: about a hundred claims started, no task of their own
DIRECTOR_TG = FIRST_TG + 31  # the first director (after the service managers and the warehouse heads)
# (role, how many people) — a company of 1,000; everyone else is a shop manager
ROLE_SIZES = (("service_manager", 20), ("warehouse_head", 10), ("director", 3), ("shop_admin", 10),
              ("accountant", 5))
# Seed 1's stages with human work: (stage, task, kind, role)
OPEN_STEPS = (
    ("registered", "move_to_service", "confirm", "service_manager"),
    ("inspection", "confirm_defect", "approve", "warehouse_head"),
    ("notify_supplier", "supplier_notified", "confirm", "service_manager"),
    ("supplier_answer", "ship_to", "choice", "service_manager"),
    ("documents", "prepare_documents", "confirm", "service_manager"),
    ("shipping", "pack_and_ship", "confirm", "service_manager"),
    ("in_transit", "inform_supplier", "confirm", "service_manager"),
    ("in_transit", "verdict", "choice", "service_manager"),
    ("repair_control", "goods_back", "confirm", "service_manager"),
    ("fix_check", "defect_fixed", "approve", "service_manager"),
    ("back_in_shop", "moved_in_1c", "confirm", "service_manager"),
)

DIGEST = text("""
    SELECT c.process, t.stage, count(*) AS overdue, min(t.due_at) AS oldest,
           count(*) FILTER (WHERE t.assignee_id IS NULL) AS unclaimed
    FROM tasks t JOIN cases c ON c.id = t.case_id
    WHERE t.status = 'open' AND t.due_at < :now
    GROUP BY c.process, t.stage
    ORDER BY overdue DESC
""")


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generation_sql(cases: int, tasks_per_case: int) -> list[str]:
    """The statements that fill a migrated, empty database (users, roles, cases, tasks, timers)."""
    stages = _array([s[0] for s in OPEN_STEPS])
    keys = _array([s[1] for s in OPEN_STEPS])
    kinds = _array([s[2] for s in OPEN_STEPS])
    roles = _array([s[3] for s in OPEN_STEPS])
    n = len(OPEN_STEPS)
    role_case = "CASE"
    upto = 0
    for role, size in ROLE_SIZES:
        upto += size
        role_case += f" WHEN g <= {upto} THEN '{role}'"
    role_case += " ELSE 'shop_manager' END"
    data = json.dumps(START_FORM, ensure_ascii=False).replace("'", "''")
    members = _MEMBERS
    return [
        f"""INSERT INTO users (tg_id, name, username, language, is_admin, active, created_at)
            SELECT {FIRST_TG} + g, 'Сотрудник ' || g, NULL, 'ru', false, true, now()
            FROM generate_series(1, 1000) g""",
        f"""INSERT INTO user_roles (user_id, role)
            SELECT u.id, {role_case} FROM users u, LATERAL (SELECT u.tg_id - {FIRST_TG} AS g) x""",
        f"""INSERT INTO cases (definition_id, process, title, stage, status, result, visit, data, initiator_id,
                               responsible_id, created_at, updated_at)
            SELECT d.id, 'defect_return', 'Longines, 1 шт. — ООО «Альфа Тайм» №' || g,
                   ({stages})[1 + g % {n}], 'active', NULL, 1 + g % {n}, '{data}'::jsonb,
                   sm.ids[1 + g % sm.n], sm.ids[1 + g % sm.n],
                   now() - make_interval(hours => g % 2000), now() - make_interval(mins => g % 600)
            FROM generate_series(1, {cases}) g,
                 (SELECT id FROM definitions WHERE process = 'defect_return' ORDER BY version DESC LIMIT 1) d,
                 {members} sm
            WHERE sm.role = 'shop_manager'""",
        # the work already done in each case (status done), then its one open task
        f"""INSERT INTO tasks (case_id, key, stage, visit, kind, role, assignee_id, status, outcome, due_at,
                               created_at, claimed_at, done_at, done_by)
            SELECT c.id, ({keys})[1 + j % {n}], ({stages})[1 + j % {n}], 1, ({kinds})[1 + j % {n}],
                   ({roles})[1 + j % {n}], m.ids[1 + (c.id + j) % m.n], 'done', 'done',
                   c.created_at + make_interval(days => j + 1), c.created_at + make_interval(hours => j),
                   c.created_at + make_interval(hours => j), c.created_at + make_interval(hours => j + 1),
                   m.ids[1 + (c.id + j) % m.n]
            FROM cases c CROSS JOIN generate_series(0, {tasks_per_case - 2}) j
            JOIN {members} m ON m.role = ({roles})[1 + j % {n}]""",
        f"""INSERT INTO tasks (case_id, key, stage, visit, kind, role, assignee_id, status, outcome, due_at,
                               created_at, claimed_at, done_at, done_by)
            SELECT c.id, ({keys})[p], c.stage, c.visit, ({kinds})[p], ({roles})[p],
                   CASE WHEN c.id % 2 = 1 THEN m.ids[1 + (c.id / 20) % m.n] END, 'open', NULL,
                   now() + make_interval(mins => (c.id * 37) % 14400 - 1440), c.updated_at,
                   CASE WHEN c.id % 2 = 1 THEN c.updated_at END, NULL, NULL
            FROM cases c, LATERAL (SELECT array_position({stages}, c.stage::text) AS p) x
            JOIN {members} m ON m.role = ({roles})[x.p]""",
        # a reminder and a deadline per open task (about a tenth of them due now), and the fired history
        """INSERT INTO timers (case_id, task_id, kind, due_at, status, payload, fired_at)
           SELECT t.case_id, t.id, k.kind,
                  CASE WHEN k.kind = 'overdue' THEN t.due_at ELSE t.due_at - interval '2 hours' END,
                  'pending', '{}'::jsonb, NULL
           FROM tasks t CROSS JOIN (VALUES ('overdue'), ('remind')) k(kind)
           WHERE t.status = 'open'""",
        """INSERT INTO timers (case_id, task_id, kind, due_at, status, payload, fired_at)
           SELECT t.case_id, t.id, 'remind', t.due_at - interval '2 hours', 'fired', '{}'::jsonb,
                  t.due_at - interval '2 hours'
           FROM tasks t WHERE t.status = 'done'""",
        "ANALYZE",
    ]


_MEMBERS = ("(SELECT r.role, array_agg(r.user_id ORDER BY r.user_id) AS ids, count(*)::int AS n "
            "FROM user_roles r GROUP BY r.role)")


def waiting_quotes_sql(count: int) -> str:
    """Seed 3's quote requests at «Новая заявка на просчёт», every hundredth led by the measured shop manager (50 at
    100,000 cases: more than a page), the others by the shop managers in turn: no task, only their responsible's moves
    — what «my tasks» lists as waiting for a person's hand (services/waiting_moves.py). Added after the other figures
    are measured, so those stay comparable with earlier runs."""
    lead = f"CASE WHEN g % 100 = 0 THEN (SELECT id FROM users WHERE tg_id = {SHOP_TG}) ELSE sm.ids[1 + g % sm.n] END"
    return f"""INSERT INTO cases (definition_id, process, title, stage, status, result, visit, data, initiator_id,
                                  responsible_id, created_at, updated_at)
               SELECT d.id, 'fulfillment_quote', 'ООО Клиент ' || g || ': игрушки', 'new', 'active', NULL, 1,
                      '{{}}'::jsonb, {lead}, {lead}, now(), now() - make_interval(mins => g)
               FROM generate_series(1, {count}) g,
                    (SELECT id FROM definitions WHERE process = 'fulfillment_quote' ORDER BY version DESC LIMIT 1) d,
                    {_MEMBERS} sm
               WHERE sm.role = 'shop_manager'"""


@dataclass
class ScaleResult:
    cases: int
    tasks: int
    timers: int
    generate_seconds: float
    busy_person_open_tasks: int
    due_timers: int
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    bot_peak_rss: int = 0
    bot_my_tasks: dict[str, float] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "tasks": self.tasks, "timers": self.timers,
                "generate_seconds": round(self.generate_seconds, 1),
                "busy_person_open_tasks": self.busy_person_open_tasks, "due_timers": self.due_timers,
                "timings": self.timings, "bot_peak_rss_mb": round(self.bot_peak_rss / 2**20, 1),
                "bot_my_tasks_over_http": self.bot_my_tasks, "plans": self.plans}


async def _sample(samples: int, func: Callable[[], Awaitable[Any]]) -> list[float]:
    await func()  # warm the caches and prepared statements
    out = []
    for _ in range(samples):
        began = time.perf_counter()
        await func()
        out.append(time.perf_counter() - began)
    return out


def _my_tasks_query(user: User, roles: set[str]) -> Any:
    """The query behind «my tasks» (services/menu.py; the same function; the handler itself is measured too)."""
    return open_tasks_page(user.id, roles, 11)


def _my_open_tasks(user: User, roles: set[str]) -> Any:
    """All the open tasks «my tasks» pages through (to report how many there are)."""
    conditions = [Task.assignee_id == user.id]
    if roles:
        conditions.append((Task.assignee_id.is_(None)) & (Task.role.in_(roles)))
    return select(Task.id).where(Task.status == TaskStatus.OPEN, Task.key != START_TASK, or_(*conditions))


async def _explain(session: AsyncSession, statement: Any, params: dict[str, Any] | None = None) -> str:
    if not isinstance(statement, str):
        compiled = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
        statement = str(compiled)
    rows = (await session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + statement), params or {})).all()
    return "\n".join(r[0] for r in rows)


async def measure(core: Core, samples: int, fire_samples: int, quotes: int = 0) -> tuple[
        dict[str, dict[str, float]], dict[str, str], int, int]:
    from handlers.menu import my_tasks
    from services.access import Viewer
    from services.menu import Menu
    from tgbot.render import renderer_for
    from tgbot.replies import Replies

    async with core.sessionmaker() as session:
        busy = await people_repo.user_by_tg(session, BUSY_TG)
        assert busy is not None
        roles = await people_repo.roles_of(session, busy.id)
        open_count = len((await session.execute(_my_open_tasks(busy, roles))).all())
    viewer, renderer = Viewer.of(busy, roles), renderer_for(core)
    chat = Chat(id=BUSY_TG, type="private")
    message = Message(message_id=1, date=datetime.now(UTC), chat=chat)
    timings: dict[str, dict[str, float]] = {}
    plans: dict[str, str] = {}

    def pressing(chat_message: Message, who: Viewer) -> Callable[[], Awaitable[None]]:
        """One press of «my tasks» by `who` through the real handler, rolled back: sampled over the same rows."""

        async def press() -> None:
            async with core.sessionmaker() as session:
                async with session.begin():
                    replies = Replies(session, core.clock, renderer)
                    await my_tasks(chat_message, replies, who, Menu(core, session))
                    await session.flush()
                    await session.rollback()

        return press

    handler = pressing(message, viewer)

    async with core.sessionmaker() as session:
        shop = await people_repo.user_by_tg(session, SHOP_TG)
        assert shop is not None
        shop_viewer = Viewer.of(shop, await people_repo.roles_of(session, shop.id))
    director_viewer = await _told_of_everything(core)
    busy_viewer = Viewer.of(busy, roles)

    async def cases_of_a_shop() -> None:
        async with core.sessionmaker() as session:
            await Menu(core, session).my_cases(shop_viewer)

    async def cases_of_the_busy() -> None:
        async with core.sessionmaker() as session:
            await Menu(core, session).my_cases(busy_viewer)

    async def cases_of_a_director() -> None:
        async with core.sessionmaker() as session:
            await Menu(core, session).my_cases(director_viewer)

    async def query() -> None:
        async with core.sessionmaker() as session:
            (await session.execute(_my_tasks_query(busy, roles))).scalars().all()

    async def due() -> None:
        await due_timer_ids(core, core.clock.now())

    async def digest() -> None:
        async with core.sessionmaker() as session:
            (await session.execute(DIGEST, {"now": core.clock.now()})).all()

    timings["my_tasks_handler"] = latency_summary(await _sample(samples, handler))
    timings["my_tasks_query"] = latency_summary(await _sample(samples, query))
    timings["my_cases"] = latency_summary(await _sample(samples, cases_of_a_shop))
    # the busy service manager has taken part in some 40,000 cases: their newest ten are sorted out of all of them
    timings["my_cases_busy"] = latency_summary(await _sample(max(5, samples // 10), cases_of_the_busy))
    # a director told of every process: each one's newest cases, a range of its index, read in one statement
    timings["my_cases_director"] = latency_summary(await _sample(samples, cases_of_a_director))
    timings["due_timer_ids"] = latency_summary(await _sample(samples, due))
    timings["digest"] = latency_summary(await _sample(max(5, samples // 4), digest))
    now = core.clock.now()
    due_ids = await due_timer_ids(core, now, limit=fire_samples + 1)
    fired: list[float] = []
    for timer_id in due_ids:
        began = time.perf_counter()
        await fire_timer(core, timer_id, now)
        fired.append(time.perf_counter() - began)
    timings["fire_timer"] = latency_summary(fired[1:])
    timings["task_done"] = latency_summary((await _tasks_done(core, fire_samples + 1))[1:])
    if quotes:
        # A shop manager who also leads quotes waiting for her move: her «my tasks» lists them under her (no) tasks.
        async with core.db.begin() as connection:
            await connection.execute(text(waiting_quotes_sql(quotes)))
            await connection.execute(text("ANALYZE cases"))
        shop_chat = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=SHOP_TG, type="private"))

        waiting_handler = pressing(shop_chat, shop_viewer)
        async with core.sessionmaker() as session:
            listed = len((await Menu(core, session).my_tasks(shop_viewer)).waiting)
        log.info("a shop manager's «my tasks» lists %s cases waiting for her move", listed)
        timings["my_tasks_waiting"] = latency_summary(await _sample(samples, waiting_handler))
    async with core.sessionmaker() as session:
        plans["my_tasks_query"] = await _explain(session, _my_tasks_query(busy, roles))
        plans["due_timer_ids"] = await _explain(
            session, "SELECT id FROM timers WHERE status = 'pending' AND due_at <= now() ORDER BY due_at, id LIMIT 200")
        plans["digest"] = await _explain(session, DIGEST.text.replace(":now", "now()"))
        if quotes:
            stages = hand_stages(core.registry.current_specs())
            plans["my_tasks_waiting"] = await _explain(session, waiting_page(shop_viewer, stages, 11))
        due_count = int((await session.execute(text(
            "SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= now()"))).scalar_one())
    return timings, plans, open_count, due_count


async def _told_of_everything(core: Core) -> Any:
    """A director who holds every role of every loaded process and gets the digest: «my cases» lists the cases of
    every process (`access.told_processes`), the 100,000 claims' among them."""
    from services.access import Viewer
    from services.digests import key_of

    async with core.sessionmaker() as session, session.begin():
        director = await people_repo.user_by_tg(session, DIRECTOR_TG)
        assert director is not None
        if await session.get(Setting, key_of(director.id)) is None:
            session.add(Setting(key=key_of(director.id), value={"on": True, "at": "09:00", "last": None}))
    return Viewer.of(director, {role for spec in core.registry.current_specs() for role in spec.roles})


async def _tasks_done(core: Core, count: int) -> list[float]:
    """Seconds per step: the service manager a registered claim is assigned to moves it to the service (one step,
    its own transaction, as the bot does it)."""
    from services.cases import CaseService

    async with core.sessionmaker() as session:
        rows = (await session.execute(
            select(Task.id, Task.assignee_id)
            .where(Task.key == OPEN_STEPS[0][1], Task.status == TaskStatus.OPEN, Task.assignee_id.is_not(None))
            .order_by(Task.id).limit(count)
        )).all()
        work = [(task_id, assignee_id) for task_id, assignee_id in rows if assignee_id is not None]
        actors = {user.id: user for user in (await session.execute(
            select(User).where(User.id.in_({assignee for _, assignee in work})))).scalars()}
    took: list[float] = []
    for task_id, assignee_id in work:
        began = time.perf_counter()
        async with core.sessionmaker() as session, session.begin():
            await CaseService(core, session).submit(actors[assignee_id], task_id, "done", {})
        took.append(time.perf_counter() - began)
    return took


async def bot_rss(database_url: str, workdir: Path, presses: int) -> tuple[int, dict[str, float]]:
    """The real bot, in its own process, serving «my tasks» to the busy person from the big database."""
    # Memory and latency of the bot itself; flood limits would only add Telegram's waits.
    sandbox = SandboxServer(callback_timeout=30.0, enforce_limits=False)
    base = await sandbox.start()
    try:
        async with aiohttp.ClientSession() as http:
            person = SimPerson(http, base, BUSY_TG, timeout=60.0)
            await person.create("Сотрудник 1")
            args = ("konveyer", "--api-base", base, "--database-url", database_url,
                    "--data-dir", str(workdir / "scale-data"))
            async with BotProcess(*args, log_path=workdir / "scale-bot.log") as proc:
                action = Action("text", "📋 Мои задачи", "Ваши открытые задачи")
                for _ in range(presses):
                    await person.act(action)
            return proc.peak_rss, latency_summary(person.latencies)
    finally:
        await sandbox.stop()


async def run_scale(database_url: str, workdir: Path, cases: int, tasks_per_case: int = 10, samples: int = 200,
                    fire_samples: int = 100, presses: int = 20) -> ScaleResult:
    """Fill the (scratch, PostgreSQL) database at `database_url` and measure."""
    settings = Settings(database_url=database_url, data_dir=workdir / "scale-data", bot_token=None)
    core = await build_core(settings)
    try:
        began = time.perf_counter()
        async with core.db.begin() as connection:
            for statement in generation_sql(cases, tasks_per_case):
                await connection.execute(text(statement))
        generated = time.perf_counter() - began
        async with core.db.connect() as connection:
            counts = {name: int((await connection.execute(text(f"SELECT count(*) FROM {name}"))).scalar_one())
                      for name in ("cases", "tasks", "timers")}
        log.info("generated %s in %.1f s", counts, generated)
        timings, plans, open_count, due_count = await measure(core, samples, fire_samples, quotes=cases // 20)
    finally:
        await core.close()
    rss, over_http = await bot_rss(database_url, workdir, presses)
    return ScaleResult(cases=counts["cases"], tasks=counts["tasks"], timers=counts["timers"],
                       generate_seconds=generated, busy_person_open_tasks=open_count, due_timers=due_count,
                       timings=timings, bot_peak_rss=rss, bot_my_tasks=over_http, plans=plans)
