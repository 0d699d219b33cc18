"""1C's documents on order requests: the order a document names found, each version attached to its case once (the
dealer's people told), and the documents listed per order."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, OneCDocument, User
from services import people as people_repo
from services.cases.service import CaseService
from services.core import Core
from services.files import file_ref
from services.onec_documents.papers import Paper
from services.onec_documents.sheet import XLSX, file_name, render_xlsx, sheet_words

FIELD = "onec_documents"  # the order request's field that holds the files (order_request.yaml)
PROCESS = "order_request"


@dataclass
class Attached:
    attached: list[int] = field(default_factory=list)  # the files made
    removed: int = 0  # documents 1C marked deleted: their files left the case
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)  # documents whose order we could not find


async def find_order(session: AsyncSession, paper: Paper) -> Case | None:
    """The order request a document names: our number first, else 1C's number for the order."""
    for link in paper.links:
        if link.isdigit():
            case = await session.get(Case, int(link))
            if case is not None and case.process == PROCESS:
                return case
    texts = [link for link in paper.links if not link.isdigit()]
    if not texts:
        return None
    rows = await session.scalars(select(Case).where(Case.process == PROCESS).order_by(Case.id.desc()))
    for case in rows:
        number = str((case.data or {}).get("onec_number") or "")
        if number and any(link == number or re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", link)
                          for link in texts):  # fmt: skip
            return case
    return None


async def attach(core: Core, session: AsyncSession, papers: list[Paper]) -> Attached:
    """Each document onto its order's case (once per version), the dealer's people told."""
    result = Attached()
    now = core.clock.now()
    for paper in papers:
        case = await find_order(session, paper)
        if case is None:
            result.unknown.append(paper.number or paper.onec_id)
            continue
        digest = paper.digest
        known = await session.scalar(
            select(OneCDocument.id).where(
                OneCDocument.case_id == case.id, OneCDocument.onec_id == paper.onec_id, OneCDocument.digest == digest
            )
        )
        if known is not None:
            result.unchanged += 1
            continue
        older = list(
            await session.scalars(
                select(OneCDocument.file_id).where(
                    OneCDocument.case_id == case.id, OneCDocument.onec_id == paper.onec_id
                )
            )
        )
        stored = None
        if not paper.deleted:  # 1C's deletion mark: the case loses the file, nothing new is made
            lang = core.config.default_language
            content = await asyncio.to_thread(render_xlsx, paper, sheet_words(core, paper, case, lang))
            stored = await core.files.add(
                session, content=content, name=file_name(paper), kind="document", now=now, case_id=case.id,
                user_id=None, mime_type=XLSX,
            )  # fmt: skip
        session.add(
            OneCDocument(
                case_id=case.id, onec_id=paper.onec_id[:80], kind=paper.kind, number=paper.number[:64],
                doc_date=paper.date[:32], version=paper.version[:64], digest=digest, amount=paper.amount[:32],
                file_id=stored.id if stored is not None else None, created_at=now,
            )
        )  # fmt: skip
        cases = CaseService(core, session)
        loaded = await cases.load(case.id)
        refs = [r for r in loaded.state.data.get(FIELD) or [] if isinstance(r, dict) and r.get("id") not in older]
        if stored is not None:
            refs.append(file_ref(stored))
        loaded.state.data[FIELD] = refs
        detail = {
            "document": paper.kind,
            "number": paper.number,
            "date": paper.date,
            "version": paper.version,
            "file": stored.id if stored is not None else None,
            "replaces": [f for f in older if f is not None],
            "deleted": paper.deleted,
        }
        await cases.save(loaded, [], None, "onec.document", detail)
        if stored is None:
            result.removed += 1
            continue
        result.attached.append(stored.id)
        recipients = await dealer_people(session, case)
        await cases.notifier.document_arrived(
            loaded, stored.id, paper.kind, paper.number, paper.date, bool(older), recipients
        )
    return result


async def dealer_people(session: AsyncSession, case: Case) -> list[User]:
    """Whom a document is told to: the request's initiator and the dealer's managers, active, of its organisation."""
    people = [u for u in [await session.get(User, case.initiator_id)] if u is not None]
    if case.company_id is not None:
        people += [
            u for u in await people_repo.members(session, "dealer_manager") if u.organisation_id == case.company_id
        ]
    seen: set[int] = set()
    found = []
    for user in people:
        if user.active and user.id not in seen and user.organisation_id == case.company_id:
            seen.add(user.id)
            found.append(user)
    return found


@dataclass(frozen=True)
class Listed:
    """A document on a request's line in the dealer's list."""

    file_id: int
    kind: str
    number: str
    date: str


async def of_cases(session: AsyncSession, cases: list[Case]) -> dict[int, list[Listed]]:
    """The current documents of these order requests (the files on each case), oldest first."""
    current = {
        case.id: {r.get("id") for r in (case.data or {}).get(FIELD) or [] if isinstance(r, dict)} for case in cases
    }
    found: dict[int, list[Listed]] = {case.id: [] for case in cases}
    if not any(current.values()):
        return found
    rows = await session.scalars(
        select(OneCDocument).where(OneCDocument.case_id.in_(list(current))).order_by(OneCDocument.id)
    )
    for row in rows:
        if row.file_id is not None and row.file_id in current[row.case_id]:
            found[row.case_id].append(Listed(row.file_id, row.kind, row.number, row.doc_date))
    return found
