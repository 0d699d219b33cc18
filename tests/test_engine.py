"""The engine alone (no database, no Telegram): seed 1 moves through its stages as the business expects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import load_file, parse_definition
from flows.runtime import (
    MOVE_TASK,
    START_TASK,
    STARTED_BY,
    CaseClosed,
    CaseState,
    DeadlineMoved,
    Engine,
    EngineError,
    Notify,
    Render,
    SetTimer,
    TaskClosed,
    TaskCreated,
    TaskState,
)

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"
SPEC = load_file(LIBRARY / "defect_return.yaml").spec
MANAGER, SERVICE, HEAD = 1, 2, 3

START_FORM: dict[str, Any] = {
    "supplier": "alpha",
    "quantity": 1,
    "purchase_sum": "125000.00",
    "brand": "Longines",
    "incoming_doc": "ВХ-42",
    "employee_name": "Иванова Марина",
    "arrival_date": "2026-12-25",
    "units": [{"model": "L2", "serial": "SN1", "defect": "Отстают", "photos": [{"id": 1, "name": "a.jpg"}]}],
}


@pytest.fixture
def engine() -> Engine:
    # Friday 25 December 2026, 10:00 Moscow: the goods arrived today (a date of the past cannot be in the future)
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 25, 7, 0, tzinfo=UTC)))


def on_day(engine: Engine, day: str) -> None:
    """The clock moves to 10:00 Moscow of that day: a shipment is recorded once it has happened."""
    assert isinstance(engine.clock, FrozenClock)
    engine.clock.set(datetime.fromisoformat(day).replace(hour=7, tzinfo=UTC))


def open_task(case: CaseState, key: str) -> TaskState:
    return next(t for t in case.open_tasks() if t.key == key)


def do(
    engine: Engine, case: CaseState, key: str, outcome: str, values: dict[str, Any] | None = None, user: int = SERVICE
) -> list[Any]:
    task = open_task(case, key)
    if task.assignee_id is None:
        engine.claim(case, task, user, {task.role or ""})
    task.id = task.id or id(task)
    return engine.submit(case, task, outcome, values or {}, task.assignee_id or user)


def started(engine: Engine) -> CaseState:
    case, effects = engine.start(SPEC, MANAGER)
    assert case.status == "draft" and case.stage == START_TASK
    assert [type(e) for e in effects] == [TaskCreated]
    effects = do(engine, case, START_TASK, "submit", dict(START_FORM), user=MANAGER)
    assert case.status == "active" and case.stage == "registered"
    notes = [e for e in effects if isinstance(e, Notify)]
    assert notes and set(notes[0].roles) == {"shop_admin", "director"}
    return case


def test_required_fields_cannot_be_skipped(engine: Engine) -> None:
    case, _ = engine.start(SPEC, MANAGER)
    task = open_task(case, START_TASK)
    task.id = 1
    with pytest.raises(EngineError) as caught:
        engine.submit(case, task, "submit", {k: v for k, v in START_FORM.items() if k != "brand"}, MANAGER)
    assert "Марка" in str(caught.value)


def test_a_first_name_alone_is_not_the_employee_s_full_name_whichever_way_it_comes(engine: Engine) -> None:
    case, _ = engine.start(SPEC, MANAGER)
    task = open_task(case, START_TASK)
    task.id = 1
    with pytest.raises(EngineError) as caught:
        engine.submit(case, task, "submit", {**START_FORM, "employee_name": "Иван"}, MANAGER)
    assert caught.value.params == {"field": "ФИО сотрудника"} and "surname" in caught.value.message
    assert case.stage == START_TASK  # nothing registered
    engine.submit(case, task, "submit", {**START_FORM, "employee_name": "  Иванова   М. С. "}, MANAGER)
    assert case.stage == "registered"


def test_title_is_rendered_from_the_form(engine: Engine) -> None:
    case = started(engine)
    assert case.title == "Longines, 1 шт. — ООО «Альфа Тайм»"


def test_no_defect_ends_the_case_once_the_goods_are_moved_back_in_1c(engine: Engine) -> None:
    case = started(engine)
    do(engine, case, "move_to_service", "done")
    with pytest.raises(EngineError):  # a reject needs a comment
        do(engine, case, "confirm_defect", "reject", {}, user=HEAD)
    do(engine, case, "confirm_defect", "reject", {"confirm_defect_comment": "Идут точно"}, user=HEAD)
    # The service manager moved them to the service warehouse in 1C: he moves them back before the case ends.
    assert case.status != "done" and {t.key for t in case.open_tasks()} == {"moved_back_in_1c"}
    effects = do(engine, case, "moved_back_in_1c", "done")
    # No defect: the goods go back on sale, a good ending (not a failure)
    assert case.status == "done" and case.result == "success" and case.stage == "back_to_shop"
    assert any(isinstance(e, CaseClosed) for e in effects)


def test_confirmed_defect_gives_five_working_days_from_arrival(engine: Engine) -> None:
    case = started(engine)
    do(engine, case, "move_to_service", "done")
    effects = do(engine, case, "confirm_defect", "approve", {}, user=HEAD)
    task = open_task(case, "supplier_notified")
    # 25.12.2026 (Fri) arrival: 28, 29, 30 Dec are working; 31 Dec and 1–10 Jan are holidays; 11, 12 Jan.
    assert task.due_at == datetime(2027, 1, 12, 15, 0, tzinfo=UTC)  # 18:00 in Moscow
    timers = {e.kind: e.due_at for e in effects if isinstance(e, SetTimer) and e.task is task}
    assert timers["overdue"] == task.due_at
    assert timers["remind"] == datetime(2027, 1, 11, 15, 0, tzinfo=UTC)  # one working day before


def test_offset_return_notifies_the_accountant_with_the_document(engine: Engine) -> None:
    case = started(engine)
    do(engine, case, "move_to_service", "done")
    do(engine, case, "confirm_defect", "approve", {}, user=HEAD)
    do(engine, case, "supplier_notified", "done")
    effects = do(engine, case, "ship_to", "office", {"ship_address": "Москва"})
    renders = [e for e in effects if isinstance(e, Render)]
    assert renders and renders[0].template == "supplier_alpha.docx" and renders[0].to == "accompanying_doc"
    do(engine, case, "prepare_documents", "done")
    on_day(engine, "2026-12-28")
    with pytest.raises(EngineError):  # all documents must be attached before shipping
        do(engine, case, "pack_and_ship", "done", {"shipping_date": "2026-12-28", "waybill": "CDEK-1"})
    do(
        engine,
        case,
        "pack_and_ship",
        "done",
        {"shipping_date": "2026-12-28", "waybill": "CDEK-1", "shipping_docs": [{"id": 5, "name": "act.pdf"}]},
    )
    do(engine, case, "inform_supplier", "done")
    effects = do(engine, case, "verdict", "offset", {"verdict_doc": [{"id": 6}], "return_doc": [{"id": 7}]})
    assert case.stage == "offset_closed" and case.status == "done"
    accountant = [e for e in effects if isinstance(e, Notify) and "accountant" in e.roles]
    assert accountant and accountant[0].attach == ("return_doc",)


def test_not_fixed_repeats_the_cycle(engine: Engine) -> None:
    case = started(engine)
    do(engine, case, "move_to_service", "done")
    do(engine, case, "confirm_defect", "approve", {}, user=HEAD)
    # Each round's dates follow one another: shipped after the goods came, back after they were shipped.
    dates = {1: ("2026-12-28", "2027-01-20"), 2: ("2027-01-25", "2027-02-05")}
    for round_no in (1, 2):
        shipped, back = dates[round_no]
        do(engine, case, "supplier_notified", "done")
        if round_no == 2:
            # The facts of a shipment are each round's own: the first round's address, date, waybill and papers are
            # no answer for the second, whichever way the answers come (a web form, the API) — refused, as in chat.
            with pytest.raises(EngineError) as caught:
                do(engine, case, "ship_to", "service_centre", {"ship_address": ""})
            assert caught.value.params == {"fields": "Адрес отправки"}
        do(engine, case, "ship_to", "service_centre", {"ship_address": "СЦ"})
        do(engine, case, "prepare_documents", "done")
        on_day(engine, shipped)
        if round_no == 2:
            with pytest.raises(EngineError) as caught:
                do(engine, case, "pack_and_ship", "done", {"shipping_docs": [{"id": 8}]})
            assert caught.value.params == {"fields": "Дата отправки, Номер накладной перевозчика"}
            assert case.data["waybill"] == "W1" and case.stage == "shipping"
        do(
            engine,
            case,
            "pack_and_ship",
            "done",
            {"shipping_date": shipped, "waybill": f"W{round_no}", "shipping_docs": [{"id": 5}]},
        )
        do(engine, case, "inform_supplier", "done")
        do(engine, case, "verdict", "repair", {"verdict_doc": [{"id": 6}]})
        on_day(engine, back)
        do(engine, case, "goods_back", "done", {"return_ship_date": back})
        if round_no == 1:
            on_day(engine, "2027-01-22")
            # The goods came back: the day they did is asked — the first arrival's date is not it.
            with pytest.raises(EngineError) as caught:
                do(engine, case, "defect_fixed", "reject", {"defect_fixed_comment": "Всё ещё отстают"})
            assert caught.value.params == {"fields": "Дата возврата из ремонта"}
            do(
                engine,
                case,
                "defect_fixed",
                "reject",
                {"defect_fixed_comment": "Всё ещё отстают", "back_from_repair_date": "2027-01-22"},
            )
            assert case.stage == "notify_supplier"
            # The incoming document keeps its own date: the letter to the supplier cites it.
            assert case.data["arrival_date"] == "2026-12-25"
            # the new cycle counts its 5 working days from the new arrival
            assert open_task(case, "supplier_notified").due_at == datetime(2027, 1, 29, 15, 0, tzinfo=UTC)
    do(engine, case, "defect_fixed", "approve")
    # First moved in 1C, then the shop confirms it received them: never the receipt before the move.
    assert {t.key for t in case.open_tasks()} == {"moved_in_1c"}
    do(engine, case, "moved_in_1c", "done")
    assert case.stage == "shop_receipt" and {t.key for t in case.open_tasks()} == {"shop_received"}
    effects = do(engine, case, "shop_received", "done", user=MANAGER)
    assert case.stage == "done" and case.result == "success"
    assert any(isinstance(e, Notify) and set(e.roles) == {"shop_admin", "director"} for e in effects)


def test_timers_of_finished_tasks_do_nothing(engine: Engine) -> None:
    case = started(engine)
    task = open_task(case, "move_to_service")
    do(engine, case, "move_to_service", "done")
    assert engine.fire(case, "remind", task, None, None) == []
    inspection = open_task(case, "confirm_defect")
    effects = engine.fire(case, "overdue", inspection, None, None)
    assert [e.kind for e in effects if isinstance(e, Notify)] == ["overdue", "escalation"]


def test_only_the_role_may_claim_and_only_once(engine: Engine) -> None:
    case = started(engine)
    task = open_task(case, "move_to_service")
    task.id = 10
    with pytest.raises(EngineError):
        engine.claim(case, task, 99, {"accountant"})
    engine.claim(case, task, SERVICE, {"service_manager"})
    with pytest.raises(EngineError):
        engine.claim(case, task, 98, {"service_manager"})
    with pytest.raises(EngineError):
        engine.submit(case, task, "done", {}, 98)


def test_a_hand_off_carries_fields_by_name_and_by_mapping(engine: Engine) -> None:
    from flows.loader import parse_definition
    from flows.runtime import StartCase

    source = """
