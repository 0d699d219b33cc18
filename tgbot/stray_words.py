"""Words typed when no form or question is open: often the person's answer to a task of theirs, typed instead of
pressed (a warehouse worker writing his result under the card). Not taken as an answer — it may answer nothing they
meant — but their open tasks are shown under «not understood», a press bringing back each one's card."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.i18n import _
from services.access import Viewer
from services.core import Core
from tgbot.callbacks import TaskCb
from tgbot.own_tasks import own_open_tasks, task_rows
from tgbot.render import Renderer

NOT_UNDERSTOOD_TASKS = _(
    "I did not understand that. If it is about a task of yours, open it and answer with its buttons. Your tasks:"
)
MOST = 5  # a page of buttons on a phone; «My tasks» lists them all


async def tasks_to_open(
    core: Core, session: AsyncSession, renderer: Renderer, viewer: Viewer
) -> tuple[str, dict[str, Any]] | None:
    """What to say, with a button to each of the person's own open tasks (a page of “My tasks”); None when they hold
    none (the plain «not understood» and the menu)."""
    lang = viewer.user.language
    tasks = (await own_open_tasks(core, session, viewer))[:MOST]
    if not tasks:
        return None
    rows = task_rows(
        renderer, lang, [(state, task, TaskCb(action="card", task_id=task.id or 0)) for state, task in tasks]
    )
    return renderer.t(NOT_UNDERSTOOD_TASKS, lang), {"inline_keyboard": rows}
