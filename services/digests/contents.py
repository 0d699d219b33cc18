"""What a digest holds: the tasks waiting for the reader, the overdue tasks, the tasks due today, the cases stuck
at a stage, what moved, the open work per person and the totals (and sums) per process; a group of it as a table
(the list and the file), and its chart."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flows.i18n import _
from services.charts import MAX_BARS, Series, Table, bar_figure
from services.wording import Wording

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GROUPS = ("yours", "overdue", "today", "stuck", "moved")
GROUP_TITLES = {
    "yours": _("Waiting for you"),
    "overdue": _("Overdue"),
    "today": _("Due today"),
    "stuck": _("Stuck at a stage"),
    "moved": _("Moved since the last digest"),
}
CHART_PEOPLE = MAX_BARS  # bars on the chart; the rest are in the lists and the files


@dataclass
class TaskLine:
    case_id: int
    case: str  # «№12 · title»
    process: str
    task: str
    holder: str  # the person, or the role whose pool it waits in
    due_at: datetime | None  # none: a task with no deadline (only among those waiting for the reader)
    late: timedelta  # how late (overdue) or how long left (due today)


@dataclass
class CaseLine:
    case_id: int
    case: str
    process: str
    stage: str
    since: datetime
    norm: datetime  # when it should have left the stage


@dataclass
class MoveLine:
    case_id: int
    case: str
    process: str
    source: str
    target: str
    at: datetime


@dataclass
class Load:
    holder: str
    open: int
    overdue: int


@dataclass
class ProcessTotal:
    process: str
    cases: int
    open: int
    overdue: int
    # The open cases' sum of what the process says a case is worth (`amount:`); None: it says nothing.
    amount: Decimal | None = None


@dataclass
class Digest:
    now: datetime
    since: datetime
    yours: list[TaskLine] = field(default_factory=list)  # the reader's own tasks and their roles' open pools
    overdue: list[TaskLine] = field(default_factory=list)
    today: list[TaskLine] = field(default_factory=list)
    stuck: list[CaseLine] = field(default_factory=list)
    moved: list[MoveLine] = field(default_factory=list)
    load: list[Load] = field(default_factory=list)
    processes: list[ProcessTotal] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.yours or self.overdue or self.today or self.stuck or self.moved or self.load)

    @property
    def open_work(self) -> bool:
        """Whether anything is open: the chart of open and overdue work has something to draw."""
        return any(x.open for x in self.processes) or any(x.open for x in self.load)

    def group(self, name: str) -> list[Any]:
        return list(getattr(self, name))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


def period_key(since: datetime) -> int:
    """A digest's period start as its group buttons carry it: whole microseconds, so the list counts from the very
    moment the digest did (a move in the second the period began is in both or in neither)."""
    return (since - _EPOCH) // _TICK


def period_start(key: int) -> datetime | None:
    return _EPOCH + key * _TICK if key > 0 else None


def group_title(w: Wording, digest: Digest, group: str, lang: str | None) -> str:
    """A group's heading as people read it. The moves say the moment they count from: a digest asked for now counts
    from the last one sent at its hour (as the next one will), so «since the last digest» was untrue of it."""
    if group == "moved":
        return w.t("Moved since %(when)s", lang, when=w.when(digest.since, lang))
    return w.t(GROUP_TITLES[group], lang)


def table(w: Wording, digest: Digest, group: str, lang: str | None) -> Table:
    """One group of the digest as rows people read (the list button) and Excel holds (the file button)."""
    t = w.t

    def when(moment: datetime | None) -> str:
        return w.when(moment, lang)

    title = group_title(w, digest, group, lang)
    if group == "yours":
        yours: list[TaskLine] = digest.yours
        headers = [t("Case", lang), t("Process", lang), t("Task", lang), t("Holder", lang), t("Due", lang)]
        rows = [[x.case, x.process, x.task, x.holder, when(x.due_at)] for x in yours]
    elif group in ("overdue", "today"):
        lines: list[TaskLine] = digest.group(group)
        late = t("Late by", lang) if group == "overdue" else t("Left", lang)
        headers = [t("Case", lang), t("Process", lang), t("Task", lang), t("Holder", lang), t("Due", lang), late]
        rows = [[x.case, x.process, x.task, x.holder, when(x.due_at), span(w, x.late, lang)] for x in lines]
    elif group == "stuck":
        stuck: list[CaseLine] = digest.stuck
        headers = [
            t("Case", lang),
            t("Process", lang),
            t("Stage", lang),
            t("At the stage since", lang),
            t("Norm", lang),
        ]
        rows = [[x.case, x.process, x.stage, when(x.since), when(x.norm)] for x in stuck]
    else:
        moved: list[MoveLine] = digest.moved
        headers = [t("Case", lang), t("Process", lang), t("From", lang), t("To", lang), t("When", lang)]
        rows = [[x.case, x.process, x.source, x.target, when(x.at)] for x in moved]
    return Table(title, headers, [list(map(str, row)) for row in rows])


def span(w: Wording, delta: timedelta, lang: str | None) -> str:
    """«2 d 3 h» / «45 min»: how late, roughly."""
    minutes = int(delta.total_seconds() // 60)
    days, hours = minutes // (24 * 60), minutes % (24 * 60) // 60
    if days:
        return w.t("%(d)s d %(h)s h", lang, d=days, h=hours)
    if hours:
        return w.t("%(h)s h %(m)s min", lang, h=hours, m=minutes % 60)
    return w.t("%(m)s min", lang, m=minutes)


# --- the chart -----------------------------------------------------------------------------------------------


def chart(digest: Digest, overdue_label: str, open_label: str) -> bytes:
    """`chart_figure` as a PNG."""
    buffer = io.BytesIO()
    chart_figure(digest, overdue_label, open_label).savefig(buffer, format="png")
    return buffer.getvalue()


def chart_figure(digest: Digest, overdue_label: str, open_label: str) -> Figure:
    """Open and overdue work per person (per process when nobody holds anything), the heaviest at the top; the
    overdue bar beside the open one (it is a part of it): drawn over it, one late task of one hid the open bar."""
    if digest.load:
        bars = [(x.holder, x.open, x.overdue) for x in digest.load[:CHART_PEOPLE]]
    else:
        bars = [(x.process, x.open, x.overdue) for x in digest.processes[:CHART_PEOPLE]]
    series = [
        Series(open_label, [float(o) for _l, o, _x in bars], "#90caf9"),
        Series(overdue_label, [float(x) for _l, _o, x in bars], "#e53935"),
    ]
    return bar_figure([label for label, _o, _x in bars], series, side_by_side=True, counts=True)


async def chart_async(digest: Digest, overdue_label: str, open_label: str) -> bytes:
    # Drawing takes tens of milliseconds: off the event loop, so other people's updates are not held up.
    return await asyncio.to_thread(chart, digest, overdue_label, open_label)
