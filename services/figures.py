"""Representatives' figures (seed 4): what each dealer ordered and what was shipped to them in a period, from the
order request cases and 1C's documents about them, as a chart and an Excel file of exactly the same numbers.

- Ordered: order requests approved (at «approved», «in 1C», «paid» or «shipped»; not rejected, cancelled — at
  whatever stage — or still waiting for approval), counted in the period they were submitted in, at their amount
  (the positions' prices snapshotted at submission).
- Shipped: order requests 1C reported shipped (`type=sale` documents: «Дата отгрузки по 1С»), counted in the
  period of 1C's shipment date; one the office moved to «shipped» by hand counts on the day it was moved.

Whose figures a person gets is `access.figures_scope`: a dealer their own, a regional representative their
region's dealers, the representative office every dealer. Periods are calendar ones in the company's time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Company
from flows.i18n import _
from flows.status import CaseStatus
from flows.values import date_text
from services import access
from services.charts import Series, Table, bar_chart_async, to_xlsx
from services.core import Core
from services.exports import XLSX

PROCESS = "order_request"
APPROVED = ("approved", "in_1c", "paid", "shipped")
SHIPPED = "shipped"
PERIODS = ("month", "last_month", "quarter", "year")
PERIOD_TITLES = {
    "month": _("This month"),
    "last_month": _("Last month"),
    "quarter": _("This quarter"),
    "year": _("This year"),
}
ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
RU_DAY = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date  # the day after the last one

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


def _month_after(day: date, months: int = 1) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period(key: str, today: date) -> Period:
    """The calendar period `key` names, as it stands on `today` (this month, last month, this quarter, this year)."""
    month = today.replace(day=1)
    if key == "last_month":
        return Period(key, _month_after(month, -1), month)
    if key == "quarter":
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period(key, start, _month_after(start, 3))
    if key == "year":
        return Period(key, date(today.year, 1, 1), date(today.year + 1, 1, 1))
    return Period("month", month, _month_after(month))


def period_from(key: str, start: date) -> Period:
    """The same period again from its first day (a button pressed later means the period it was shown for)."""
    return period(key, start if key != "last_month" else _month_after(start))


@dataclass
class DealerFigures:
    dealer: str
    orders: int = 0
    ordered: Decimal = Decimal(0)
    shipments: int = 0
    shipped: Decimal = Decimal(0)


@dataclass
class Report:
    period: Period
    dealers: list[DealerFigures] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.dealers

    @property
    def total(self) -> DealerFigures:
        total = DealerFigures("")
        for row in self.dealers:
            total.orders += row.orders
            total.ordered += row.ordered
            total.shipments += row.shipments
            total.shipped += row.shipped
        return total


def shipment_day(shipped_on: str) -> date | None:
    """1C's shipment date as its document gave it («2026-12-03», «2026-12-03 10:00:00 РН-77», «03.12.2026 …»)."""
    found = ISO_DAY.search(shipped_on or "")
    try:
        if found:
            return date(int(found[1]), int(found[2]), int(found[3]))
        found = RU_DAY.search(shipped_on or "")
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        return None
    return None


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value or 0)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return Decimal(0)


