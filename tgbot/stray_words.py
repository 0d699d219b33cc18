"""Words typed when no form or question is open: often the person's answer to a task of theirs, typed instead of
pressed (a warehouse worker writing his result under the card). Not taken as an answer — it may answer nothing they
meant — but their open tasks are shown under «not understood», a press bringing back each one's card."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.i18n import _
from services.access import Viewer
from services.core import Core
from services.menu import Menu
from tgbot.callbacks import TaskCb, button, button_label
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
    page = await Menu(core, session).my_tasks(viewer)
    rows = [
        [button(button_label(f"📋 {renderer.task_title(state.spec, task, lang, state.data)}"),
                TaskCb(action="card", task_id=task.id or 0).pack())]
        for state, task in page.entries if task.assignee_id == viewer.user.id
    ][:MOST]  # fmt: skip
    if not rows:
        return None
    return renderer.t(NOT_UNDERSTOOD_TASKS, lang), {"inline_keyboard": rows}
