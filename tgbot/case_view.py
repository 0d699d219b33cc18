"""The case card with what this person may do with it (move it by hand, cancel it)."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, User, WorkPeriod
from flows.status import CaseStatus
from services.cases import CaseService, Loaded
from tgbot.callbacks import CaseCb
from tgbot.render import renderer_for


async def work_lines(service: CaseService, loaded: Loaded, lang: str) -> list[str]:
    """Time spent on the case's timed tasks, per person and task."""
    session: AsyncSession = service.session
    rows = (
        await session.execute(
            select(WorkPeriod.user_id, Task.key, Task.stage, WorkPeriod.started_at, WorkPeriod.ended_at)
            .join(Task, Task.id == WorkPeriod.task_id)
            .where(WorkPeriod.case_id == loaded.row.id)
            .order_by(WorkPeriod.started_at)
        )
    ).all()
    if not rows:
        return []
    now = service.now
    totals: dict[tuple[int, str, str], float] = {}
    for user_id, key, stage, started, ended in rows:
        totals[(user_id, key, stage)] = (
            totals.get((user_id, key, stage), 0.0) + ((ended or now) - started).total_seconds()
        )
    names = {
        u.id: u.name for u in (await session.execute(select(User).where(User.id.in_({k[0] for k in totals})))).scalars()
    }
    renderer = service.core.wording
    lines = [renderer.t("⏱ Time spent:", lang)]
    for (user_id, key, stage), seconds in totals.items():
        task_title = renderer.tr.local(loaded.state.spec.task(stage, key).title, lang)
        lines.append(f"  {names.get(user_id, '?')} — {task_title}: {renderer.duration(seconds, lang)}")
    return lines


async def case_view(service: CaseService, user: User, loaded: Loaded) -> tuple[str, dict[str, Any] | None]:
    core = service.core
    lang = user.language
    names = await service.names(loaded.state)
    text = renderer_for(core).case_card(loaded.state, lang, names=names, open_tasks=loaded.state.open_tasks())
    extra = await work_lines(service, loaded, lang)
    if extra:
        text = text + "\n\n" + "\n".join(extra)
    rows: list[list[InlineKeyboardButton]] = []
    for target in await service.allowed_moves(user, loaded):
        move = next(m for m in loaded.state.spec.stage(loaded.state.stage).moves if m.to == target)
        label = (
            core.translator.local(move.label, lang)
            if move.label
            else "➡️ " + core.wording.stage_title(loaded.state.spec, target, lang)
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text=label[:60], callback_data=CaseCb(action="move", case_id=loaded.row.id, arg=target).pack()
                )
            ]
        )
    state = loaded.state
    if (
        state.status == CaseStatus.ACTIVE
        and state.stage in {st.key for st in state.spec.stages}
        and (user.is_admin or user.id in (state.responsible_id, state.initiator_id))
    ):
        for name in state.spec.stage(state.stage).editable:
            label = "✏️ " + core.translator.local(state.spec.fields[name].label, lang)
            rows.append(
                [
                    InlineKeyboardButton(
                        text=label[:60], callback_data=CaseCb(action="edit", case_id=loaded.row.id, arg=name).pack()
                    )
                ]
            )
    if loaded.state.status == CaseStatus.ACTIVE and (user.is_admin or loaded.state.initiator_id == user.id):
        rows.append(
            [
                InlineKeyboardButton(
                    text=core.translator.t("✖️ Cancel the case", lang),
                    callback_data=CaseCb(action="cancel", case_id=loaded.row.id).pack(),
                )
            ]
        )
    markup = InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True) if rows else None
    return text[:4000], markup
