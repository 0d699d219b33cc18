"""A digest in chat: its text (each group's first lines, the load, the totals), the buttons that open a group's
list or its Excel file, and the `/digest` settings (on/off, the hour, «send now»)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from flows.values import format_value
from services.charts import Table
from services.digests import GROUPS, HOURS, Digest, Subscription, group_title, period_key, table
from tgbot.callbacks import DigestCb, button_label
from tgbot.render import Renderer

SHOWN = 5  # lines of a group in the digest itself; its list button has them all
ICONS = {"yours": "✍️", "overdue": "⏰", "today": "📅", "stuck": "🐢", "moved": "🔄"}


def digest_text(r: Renderer, digest: Digest, lang: str) -> str:
    t = r.t
    head = t("📊 Digest, %(when)s", lang, when=r.when(digest.now, lang))
    if digest.empty:
        return head + ". " + t("Nothing to report: nothing is late, due today, stuck or moved.", lang)
    parts = [head]
    for group in GROUPS:
        listed = table(r, digest, group, lang)
        lines = listed.rows
        if not lines:
            continue
        parts.append(f"\n{ICONS[group]} {listed.title}: {len(lines)}")
        for row in lines[:SHOWN]:
            parts.append(_line(r, group, row, lang))
        if len(lines) > SHOWN:
            parts.append(t("… and %(n)s more", lang, n=len(lines) - SHOWN))
    if digest.load:
        parts.append("\n👥 " + t("Open tasks per person", lang) + ":")
        parts += [
            "• " + t("%(who)s: open %(open)s, overdue %(late)s", lang, who=x.holder, open=x.open, late=x.overdue)
            for x in digest.load
        ]
    if digest.processes:
        parts.append("\n📁 " + t("Per process", lang) + ":")
        for x in digest.processes:
            line = t(
                "%(process)s: cases %(cases)s, open tasks %(open)s, overdue %(late)s",
                lang,
                process=x.process,
                cases=x.cases,
                open=x.open,
                late=x.overdue,
            )
            if x.amount is not None:  # what the open cases are worth, where the process says what that is
                line += t(", worth %(amount)s", lang, amount=format_value("money", x.amount, lang=r.tr.lang(lang)))
            parts.append("• " + line)
    return "\n".join(parts)


def _line(r: Renderer, group: str, row: list[str], lang: str) -> str:
    if group == "yours":
        case, _process, task, holder, due = row
        if due == "—":
            return "• " + r.t("%(case)s — “%(task)s”, %(who)s", lang, case=case, task=task, who=holder)
        return "• " + r.t(
            "%(case)s — “%(task)s”, %(who)s, due %(when)s", lang, case=case, task=task, who=holder, when=due
        )
    if group == "overdue":
        case, _process, task, holder, _due, late = row
        return "• " + r.t(
            "%(case)s — “%(task)s”, %(who)s, late by %(late)s", lang, case=case, task=task, who=holder, late=late
        )
    if group == "today":
        case, _process, task, holder, due, _left = row
        return "• " + r.t(
            "%(case)s — “%(task)s”, %(who)s, due %(when)s", lang, case=case, task=task, who=holder, when=due
        )
    if group == "stuck":
        case, _process, stage, since, norm = row
        return "• " + r.t(
            "%(case)s — “%(stage)s” since %(since)s (norm: %(norm)s)",
            lang,
            case=case,
            stage=stage,
            since=since,
            norm=norm,
        )
    case, _process, source, target, _when = row
    return f"• {case}: {source} → {target}"


def digest_keyboard(r: Renderer, digest: Digest, lang: str) -> InlineKeyboardMarkup | None:
    rows, since = [], period_key(digest.since)
    for group in GROUPS:
        count = len(digest.group(group))
        if not count:
            continue
        title = group_title(r, digest, group, lang)
        rows.append(
            [
                InlineKeyboardButton(
                    text=button_label(f"📋 {title} ({count})"),
                    callback_data=DigestCb(action="list", arg=group, since=since).pack(),
                ),
                InlineKeyboardButton(
                    text="📊 Excel", callback_data=DigestCb(action="xlsx", arg=group, since=since).pack()
                ),
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def list_text(r: Renderer, table: Table, lang: str, group: str = "") -> str:
    if not table.rows:
        return r.t("%(group)s: none now.", lang, group=table.title)
    lines = [f"{table.title}: {len(table.rows)}"]
    if group == "moved":  # where a case was and where it is, as the digest says it: «from → to» (and when)
        lines += [f"• {case}: {source} → {target} ({when})" for case, _process, source, target, when in table.rows]
    else:
        lines += ["• " + " · ".join(str(cell) for cell in row) for row in table.rows]
    return "\n".join(lines)


def settings_text(r: Renderer, sub: Subscription | None, lang: str) -> str:
    if sub is None or not sub.on:
        return r.t("You do not receive the digest. Turn it on and pick the hour:", lang)
    return r.t(
        "You receive the digest on working days at %(at)s (company time). Change the hour, turn it off or get it now:",
        lang,
        at=sub.at.strftime("%H:%M"),
    )


def settings_keyboard(r: Renderer, sub: Subscription | None, lang: str, ref: int = 0) -> InlineKeyboardMarkup:
    """The settings' buttons; `ref`: the message they sit on (its outbox row), which a change edits."""
    on = sub is not None and sub.on
    toggle = (
        InlineKeyboardButton(text=r.t("🔕 Turn off", lang), callback_data=DigestCb(action="off", ref=ref).pack())
        if on
        else InlineKeyboardButton(text=r.t("🔔 Turn on", lang), callback_data=DigestCb(action="on", ref=ref).pack())
    )
    hours = []
    for hour in HOURS:
        label = hour.strftime("%H:%M")
        mark = "✓ " if on and sub is not None and sub.at == hour else ""
        hours.append(
            InlineKeyboardButton(
                text=mark + label, callback_data=DigestCb(action="at", arg=hour.strftime("%H%M"), ref=ref).pack()
            )
        )
    now = InlineKeyboardButton(text=r.t("📨 Send now", lang), callback_data=DigestCb(action="now").pack())
    return InlineKeyboardMarkup(inline_keyboard=[[now, toggle], hours[:3], hours[3:]])
