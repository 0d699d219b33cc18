"""The reclamations' list for the internal staff (seed 4): every reclamation they may see, oldest first, a page at
a time, with its stage (the chat marks each with a colour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case
from services import access
from services.core import Core

PROCESS = "reclamation"
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


@dataclass(frozen=True)
class ReclamationPage:
    rows: list[ReclamationRow]
    number: int
    pages: int


class Reclamations:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def page(self, viewer: access.Viewer, number: int) -> ReclamationPage:
        """One page of the reclamations this person may see (a dealer's staff: their organisation's only)."""
        seen = access.visible_cases(viewer, self.core.registry.current_specs())
        where = (Case.process == PROCESS, seen)
        total = int(await self.session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)
        pages = max(1, -(-total // PAGE))
        number = min(max(number, 0), pages - 1)
        rows = await self.session.execute(
            select(Case).where(*where).order_by(Case.created_at, Case.id).offset(number * PAGE).limit(PAGE)
        )
        lang = viewer.user.language
        listed = []
        for case in rows.scalars():
            spec = await self.core.registry.spec(self.session, case.definition_id)
            stage = self.core.wording.stage_title(spec, case.stage, lang)
            listed.append(
                ReclamationRow(case.id, case.title, case.stage, stage, case.status, case.result, case.created_at)
            )
        return ReclamationPage(listed, number, pages)
