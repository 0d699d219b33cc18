"""The decisions taken on a case — an approval's yes or no, a choice among outcomes — with who took each, when and
the comment given, read from the case's history (`task.done` entries), for the case card. A task that is only
done («Готово», a form filled in) decides nothing and is not among them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry
from flows.model import ProcessDef, TaskDef
from flows.runtime import base_key

DECIDING_KINDS = ("approve", "choice")
SHOWN = 5  # the card keeps the latest few: a case that looped many times would push everything else away


@dataclass(frozen=True)
class Decision:
    task: TaskDef
    outcome: str
    by: int | None
    at: datetime
    comment: str


def _deciding_task(spec: ProcessDef, key: str) -> TaskDef | None:
    found = next((t for stage in spec.stages for t in stage.tasks if t.key == base_key(key)), None)
    return found if found is not None and found.kind in DECIDING_KINDS else None


async def decisions(session: AsyncSession, case_id: int, spec: ProcessDef) -> tuple[list[Decision], int]:
    """The latest `SHOWN` decisions, oldest first, and how many there are in all."""
    entries = await session.execute(
        select(AuditEntry.actor_id, AuditEntry.data, AuditEntry.at)
        .where(AuditEntry.case_id == case_id, AuditEntry.action == "task.done")
        .order_by(AuditEntry.id)
    )
    found: list[Decision] = []
    for actor_id, detail, at in entries:
        key, outcome = str((detail or {}).get("task") or ""), str((detail or {}).get("outcome") or "")
        tdef = _deciding_task(spec, key)
        if tdef is None or outcome not in tdef.outcome_defs():
            continue
        values = (detail or {}).get("values") or {}
        said = values.get(f"{key}_comment") if isinstance(values, dict) else None
        found.append(Decision(tdef, outcome, actor_id, at, said.strip() if isinstance(said, str) else ""))
    return found[-SHOWN:], len(found)
