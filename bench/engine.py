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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.container import build_core
from app.settings import Settings
from bench.scenario import HAPPY_PATH, PROCESS, START, staff
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


@dataclass
class EngineResult:
    database: str
    cases: int
    seconds: float
    steps_per_case: int

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"database": self.database, "cases": self.cases, "seconds": round(self.seconds, 4),
                "steps_per_case": self.steps_per_case, "cases_per_second": round(self.cases_per_second, 3),
                "ms_per_step": round(self.seconds * 1000 / max(1, self.cases * self.steps_per_case), 3)}


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


async def run_konveyer(database_url: str, data_dir: Path, cases: int, warmup: int = 2) -> EngineResult:
    settings = Settings(database_url=database_url, data_dir=data_dir, bot_token=None, api_base=None)
    core = await build_core(settings)
    try:
        async with core.sessionmaker() as session, session.begin():
            users = await staff(session, core.clock.now())
        for _ in range(warmup):
            await konveyer_case(core, users)
        began = time.perf_counter()
        for _ in range(cases):
            await konveyer_case(core, users)
        elapsed = time.perf_counter() - began
    finally:
        await core.close()
    return EngineResult(_kind(database_url), cases, elapsed, len(HAPPY_PATH) + 1)


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


async def run_spiff(database_url: str, cases: int, warmup: int = 2) -> EngineResult:
    runner = SpiffRunner()
    db = make_engine(database_url)
    try:
        async with db.begin() as connection:
            await connection.run_sync(spiff_meta.create_all)
        for _ in range(warmup):
            await spiff_case(runner, db)
        began = time.perf_counter()
        for _ in range(cases):
            await spiff_case(runner, db)
        elapsed = time.perf_counter() - began
    finally:
        await db.dispose()
    return EngineResult(_kind(database_url), cases, elapsed, len(HAPPY_PATH) + 1)


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
