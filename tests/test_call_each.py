"""A call for each entry of a list (`call: {for_each: …}`), its joins, the stages that follow the children, and a
list that changes while they run — in the engine alone (the service's part is played here as it plays it), and
in the checker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, load_file, parse_definition
from flows.runtime import (
    CallProcess,
    CancelCalls,
    CaseClosed,
    CaseState,
    Effect,
    Engine,
    Notify,
    StageEntered,
    TaskState,
    call_children,
)

DATA = Path(__file__).parent / "data"
SOURCE = (DATA / "positions_request.yaml").read_text(encoding="utf-8")
CHILD = load_file(DATA / "position_approval.yaml").spec
MANAGER, APPROVER = 1, 2
POSITIONS = [{"article": "A-1", "qty": 3}, {"article": "B-2", "qty": 5}, {"article": "C-3", "qty": 7}]


def spec_with(join: str | None = 'join: {any: "approvals == \'failure\'"}') -> Any:
    source = SOURCE if join is None else SOURCE.replace('join: {any: "approvals == \'failure\'"}', join)
    return parse_definition(source, "request.yaml", known={"position_approval": CHILD}).spec


class Office:
    """The engine, and the children of one request, moved the way the bot moves them."""

    def __init__(self, join: str | None = None) -> None:
        self.engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
        self.spec = spec_with(join) if join is not None else spec_with()
        self.children: dict[int, tuple[CaseState, CallProcess]] = {}
        self.effects: list[Effect] = []
        self.parent, effects = self.engine.start(self.spec, MANAGER, {"positions": [dict(p) for p in POSITIONS]})
        self.parent.id = 100
        self.take(effects)

    def take(self, effects: list[Effect]) -> None:
        """Start the child of every call among `effects` (as the service does, telling the parent its place)."""
        self.effects.extend(effects)
        for call in [e for e in effects if isinstance(e, CallProcess)]:
            assert call.entry is not None
            child, _effects = self.engine.start(CHILD, call.initiator_id, call.data)
            child.id = 200 + call.entry
            for number, task in enumerate(child.tasks, 1):
                task.id = number
            self.engine.child_started(self.parent, call.stage, call.visit, call.entry, child.id)
            self.children[call.entry] = (child, call)
            self.take(self.engine.child_moved(self.parent, call.stage, call.visit, call.entry, CHILD, child.stage))

    def answer(self, entry: int, outcome: str, values: dict[str, Any] | None = None) -> list[Effect]:
        """The approver answers the open task of entry's child; its move or end goes to the parent."""
        child, call = self.children[entry]
        task: TaskState = child.open_tasks()[0]
        task.id = task.id or 99
        if task.assignee_id is None:
            self.engine.claim(child, task, APPROVER, {"approver"})
        effects = self.engine.submit(child, task, outcome, values or {}, APPROVER)
        for number, fresh in enumerate(child.tasks, 1):
            fresh.id = fresh.id or number
        closed = [e for e in effects if isinstance(e, CaseClosed)]
        if closed:
            result = child.result or "success"
            back = self.engine.child_ended(
                self.parent, call.stage, call.visit, result, child.data, entry, (CHILD, child.stage)
            )
        else:
            back = self.engine.child_moved(self.parent, call.stage, call.visit, entry, CHILD, child.stage)
        self.take(back)
        return back

    def cancel_child(self, entry: int) -> list[Effect]:
        child, call = self.children[entry]
        self.engine.cancel(child, MANAGER)
        back = self.engine.child_ended(
            self.parent, call.stage, call.visit, "cancelled", child.data, entry, (CHILD, child.stage)
        )
        self.take(back)
        return back

    def approve_fully(self, entry: int, verdict: str = "Годится") -> list[Effect]:
        return [*self.answer(entry, "approve", {"verdict": verdict}), *self.answer(entry, "done")]


def test_one_child_per_entry_with_the_entrys_fields_mapped_in() -> None:
    office = Office()
    calls = [e for e in office.effects if isinstance(e, CallProcess)]
    assert [(c.process, c.entry, c.data) for c in calls] == [
        ("position_approval", 0, {"article": "A-1", "qty": 3}),
        ("position_approval", 1, {"article": "B-2", "qty": 5}),
        ("position_approval", 2, {"article": "C-3", "qty": 7}),
    ]
    assert office.parent.stage == "approvals" and office.parent.status == "active"
    assert call_children(office.parent) == {0: 200, 1: 201, 2: 202}  # the parent's card lists them
    assert all(child.stage == "review" for child, _call in office.children.values())


