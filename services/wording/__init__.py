"""Words for people, from engine state: labels in the reader's language, dates in the company's time zone,
field values and summaries. Neutral to the channel: the chat, the panel, reports and e-mail all use it.

`Wording` is put together from one part a concern: `values` (moments, deadlines, a field's value), `files`,
`titles` (roles, stages, tasks, cases, decisions), `summaries` and `hints` (what a question asks to send), over
`base`; `names` holds the keys named as words (roles, kinds of organisation, statuses)."""

from __future__ import annotations

from services.wording.hints import HintWords
from services.wording.summaries import SummaryWords
from services.wording.titles import TitleWords


class Wording(TitleWords, SummaryWords, HintWords):
    """Every word the channels say of engine state, one object (`Core.wording`)."""
