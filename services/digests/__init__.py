"""Digests: what a director (or anyone who asks) must know each morning, scoped to what they may see.

A digest holds the overdue tasks (who holds them, how late), the tasks due today, the cases stuck at a stage
longer than its norm, what moved since the last digest, the open work per person and the totals per process,
with a chart of open and overdue work. Everything a person reads is a label in their language.

Subscriptions live in the `settings` table (key `digest:<user id>`, value `{"on", "at", "last"}`): a few facts
per person, no schema change. Each subscribed person has one pending timer (kind `digest`) for the next working
day at their hour (in the company's time zone, on the production calendar); when it fires the digest is sent
and the next one is set — a holiday or a weekend is never a digest day.

`subscriptions.py` the subscriptions and their timers; `contents.py` what a digest holds, its tables and chart;
`building.py` a person's digest built, sent, listed (`Digests`) and a digest timer fired (`fire`).
"""

from services.digests.building import Digests, fire
from services.digests.contents import (
    CHART_PEOPLE,
    GROUP_TITLES,
    GROUPS,
    CaseLine,
    Digest,
    Load,
    MoveLine,
    ProcessTotal,
    TaskLine,
    chart,
    chart_async,
    group_title,
    period_key,
    period_start,
    span,
    table,
)
from services.digests.subscriptions import (
    HOURS,
    KIND,
    PREFIX,
    Subscription,
    add_timer,
    ensure_subscriptions,
    key_of,
    next_digest,
    save,
    subscription,
)

__all__ = [
    "CHART_PEOPLE",
    "GROUPS",
    "GROUP_TITLES",
    "HOURS",
    "KIND",
    "PREFIX",
    "CaseLine",
    "Digest",
    "Digests",
    "Load",
    "MoveLine",
    "ProcessTotal",
    "Subscription",
    "TaskLine",
    "add_timer",
    "chart",
    "chart_async",
    "ensure_subscriptions",
    "fire",
    "group_title",
    "key_of",
    "next_digest",
    "period_key",
    "period_start",
    "save",
    "span",
    "subscription",
    "table",
]
