"""The director's approval of an item's move (`approval:` on a move or on an item stage), in the engine alone and
in the checker: the move waits, the director decides, the item moves on approval or stays with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.items import item_state, parse_item_approval
from flows.loader import DefinitionError, parse_definition
from flows.runtime import (
    CaseState,
    Engine,
    EngineError,
    ItemApproval,
    ItemMoved,
    TaskCreated,
    TaskState,
    task_def,
    task_entry,
)

SOURCE = (Path(__file__).parent / "data" / "equipment_order.yaml").read_text(encoding="utf-8")
# Sending an item (ordering from its supplier) waits for the director; so does any move into «Отгружен клиенту».
APPROVED = (
    SOURCE.replace("roles: [manager, logistician]", "roles: [manager, logistician, director]")
    .replace("moves: [sent, cancelled]", "moves: [{to: sent, approval: director}, cancelled]")
    .replace(
        "title: {ru: Отгружен клиенту, en: Shipped to the client}",
        "title: {ru: Отгружен клиенту, en: Shipped to the client}\n          approval: director",
    )
)
SPEC = parse_definition(APPROVED, "order.yaml").spec
MANAGER, LOGISTICIAN, DIRECTOR = 1, 2, 3


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def ordered(engine: Engine) -> CaseState:
    items = [{"name": "Аппарат УЗИ", "payment": "prepaid"}, {"name": "Кардиомонитор", "payment": "credit"}]
    case, _effects = engine.start(SPEC, MANAGER, {"client": "Клиника «Здоровье»", "items": items})
    return case


def ask_to_send(engine: Engine, case: CaseState, index: int, tracking: str) -> list[Any]:
    """The logistician presses «Отправлен» and gives the tracking number the stage requires."""
    effects = engine.move_item(case, "items", index, "sent", LOGISTICIAN, {"logistician"})
    form = next(e.task for e in effects if isinstance(e, TaskCreated))
    form.id = 100 + len(case.tasks)
    return engine.submit(case, form, "submit", {"tracking": tracking}, LOGISTICIAN)


def approval_task(effects: list[Any]) -> TaskState:
    task: TaskState = next(e.task for e in effects if isinstance(e, TaskCreated))
    task.id, task.assignee_id = 500, DIRECTOR  # the director's pool of one gives it to him
    return task


def stage_of(case: CaseState, index: int) -> str:
    state = item_state(case.data, "items", index)
    assert state is not None
    return str(state["stage"])


def test_a_move_that_needs_approval_waits_for_the_director_with_the_items_details(engine: Engine) -> None:
    case = ordered(engine)
    effects = ask_to_send(engine, case, 0, "DHL-5531")
    task = approval_task(effects)
    assert parse_item_approval(task.key) == ("items", 0, "sent")
    assert task.kind == "approve" and task.role == "director" and task.assignee_id == DIRECTOR
    assert stage_of(case, 0) == "ordering"  # the move waits
    assert not [e for e in effects if isinstance(e, ItemMoved)]
    assert ItemApproval("items", 0, "sent", "asked", LOGISTICIAN, LOGISTICIAN) in effects
    # The director's card shows the item itself, tracking number included.
    entry = task_entry(SPEC, case.data, task)
    assert entry is not None and entry[1]["tracking"] == "DHL-5531" and entry[1]["name"] == "Аппарат УЗИ"
    assert task_def(SPEC, task.stage, task.key).title == {"ru": "Согласуйте: Позиции №1 → Отправлен",
                                                          "en": "Approve: Items №1 → Sent"}
    # Meanwhile nobody can move the item again, nor ask twice.
    assert engine.item_moves(case, "items", 0, LOGISTICIAN, {"logistician"}) == []
    with pytest.raises(EngineError):
        engine.move_item(case, "items", 0, "cancelled", LOGISTICIAN, {"logistician"})
    # Items move independently: the other one is not held.
    assert engine.item_moves(case, "items", 1, LOGISTICIAN, {"logistician"}) == ["sent", "cancelled"]


def test_approved_the_item_moves_and_its_history_shows_who_asked_and_who_approved(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0, "DHL-5531"))
    effects = engine.submit(case, task, "approve", {}, DIRECTOR)
    assert stage_of(case, 0) == "sent" and task.status == "done"
    assert ItemMoved("items", 0, "ordering", "sent", DIRECTOR) in effects
    assert ItemApproval("items", 0, "sent", "approved", DIRECTOR, LOGISTICIAN) in effects
    history = item_state(case.data, "items", 0)["history"]  # type: ignore[index]
    assert [(h.get("approval"), h.get("to") or h.get("for"), h["by"]) for h in history[1:]] == [
        ("asked", "sent", LOGISTICIAN),
        ("approved", "sent", DIRECTOR),
        (None, "sent", DIRECTOR),
    ]


def test_rejected_with_a_reason_the_item_stays_and_can_be_asked_again(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0, "DHL-5531"))
    with pytest.raises(EngineError, match="comment is required"):
        engine.submit(case, task, "reject", {}, DIRECTOR)
    effects = engine.submit(case, task, "reject", {f"{task.key}_comment": "Сначала предоплата клиента"}, DIRECTOR)
    assert stage_of(case, 0) == "ordering"
    assert ItemApproval("items", 0, "sent", "rejected", DIRECTOR, LOGISTICIAN, "Сначала предоплата клиента") in effects
    assert item_state(case.data, "items", 0)["history"][-1] == {  # type: ignore[index]
        "approval": "rejected", "for": "sent", "at": "2026-12-21T07:00:00+00:00", "by": DIRECTOR,
        "reason": "Сначала предоплата клиента",
    }
    # The tracking number is kept: asked again, the move goes straight to the director.
    assert engine.item_moves(case, "items", 0, LOGISTICIAN, {"logistician"}) == ["sent", "cancelled"]
    again = engine.move_item(case, "items", 0, "sent", LOGISTICIAN, {"logistician"})
    assert approval_task(again).kind == "approve"


def test_a_stage_that_asks_for_approval_holds_every_move_into_it(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0, "DHL-1"))
    engine.submit(case, task, "approve", {}, DIRECTOR)
    for to, fields in (("customs", {"declaration": "D-1"}), ("warehouse", {"cleared": True})):
        effects = engine.move_item(case, "items", 0, to, LOGISTICIAN, {"logistician"})
        form = next(e.task for e in effects if isinstance(e, TaskCreated))
        form.id = 200 + len(case.tasks)
        engine.submit(case, form, "submit", fields, LOGISTICIAN)
    assert stage_of(case, 0) == "warehouse"
    effects = engine.move_item(case, "items", 0, "shipped", LOGISTICIAN, {"logistician"})
    assert stage_of(case, 0) == "warehouse"
    engine.submit(case, approval_task(effects), "approve", {}, DIRECTOR)
    assert stage_of(case, 0) == "shipped"


def test_an_approval_left_open_after_the_item_was_moved_otherwise_cannot_move_it(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0, "DHL-1"))
    engine.cancel(case, MANAGER)
    assert task.status == "cancelled"
    with pytest.raises(EngineError):
        engine.submit(case, task, "approve", {}, DIRECTOR)


def test_the_checker_refuses_an_approver_the_process_does_not_have() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(APPROVED.replace("approval: director", "approval: boss", 1), "order.yaml")
    assert "unknown role 'boss'" in str(caught.value.problems[0])
    assert parse_definition(APPROVED, "order.yaml").spec.process == "equipment_order"
