"""Cases that wait for their responsible's hand. At a stage of a pipeline moved by hand (seed 3's «Новая заявка на
просчёт») nobody has a task: the case stands until its responsible presses one of the stage's moves. For them that is
work to do, so «my tasks» lists such cases beside their tasks (`Menu.my_tasks`), a page of them in one statement."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Task, status_is
from flows.model import ProcessDef, StageDef
from flows.status import CaseStatus
from services import access
from services.access import Viewer
from services.core import Core
from services.queries import OPEN

Stages = tuple[tuple[str, tuple[str, ...]], ...]


def waits_for_responsible(stage: StageDef) -> bool:
    """Whether a case at `stage` stands until its responsible moves it by hand: a move of theirs (one naming no roles,
    or the responsible: `Engine.allowed_moves`) and nothing that takes it on by itself (a `next` after its tasks, a
    wait, a called process, the items it follows). A move only a role makes (the office's over the 1C stages of an
    order) is that role's way out of a stage 1C moves, not work the case waits for: such stages are not listed; nor
    are those the definition says are no work yet (`to_do: false`: pre-orders until the week is confirmed)."""
    if stage.final or stage.next or stage.wait or stage.call or stage.follows or not stage.to_do:
        return False
    return any(not move.roles or "responsible" in move.roles for move in stage.moves)


def hand_stages(specs: Iterable[ProcessDef]) -> Stages:
    """Each process's stages that `waits_for_responsible`, in `specs` (the current versions); worked out again only
    when the registry's specs are other objects (a version loaded), which a press of «my tasks» does not do."""
    specs = tuple(specs)
    kept, stages = _HAND_STAGES
    if len(kept) == len(specs) and all(a is b for a, b in zip(kept, specs, strict=True)):
        return stages
    found = ((spec.process, tuple(s.key for s in spec.stages if waits_for_responsible(s))) for spec in specs)
    stages = tuple(sorted((process, keys) for process, keys in found if keys))
    _HAND_STAGES[:] = [specs, stages]
    return stages


_HAND_STAGES: list[Any] = [(), ()]  # the specs `hand_stages` last worked on, and what it found


def waiting_page(viewer: Viewer, stages: Stages, limit: int) -> Select[Case]:
    """The active cases the person leads (`access.led_cases`) that stand at one of `stages` with no task open (an open
    one — their own form for a move's fields, someone's task of the stage — is what the case waits for, and is listed
    as a task), the longest waiting first. Read from `ix_cases_active_responsible`: the person's cases of those stages,
    not every case of them. Built once per set of stages for everyone nobody narrows to organisations (building it
    costs more than running it), the person a parameter."""
    if access.organisation_scope(viewer) is None:
        return _shared_page(stages, limit).params(user_id=viewer.user.id)
    return _build_page(access.led_cases(viewer), stages, limit)


@functools.lru_cache(maxsize=64)
def _shared_page(stages: Stages, limit: int) -> Select[Case]:
    return _build_page(access.led_by(bindparam("user_id", type_=Integer)), stages, limit)


def _build_page(led: ColumnElement[bool], stages: Stages, limit: int) -> Select[Case]:
    at_stage = or_(*(and_(Case.process == process, Case.stage.in_(keys)) for process, keys in stages))
    open_task = select(Task.id).where(Task.case_id == Case.id, OPEN).exists()
    return (
        select(Case)
        .where(led, status_is(Case.status, CaseStatus.ACTIVE), at_stage, ~open_task)
        .order_by(Case.updated_at, Case.id)
        .limit(limit)
    )


async def waiting_cases(
    core: Core, session: AsyncSession, viewer: Viewer, page: int
) -> tuple[list[tuple[Case, ProcessDef]], bool]:
    """A page of the person's cases waiting for their hand move, each with its version's definition, and whether there
    are more. The stages are the current versions'; a case on an older version is kept only where its own version's
    stage waits for the hand too."""
    stages = hand_stages(core.registry.current_specs())
    if not stages or not access.is_active(viewer.user):
        return [], False
    rows = (await session.execute(waiting_page(viewer, stages, page + 1))).scalars()
    cases: list[tuple[Case, ProcessDef]] = []
    for case in rows:
        spec = await core.registry.spec(session, case.definition_id)
        stage = _stage(spec, case.stage)
        if stage is not None and waits_for_responsible(stage):
            cases.append((case, spec))
    return cases[:page], len(cases) > page


def _stage(spec: ProcessDef, key: str) -> StageDef | None:
    return next((stage for stage in spec.stages if stage.key == key), None)