def test_all_waits_for_every_child_and_takes_each_answer_into_its_entry() -> None:
    office = Office(join="join: all")
    office.approve_fully(0, "Есть на складе")
    office.approve_fully(2, "Под заказ")
    assert call_children(office.parent) == {1: 201}  # the ones that ended are no longer waited for
    assert office.parent.stage == "approvals"  # the middle one is still at review
    office.answer(1, "approve", {"verdict": "Ок"})
    assert office.parent.stage == "signing" and office.parent.status == "active"  # the slowest is at signing
    office.answer(1, "done")
    assert office.parent.stage == "approved" and office.parent.result == "success"
    assert office.parent.data["approvals"] == "success"
    assert [p["verdict"] for p in office.parent.data["positions"]] == ["Есть на складе", "Ок", "Под заказ"]


def test_all_with_one_refused_child_is_a_failure() -> None:
    office = Office(join="join: all")
    office.approve_fully(0)
    office.answer(1, "reject", {"check_comment": "Снят с производства"})
    assert office.parent.stage == "approvals"  # still waiting for the third
    office.approve_fully(2)
    assert office.parent.stage == "refused" and office.parent.data["approvals"] == "failure"


def test_any_rejected_stops_at_the_first_refusal_and_cancels_the_open_children() -> None:
    office = Office()
    office.approve_fully(0)
    back = office.answer(1, "reject", {"check_comment": "Нет сертификата"})
    assert office.parent.stage == "refused" and office.parent.result == "failure"
    assert [e for e in back if isinstance(e, CancelCalls)] == [CancelCalls(reason="joined")]
    # A late end of a child the join no longer waits for changes nothing.
    assert office.engine.child_ended(office.parent, "approvals", 1, "success", {}, 2, (CHILD, "approved")) == []


def test_at_least_two_successes_are_enough() -> None:
    office = Office(join="join: {at_least: 2}")
    office.approve_fully(2)
    assert office.parent.stage == "approvals"
    back = office.approve_fully(0)
    assert office.parent.stage == "approved" and office.parent.data["approvals"] == "success"
    assert CancelCalls(reason="joined") in back


def test_at_least_two_fails_once_no_two_can_succeed_any_more() -> None:
    office = Office(join="join: {at_least: 2}")
    office.answer(0, "reject", {"check_comment": "Нет"})
    office.approve_fully(1)
    assert office.parent.stage == "approvals"
    office.cancel_child(2)
    assert office.parent.stage == "refused" and office.parent.data["approvals"] == "failure"


def test_the_request_follows_its_slowest_position_not_cancelled() -> None:
    office = Office(join="join: all")
    office.answer(0, "approve")
    office.answer(1, "approve")
    assert office.parent.stage == "approvals"  # the third is still at review
    back = office.cancel_child(2)
    # The cancelled one no longer counts: every other position is at signing, so the request is too, with the
    # on-enter of its stage.
    assert office.parent.stage == "signing"
    assert any(isinstance(e, StageEntered) and e.stage == "signing" for e in back)
    assert any(isinstance(e, Notify) and e.user_ids == (MANAGER,) for e in back)
    office.answer(0, "done")
    assert office.parent.stage == "signing"
    office.answer(1, "done")
    assert office.parent.stage == "refused"  # `all`: a cancelled child is not a success


def test_cancelling_a_request_that_follows_its_children_cancels_them() -> None:
    office = Office(join="join: all")
    for entry in range(3):
        office.answer(entry, "approve")
    assert office.parent.stage == "signing"
    effects = office.engine.cancel(office.parent, MANAGER)
    assert CancelCalls() in effects and office.parent.status == "cancelled"


def test_an_empty_list_calls_nobody_and_moves_on() -> None:
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    spec = parse_definition(SOURCE.replace("form: [positions]", "form: []"), known={"position_approval": CHILD}).spec
    case, effects = engine.start(spec, MANAGER, {})
    assert not any(isinstance(e, CallProcess) for e in effects)
    assert case.stage == "approved" and case.data["approvals"] == "success"


