"""Reports over other cases: an Excel file (openpyxl) and a short text summary, made at the moment a
stage is entered (the weekly cycle's «all deals at Предварительная заявка»)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, User
from flows.model import ProcessDef, ReportDef
from flows.status import CaseStatus
from flows.values import format_value
from services.core import Core
from services.wording.names import STATUS_WORDS


@dataclass
class ReportRow:
    case: Case
    spec: ProcessDef
    cells: list[str]  # as people read them (the chat summary)
    values: list[Any]  # as Excel should hold them: numbers as numbers, so columns can be summed
    numbers: dict[str, float]


def _safe(text: str) -> str:
    """A cell that starts like a formula stays text: a company named «=HYPERLINK(…)» must not run."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def cases_at(
    session: AsyncSession,
    process: str,
    stage: str | None,
    *,
    include_closed: bool = False,
    scope: ColumnElement[bool] | None = None,
) -> list[Case]:
    """Cases of a process (at a stage); `scope` narrows them to what one person may see (`services.access`)."""
    query = select(Case).where(Case.process == process)
    if scope is not None:
        query = query.where(scope)
    if not include_closed:
        query = query.where(Case.status == CaseStatus.ACTIVE)
    if stage is not None:
        query = query.where(Case.stage == stage)
    return list((await session.execute(query.order_by(Case.id))).scalars())


