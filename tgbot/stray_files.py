"""A file sent when no question asks for one: kept (`services.kept_files`) and the person told what becomes of it —
offered at the next question for a file, and which of their open tasks ask for one now (a button asks each one's
questions at once, the file offered, when one answer of it takes a file; else it shows the task's card)."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from flows.form_shape import form_shape
from flows.i18n import _
from flows.model import FILE_TYPES, ProcessDef
from flows.runtime import CaseState, EngineError, TaskState, task_def
from services import kept_files
from services.access import Viewer
from services.core import Core
from services.files import file_ref
from tgbot.callbacks import TaskCb
from tgbot.own_tasks import own_open_tasks, task_rows
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
    rows = task_rows(renderer, lang, [(state, task, _opening(task, outcomes)) for state, task, outcomes in asking])
    return renderer.t(KEPT_FOR_TASKS, lang), {"inline_keyboard": rows}


def _opening(task: TaskState, outcomes: list[str | None]) -> TaskCb:
    """The button under the notice: the one answer that takes a file begun at once (a warehouse worker who sent the
    recount is asked for it, the file offered, not shown the card to press «Готово» on first); which answer is meant
    is the person's to say when several take one."""
    if len(outcomes) == 1 and outcomes[0] is not None:
        return TaskCb(action="out", task_id=task.id or 0, arg=outcomes[0])
    return TaskCb(action="card", task_id=task.id or 0)


async def _tasks_asking_a_file(
    core: Core, session: AsyncSession, viewer: Viewer
) -> list[tuple[CaseState, TaskState, list[str | None]]]:
    """The person's own open tasks (a page of “My tasks”) whose forms ask for a photo or a document, each with its
    case (an item's form is named by the item) and the answers (outcomes) whose forms ask for one."""
    found = [(state, task, _outcomes_asking_a_file(state.spec, task))
             for state, task in await own_open_tasks(core, session, viewer)]  # fmt: skip
    return [(state, task, outcomes) for state, task, outcomes in found if outcomes]


def _outcomes_asking_a_file(spec: ProcessDef, task: TaskState) -> list[str | None]:
    try:
        outcomes: list[str | None] = [*task_def(spec, task.stage, task.key).outcome_defs()] or [None]
    except (EngineError, KeyError):
        return []
    return [outcome for outcome in outcomes if _asks_a_file(spec, task, outcome)]


def _asks_a_file(spec: ProcessDef, task: TaskState, outcome: str | None) -> bool:
    fields, names = form_shape(spec, task, outcome)
    for name in names:
        field = fields.get(name)
        inner = list((field.fields or {}).values()) if field is not None else []
        if any(f is not None and f.type in FILE_TYPES for f in [field, *inner]):
            return True
    return False