def _edit_positions(office: Office, positions: list[dict[str, Any]]) -> list[Effect]:
    effects = office.engine.request_edit(office.parent, "positions", MANAGER)
    task = office.parent.open_tasks()[-1]
    task.id = 500 + len(office.parent.tasks)
    back = office.engine.submit(office.parent, task, "submit", {"positions": positions}, MANAGER)
    office.take(back)
    return [*effects, *back]


def test_a_position_added_while_they_run_gets_its_own_child() -> None:
    office = Office()
    back = _edit_positions(office, [*POSITIONS, {"article": "D-4", "qty": 1}])
    calls = [e for e in back if isinstance(e, CallProcess)]
    assert [(c.entry, c.data["article"]) for c in calls] == [(3, "D-4")]
    assert set(call_children(office.parent)) == {0, 1, 2, 3}


def test_a_position_removed_while_they_run_has_its_child_cancelled_and_the_join_goes_on_without_it() -> None:
    office = Office(join="join: all")
    office.approve_fully(0)
    office.approve_fully(1)
    back = _edit_positions(office, POSITIONS[:2])
    assert CancelCalls(reason="removed", entries=(2,)) in back
    # The entry waited for is gone: the two that ended decide.
    assert office.parent.stage == "approved" and office.parent.data["approvals"] == "success"


def test_without_on_change_the_list_cannot_change_while_they_run() -> None:
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    source = SOURCE.replace("      on_change: [add, cancel_removed]\n", "")
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "for_each: positions" in text)
    assert (
        f"request.yaml:{line}: 'positions' can be changed while a case is called for each of its entries; "
        "say what then happens with 'on_change'"
    ) in problems_of(source)
    ignoring = parse_definition(
        SOURCE.replace("on_change: [add, cancel_removed]", "on_change: ignore"), known={"position_approval": CHILD}
    ).spec
    _case, effects = engine.start(ignoring, MANAGER, {"positions": POSITIONS})
    assert ignoring.stage("approvals").call.on_change == []  # type: ignore[union-attr]
    assert len([e for e in effects if isinstance(e, CallProcess)]) == 3


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "request.yaml", known={"position_approval": CHILD})
    return [str(p) for p in caught.value.problems]


def line_of(source: str, text: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_checker_names_each_mistake_at_its_line() -> None:
    source = SOURCE.replace("qty: item.qty}", "qty: item.qtty}")
    assert f"request.yaml:{line_of(source, 'item.qtty')}: unknown field 'item.qtty'" in problems_of(source)
    source = SOURCE.replace("at_least: signing}", "at_least: singing}")
    assert (
        f"request.yaml:{line_of(source, 'singing')}: process 'position_approval' has no stage 'singing' "
        "(its stages: review, signing, approved, refused)"
    ) in problems_of(source)
    source = SOURCE.replace("qty: item.qty}", "qty: item.article}")
    assert any(
        p.startswith(f"request.yaml:{line_of(source, 'qty: item.article')}:")
        and "'item.article' (a text) cannot become 'qty'" in p
        for p in problems_of(source)
    )
    source = SOURCE.replace("for_each: positions", "for_each: note")
    assert f"request.yaml:{line_of(source, 'for_each: note')}: 'note' is not a list field" in problems_of(source)
    source = SOURCE.replace("follows: {calls: approvals", "follows: {calls: signing")
    assert (
        f"request.yaml:{line_of(source, 'calls: signing')}: 'signing' is not a stage that calls a process for each "
        "entry of a list"
    ) in problems_of(source)
    source = SOURCE.replace("join: {any: \"approvals == 'failure'\"}", "join: {any: \"approvals == 'failed'\"}")
    assert any("approvals is never 'failed'" in p for p in problems_of(source))
    source = SOURCE.replace("join: {any: \"approvals == 'failure'\"}", "join: {any: \"item.qtty > 1\"}")
    assert any(p.startswith(f"request.yaml:{line_of(source, 'item.qtty > 1')}:") for p in problems_of(source))
    source = SOURCE.replace("process: position_approval", "process: position_aproval")
    assert any("unknown process 'position_aproval'" in p for p in problems_of(source))
