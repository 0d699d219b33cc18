"""A hand move's form cancelled by its mover: the move is withdrawn, unless the case would be left waiting for it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import parse_definition
from flows.runtime import MOVE_TASK, CaseState, Engine, EngineError, TaskState

MANAGER = 1
SPEC = parse_definition(
    """
process: quote
title: Просчёт
roles: [manager]
start:
  roles: [manager]
  form: [client]
fields:
  client: {type: text, label: Клиент}
  reason: {type: text, label: Причина отказа}
  note: {type: text, label: Заметка}
stages:
  - key: new
    title: Новая заявка
    tasks:
      - {key: prepare, kind: confirm, assignee: initiator, title: Подготовьте КП}
    moves:
      - {to: refused, label: Отказ}
    next: noted
  - key: noted
    title: Отмечено
    requires: [note]
    next: refused
  - key: refused
    title: Отказ КП
    requires: [reason]
    final: true
    result: failure
"""
).spec


def started(engine: Engine) -> CaseState:
    case, _ = engine.start(SPEC, MANAGER, {"client": "ООО Ромашка"})
    for number, task in enumerate(case.tasks, start=1):
        task.id = number
    return case


def move_form(case: CaseState) -> TaskState:
    task = next(t for t in case.open_tasks() if t.key == MOVE_TASK)
    task.id = 100
    return task


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 7, 7, 0, tzinfo=UTC)))


def test_a_refusal_whose_reason_is_not_given_is_not_made(engine: Engine) -> None:
    case = started(engine)
    engine.move(case, "refused", MANAGER, {"manager"})
    form = move_form(case)
    engine.withdraw_move(case, form, MANAGER)
    # The quote is where it was, its work still open, and no form waits for a reason nobody means to give.
    assert case.stage == "new" and [t.key for t in case.open_tasks()] == ["prepare"]


def test_only_its_mover_withdraws_a_move(engine: Engine) -> None:
    case = started(engine)
    engine.move(case, "refused", MANAGER, {"manager"})
    with pytest.raises(EngineError):
        engine.withdraw_move(case, move_form(case), 2)


def test_a_form_the_process_reached_by_itself_stays(engine: Engine) -> None:
    case = started(engine)
    prepare = next(t for t in case.open_tasks() if t.key == "prepare")
    engine.submit(case, prepare, "done", {}, MANAGER)
    # «Отмечено» needs a note: the case waits for its form, with nothing else to do — it cannot be withdrawn.
    form = move_form(case)
    with pytest.raises(EngineError, match="waits for this form"):
        engine.withdraw_move(case, form, MANAGER)
    assert form in case.open_tasks()
