"""Pictures and sheets people get in chat: a horizontal bar chart (PNG, matplotlib) drawn off the event loop, and
a table as an Excel file (openpyxl). The digest and the representatives' figures both use them."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_BARS = 12  # more would not read on a phone; the rest are in the lists and the files


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]
    color: str


def sheet_name(title: str) -> str:
    """A title as Excel takes it for a sheet (and any system for a file name): 31 characters, none of \\ / * ? : [ ]
    (a digest's «Сдвинулись с 22.12.2026 09:00»)."""
    return "".join("." if char in "\\/*?:[]" else char for char in title)[:31]


def to_xlsx(table: Table) -> bytes:
    # openpyxl (with numpy) is ~25 MB of a process that rarely makes a sheet: loaded on the first one.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name(table.title)
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        # A cell that starts like a formula stays text: a case titled «=HYPERLINK(…)» must not run.
        sheet.append(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    for index, header in enumerate(table.headers, start=1):
        width = max([len(header)] + [len(str(r[index - 1])) for r in table.rows]) + 2
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(width, 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bar_figure(labels: Sequence[str], series: Sequence[Series], *, side_by_side: bool, counts: bool) -> Figure:
    """One horizontal bar per label and series, the first label at the top. Side by side (two measures, like
    ordered and shipped; or open work and the overdue part of it, so neither hides the other) or stacked (parts
    of a whole, laid end to end); `counts` keeps the axis in whole numbers. The legend sits above the plot, where
    it covers no bar. Uses the Agg canvas directly (no pyplot state), so it is safe in a thread."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    names = [label[:40] for label in labels[:MAX_BARS]][::-1]
    positions = list(range(len(names)))
    figure = Figure(
        figsize=(8, 1.6 + 0.45 * max(len(names), 1) * (len(series) if side_by_side else 1)),
        dpi=100,
        layout="constrained",  # makes room outside the axes for the legend
    )
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    height = 0.8 / len(series) if side_by_side and series else 0.8
    ends = [0.0] * len(names)
    for index, one in enumerate(series):
        values = list(one.values[:MAX_BARS])[::-1]
        values += [0.0] * (len(names) - len(values))
        # Side by side: the first series on top within each label's band; stacked: each after the one before.
        shift = (len(series) - 1 - 2 * index) * height / 2 if side_by_side else 0.0
        left = [0.0] * len(names) if side_by_side else list(ends)
        axes.barh([p + shift for p in positions], values, height=height, left=left, color=one.color, label=one.label)
        ends = [end + value for end, value in zip(ends, values, strict=True)]
    # The legend drawn from the series' own colours: one made from the bars takes matplotlib's default blue for a
    # series with no bar, so «open» and «overdue» read the same.
    figure.legend(
        handles=[Patch(facecolor=one.color, label=one.label) for one in series],
        loc="outside upper center",
        ncols=max(len(series), 1),
        frameon=False,
    )
    axes.set_yticks(positions, names)
    if counts:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x", alpha=0.3)
    return figure


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, side_by_side: bool, counts: bool) -> bytes:
    """`bar_figure` as a PNG."""
    buffer = io.BytesIO()
    bar_figure(labels, series, side_by_side=side_by_side, counts=counts).savefig(buffer, format="png")
    return buffer.getvalue()


async def bar_chart_async(
    labels: Sequence[str], series: Sequence[Series], *, side_by_side: bool, counts: bool
) -> bytes:
    # Drawing takes tens of milliseconds: off the event loop, so other people's updates are not held up.
    return await asyncio.to_thread(bar_chart, labels, series, side_by_side=side_by_side, counts=counts)
