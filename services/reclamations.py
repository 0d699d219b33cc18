"""Lists of seed 4's cases a page at a time, each with its stage: the reclamations for the internal staff (oldest
first; the chat marks each with a colour), and a dealer's order requests (newest first, with their amounts and
the papers 1C sent for each).
Only the cases the person may see (`services.access`): a dealer's staff get their organisation's; only registered
ones (not a request still being filled in, or dropped before it was sent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case
from flows.runtime import START_TASK
from flows.status import CaseStatus
from services import access, onec_documents
from services.core import Core
from services.end_reasons import end_reasons

PROCESS = "reclamation"
ORDERS = "order_request"
PAGE = 10


@dataclass(frozen=True)
class ReclamationRow:
    case_id: int
    title: str
    stage: str
    stage_title: str
    status: str
    result: str | None
    created_at: datetime
    amount: str | None = None
    documents: tuple[onec_documents.Listed, ...] = ()  # an order's papers from 1C (invoice, shipment note)
    colour: str | None = None  # its stage's colour mark, as the definition gives it
    reason: str | None = None  # why a request ended, rejected or cancelled (`services.end_reasons`)


@dataclass(frozen=True)
class ReclamationPage:
    rows: list[ReclamationRow]
    number: int
    pages: int


class Reclamations:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def page(self, viewer: access.Viewer, number: int, process: str = PROCESS) -> ReclamationPage:
        """One page of the cases of `process` this person may see: reclamations oldest first, orders newest."""
        seen = access.visible_cases(viewer, self.core.registry.current_specs())
        # A request still at its start form, or cancelled there («ничего не зарегистрировано»), is nobody's case.
        where = (Case.process == process, Case.stage != START_TASK, seen)
        order = (Case.created_at, Case.id) if process == PROCESS else (Case.created_at.desc(), Case.id.desc())
        total = int(await self.session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)
        pages = max(1, -(-total // PAGE))
        number = min(max(number, 0), pages - 1)
        rows = await self.session.execute(select(Case).where(*where).order_by(*order).offset(number * PAGE).limit(PAGE))
        lang = viewer.user.language
        listed = []
        cases = list(rows.scalars())
        papers = await onec_documents.of_cases(self.session, cases) if process == ORDERS else {}
        reasons = await end_reasons(self.session, cases) if process == ORDERS else {}
        for case in cases:
            spec = await self.core.registry.spec(self.session, case.definition_id)
            stage = self.core.wording.stage_title(spec, case.stage, lang)
            if case.status == CaseStatus.CANCELLED:  # stopped where it stood: not «going to 1C» any more
                stage = self.core.wording.t("Cancelled at “%(stage)s”", lang, stage=stage)
            listed.append(
                ReclamationRow(
                    case.id,
                    self.core.registry.case_title(spec, case, lang),
                    case.stage,
                    stage,
                    case.status,
                    case.result,
                    case.created_at,
                    (case.data or {}).get("amount"),
                    tuple(papers.get(case.id, ())),
                    self.core.registry.stage_colour(spec, case.stage),
                    reasons.get(case.id),
                )
            )
        return ReclamationPage(listed, number, pages)