process: sender
title: S
roles: [clerk]
start: {roles: [clerk], form: [client, note]}
fields:
  client: {type: text, label: C}
  note: {type: text, label: N}
stages:
  - key: done
    title: Done
    final: true
    on_enter:
      - start: {process: receiver, carry: [client], map: {comment: note}}
"""
    spec = parse_definition(source).spec
    _case, effects = engine.start(spec, 7, {"client": "ООО Ромашка", "note": "срочно"})
    (hand_off,) = [e for e in effects if isinstance(e, StartCase)]
    assert hand_off.process == "receiver" and hand_off.initiator_id == 7
    assert hand_off.data == {"client": "ООО Ромашка", "comment": "срочно"}


def test_an_empty_answer_never_erases_what_the_case_has(engine: Engine) -> None:
    from flows.loader import parse_definition

    spec = parse_definition(
        """
process: request
title: R
roles: [clerk, head]
start: {roles: [clerk], form: [item, note]}
fields:
  item: {type: text, label: Item}
  note: {type: text, label: Note, required: false}
stages:
  - key: review
    title: Review
    tasks:
      - {key: decide, kind: approve, assignee: head, title: Decide}
    next:
      - {to: fix, when: "decide == 'reject'"}
      - {to: done}
  - key: fix
    title: Fix
    tasks:
      - {key: correct, kind: form, assignee: initiator, title: Correct, fields: [item, note]}
    next: review
  - {key: done, title: Done, final: true}
