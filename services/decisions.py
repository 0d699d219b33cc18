"""The decisions taken on a case — an approval's yes or no, a choice among outcomes — with who took each, when and
the comment given, read from the case's history (`task.done` entries), for the case card. A task that is only
done («Готово», a form filled in) decides nothing and is not among them. The comment is given to whoever may read it
(`services.access.may_read_decision_comment`): a dealer's staff read the decisions of the office, not its words."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, User
from flows.model import ProcessDef, TaskDef
from flows.runtime import base_key
from services import access

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


async def decisions(
    session: AsyncSession, case_id: int, spec: ProcessDef, reader: access.Viewer | None = None
) -> tuple[list[Decision], int]:
    """The latest `SHOWN` decisions, oldest first, and how many there are in all; as `reader` may read them (None:
    every comment)."""
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
    shown = found[-SHOWN:]
    if reader is not None and not access.sees_internal(reader) and any(one.comment for one in shown):
        shown = await _as_read_by(session, shown, reader)
    return shown, len(found)


async def _as_read_by(session: AsyncSession, decided: list[Decision], reader: access.Viewer) -> list[Decision]:
    """The decisions with the comments this reader may not read left out (one query for their authors)."""
    authors = {one.by for one in decided if one.comment and one.by is not None}
    rows = await session.execute(select(User.id, User.organisation_id).where(User.id.in_(authors)))
    organisation_of: dict[int, int | None] = {user_id: organisation for user_id, organisation in rows}
    return [
        one
        if not one.comment or access.may_read_decision_comment(reader, organisation_of.get(one.by or 0))
        else replace(one, comment="")
        for one in decided
    ]
