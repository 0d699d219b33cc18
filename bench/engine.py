"""1. The engine: seed 1's happy path, case after case, the state saved after every human step.

Konveyer: the real `CaseService` on a real database, one transaction per human step (a pool task is
claimed and done in the same transaction: the person's step is «do this task»), everything the product
writes included — tasks, timers, audit entries, outbox rows for the notifications, the rendered .docx.

Reference: SpiffWorkflow 3 running `bench/defect_return.bpmn` (the same user tasks, gateways and data),
`BpmnWorkflowSerializer.serialize_json` after every step, the JSON written in its own transaction into a
table of the same database (one row per case, UPDATE per step; a TEXT column, so PostgreSQL does not even
parse it). That is the least a Spiff-based product does to survive a restart. The workflow object stays in
memory between steps (no deserialisation), which favours the reference: Konveyer reloads the case from
the database at every step, as a stateless bot worker must.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, event, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.container import build_core
from app.settings import Settings
from bench.scenario import HAPPY_PATH, PROCESS, START, staff
from bench.servercpu import ServerCpu, open_server_cpu
from db.engine import make_engine
from db.models import User
from flows.status import CaseStatus
from services.cases import CaseService, Loaded
from services.core import Core

log = logging.getLogger(__name__)

BPMN = Path(__file__).resolve().parent / "defect_return.bpmn"
SPIFF_NAMES = {START: "register"}

spiff_meta = MetaData()
spiff_state = Table(
    "bench_spiff_workflows", spiff_meta,
    Column("id", Integer, primary_key=True),
    Column("state", Text, nullable=False),
    Column("steps", Integer, nullable=False),
)


_TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class StatementCounter:
    """Counts the statements an engine sends to the database (SQLAlchemy `before_cursor_execute`)."""

    def __init__(self, db: AsyncEngine) -> None:
        self.count = 0
        self.by_verb: dict[str, int] = {}
        self._target = db.sync_engine
        event.listen(self._target, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        if verb in _TRANSACTION_CONTROL:
            # asyncpg sends PostgreSQL's BEGIN and COMMIT outside the cursor (never seen here), SQLite's BEGIN
            # IMMEDIATE passes through it: counted on one side only, they are counted on neither.
            return
        self.count += 1
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

    def close(self) -> None:
        event.remove(self._target, "before_cursor_execute", self._seen)


@dataclass
class CaseSample:
    wall: float  # seconds, perf_counter
    cpu: float  # seconds of this process's CPU (process_time: the event loop, the ORM, the driver)
    statements: int
    server: float | None = None  # seconds of the database server's backends (bench.servercpu), where readable


@dataclass
class EngineResult:
    database: str
    steps_per_case: int
    samples: list[CaseSample] = field(default_factory=list)
    by_verb: dict[str, int] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return len(self.samples)

    @property
    def seconds(self) -> float:
        return sum(s.wall for s in self.samples)

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_step(self) -> float:
        steps = self.cases * self.steps_per_case
        return sum(s.cpu for s in self.samples) * 1000 / steps if steps else math.nan

    @property
    def server_cpu_ms_per_step(self) -> float | None:
        """The database server's CPU per step (PostgreSQL on this machine); None where it cannot be read."""
        steps = self.cases * self.steps_per_case
        if not steps or any(s.server is None for s in self.samples):
            return None
        return sum(s.server or 0.0 for s in self.samples) * 1000 / steps

    @property
    def statements_per_step(self) -> float:
        steps = self.cases * self.steps_per_case
        return sum(s.statements for s in self.samples) / steps if steps else math.nan

    def as_dict(self) -> dict[str, Any]:
        steps = max(1, self.cases * self.steps_per_case)
        return {"database": self.database, "cases": self.cases, "seconds": round(self.seconds, 4),
                "steps_per_case": self.steps_per_case, "cases_per_second": round(self.cases_per_second, 3),
                "ms_per_step": round(self.seconds * 1000 / steps, 3),
                "cpu_ms_per_step": round(self.cpu_ms_per_step, 3),
                "server_cpu_ms_per_step": (None if self.server_cpu_ms_per_step is None
                                           else round(self.server_cpu_ms_per_step, 3)),
                "statements_per_step": round(self.statements_per_step, 2),
                "statements_by_verb_per_case": {k: round(v / max(1, self.cases), 1)
                                                for k, v in sorted(self.by_verb.items()) if v}}


