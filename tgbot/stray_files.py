"""A file sent when no question asks for one: kept (`services.kept_files`) and the person told what becomes of it —
offered at the next question for a file, and which of their open tasks ask for one now (a button opens each)."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from flows.form_shape import form_shape
from flows.i18n import _
from flows.model import FILE_TYPES, ProcessDef
from flows.runtime import EngineError, TaskState, task_def
from services import kept_files
from services.access import Viewer
from services.core import Core
from services.files import file_ref
from services.menu import Menu
from tgbot.callbacks import TaskCb, button, button_label
from tgbot.render import Renderer

TOO_LARGE = _("This file is too large; please send one under 20 MB.")
KEPT = _("📎 Saved: I will offer this file when a question asks for one (I keep it for a day).")
KEPT_FOR_TASKS = _(
    "📎 Saved: I will offer this file when a question asks for one. These tasks of yours ask for a file:"
)


async def keep_stray(
    core: Core, session: AsyncSession, renderer: Renderer, viewer: Viewer, message: Message, downloads: dict[str, bytes]
) -> tuple[str, dict[str, Any] | None] | None:
    """Keep the photo or document of `message`; what to say to the person (None: nothing more, the rest of an album
    already told)."""
    user, lang = viewer.user, viewer.user.language
    item = message.photo[-1] if message.photo else message.document
    assert item is not None
    if item.file_id not in downloads:
        return renderer.t(TOO_LARGE, lang), None
    mime: str | None
    if message.photo:
        name, kind, mime = f"photo_{item.file_unique_id}.jpg", "photo", "image/jpeg"  # as a form's photo is named
    else:
        assert message.document is not None
        name, kind, mime = message.document.file_name or "file", "document", message.document.mime_type
    now = core.clock.now()
    stored = await core.files.add(
        session, content=downloads[item.file_id], name=name, kind=kind, now=now, case_id=None, user_id=user.id,
        mime_type=mime, tg_file_id=item.file_id, tg_unique_id=item.file_unique_id,
    )  # fmt: skip
    if not kept_files.keep(user, file_ref(stored), message.media_group_id, now):
        return None
    asking = await _tasks_asking_a_file(core, session, viewer)
    if not asking:
        return renderer.t(KEPT, lang), None
    rows = [
        [button(button_label(f"📋 {renderer.task_title(spec, task, lang, data)}"),
                TaskCb(action="card", task_id=task.id or 0).pack())]
        for spec, task, data in asking
    ]  # fmt: skip
    return renderer.t(KEPT_FOR_TASKS, lang), {"inline_keyboard": rows}


async def _tasks_asking_a_file(
    core: Core, session: AsyncSession, viewer: Viewer
) -> list[tuple[ProcessDef, TaskState, dict[str, Any]]]:
    """The person's own open tasks (a page of “My tasks”) whose forms ask for a photo or a document, each with its
    case's data (an item's form is named by the item)."""
    page = await Menu(core, session).my_tasks(viewer)
    return [(state.spec, task, state.data) for state, task in page.entries if task.assignee_id == viewer.user.id
            and _asks_a_file(state.spec, task)]  # fmt: skip


def _asks_a_file(spec: ProcessDef, task: TaskState) -> bool:
    try:
        outcomes: list[str | None] = [*task_def(spec, task.stage, task.key).outcome_defs()] or [None]
    except (EngineError, KeyError):
        return False
    for outcome in outcomes:
        fields, names = form_shape(spec, task, outcome)
        for name in names:
            field = fields.get(name)
            inner = list((field.fields or {}).values()) if field is not None else []
            if any(f is not None and f.type in FILE_TYPES for f in [field, *inner]):
                return True
    return False
