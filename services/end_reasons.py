"""Why a case ended, in the words of whoever ended it, for every place that shows an ended case (a dealer's
/orders, the case card in chat, the panel's case page), so each shows the same reason:
- cancelled with a reason: the reason written when it was cancelled (in chat or in the panel), kept in its history;
- ended in failure (an approver's «Отклонить», which asks for a comment): the comment of its last task done with one.
A case cancelled with no words (its author's «Отмена», a sub-process cancelled with its parent) has none."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case, Task
from flows.runtime import base_key
from flows.status import CaseStatus, TaskStatus


def _ends_with_reason(case: Case) -> bool:
    return case.status == CaseStatus.CANCELLED or (case.status == CaseStatus.DONE and case.result == "failure")


async def end_reasons(session: AsyncSession, cases: Sequence[Case]) -> dict[int, str]:
    """The reason each of these cases ended, by case id (a case still open, or ended with no words, is absent).
    At most one query for the cancelled and one for the failed, whatever the number of cases."""
    reasons: dict[int, str] = {}
    cancelled = [c.id for c in cases if c.status == CaseStatus.CANCELLED]
    if cancelled:
        entries = await session.execute(
            select(AuditEntry.case_id, AuditEntry.data)
            .where(AuditEntry.case_id.in_(cancelled), AuditEntry.action == "case.cancelled")
            .order_by(AuditEntry.id.desc())
        )
        for case_id, detail in entries:
            said = (detail or {}).get("reason")
            if "with_parent" in (detail or {}) or not isinstance(said, str):
                continue  # cancelled with its parent: the reason is the engine's key, not anybody's words
            if case_id is not None and case_id not in reasons and said.strip():
                reasons[case_id] = said.strip()
    failed = {c.id: c for c in cases if c.status == CaseStatus.DONE and c.result == "failure"}
    if failed:
        done = await session.execute(
            select(Task.case_id, Task.key)
            .where(Task.case_id.in_(failed), Task.status == TaskStatus.DONE)
            .order_by(Task.done_at.desc(), Task.id.desc())
        )
        for case_id, key in done:
            said = str((failed[case_id].data or {}).get(f"{base_key(key)}_comment") or "").strip()
            if said and case_id not in reasons:
                reasons[case_id] = said
    return reasons


async def end_reason(session: AsyncSession, case: Case) -> str | None:
    """Why this case ended (`end_reasons` for one); an open case reads nothing."""
    if not _ends_with_reason(case):
        return None
    return (await end_reasons(session, [case])).get(case.id)
