"""What the admin commands about processes show in chat: /processes, /diagram's and /export's buttons, /worktime."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from services.worktime import WorkReport
from tgbot.callbacks import (
    DiagramCb,
    ExportCb,
    button_label,
)
from tgbot.render import Renderer


def diagram_keyboard(processes: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """`/diagram`: one button per process, by its title."""
    rows = [
        [InlineKeyboardButton(text=button_label(title), callback_data=DiagramCb(process=key).pack())]
        for key, title in processes
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def export_keyboard(processes: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """`/export`: one button per process, by its title (an admin picks, never types a key)."""
    rows = [
        [InlineKeyboardButton(text=button_label(title), callback_data=ExportCb(process=key).pack())]
        for key, title in processes
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def processes(renderer: Renderer, listed: list[tuple[str, int | None, str]], lang: str) -> str:
    """`/processes`: each process by its title and version, with the commands that take the title (its key is
    the definition's, never shown to a person)."""
    t = renderer.t
    lines = [t("Processes (send a definition as a .yaml file to check it; with the caption /load to load it):", lang)]
    for _key, version, title in sorted(listed, key=lambda item: item[2]):
        said = t("version %(n)s", lang, n=version) if version is not None else t("not loaded yet", lang)
        lines.append(t("• %(title)s — %(version)s: /diagram %(title)s · /export %(title)s", lang, title=title,
                       version=said))  # fmt: skip
    return "\n".join(lines)


def worktime(renderer: Renderer, report: WorkReport, lang: str) -> str:
    t = renderer.t
    if not report.by_process:
        return t("No timed work in the last %(days)s days.", lang, days=report.days)
    lines = [t("Time spent in the last %(days)s days:", lang, days=report.days)]
    lines += [f"{name} — {title}: {renderer.duration(seconds, lang)}" for name, title, seconds in report.by_process]
    lines.append("")
    lines += [
        t("%(name)s in total: %(spent)s", lang, name=name, spent=renderer.duration(seconds, lang))
        for name, seconds in report.by_person
    ]
    return "\n".join(lines)
