"""Sub-processes a stage calls and waits for (`call:` in a definition): starting the child, taking its result
back to the parent when it ends, and cancelling the children of a cancelled parent.

Which child a parent waits for is kept in the two cases' data (no column): the child's `CALLED_BY` names the
parent, its stage and that stage's visit; the parent's `CALLS` names the child per stage, for its card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from db.models import Case
from flows.i18n import _
from flows.runtime import (
    CALLED_BY,
    CALLS,
    CallProcess,
    CancelCalls,
    CaseClosed,
    Effect,
    Notify,
    TaskClosed,
    waiting_call,
)
from flows.status import CASE_CLOSED, CaseStatus
from services.cases.effects import apply_effect, handles
from services.cases.state import Loaded
from services.i18n import LANGUAGES

if TYPE_CHECKING:
    from services.cases.service import CaseService


# Why a child is cancelled, for the people who held work in it (a definition's text, in its languages).
_CANCEL_NOTES: dict[str, dict[str, str]] = {
    "cancelled": {
        "ru": "Дело отменено: его вызвало дело №{parent}, и то отменено.",
        "en": "Case cancelled: case #{parent}, which called it, was cancelled.",
    },
    "joined": {
        "ru": "Дело отменено: дело №{parent}, которое его вызвало, уже получило нужные ответы.",
        "en": "Case cancelled: case #{parent}, which called it, already has the answers it needed.",
    },
    "removed": {
        "ru": "Дело отменено: его запись убрана из списка дела №{parent}.",
        "en": "Case cancelled: its entry was removed from the list of case #{parent}.",
    },
}


# The reason a child's own `on_cancel` texts read (`cancel_reason`) when no person's words say it.
_WHY: dict[str, str] = {
    "cancelled": _("cancelled together with case #%(parent)s"),
    "joined": _("case #%(parent)s, which called it, already has the answers it needed"),
    "removed": _("its entry was removed from the list of case #%(parent)s"),
}


def _result(effect: CaseClosed) -> str:
    if effect.status == CaseStatus.CANCELLED:
        return "cancelled"
    return effect.result or "success"  # a final stage without a result counts as done


@handles(CallProcess)
async def call_process(service: CaseService, loaded: Loaded, effect: CallProcess, actor_id: int | None) -> None:
    if effect.entry is not None and waiting_call(loaded.state) != effect.stage:
        return  # an earlier child of the same step ended at once and met the join: the rest are not needed
    initiator = await service.people.user(effect.initiator_id)
    if initiator is None:
        raise RuntimeError(f"case {loaded.row.id}: nobody to start the sub-process {effect.process}")
    called: dict[str, Any] = {"case": loaded.row.id, "stage": effect.stage, "visit": effect.visit}
    if effect.entry is not None:
        called["entry"] = effect.entry
    parent_id = loaded.row.id
    # While the child starts, this parent is the one in memory: a child that ends at once (no human step)
    # must not reload it from the database, which does not have this step yet; its result is applied below.
    service.calling.add(parent_id)
    try:
        child = await service.start(initiator, effect.process, effect.data, parent=loaded, called_by=called)
    finally:
        service.calling.discard(parent_id)
    engine = service.core.engine
    detail: dict[str, Any] = {"process": effect.process, "case": child.row.id}
    if effect.entry is None:
        loaded.state.data.setdefault(CALLS, {})[effect.stage] = child.row.id
    else:
        engine.child_started(loaded.state, effect.stage, effect.visit, effect.entry, child.row.id)
        detail["entry"] = effect.entry
    service.store.audit(loaded, actor_id, "case.called", detail)
    spec, stage = child.state.spec, child.state.stage
    if child.state.status in CASE_CLOSED:
        result = "cancelled" if child.state.status == CaseStatus.CANCELLED else (child.state.result or "success")
        effects = engine.child_ended(
            loaded.state, effect.stage, effect.visit, result, child.state.data, effect.entry, (spec, stage)
        )
    elif effect.entry is not None:
        effects = engine.child_moved(loaded.state, effect.stage, effect.visit, effect.entry, spec, stage)
    else:
        effects = []
    for follow in effects:
        await apply_effect(service, loaded, follow, actor_id)


async def return_to_parent(service: CaseService, loaded: Loaded, effect: CaseClosed, actor_id: int | None) -> None:
    """A case that was called has ended: its parent takes the result and the fields back and moves on."""
    called = loaded.state.data.get(CALLED_BY)
    if not isinstance(called, dict) or loaded.row.parent_id is None or loaded.row.parent_id in service.calling:
        return
    parent = await service.load(loaded.row.parent_id)
    entry = called.get("entry")
    entry = entry if isinstance(entry, int) else None
    service.returning.add(loaded.row.id)  # ended: the parent's join must not cancel it on top
    try:
        effects = service.core.engine.child_ended(
            parent.state,
            str(called.get("stage")),
            int(called.get("visit") or 0),
            _result(effect),
            loaded.state.data,
            entry,
            (loaded.state.spec, loaded.state.stage),
        )
        if effects or entry is not None:  # a child of an entry: its end is kept in the parent even so
            await service.save(parent, effects, actor_id, "case.call_returned", {"case": loaded.row.id})
    finally:
        service.returning.discard(loaded.row.id)


async def child_moved(service: CaseService, loaded: Loaded, actor_id: int | None) -> None:
    """A child of a `for_each` call moved on: its parent, which may follow its children, learns where it is, in
    the same transaction."""
    called = loaded.state.data.get(CALLED_BY)
    if (
        not isinstance(called, dict)
        or not isinstance(called.get("entry"), int)
        or loaded.row.parent_id is None
        or loaded.row.parent_id in service.calling
        or loaded.state.status != CaseStatus.ACTIVE
    ):
        return
    parent = await service.load(loaded.row.parent_id)
    stage, visit = str(called.get("stage")), int(called.get("visit") or 0)
    effects = service.core.engine.child_moved(
        parent.state, stage, visit, int(called["entry"]), loaded.state.spec, loaded.state.stage
    )
    await service.save(parent, effects, actor_id, "case.child_moved", {"case": loaded.row.id})


@handles(CancelCalls)
async def cancel_calls(service: CaseService, loaded: Loaded, effect: CancelCalls, actor_id: int | None) -> None:
    rows = await service.session.execute(
        select(Case.id)
        .where(Case.parent_id == loaded.row.id, Case.status.not_in([s.value for s in CASE_CLOSED]))
        .order_by(Case.id)
    )
    parent_id, translator = loaded.row.id, service.core.translator
    service.calling.add(parent_id)  # the children's end must not move this parent: it is being cancelled
    try:
        for child_id in rows.scalars().all():
            if child_id in service.returning:
                continue  # the child whose end met the join: it has ended already
            child = await service.load(child_id)
            called = child.state.data.get(CALLED_BY)
            if not isinstance(called, dict) or called.get("case") != parent_id:
                continue  # a hand-off (`start:`) lives on by itself
            if effect.entries is not None and called.get("entry") not in effect.entries:
                continue
            if child.state.status in CASE_CLOSED:
                continue
            # Its own `on_cancel` texts read why: the parent's reason as the person cancelling it gave it, else
            # the system's words for why the child went (never an empty «Причина: »).
            reason = loaded.closed_reason if effect.reason == "cancelled" else None
            child.closed_reason = reason  # and its own children carry it on
            why = reason or {lang: translator.t(_WHY[effect.reason], lang, parent=parent_id) for lang in LANGUAGES}
            effects: list[Effect] = service.core.engine.cancel(child.state, actor_id, why)
            # Everyone who held work in the child learns why it went (its initiator hears of the closing anyway).
            holders = {
                e.task.assignee_id
                for e in effects
                if isinstance(e, TaskClosed) and e.task.assignee_id not in (None, child.state.initiator_id)
            }
            if holders:
                text = _CANCEL_NOTES[effect.reason]
                text = {lang: line.format(parent=parent_id) for lang, line in text.items()}
                effects.append(Notify(kind="text", user_ids=tuple(sorted(h for h in holders if h)), text=text))
            await service.save(
                child, effects, actor_id, "case.cancelled", {"with_parent": parent_id, "reason": effect.reason}
            )
    finally:
        service.calling.discard(parent_id)
