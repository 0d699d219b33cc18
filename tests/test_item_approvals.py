"""The director's approval of an item's move (`approval:` on a move or on an item stage), in the engine alone and
in the checker: the move waits, the director decides, the item moves on approval or stays with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.items import item_state, parse_item_approval, parse_item_task
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


def ask_to_send(engine: Engine, case: CaseState, index: int) -> list[Any]:
    """The logistician presses «Отправлен» on the item's card."""
    return engine.move_item(case, "items", index, "sent", LOGISTICIAN, {"logistician"})


def approval_task(effects: list[Any]) -> TaskState:
    task: TaskState = next(e.task for e in effects if isinstance(e, TaskCreated))
    task.id, task.assignee_id = 500, DIRECTOR  # the director's pool of one gives it to him
    return task


def given_form(effects: list[Any]) -> TaskState:
    """The form of the move the approval gave (its row's id set, as the store sets it)."""
    form: TaskState = next(e.task for e in effects if isinstance(e, TaskCreated))
    assert form.kind == "form" and parse_item_task(form.key) is not None
    form.id = form.id or 600
    return form


def stage_of(case: CaseState, index: int) -> str:
    state = item_state(case.data, "items", index)
    assert state is not None
    return str(state["stage"])


def test_pressing_a_move_that_needs_approval_asks_the_director_at_once_with_no_form(engine: Engine) -> None:
    """Ordering from the supplier spends the company's money: the director decides first; the tracking number the
    new stage requires does not exist yet, so nothing is asked of the logistician."""
    case = ordered(engine)
    effects = ask_to_send(engine, case, 0)
    created = [e.task for e in effects if isinstance(e, TaskCreated)]
    assert [t.kind for t in created] == ["approve"]  # no form
    task = approval_task(effects)
    assert parse_item_approval(task.key) == ("items", 0, "sent")
    assert task.kind == "approve" and task.role == "director" and task.assignee_id == DIRECTOR
    assert stage_of(case, 0) == "ordering"  # the move waits
    assert not [e for e in effects if isinstance(e, ItemMoved)]
    assert ItemApproval("items", 0, "sent", "asked", LOGISTICIAN, LOGISTICIAN) in effects
    # The director's card shows the item itself.
    entry = task_entry(SPEC, case.data, task)
    assert entry is not None and entry[1]["name"] == "Аппарат УЗИ" and "tracking" not in entry[1]
    assert task_def(SPEC, task.stage, task.key).title == {"ru": "Согласуйте: Позиции №1 → Отправлен",
                                                          "en": "Approve: Items #1 → Sent"}
    # Meanwhile nobody can move the item on, nor ask twice: only cancel it (the client dropped it).
    assert engine.item_moves(case, "items", 0, LOGISTICIAN, {"logistician"}) == ["cancelled"]
    with pytest.raises(EngineError):
        engine.move_item(case, "items", 0, "sent", LOGISTICIAN, {"logistician"})
    # Items move independently: the other one is not held.
    assert engine.item_moves(case, "items", 1, LOGISTICIAN, {"logistician"}) == ["sent", "cancelled"]


def test_approved_the_logistician_gets_the_form_and_the_item_moves_when_it_is_filled(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0))
    effects = engine.submit(case, task, "approve", {}, DIRECTOR)
    assert stage_of(case, 0) == "ordering" and task.status == "done"  # no tracking number yet: it cannot go
    assert not [e for e in effects if isinstance(e, ItemMoved)]
    form = given_form(effects)
    assert form.assignee_id == LOGISTICIAN and parse_item_task(form.key) == ("items", 0, "sent")
    assert ItemApproval("items", 0, "sent", "approved", DIRECTOR, LOGISTICIAN, None, form) in effects
    # Filled, the item moves; the director is not asked again.
    effects = engine.submit(case, form, "submit", {"tracking": "DHL-5531"}, LOGISTICIAN)
    assert stage_of(case, 0) == "sent" and form.status == "done"
    assert ItemMoved("items", 0, "ordering", "sent", LOGISTICIAN) in effects
    assert not [e for e in effects if isinstance(e, (TaskCreated, ItemApproval))]
    history = item_state(case.data, "items", 0)["history"]  # type: ignore[index]
    assert [(h.get("approval"), h.get("to") or h.get("for"), h["by"]) for h in history[1:]] == [
        ("asked", "sent", LOGISTICIAN),
        ("approved", "sent", DIRECTOR),
        (None, "sent", LOGISTICIAN),
    ]
    # An item whose tracking number is already known moves at once when approved, as it always did.
    case.data["items"][1]["tracking"] = "DHL-5532"
    effects = engine.submit(case, approval_task(ask_to_send(engine, case, 1)), "approve", {}, DIRECTOR)
    assert stage_of(case, 1) == "sent" and ItemMoved("items", 1, "ordering", "sent", DIRECTOR) in effects
    assert ItemApproval("items", 1, "sent", "approved", DIRECTOR, LOGISTICIAN) in effects
    assert not [e for e in effects if isinstance(e, TaskCreated)]