def _number(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


async def build_rows(
    core: Core,
    session: AsyncSession,
    report: ReportDef,
    lang: str,
    *,
    include_closed: bool = False,
    scope: ColumnElement[bool] | None = None,
) -> list[ReportRow]:
    cases = await cases_at(session, report.process, report.stage, include_closed=include_closed, scope=scope)
    return await rows_of(core, session, cases, report, lang)


async def rows_of(
    core: Core, session: AsyncSession, cases: list[Case], report: ReportDef, lang: str
) -> list[ReportRow]:
    """The report's rows of these cases, their cells in the reader's language."""
    names = {
        u.id: u.name
        for u in (
            await session.execute(select(User).where(User.id.in_({c.responsible_id or c.initiator_id for c in cases})))
        ).scalars()
    }
    rows = []
    for case in cases:
        spec = await core.registry.spec(session, case.definition_id)
        cells: list[str] = []
        values: list[Any] = []
        for column in report.columns:
            if column.field == "id":
                cells.append(str(case.id))
                values.append(case.id)
                continue
            elif column.field == "title":
                cells.append(core.registry.case_title(spec, case, lang))
            elif column.field == "stage":
                cells.append(core.wording.stage_title(spec, case.stage, lang))
            elif column.field == "responsible":
                cells.append(names.get(case.responsible_id or case.initiator_id, ""))
            elif column.field == "status":
                status = STATUS_WORDS.get(case.status)
                cells.append(core.translator.t(status, lang) if status else case.status)
            elif column.field in ("created", "closed"):
                moment = case.created_at if column.field == "created" else case.closed_at
                local = moment.astimezone(core.calendar.tz).replace(tzinfo=None) if moment is not None else None
                cells.append(f"{local:%d.%m.%Y %H:%M}" if local is not None else "")
                values.append({"datetime": local.isoformat()} if local is not None else None)  # a date Excel sorts
                continue
            elif column.field in spec.fields:
                fdef = spec.fields[column.field]
                raw = case.data.get(column.field)
                cells.append(core.wording.format_field(fdef, raw, lang, spec))
                if fdef.type in ("number", "money") and _number(raw) is not None:
                    values.append(_number(raw))
                    continue
                if fdef.type in ("date", "datetime") and isinstance(raw, str) and raw:
                    values.append({fdef.type: raw})  # JSON in the render job; a date of the sheet's own at the end
                    continue
            else:
                cells.append("")
            values.append(_safe(cells[-1]))
        summed = (*report.totals, *report.totals_to)
        numbers = {name: n for name in summed if (n := _number(case.data.get(name))) is not None}
        rows.append(ReportRow(case=case, spec=spec, cells=cells, values=values, numbers=numbers))
    return rows


def total_label(core: Core, report: ReportDef, reported: ProcessDef, name: str, lang: str) -> str:
    """A total's label in `lang`. Totals are fields of the cases reported on (of `reported`), so they are labelled
    from that process — as the report's own column for the field names it, if it has one: a total of all deals is
    «Сумма», not one deal's «Сумма сделки»."""
    columns = {c.field: c.label for c in report.columns}
    if name in columns:
        return core.translator.local(columns[name], lang)
    return core.translator.local(reported.fields[name].label, lang) if name in reported.fields else name


def summary(
    core: Core, report: ReportDef, reported: ProcessDef, rows: list[ReportRow], totals: dict[str, float], lang: str
) -> str:
    """The report as read in chat, in `lang`: how many cases, each total, and the first thirty rows."""
    # The number says what it counts: «Итог недели с дебиторкой: 3 дела», not a bare «: 3».
    heading = core.translator.local(report.title, lang)
    lines = [core.translator.tn("%(title)s: %(n)s case", "%(title)s: %(n)s cases", len(rows), lang, title=heading)]
    for name, total in totals.items():
        # Written as the field is anywhere else («Сумма: 660 000,00 ₽», «Пр. 1, кг: 1 500»); the label is left
        # as it is (a comma in «Пр. 1, кг» is the label's own).
        fdef = reported.fields.get(name)
        kind = "money" if fdef is not None and fdef.type == "money" else "number"
        lines.append(f"{total_label(core, report, reported, name, lang)}: {format_value(kind, total, lang=lang)}")
    for row in rows[:30]:
        lines.append("• " + " · ".join(_cells_read(core, report, row, lang)))
    if len(rows) > 30:
        lines.append(core.translator.t("…and %(n)s more in the file.", lang, n=len(rows) - 30))
    return "\n".join(lines)


def snapshot(report: ReportDef, rows: list[ReportRow]) -> dict[str, Any]:
    """What a later report of the same case compares itself with (`ReportDef.changes_since`): each case's fields
    of the report's columns as stored, and its name as its line reads it (kept for a case gone from the stage)."""
    kept: dict[str, Any] = {}
    for row in rows:
        names = [
            cell for column, cell in zip(report.columns, row.cells, strict=True)
            if column.field in row.spec.fields and row.spec.fields[column.field].type not in _NAMED and cell
        ]  # fmt: skip
        values = {c.field: row.case.data.get(c.field) for c in report.columns if c.field in row.spec.fields}
        kept[str(row.case.id)] = {"name": " · ".join(names), "values": values}
    return kept


def changes(core: Core, report: ReportDef, earlier: dict[str, Any], rows: list[ReportRow], lang: str) -> str:
    """What moved since the earlier report, in `lang`: a line a case whose figures changed, each «old → new» with its
    column's name; the cases new in this report and those no longer in it; one line when nothing moved."""
    lines = []
    now = {str(row.case.id) for row in rows}
    for row in rows:
        before = earlier.get(str(row.case.id))
        name = snapshot(report, [row])[str(row.case.id)]["name"]
        head = " · ".join(part for part in (core.translator.t("#%(n)s", lang, n=row.case.id), name) if part)
        if not isinstance(before, dict):
            lines.append(core.translator.t("• %(case)s: new in the report", lang, case=head))
            continue
        moved = []
        for column in report.columns:
            fdef = row.spec.fields.get(column.field)
            if fdef is None or column.field not in before["values"]:
                continue  # a column the earlier report had not: nothing to compare with
            was, is_now = before["values"][column.field], row.case.data.get(column.field)
            if was == is_now or (_number(was) is not None and _number(was) == _number(is_now)):
                continue
            shown = [core.wording.format_field(fdef, v, lang, row.spec) or "—" for v in (was, is_now)]
            moved.append(f"{core.translator.local(column.label, lang)}: {shown[0]} → {shown[1]}")
        if moved:
            lines.append(f"• {head}: " + "; ".join(moved))
    for case_id, before in earlier.items():
        if case_id not in now and isinstance(before, dict):
            head = " · ".join(p for p in (core.translator.t("#%(n)s", lang, n=case_id), before.get("name")) if p)
            lines.append(core.translator.t("• %(case)s: no longer in the report", lang, case=head))
    if not lines:
        return core.translator.t("Nothing has changed since the report.", lang)
    return "\n".join([core.translator.t("Changed since the report:", lang), *lines])


# Values that say nothing by themselves in a line of cells: «1 500 · 300» is which production's kilos, «420 000,00 ₽ ·
# 15 000,00 ₽» which is the deal and which the debt. Each goes with its column's name, as the totals above do.
_NAMED = frozenset({"number", "money", "date", "datetime"})


def _cells_read(core: Core, report: ReportDef, row: ReportRow, lang: str) -> list[str]:
    """A row's cells as its line in chat: the case's number as a number («№1»), a figure or a date with its column's
    name («Пр. 1, кг: 1 500»), a name or a title as it is; an empty figure is left out, not said as «—»."""
    read = []
    for column, cell in zip(report.columns, row.cells, strict=True):
        if not cell:
            continue
        if column.field == "id":
            read.append(core.translator.t("#%(n)s", lang, n=cell))
            continue
        fdef = row.spec.fields.get(column.field)
        named = column.field in ("created", "closed") or (fdef is not None and fdef.type in _NAMED)
        if not named:
            read.append(cell)
        elif column.field in ("created", "closed") or row.case.data.get(column.field) not in (None, ""):
            read.append(f"{core.translator.local(column.label, lang)}: {cell}")
    return read


class SheetRow(Protocol):
    """What a sheet needs of a row: the cells as people read them, the values as Excel should hold them."""

    @property
    def cells(self) -> list[str]: ...

    @property
    def values(self) -> list[Any]: ...


@dataclass
class PlainRow:
    """A row as a render job carries it (JSON in the outbox), without the case it came from."""

    cells: list[str]
    values: list[Any]


def sheet_job(title: str, headers: list[str], rows: Sequence[SheetRow], totals: dict[str, float],
              total_label: str) -> dict[str, Any]:
    """`to_xlsx`'s arguments as a render job's payload: the rows are read in the step, the workbook is built
    after its commit (`services.cases.documents.DocumentJobs`)."""
    return {"kind": "xlsx", "title": title, "headers": headers, "totals": totals, "total_label": total_label,
            "rows": [{"cells": list(r.cells), "values": list(r.values)} for r in rows]}


def _sheet_value(value: Any) -> Any:
    """A row's value as the sheet holds it: a date or a moment (kept as {"date": iso} or {"datetime": iso} in the
    render job's JSON) becomes one Excel sorts and counts; anything else stays as it is."""
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(str(value["datetime"])).replace(tzinfo=None)
        if "date" in value:
            return date.fromisoformat(str(value["date"])[:10])
    return value


def sheet_from_job(payload: dict[str, Any]) -> bytes:
    rows = [PlainRow(cells=list(r["cells"]), values=list(r["values"])) for r in payload["rows"]]
    return to_xlsx(payload["title"], list(payload["headers"]), rows, dict(payload["totals"]),
                   payload["total_label"])


def to_xlsx(title: str, headers: list[str], rows: Sequence[SheetRow], totals: dict[str, float],
            total_label: str) -> bytes:
    # openpyxl (with numpy) is ~25 MB of a process that rarely makes a sheet: loaded on the first one.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_sheet_value(v) for v in row.values])
    for cell in (c for r in sheet.iter_rows(min_row=2) for c in r):
        if isinstance(cell.value, datetime):
            cell.number_format = "DD.MM.YYYY HH:MM"
        elif isinstance(cell.value, date):
            cell.number_format = "DD.MM.YYYY"
        elif isinstance(cell.value, float | int):
            cell.number_format = "# ##0.##"
    if totals:
        sheet.append([])
        # A total stands under the column it sums, in one «Итого» row, as a person sums a column in Excel; a total
        # of a field the sheet has no column for gets a row of its own, named.
        under = {label: index for index, label in enumerate(headers, start=1) if label in totals}
        if under:
            free = next((i for i in range(1, len(headers) + 1) if i not in under.values()), None)
            total_row: list[Any] = [None] * len(headers)
            if free is not None:
                total_row[free - 1] = _safe(total_label)
            for label, column in under.items():
                total_row[column - 1] = totals[label]
            sheet.append(total_row)
            for column in under.values():
                sheet.cell(row=sheet.max_row, column=column).number_format = "# ##0.##"
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        for label, value in totals.items():
            if label in under:
                continue
            sheet.append([_safe(f"{total_label}: {label}"), value])
            sheet.cell(row=sheet.max_row, column=2).number_format = "# ##0.00"
            sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    for index, header in enumerate(headers, start=1):
        width = max([len(header)] + [len(r.cells[index - 1]) for r in rows]) + 2
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(width, 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
