"""The chat's renderer: message texts and keyboards built from engine state, in parts —
`tgbot.render_cards` (task, draft and case cards), `tgbot.render_items` (item cards), `tgbot.render_escalations`
(an escalation's buttons and pickers) and `tgbot.render_forms` (form questions, summary and corrections).
Plain text (no parse mode): user data is never markup."""

from __future__ import annotations

from services.core import Core
from tgbot.render_base import MAX_TEXT as MAX_TEXT
from tgbot.render_base import markup as markup
from tgbot.render_base import pieces as pieces
from tgbot.render_cards import CardHead as CardHead
from tgbot.render_cards import TaskCards
from tgbot.render_escalations import EscalationPickers
from tgbot.render_forms import FormPrompts


def renderer_for(core: Core) -> Renderer:
    """The chat's renderer over the shared texts (cheap: it holds the translator, the time zone, the calendar and
    the clock: a due date passed is marked so, `Wording.due`)."""
    calendar = core.calendar
    return Renderer(core.translator, calendar.tz, calendar=calendar, clock=core.clock)


class Renderer(TaskCards, EscalationPickers, FormPrompts):
    """Wording plus the chat's cards and keyboards."""
