"""A stage that calls a sub-process and waits (`call:`), in the engine alone and in the checker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, load_file, parse_definition
from flows.runtime import CallProcess, CancelCalls, CaseClosed, CaseState, Engine, Notify, TaskCreated

DATA = Path(__file__).parent / "data"
PARENT_SOURCE = (DATA / "client_order.yaml").read_text(encoding="utf-8")
PARENT = load_file(DATA / "client_order.yaml").spec
CHILD = load_file(DATA / "client_check.yaml").spec
MANAGER, LAWYER = 1, 2


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def call_of(effects: list[Any]) -> CallProcess:
    calls = [e for e in effects if isinstance(e, CallProcess)]
    assert len(calls) == 1
    return calls[0]


def parent_waiting(engine: Engine) -> tuple[CaseState, CallProcess]:
    parent, effects = engine.start(PARENT, MANAGER, {"client_name": "ООО Вектор", "amount": "250000.00"})
    assert parent.stage == "qualification" and parent.status == "active"
    assert not any(isinstance(e, TaskCreated) for e in effects)  # nothing to do here but wait for the child
    return parent, call_of(effects)


def child_done(engine: Engine, call: CallProcess, outcome: str, values: dict[str, Any]) -> tuple[CaseState, str]:
    child, _effects = engine.start(CHILD, call.initiator_id, call.data)
    assert child.status == "active" and child.stage == "review"  # the mapped fields fill its start form
    task = child.open_tasks()[0]
    task.id = 1
    engine.claim(child, task, LAWYER, {"lawyer"})
    closed = [e for e in engine.submit(child, task, outcome, values, LAWYER) if isinstance(e, CaseClosed)]
    assert closed and child.result is not None
    return child, child.result


def test_the_child_gets_the_mapped_fields_and_its_success_moves_the_parent_on(engine: Engine) -> None:
    parent, call = parent_waiting(engine)
    assert call.process == "client_check" and (call.stage, call.visit) == ("qualification", parent.visit)
    assert call.data == {"client": "ООО Вектор", "limit": "250000.00"} and call.initiator_id == MANAGER
    child, result = child_done(engine, call, "approve", {"verdict_note": "Без замечаний"})
    assert child.data["limit"] == 250000  # money became the child's number on the way in
    effects = engine.child_ended(parent, call.stage, call.visit, result, child.data)
    assert parent.stage == "approved" and parent.status == "done" and parent.result == "success"
    assert parent.data["qualification"] == "success" and parent.data["risk_note"] == "Без замечаний"
    assert any(isinstance(e, Notify) and e.user_ids == (MANAGER,) for e in effects)


def test_a_failed_child_takes_the_parent_the_other_way(engine: Engine) -> None:
    parent, call = parent_waiting(engine)
    child, result = child_done(engine, call, "reject", {"lawyer_check_comment": "Долги", "verdict_note": "Долги"})
    assert result == "failure"
    engine.child_ended(parent, call.stage, call.visit, result, child.data)
    assert parent.stage == "declined" and parent.result == "failure" and parent.data["qualification"] == "failure"


def test_a_cancelled_child_counts_as_not_success(engine: Engine) -> None:
    parent, call = parent_waiting(engine)
    engine.child_ended(parent, call.stage, call.visit, "cancelled", {})
    assert parent.stage == "declined" and parent.data["qualification"] == "cancelled"
    assert "risk_note" not in parent.data  # an empty field of the child does not erase the parent's


def test_a_child_of_a_stage_the_parent_has_left_changes_nothing(engine: Engine) -> None:
    parent, call = parent_waiting(engine)
    assert engine.child_ended(parent, call.stage, call.visit + 1, "success", {}) == []
    assert parent.stage == "qualification" and "qualification" not in parent.data
    engine.cancel(parent, MANAGER)
    assert engine.child_ended(parent, call.stage, call.visit, "success", {}) == []
    assert parent.status == "cancelled"


def test_cancelling_a_waiting_parent_cancels_its_children(engine: Engine) -> None:
    parent, _call = parent_waiting(engine)
    effects = engine.cancel(parent, MANAGER)
    assert [type(e) for e in effects] == [CancelCalls, CaseClosed]
    done, _effects = engine.start(PARENT, MANAGER, {"client_name": "X", "amount": "1"})
    engine.child_ended(done, "qualification", done.visit, "failure", {})
    other, _effects = engine.start(CHILD, MANAGER, {"client": "X", "limit": 1})
    assert not any(isinstance(e, CancelCalls) for e in engine.cancel(other, MANAGER))  # no call waiting there


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "order.yaml", known={"client_check": CHILD})
    return [str(p) for p in caught.value.problems]


def line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_library_pair_is_valid() -> None:
    parse_definition(PARENT_SOURCE, "order.yaml", known={"client_check": CHILD})


def test_an_unknown_child_process_is_named_at_its_line() -> None:
    source = PARENT_SOURCE.replace("process: client_check", "process: client_chek")
    found = problems_of(source)
    assert found == [
        f"order.yaml:{line_of(source, 'client_chek')}: "
        "unknown process 'client_chek' (processes: client_check, client_order)"
    ]


def test_mapping_types_are_checked_both_ways() -> None:
    source = PARENT_SOURCE.replace(
        "map: {client: client_name, limit: amount}", "map: {client: client_name, limit: client_name}"
    )
    source = source.replace("back: {risk_note: verdict_note}", "back: {amount: verdict_note, risk_note: nothing}")
    found = problems_of(source)
    line = line_of(source, "map: {client")
    back = line_of(source, "back: {amount")
    assert any(
        p.startswith(f"order.yaml:{line}:") and "'client_name' (a text) cannot become 'limit'" in p for p in found
    )
    assert any(
        p.startswith(f"order.yaml:{back}:") and "'verdict_note' (a text) cannot become 'amount'" in p for p in found
    )
    assert any(p.startswith(f"order.yaml:{back}:") and "has no field 'nothing'" in p for p in found)
    assert len(found) == 3


def test_a_field_optional_here_and_required_by_the_child_is_refused() -> None:
    # A deal that left the client's name empty would have the check's start form ask it again, as required.
    source = PARENT_SOURCE.replace(
        "client_name: {type: text, label: Клиент}", "client_name: {type: text, required: false, label: Клиент}"
    )
    found = problems_of(source)
    assert found == [
        f"order.yaml:{line_of(source, 'map: {client')}: 'client_name' is optional here but 'client' is required by "
        "process 'client_check': a case without it would be asked it again; make both optional or both required"
    ]


def test_the_parent_side_of_a_call_is_checked() -> None:
    source = PARENT_SOURCE.replace("limit: amount}", "limit: amont}").replace(
        "when: \"qualification == 'success'\"", "when: \"qualification == 'succes'\""
    )
    found = problems_of(source)
    assert any(f"order.yaml:{line_of(source, 'limit: amont')}:" in p and "unknown field 'amont'" in p for p in found)
    assert any("qualification is never 'succes'" in p for p in found)  # the results a call can have are known
    source = PARENT_SOURCE.replace("  risk_note:", "  qualification: {type: text, label: Q}\n  risk_note:")
    assert any("its key holds the child's result" in p for p in problems_of(source))