class Figures:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    def t(self, message: str, lang: str | None, **params: Any) -> str:
        return self.core.translator.t(message, lang, **params)

    def period(self, key: str, start: date | None = None) -> Period:
        if start is not None:
            return period_from(key, start)
        return period(key, self.core.clock.now().astimezone(self.core.calendar.tz).date())

    def _day(self, moment: datetime | None) -> date | None:
        return moment.astimezone(self.core.calendar.tz).date() if moment is not None else None

    async def build(self, viewer: access.Viewer, key: str = "month", start: date | None = None) -> Report:
        """Ordered and shipped per dealer in the period, over the dealers this person may see."""
        refused = _("Figures are for representatives, the director and dealers' managers.")
        access.require(access.can_see_figures(viewer), refused)
        chosen = self.period(key, start)
        tz = self.core.calendar.tz
        until = datetime.combine(chosen.end, time(0, 0), tzinfo=tz)
        rows = await self.session.execute(
            select(Case.company_id, Case.stage, Case.data, Case.created_at, Case.closed_at).where(
                Case.process == PROCESS,
                Case.stage.in_(APPROVED),
                # A cancelled case keeps the stage it was cancelled at: an order withdrawn is not one ordered.
                Case.status != CaseStatus.CANCELLED,
                Case.created_at < until,  # nothing is shipped before it is ordered
                access.figures_scope(viewer),
            )
        )
        found: dict[int, DealerFigures] = {}
        for company_id, stage, data, created_at, closed_at in rows.all():
            amount = _amount((data or {}).get("amount"))
            row = found.setdefault(company_id, DealerFigures(""))
            ordered_on = self._day(created_at)
            if ordered_on is not None and chosen.start <= ordered_on < chosen.end:
                row.orders += 1
                row.ordered += amount
            if stage == SHIPPED:
                shipped_on = shipment_day(str((data or {}).get("shipped_on") or "")) or self._day(closed_at)
                if shipped_on is not None and chosen.start <= shipped_on < chosen.end:
                    row.shipments += 1
                    row.shipped += amount
        names = dict(
            (await self.session.execute(select(Company.id, Company.name).where(Company.id.in_(list(found))))).all()
        )
        dealers = []
        for company_id, row in found.items():
            if row.orders or row.shipments:
                row.dealer = names.get(company_id, "")
                dealers.append(row)
        dealers.sort(key=lambda r: (-(r.ordered + r.shipped), r.dealer))
        return Report(chosen, dealers)

    def title(self, report: Report, lang: str | None) -> str:
        return self.t(
            "%(period)s, %(start)s – %(last)s",
            lang,
            period=self.t(PERIOD_TITLES[report.period.key], lang),
            start=date_text(report.period.start, self.core.translator.lang(lang)),
            last=date_text(report.period.last, self.core.translator.lang(lang)),
        )

    def table(self, report: Report, lang: str | None) -> Table:
        """The figures as rows: what the chart draws and the Excel file holds, with the totals last."""
        t = self.t
        headers = [
            t("Dealer", lang),
            t("Orders", lang),
            t("Ordered, ₽", lang),
            t("Shipments", lang),
            t("Shipped, ₽", lang),
        ]
        rows: list[list[Any]] = [[r.dealer, r.orders, r.ordered, r.shipments, r.shipped] for r in report.dealers]
        total = report.total
        rows.append([t("Total", lang), total.orders, total.ordered, total.shipments, total.shipped])
        return Table(t("Figures", lang), headers, rows)

    async def chart(self, viewer: access.Viewer, report: Report) -> int:
        """Ordered and shipped per dealer, side by side, as a picture stored for this person."""
        lang = viewer.user.language
        series = [
            Series(self.t("Ordered, ₽", lang), [float(r.ordered) for r in report.dealers], "#90caf9"),
            Series(self.t("Shipped, ₽", lang), [float(r.shipped) for r in report.dealers], "#43a047"),
        ]
        png = await bar_chart_async([r.dealer for r in report.dealers], series, side_by_side=True, counts=False)
        return await self._store(viewer, png, "figures.png", "photo", "image/png")

    async def xlsx(self, viewer: access.Viewer, report: Report) -> int:
        content = to_xlsx(self.table(report, viewer.user.language))
        return await self._store(viewer, content, "figures.xlsx", "document", XLSX)

    async def _store(self, viewer: access.Viewer, content: bytes, name: str, kind: str, mime: str) -> int:
        stored = await self.core.files.add(
            self.session,
            content=content,
            name=name,
            kind=kind,
            now=self.core.clock.now(),
            case_id=None,
            user_id=viewer.user.id,
            mime_type=mime,
        )
        return stored.id