@dataclass
class Interleaved:
    """Both engines case by case, A B B A A B …: the machine's noise lands on both sides of every pair."""

    konveyer: EngineResult
    spiff: EngineResult

    @property
    def pair_ratios(self) -> list[float]:
        """Konveyer's speed over Spiff's for each pair (Spiff's seconds per case ÷ Konveyer's)."""
        return [s.wall / k.wall for k, s in zip(self.konveyer.samples, self.spiff.samples, strict=True)
                if k.wall > 0]

    @property
    def ratio(self) -> float:
        ratios = self.pair_ratios
        return statistics.median(ratios) if ratios else math.nan

    @property
    def cpu_ratio(self) -> float:
        """The same by CPU time, which a busy neighbour disturbs less than wall time."""
        ratios = [s.cpu / k.cpu for k, s in zip(self.konveyer.samples, self.spiff.samples, strict=True) if k.cpu > 0]
        return statistics.median(ratios) if ratios else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {"konveyer": self.konveyer.as_dict(), "spiff": self.spiff.as_dict(),
                "median_pair_ratio": round(self.ratio, 3), "median_pair_cpu_ratio": round(self.cpu_ratio, 3),
                "pair_ratios": [round(r, 3) for r in self.pair_ratios]}


async def _sample(counter: StatementCounter, run: Callable[[], Awaitable[Any]],
                  server: ServerCpu | None = None) -> CaseSample:
    # The server's backends are read outside the timed part: the reads' own CPU stays out of the client's figure.
    # The two engines run one case at a time, so the database's work in a case's window is that engine's.
    server_before = await server.read() if server is not None else None
    before = counter.count
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    sample = CaseSample(time.perf_counter() - wall, time.process_time() - cpu, counter.count - before)
    if server is not None and server_before is not None:
        sample.server = await server.since(server_before)
    return sample


# --- Konveyer ---------------------------------------------------------------------------------------------

async def konveyer_case(core: Core, users: dict[str, User]) -> Loaded:
    """One case through the happy path; each human step is one transaction."""
    initiator = users["initiator"]
    async with core.sessionmaker() as session, session.begin():
        loaded = await CaseService(core, session).start(initiator, PROCESS)
    for step in HAPPY_PATH:
        actor = users[step.actor]
        task = next(t for t in loaded.state.open_tasks() if t.key == step.task)
        assert task.id is not None
        async with core.sessionmaker() as session, session.begin():
            service = CaseService(core, session)
            if task.assignee_id is None:
                await service.claim(actor, task.id)
            loaded = await service.submit(actor, task.id, step.outcome, dict(step.values))
    if loaded.state.status != CaseStatus.DONE or loaded.state.stage != "done":
        raise RuntimeError(f"the case ended at {loaded.state.stage} ({loaded.state.status})")
    return loaded


# --- SpiffWorkflow ----------------------------------------------------------------------------------------

class SpiffRunner:
    def __init__(self) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS)
        self.serializer = BpmnWorkflowSerializer()

    def new(self) -> Any:
        from SpiffWorkflow.bpmn import BpmnWorkflow

        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        return workflow

    def step(self, workflow: Any, task_name: str, outcome: str, values: dict[str, Any]) -> None:
        from SpiffWorkflow.util.task import TaskState

        name = SPIFF_NAMES.get(task_name, task_name)
        ready = workflow.get_tasks(state=TaskState.READY, manual=True, spec_name=name)
        if not ready:
            raise RuntimeError(f"SpiffWorkflow has no ready task {name}")
        task = ready[0]
        task.data.update(values)
        if task_name != START:
            task.data[task_name] = outcome
        workflow.run_task_from_id(task.id)
        workflow.do_engine_steps()

    def dump(self, workflow: Any) -> str:
        return str(self.serializer.serialize_json(workflow))


async def spiff_case(runner: SpiffRunner, db: AsyncEngine) -> Any:
    workflow = runner.new()
    state = runner.dump(workflow)
    async with db.begin() as connection:
        row_id = (await connection.execute(insert(spiff_state).values(state=state, steps=0)
                                           .returning(spiff_state.c.id))).scalar_one()
    for number, step in enumerate(HAPPY_PATH, start=1):
        runner.step(workflow, step.task, step.outcome, dict(step.values))
        state = runner.dump(workflow)
        async with db.begin() as connection:
            await connection.execute(update(spiff_state).where(spiff_state.c.id == row_id)
                                     .values(state=state, steps=number))
    if not workflow.is_completed():
        raise RuntimeError("the SpiffWorkflow case did not complete")
    return workflow


