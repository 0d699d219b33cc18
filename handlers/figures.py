"""`/figures` (and the menu's «📈 Figures»): shipments and sales per dealer for a period as a chart, with buttons
for another period and «📊 Excel» for the same numbers as a file."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from handlers.common import AfterCommit, MenuButton, Registered, answer
from services.access import Viewer
from services.figures import PERIODS, Figures
from tgbot import figures_view
from tgbot.callbacks import FiguresCb
from tgbot.menu_view import FIGURES
from tgbot.render import Renderer
from tgbot.replies import Replies


def router() -> Router:
    figures = Router(name=__name__)
    figures.message.filter(Registered())
    figures.callback_query.filter(Registered())
    figures.message.register(figures_command, Command("figures", "показатели"))
    figures.message.register(figures_command, MenuButton(FIGURES))
    figures.callback_query.register(figures_button, FiguresCb.filter())
    return figures


async def figures_command(
    message: Message, figures: Figures, replies: Replies, renderer: Renderer, viewer: Viewer
) -> None:
    await show(message.chat.id, figures, replies, renderer, viewer, "month", None)


async def figures_button(
    query: CallbackQuery,
    callback_data: FiguresCb,
    figures: Figures,
    replies: Replies,
    renderer: Renderer,
    viewer: Viewer,
    after_commit: AfterCommit,
) -> None:
    key = callback_data.period if callback_data.period in PERIODS else "month"
    start = _day(callback_data.start)
    if callback_data.action == "xlsx":
        report = await figures.build(viewer, key, start)
        file_id = await figures.xlsx(viewer, report)
        replies.document(viewer.user.tg_id, file_id, figures.title(report, viewer.user.language))
    else:
        await show(viewer.user.tg_id, figures, replies, renderer, viewer, key, start)
    answer(after_commit, query)


async def show(
    chat_id: int, figures: Figures, replies: Replies, renderer: Renderer, viewer: Viewer, key: str, start: date | None
) -> None:
    lang = viewer.user.language
    report = await figures.build(viewer, key, start)
    text = figures_view.caption(renderer, figures.title(report, lang), report, lang)
    keyboard = figures_view.keyboard(renderer, report, lang)
    if report.empty:
        replies.say(chat_id, text, keyboard)
    else:
        replies.photo(chat_id, await figures.chart(viewer, report), text, keyboard)


def _day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date() if text else None
    except ValueError:
        return None
