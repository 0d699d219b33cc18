"""The person's own open tasks as buttons under a notice that may be about one of them: a file sent to the chat
(`tgbot.stray_files`), words typed with no question open (`tgbot.stray_words`) — one button a task, its title."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flows.runtime import CaseState, TaskState
from services.access import Viewer
from services.core import Core
from services.menu import Menu
from tgbot.callbacks import TaskCb, button, button_label
from tgbot.render import Renderer


async def own_open_tasks(core: Core, session: AsyncSession, viewer: Viewer) -> list[tuple[CaseState, TaskState]]:
    """A page of “My tasks”, the ones the person holds (not those waiting in their roles' pools, nor the cases waiting
    for their hand move: a file or words sent to the chat are no answer to a move)."""
    page = await Menu(core, session).my_tasks(viewer, waiting=False)
    return [(state, task) for state, task in page.entries if task.assignee_id == viewer.user.id]


def task_rows(
    renderer: Renderer, lang: str, tasks: list[tuple[CaseState, TaskState, TaskCb]]
) -> list[list[dict[str, Any]]]:
    """A row a task: «📋 its title», the button doing what its `TaskCb` says."""
    return [
        [button(button_label(f"📋 {renderer.task_title(state.spec, task, lang, state.data)}"), pressed.pack())]
        for state, task, pressed in tasks
    ]
