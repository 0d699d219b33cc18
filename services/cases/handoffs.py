"""Cases handed on (seed 3: the quote agreed starts the contract, the signed contract the receiving request): the case
one continues, the cases that continue it, and which of them a person may open — a card names a case only to someone
who may open it, never a number that would answer «you cannot see this case»."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case
from flows.model import LocalText, ProcessDef, StartAction
from flows.runtime import CALLED_BY, CONTINUED_AT, TaskState, is_service_task
from services import access
from services.definitions import Registry

HANDOFF = "case.handoff"  # the audit entry a hand-off writes into the case that handed on: {process, case}


@dataclass(frozen=True)
class Linked:
    """A case another one's card names: its number and its process's title."""

    id: int
    title: LocalText


def continued_from(row: Case, data: Mapping[str, Any]) -> int | None:
    """The case this one continues: the one whose step started it — unless that one called it (a call's parent waits
    for its child and its card says so; a hand-off is where the work went on)."""
    return row.parent_id if row.parent_id is not None and CALLED_BY not in data else None


def first_card(row: Case, data: Mapping[str, Any], task: TaskState) -> bool:
    """Whether the task is one the case's first step gave (the first card anyone got of a case handed on)."""
    visit = data.get(CONTINUED_AT)
    return continued_from(row, data) is not None and task.visit == visit and not is_service_task(task.key)


def hands_on(spec: ProcessDef) -> bool:
    """Whether a case of the process can start another (a `start:` action on entering a stage)."""
    return any(isinstance(action, StartAction) for stage in spec.stages for action in stage.on_enter)


async def continuations(session: AsyncSession, case_id: int) -> list[int]:
    """The cases this one handed on to, in the order it did (its history's hand-offs)."""
    rows = await session.execute(
        select(AuditEntry.data)
        .where(AuditEntry.case_id == case_id, AuditEntry.action == HANDOFF)
        .order_by(AuditEntry.id)
    )
    found = [(data or {}).get("case") for data in rows.scalars()]
    return [case for case in found if isinstance(case, int)]


async def opened_by(
    session: AsyncSession, registry: Registry, viewer: access.Viewer, case_ids: Iterable[int]
) -> list[Linked]:
    """Those of the cases the person may open (`access.can_see`, by each case's own version), in the order given."""
    linked = []
    for case_id in case_ids:
        row = await session.get(Case, case_id)
        if row is None:
            continue
        spec = await registry.spec(session, row.definition_id)
        if await access.can_see(session, viewer, row, spec):
            linked.append(Linked(row.id, spec.title))
    return linked