def test_a_form_left_unfilled_opens_again_at_the_next_press_without_a_second_approval(engine: Engine) -> None:
    case = ordered(engine)
    form = given_form(engine.submit(case, approval_task(ask_to_send(engine, case, 0)), "approve", {}, DIRECTOR))
    assert engine.item_moves(case, "items", 0, LOGISTICIAN, {"logistician"}) == ["sent", "cancelled"]
    again = ask_to_send(engine, case, 0)
    assert [e.task for e in again if isinstance(e, TaskCreated)] == [form]  # the same form, nothing for the director
    assert not [t for t in case.open_tasks() if parse_item_approval(t.key) is not None]
    engine.submit(case, form, "submit", {"tracking": "DHL-5531"}, LOGISTICIAN)
    assert stage_of(case, 0) == "sent"
    # The approval was for that one move: moved on and back, it would be asked again (here: the next item's own).
    assert approval_task(ask_to_send(engine, case, 1)).kind == "approve"


def test_rejected_with_a_reason_the_item_stays_and_a_new_press_asks_again(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0))
    with pytest.raises(EngineError, match="comment is required"):
        engine.submit(case, task, "reject", {}, DIRECTOR)
    effects = engine.submit(case, task, "reject", {f"{task.key}_comment": "Сначала предоплата клиента"}, DIRECTOR)
    assert stage_of(case, 0) == "ordering"
    assert ItemApproval("items", 0, "sent", "rejected", DIRECTOR, LOGISTICIAN, "Сначала предоплата клиента") in effects
    assert not [e for e in effects if isinstance(e, TaskCreated)]  # no form after a «no»
    assert item_state(case.data, "items", 0)["history"][-1] == {  # type: ignore[index]
        "approval": "rejected", "for": "sent", "at": "2026-12-21T07:00:00+00:00", "by": DIRECTOR,
        "reason": "Сначала предоплата клиента",
    }
    assert engine.item_moves(case, "items", 0, LOGISTICIAN, {"logistician"}) == ["sent", "cancelled"]
    again = engine.move_item(case, "items", 0, "sent", LOGISTICIAN, {"logistician"})
    assert approval_task(again).kind == "approve"


def test_a_stage_that_asks_for_approval_holds_every_move_into_it(engine: Engine) -> None:
    case = ordered(engine)
    form = given_form(engine.submit(case, approval_task(ask_to_send(engine, case, 0)), "approve", {}, DIRECTOR))
    engine.submit(case, form, "submit", {"tracking": "DHL-1"}, LOGISTICIAN)
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


def test_the_new_stages_checks_hold_when_the_item_moves_not_when_the_approval_is_asked(engine: Engine) -> None:
    """«На складе» requires the customs clearance and checks it: asked for before anything is filled, the move goes
    to the director (the check would refuse it then); the check refuses the form that says «not cleared»."""
    spec = parse_definition(APPROVED.replace("moves: [warehouse]", "moves: [{to: warehouse, approval: director}]"),
                            "order.yaml").spec
    case, _effects = engine.start(spec, MANAGER, {"client": "Клиника", "items": [{"name": "УЗИ", "payment": "prepaid",
                                                                                 "tracking": "T", "declaration": "D"}]})
    state = item_state(case.data, "items", 0)
    assert state is not None
    state["stage"] = "customs"
    state["history"].append({"from": "ordering", "to": "customs", "at": "2026-12-21T07:00:00+00:00", "by": DIRECTOR})
    task = approval_task(engine.move_item(case, "items", 0, "warehouse", LOGISTICIAN, {"logistician"}))
    form = given_form(engine.submit(case, task, "approve", {}, DIRECTOR))
    with pytest.raises(EngineError, match=r"не прошла таможню|has not cleared customs"):
        engine.submit(case, form, "submit", {"cleared": False}, LOGISTICIAN)
    assert stage_of(case, 0) == "customs" and form.status == "open"
    engine.submit(case, form, "submit", {"cleared": True}, LOGISTICIAN)
    assert stage_of(case, 0) == "warehouse"


def test_an_approval_left_open_after_the_item_was_moved_otherwise_cannot_move_it(engine: Engine) -> None:
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0))
    engine.cancel(case, MANAGER)
    assert task.status == "cancelled"
    with pytest.raises(EngineError):
        engine.submit(case, task, "approve", {}, DIRECTOR)


def test_an_item_cancelled_while_its_move_waits_withdraws_the_approval(engine: Engine) -> None:
    """The client dropped the item while the director had not yet decided on ordering it: the logistician cancels
    it, and the director's approval closes — there is nothing left for him to decide."""
    case = ordered(engine)
    task = approval_task(ask_to_send(engine, case, 0))
    effects = engine.move_item(case, "items", 0, "cancelled", LOGISTICIAN, {"logistician"})
    assert stage_of(case, 0) == "cancelled" and task.status == "cancelled"
    assert any(isinstance(e, ItemMoved) and e.stage == "cancelled" for e in effects)
    with pytest.raises(EngineError):
        engine.submit(case, task, "approve", {}, DIRECTOR)


def test_the_checker_refuses_an_approver_the_process_does_not_have() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(APPROVED.replace("approval: director", "approval: boss", 1), "order.yaml")
    assert "unknown role 'boss'" in str(caught.value.problems[0])
    assert parse_definition(APPROVED, "order.yaml").spec.process == "equipment_order"