"""
    ).spec
    case, _effects = engine.start(spec, 7, {"item": "стол", "note": "срочно"})
    do(engine, case, "decide", "reject", {"decide_comment": "уточните"}, user=8)
    assert case.stage == "fix"
    # The returned request asks again; the person keeps «item» and skips «note»: both stay as they were.
    do(engine, case, "correct", "submit", {"item": None, "note": None}, user=7)
    assert case.stage == "review"
    assert case.data["item"] == "стол" and case.data["note"] == "срочно"
    do(engine, case, "decide", "reject", {"decide_comment": "ещё раз"}, user=8)
    do(engine, case, "correct", "submit", {"item": "стул", "note": ""}, user=7)
    assert case.data["item"] == "стул" and case.data["note"] == "срочно"
    # a comment belongs to its answer: approving without one does not keep the rejection's comment
    do(engine, case, "decide", "approve", {"decide_comment": ""}, user=8)
    assert case.stage == "done" and case.data["decide"] == "approve" and not case.data["decide_comment"]


def test_an_escalated_task_is_handed_over_and_its_deadline_moved(engine: Engine) -> None:
    case = started(engine)
    do(engine, case, "move_to_service", "done")
    inspection = open_task(case, "confirm_defect")
    engine.claim(case, inspection, HEAD, {"warehouse_head"})
    # Another warehouse head gets it, keeping the role; the card goes to them.
    assert engine.hand_over(case, inspection, 7, keep_role=True) == [TaskCreated(inspection)]
    assert inspection.assignee_id == 7 and inspection.role == "warehouse_head"
    with pytest.raises(EngineError):
        engine.hand_over(case, inspection, 7, keep_role=True)
    # The director takes it over without the role: the task is theirs personally.
    engine.hand_over(case, inspection, 9, keep_role=False)
    assert inspection.assignee_id == 9 and inspection.role is None

    old_due = inspection.due_at
    assert old_due is not None
    with pytest.raises(EngineError):
        engine.extend(case, inspection, engine.clock.now())  # not later than now
    new_due = datetime(2026, 12, 28, 15, 0, tzinfo=UTC)
    effects = engine.extend(case, inspection, new_due)
    assert effects[0] == DeadlineMoved(inspection, old_due)
    timers = {e.kind: e.due_at for e in effects if isinstance(e, SetTimer)}
    assert timers == {"remind": datetime(2026, 12, 28, 11, 0, tzinfo=UTC), "overdue": new_due}  # 4 hours before
    assert inspection.due_at == new_due


def test_a_case_moves_onto_a_new_version_keeping_the_work_already_done(engine: Engine) -> None:
    data = Path(__file__).parent / "data"
    v1, v2 = (load_file(data / name).spec for name in ("supply_request.yaml", "next_versions/supply_request.yaml"))
    case, _ = engine.start(v1, MANAGER, {"item": "Картриджи"})
    review = open_task(case, "approve_request")
    review.id = 1
    engine.claim(case, review, HEAD, {"head"})
    engine.submit(case, review, "approve", {}, HEAD)
    assert case.stage == "ordering"
    order, budget = open_task(case, "place_order"), open_task(case, "check_budget")
    order.id, budget.id = 2, 3
    engine.claim(case, order, SERVICE, {"buyer"})
    engine.submit(case, order, "done", {}, SERVICE)

    # The order is placed already: v2's ordering does not ask for it again; the budget check is closed.
    effects = engine.migrate(case, v2, "ordering", done=frozenset({"place_order"}))
    assert case.spec is v2 and case.stage == "ordering"
    assert [e.task.key for e in effects if isinstance(e, TaskClosed)] == ["check_budget"]
    assert [e.task.key for e in effects if isinstance(e, TaskCreated)] == ["agree_delivery"]

    # Every task of the target stage answered: it moves on as it would have (and asks for what comes next needs).
    other, _ = engine.start(v1, MANAGER, {"item": "Бумага"})
    other.data["approve_request"] = "approve"  # answered (its task row is done, so not among the open ones)
    other.tasks.clear()
    effects = engine.migrate(other, v2, "approval", done=frozenset({"approve_request"}))
    created = [e.task for e in effects if isinstance(e, TaskCreated)]
    assert [(t.key, t.stage) for t in created] == [(MOVE_TASK, "supplier_check")]  # the supplier is required there
    with pytest.raises(EngineError):
        engine.migrate(other, v2, "delivered")  # a final stage takes no moved case


def test_every_text_of_seed_one_has_an_english_version() -> None:
    """An English reader gets English task cards, notices and questions: every worded text is {ru, en}."""
    import re

    import yaml

    worded = {"title", "text", "label", "subject", "description", "name", "hint"}
    russian_only: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}"
                # A text of the case's data alone («• {{ unit.model }} …») reads the same in both languages.
                words = re.sub(r"{[{%].*?[%}]}", "", value) if isinstance(value, str) else ""
                if key in worded and re.search("[а-яё]", words, re.I) and not where.startswith(".directories"):
                    russian_only.append(where)
                walk(value, where)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(yaml.safe_load((LIBRARY / "defect_return.yaml").read_text(encoding="utf-8")), "")
    assert russian_only == [], russian_only


def test_a_case_begins_where_the_way_it_started_says(engine: Engine) -> None:
    """A clerk's own request skips the triage the site's leads wait in; the clock's cases begin at the first stage."""
    spec = parse_definition("""\
process: begins
title: Begins
roles: [clerk]
start: {roles: [clerk], stage: work}
leads:
  - {form: site, initiator: clerk, map: {note: note}}
  - {form: partner, initiator: clerk, map: {note: note}, stage: work}
schedule:
  - {cron: "0 9 * * thu", initiator: clerk}
fields:
  note: {type: text, label: Note, required: false}
stages:
  - key: triage
    title: Triage
    tasks: [{key: look, kind: confirm, assignee: clerk, title: Look}]
    next: work
  - key: work
    title: Work
    tasks: [{key: do_it, kind: confirm, assignee: clerk, title: Do it}]
    next: done
  - {key: done, title: Done, final: true, result: success}
""", "begins.yaml").spec
    ways = {
        "by hand": ({}, "do_it"),
        "a handed-off case": ({"note": "from another process"}, "do_it"),
        "the site's lead": ({STARTED_BY: {"lead": "site"}, "note": "x"}, "look"),
        "the partner's lead": ({STARTED_BY: {"lead": "partner"}, "note": "x"}, "do_it"),
        "the clock": ({STARTED_BY: {"schedule": "0 9 * * thu"}}, "look"),
    }
    for way, (data, task) in ways.items():
        case, effects = engine.start(spec, MANAGER, data)
        assert [e.task.key for e in effects if isinstance(e, TaskCreated)] == [task], way
        assert case.responsible_id == MANAGER and case.visit == 1, way  # entered once: nothing passed through