async def run_interleaved(konveyer_url: str, spiff_url: str, data_dir: Path, cases: int,
                          warmup: int = 2) -> Interleaved:
    """Konveyer and SpiffWorkflow in one run, case by case in alternating order, each on its own database
    connection pool; per case: wall time, CPU time of this process and statements sent."""
    settings = Settings(database_url=konveyer_url, data_dir=data_dir, bot_token=None, api_base=None)
    core = await build_core(settings)
    runner = SpiffRunner()
    spiff_db = make_engine(spiff_url)
    ours, theirs = StatementCounter(core.db), StatementCounter(spiff_db)
    # Both engines on one PostgreSQL database: one reader of its backends (None on SQLite or another host).
    server = await open_server_cpu(konveyer_url) if konveyer_url == spiff_url else None
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
        async with spiff_db.begin() as connection:
            await connection.run_sync(spiff_meta.create_all)
        for _ in range(warmup):
            await konveyer_case(core, users)
            await spiff_case(runner, spiff_db)
        verbs_k, verbs_s = dict(ours.by_verb), dict(theirs.by_verb)
        result = Interleaved(EngineResult(_kind(konveyer_url), len(HAPPY_PATH) + 1),
                             EngineResult(_kind(spiff_url), len(HAPPY_PATH) + 1))
        for number in range(cases):
            async def k() -> CaseSample:
                return await _sample(ours, lambda: konveyer_case(core, users), server)

            async def s() -> CaseSample:
                return await _sample(theirs, lambda: spiff_case(runner, spiff_db), server)

            if number % 2 == 0:
                result.konveyer.samples.append(await k())
                result.spiff.samples.append(await s())
            else:
                result.spiff.samples.append(await s())
                result.konveyer.samples.append(await k())
        result.konveyer.by_verb = {v: n - verbs_k.get(v, 0) for v, n in ours.by_verb.items()}
        result.spiff.by_verb = {v: n - verbs_s.get(v, 0) for v, n in theirs.by_verb.items()}
    finally:
        if server is not None:
            await server.close()
        ours.close()
        theirs.close()
        await spiff_db.dispose()
        await core.close()
    return result


def spiff_state_size() -> int:
    """Bytes of the serialised reference workflow at its end (for the note)."""
    runner = SpiffRunner()
    workflow = runner.new()
    for step in HAPPY_PATH:
        runner.step(workflow, step.task, step.outcome, dict(step.values))
    return len(runner.dump(workflow).encode())


def _kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


# --- without the database (where the time goes) -------------------------------------------------------------

def konveyer_in_memory(cases: int) -> float:
    """Cases per second of the bare engine (no database, no rendering): the engine's own share."""
    from flows.calendar import WorkCalendar
    from flows.clock import SystemClock
    from flows.loader import load_file
    from flows.runtime import Engine

    spec = load_file(Path(__file__).resolve().parent.parent / "flows" / "library" / "defect_return.yaml").spec
    engine = Engine(WorkCalendar(), SystemClock())
    began = time.perf_counter()
    for _ in range(cases):
        case, _effects = engine.start(spec, 1)
        number = 0
        for step in HAPPY_PATH:
            task = next(t for t in case.open_tasks() if t.key == step.task)
            number += 1
            task.id = number
            if task.assignee_id is None:
                engine.claim(case, task, 2, {task.role or ""})
            engine.submit(case, task, step.outcome, dict(step.values), task.assignee_id or 2)
        if case.status != CaseStatus.DONE:
            raise RuntimeError("the in-memory case did not finish")
    return cases / (time.perf_counter() - began)


def spiff_in_memory(cases: int, serialize: bool) -> float:
    """Cases per second of SpiffWorkflow alone, with or without serialising after every step."""
    runner = SpiffRunner()
    began = time.perf_counter()
    for _ in range(cases):
        workflow = runner.new()
        if serialize:
            runner.dump(workflow)
        for step in HAPPY_PATH:
            runner.step(workflow, step.task, step.outcome, dict(step.values))
            if serialize:
                runner.dump(workflow)
    return cases / (time.perf_counter() - began)
