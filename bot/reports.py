"""Reports over other cases: an Excel file (openpyxl) and a short text summary, made at the moment a
stage is entered (the weekly cycle's «all deals at Предварительная заявка»)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import Core
from db.models import Case, User
from flows.model import ProcessDef, ReportDef


@dataclass
class ReportRow:
    case: Case
    spec: ProcessDef
    cells: list[str]
    numbers: dict[str, float]


async def cases_at(
    session: AsyncSession, process: str, stage: str | None, *, include_closed: bool = False
) -> list[Case]:
    query = select(Case).where(Case.process == process)
    if not include_closed:
        query = query.where(Case.status == "active")
    if stage is not None:
        query = query.where(Case.stage == stage)
    return list((await session.execute(query.order_by(Case.id))).scalars())


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


async def build_rows(
    core: Core, session: AsyncSession, report: ReportDef, lang: str, *, include_closed: bool = False
) -> list[ReportRow]:
    cases = await cases_at(session, report.process, report.stage, include_closed=include_closed)
    names = {
        u.id: u.name
        for u in (
            await session.execute(select(User).where(User.id.in_({c.responsible_id or c.initiator_id for c in cases})))
        ).scalars()
    }
    rows = []
    for case in cases:
        spec = await core.registry.spec(session, case.definition_id)
        cells = []
        for column in report.columns:
            if column.field == "id":
                cells.append(str(case.id))
            elif column.field == "title":
                cells.append(case.title)
            elif column.field == "stage":
                cells.append(core.renderer.stage_title(spec, case.stage, lang))
            elif column.field == "responsible":
                cells.append(names.get(case.responsible_id or case.initiator_id, ""))
            elif column.field in spec.fields:
                cells.append(
                    core.renderer.format_field(spec.fields[column.field], case.data.get(column.field), lang, spec)
                )
            else:
                cells.append("")
        numbers = {name: n for name in report.totals if (n := _number(case.data.get(name))) is not None}
        rows.append(ReportRow(case=case, spec=spec, cells=cells, numbers=numbers))
    return rows


def to_xlsx(title: str, headers: list[str], rows: list[ReportRow], totals: dict[str, float], total_label: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row.cells)
    if totals:
        sheet.append([total_label, *[f"{k}: {v:g}" for k, v in totals.items()]])
    for index, header in enumerate(headers, start=1):
        width = max([len(header)] + [len(r.cells[index - 1]) for r in rows]) + 2
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(width, 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
