"""The engine's view of case and task rows (and back): one mapping, shared by the store and the batch views."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Task, WorkPeriod
from flows.model import LocalText, ProcessDef
from flows.runtime import CaseState, TaskState, task_def

if TYPE_CHECKING:
    from services.people import FormTask


class CardRef(NamedTuple):
    """A task card as read with its case: only read (who holds it, which message to edit), so plain columns, not
    an ORM object (the load builds no identity-mapped card objects)."""

    id: int
    task_id: int
    user_id: int
    outbox_id: int


@dataclass
class Loaded:
    """A case as one command works on it: its row, the engine state, and the rows of its open tasks."""

    row: Case
    state: CaseState
    task_rows: dict[int, Task]
    # Started by a person in chat right now: the start form is asked in that conversation, not as a card.
    interactive: bool = False
    # (key, stage) of the form the acting person's chat asks right now (a move's or a field change's): its task is
    # theirs and is not also sent to them as a card.
    asked_in_chat: tuple[str, str] | None = None
    # The cards of the open tasks as loaded with the case (by task id): a task that changes has its cards
    # edited without another query. Cards given within the step are not here (the notifier reads them).
    cards: dict[int, list[CardRef]] = field(default_factory=dict)
    # The stored files each chat was sent in the case before this step (by Telegram chat id), read with the case:
    # a card leaves them out (`services.outbox.files_sent`). None: not read with it (the outbox is asked).
    files_sent: dict[int, set[int]] | None = None
    # Cancelled before it was registered: what it gave back, in words for its author (a msgid; `Core.draft_dropped`).
    given_back: str | None = None
    # Closed by whom (a person's id; None: the clock, the panel's token) and, for an admin's cancellation, why: the
    # case's people read both in the notice that it ended.
    closed_by: int | None = None
    closed_reason: str | None = None
    # People told by a message of their own that the case they worked on is cancelled (`CaseService.close_cancelled`).
    told_cancelled: set[int] = field(default_factory=set)
    # Everyone who hears the cancel by a message of the system's own (those above, whoever did its work, its
    # initiator and whoever leads it but the one cancelling), and the process's own words to them on that cancel
    # (its `on_cancel` notices): said in that message, not in a second one (`effects.notify`).
    hears_cancel: set[int] = field(default_factory=set)
    cancel_words: dict[int, list[Any]] = field(default_factory=dict)
    # The person whose chat registers the case in this step (its start form confirmed): told so by one message, the
    # first of the step, with the process's own notices to them in it (`CaseService.save`).
    registering: int | None = None
    registered: bool = False  # that message was written
    # The person whose chat answers this step (their form confirmed, their card's button pressed): the process's own
    # notices to them are kept here by `effects.notify` and said in that answer — «✅ Готово …» and the notice in one
    # message, not the notice first and the answer to what they did after it (`Conversation`, `Notifier.own_words`).
    answering: int | None = None
    own_words: list[Any] = field(default_factory=list)
    # The step's effects, and the people a notice of the process's own text reaches in it: they are not also sent
    # the generic «теперь «…»» line for the same move (`effects.stage_entered`).
    step_effects: list[Any] = field(default_factory=list)
    noticed: set[int] | None = None
    # A case another one's step started (a quote agreed starts the contract): its initiator started nothing by hand,
    # so the first message of the step tells them which case it continues and what comes next, with the process's own
    # first words to them in it (`StepWrites.save`); `continued_to` is who was told so.
    continues: Loaded | None = None
    continued_to: int | None = None


def copy_data(value: Any) -> Any:
    """A deep copy of a case's data (JSON: dicts, lists and scalars) several times faster than `copy.deepcopy`;
    anything else in it is deep-copied as before."""
    kind = type(value)
    if kind is dict:
        return {key: copy_data(item) for key, item in value.items()}
    if kind is list:
        return [copy_data(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def task_state(row: Task | FormTask) -> TaskState:
    return TaskState(
        key=row.key,
        stage=row.stage,
        visit=row.visit,
        kind=row.kind,
        role=row.role,
        assignee_id=row.assignee_id,
        status=row.status,  # type: ignore[arg-type]
        due_at=row.due_at,
        created_at=row.created_at,
        outcome=row.outcome,
        done_by=row.done_by,
        done_at=row.done_at,
        id=row.id,
    )


def case_state(
    row: Case,
    spec: ProcessDef,
    task_rows: Iterable[Task],
    data: dict[str, Any],
    title_template: LocalText | None = None,
) -> CaseState:
    """The engine's view of a case row and its open task rows (`title_template`: `Registry.title_template`)."""
    return CaseState(
        spec=spec,
        initiator_id=row.initiator_id,
        stage=row.stage,
        status=row.status,  # type: ignore[arg-type]
        data=data,
        responsible_id=row.responsible_id,
        visit=row.visit,
        result=row.result,
        title=row.title,
        titles=row.titles,
        id=row.id,
        tasks=[task_state(t) for t in task_rows],
        title_template=title_template,
    )


async def load_work(session: AsyncSession, states: list[CaseState]) -> None:
    """Time worked on the open timed tasks of these cases, in one statement (shown on cards)."""
    timed = {
        t.id: t
        for state in states
        for t in state.tasks
        if t.id is not None and task_def(state.spec, t.stage, t.key).timing
    }
    if not timed:
        return
    for period in (await session.execute(select(WorkPeriod).where(WorkPeriod.task_id.in_(timed)))).scalars():
        task = timed[period.task_id]
        if period.ended_at is None:
            task.work_started_at = period.started_at
        else:
            task.worked_seconds += (period.ended_at - period.started_at).total_seconds()
