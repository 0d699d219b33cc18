"""Representatives' figures in chat: the chart's caption (the same numbers, in words), the period buttons and
«📊 Excel»."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from services.charts import MAX_BARS
from services.figures import PERIOD_TITLES, PERIODS, DealerFigures, Report
from tgbot.callbacks import FiguresCb
from tgbot.portal_view import money
from tgbot.render import Renderer


def _line(r: Renderer, row: DealerFigures, lang: str) -> str:
    return r.t(
        "%(dealer)s: ordered %(ordered)s (%(orders)s), shipped %(shipped)s (%(shipments)s)",
        lang,
        dealer=row.dealer,
        ordered=money(row.ordered, lang),
        orders=row.orders,
        shipped=money(row.shipped, lang),
        shipments=row.shipments,
    )


def caption(r: Renderer, title: str, report: Report, lang: str) -> str:
    head = "📊 " + r.t("Shipments and sales\n%(period)s", lang, period=title)
    if report.empty:
        return head + "\n" + r.t("No approved orders and no shipments in this period.", lang)
    lines = [head] + ["• " + _line(r, row, lang) for row in report.dealers[:MAX_BARS]]
    if len(report.dealers) > MAX_BARS:
        lines.append(r.t("… and %(n)s more", lang, n=len(report.dealers) - MAX_BARS))
    total = report.total
    total.dealer = r.t("Total", lang)
    lines.append("Σ " + _line(r, total, lang))
    return "\n".join(lines)


def keyboard(r: Renderer, report: Report, lang: str) -> InlineKeyboardMarkup:
    periods = [
        InlineKeyboardButton(
            text=("✓ " if key == report.period.key else "") + r.t(PERIOD_TITLES[key], lang),
            callback_data=FiguresCb(action="show", period=key).pack(),
        )
        for key in PERIODS
    ]
    rows = [periods[:2], periods[2:]]
    if not report.empty:
        start = report.period.start.strftime("%Y%m%d")
        excel = FiguresCb(action="xlsx", period=report.period.key, start=start).pack()
        rows.insert(0, [InlineKeyboardButton(text="📊 Excel", callback_data=excel)])
    return InlineKeyboardMarkup(inline_keyboard=rows)
