"""Item tracks and a parent that follows its items: an order of medical equipment whose items each move along
their own stages, in the engine alone and in the checker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows import forms
from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.items import corrections, item_state, item_states, parse_item_edit, parse_item_task
from flows.loader import DefinitionError, load_file, parse_definition
from flows.runtime import (
    CaseState,
    Engine,
    EngineError,
    FieldCorrected,
    ItemMoved,
    ItemReminder,
    Notify,
    SetTimer,
    StageEntered,
    TaskClosed,
    TaskCreated,
    TaskState,
    form_data,
    form_fields,
)
from flows.templating import render
from flows.values import InvalidAnswer
from services.i18n import Translator
from tgbot.callbacks import FormCb
from tgbot.render import Renderer

DATA = Path(__file__).parent / "data"
SOURCE = (DATA / "equipment_order.yaml").read_text(encoding="utf-8")
SPEC = load_file(DATA / "equipment_order.yaml").spec
MANAGER, LOGISTICIAN = 1, 2
ITEMS = [
    {"name": "Аппарат УЗИ", "payment": "prepaid"},
    {"name": "Кардиомонитор", "payment": "credit"},
    {"name": "Дефибриллятор", "payment": "prepaid"},
]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC))


@pytest.fixture
def engine(clock: FrozenClock) -> Engine:
    return Engine(WorkCalendar(), clock)


def ordered(engine: Engine) -> tuple[CaseState, list[Any]]:
    case, effects = engine.start(SPEC, MANAGER, {"client": "Клиника «Здоровье»", "items": [dict(i) for i in ITEMS]})
    return case, effects


def move(engine: Engine, case: CaseState, index: int, to: str, **entry: Any) -> list[Any]:
    """The logistician presses the item's button; a form for what the stage requires is answered at once."""
    effects = engine.move_item(case, "items", index, to, LOGISTICIAN, {"logistician"})
    forms = [e.task for e in effects if isinstance(e, TaskCreated)]
    if not forms:
        return effects
    task = forms[0]
    task.id = task.id or len(case.tasks)
    return engine.submit(case, task, "submit", entry, LOGISTICIAN)


def stage_of(case: CaseState, index: int) -> str:
    state = item_state(case.data, "items", index)
    assert state is not None
    return str(state["stage"])


def test_each_item_begins_its_track_when_the_order_starts(engine: Engine) -> None:
    case, effects = ordered(engine)
    assert case.stage == "processing"
    begun = [e for e in effects if isinstance(e, ItemMoved)]
    assert [(e.index, e.previous, e.stage) for e in begun] == [(0, None, "ordering"), (1, None, "ordering"),
                                                                (2, None, "ordering")]
    assert [stage_of(case, i) for i in range(3)] == ["ordering"] * 3


def test_a_stage_that_requires_a_field_asks_for_it_before_the_item_moves(engine: Engine) -> None:
    case, _ = ordered(engine)
    effects = engine.move_item(case, "items", 0, "sent", LOGISTICIAN, {"logistician"})
    form = next(e.task for e in effects if isinstance(e, TaskCreated))
    assert parse_item_task(form.key) == ("items", 0, "sent") and form.assignee_id == LOGISTICIAN
    assert stage_of(case, 0) == "ordering"  # not before the tracking number is given
    assert list(form_fields(SPEC, form)) == ["name", "payment", "tracking", "declaration", "cleared"]
    assert form_data(case.data, form) == ITEMS[0]
    form.id = 7
    with pytest.raises(EngineError, match="Please fill in"):
        engine.submit(case, form, "submit", {}, LOGISTICIAN)
    engine.submit(case, form, "submit", {"tracking": "RU123"}, LOGISTICIAN)
    assert stage_of(case, 0) == "sent"
    assert case.data["items"][0]["tracking"] == "RU123"


def test_a_move_the_stage_does_not_allow_is_refused(engine: Engine) -> None:
    case, _ = ordered(engine)
    with pytest.raises(EngineError, match="cannot be moved"):
        engine.move_item(case, "items", 0, "warehouse", LOGISTICIAN, {"logistician"})
    with pytest.raises(EngineError, match="cannot be moved"):  # the manager is not the track's role
        engine.move_item(case, "items", 0, "cancelled", MANAGER, {"manager"})
    assert engine.item_moves(case, "items", 0, LOGISTICIAN, {"logistician"}) == ["sent", "cancelled"]


def test_a_check_of_the_stage_refuses_an_item_that_does_not_pass(engine: Engine) -> None:
    case, _ = ordered(engine)
    move(engine, case, 0, "sent", tracking="RU1")
    move(engine, case, 0, "customs", declaration="10702010/211226/0001")
    with pytest.raises(EngineError) as refused:
        move(engine, case, 0, "warehouse", cleared=False)
    reason = refused.value.params["reason"]
    assert reason == {"ru": "Позиция не прошла таможню", "en": "The item has not cleared customs"}
    assert stage_of(case, 0) == "customs"


def test_the_order_follows_its_slowest_item_and_ends_when_all_are_shipped(engine: Engine) -> None:
    case, _ = ordered(engine)
    move(engine, case, 0, "sent", tracking="RU1")
    move(engine, case, 1, "sent", tracking="RU2")
    assert case.stage == "processing"  # the third item is still being ordered
    effects = move(engine, case, 2, "sent", tracking="RU3")
    assert case.stage == "in_transit"
    assert StageEntered("processing", "in_transit") in effects
    for index in range(3):
        move(engine, case, index, "customs", declaration=f"D{index}")
    assert case.stage == "at_customs"
    move(engine, case, 0, "warehouse", cleared=True)
    move(engine, case, 1, "warehouse", cleared=True)
    assert case.stage == "at_customs"
    effects = move(engine, case, 2, "warehouse", cleared=True)
    assert case.stage == "in_stock"
    # The stage the order moved to runs its on-enter actions in the same step.
    notes = [e for e in effects if isinstance(e, Notify) and e.kind == "text"]
    assert notes and notes[0].roles == ("manager",)
    move(engine, case, 1, "shipped")
    move(engine, case, 0, "shipped")
    assert case.stage == "in_stock" and case.status == "active"
    move(engine, case, 2, "shipped")
    assert case.stage == "delivered" and case.status == "done" and case.result == "success"


def test_a_cancelled_item_no_longer_holds_the_order_back(engine: Engine) -> None:
    case, _ = ordered(engine)
    move(engine, case, 0, "sent", tracking="RU1")
    move(engine, case, 1, "sent", tracking="RU2")
    move(engine, case, 2, "cancelled")
    assert case.stage == "in_transit"


def test_an_order_whose_every_item_is_cancelled_is_called_off_and_its_manager_told(engine: Engine) -> None:
    """Nothing left to follow: the order does not wait for items that will never move, with nobody told."""
    case, _ = ordered(engine)
    move(engine, case, 0, "sent", tracking="RU1")
    move(engine, case, 1, "cancelled")
    move(engine, case, 2, "cancelled")
    assert case.stage == "in_transit"  # one item still counts
    effects = move(engine, case, 0, "cancelled")
    assert (case.stage, case.status, case.result) == ("called_off", "done", "failure")
    told = [e for e in effects if isinstance(e, Notify) and e.kind == "text"]
    assert [(n.roles, n.text) for n in told] == [(("manager",), "Заказ {{ client }}: все позиции отменены")], told


def test_the_checker_asks_where_an_order_goes_once_every_item_is_cancelled() -> None:
    found = problems_of(SOURCE.replace("      all_cancelled: called_off\n", ""))
    assert found[0].startswith(f"order.yaml:{line_of('    track:')}: the case follows these items and an item can "
                               "be cancelled: name the stage the case goes to when every item is cancelled")
    found = problems_of(SOURCE.replace("all_cancelled: called_off", "all_cancelled: caled_off"))
    assert found[0].startswith(f"order.yaml:{line_of('all_cancelled: called_off')}: unknown stage 'caled_off'")


def test_the_checker_refuses_items_that_a_case_begun_past_its_first_stage_would_never_begin() -> None:
    """A return a clerk starts goes straight to «В работе», past «Приёмка» (`start: {stage: work}`): its units, whose
    track begins with the case's first stage, would have no stage at all — no button to move them, nothing to say
    where they are. The check says so at the track, and takes it once the track names where the units begin."""
    skipping = RETURNS.replace(
        "start: {roles: [clerk], form: [units]}", "start: {roles: [clerk], form: [units], stage: work}"
    ).replace(
        "stages:\n  - key: work\n    title: В работе\n    moves: [{to: done}]\n",
        "stages:\n  - key: intake\n    title: Приёмка\n    moves: [{to: work}]\n"
        "  - key: work\n    title: В работе\n    moves: [{to: done}, {to: intake}]\n",
    )
    found = problems_of(skipping)
    track = skipping.splitlines().index("    track:") + 1
    assert found == [
        f"order.yaml:{track}: the items of 'units' begin at stage 'intake', which a case begun at 'work' does not "
        "pass: they would never begin; name the stage they begin at ('start: <stage>' in 'track')"
    ], found
    named = skipping.replace("    track:\n", "    track:\n      start: work\n")
    assert parse_definition(named, "order.yaml").spec.fields["units"].track is not None
    assert parse_definition(RETURNS, "order.yaml").spec.start.stage is None  # beginning at the first stage: as ever


def test_an_item_history_is_kept_like_a_case_history(engine: Engine, clock: FrozenClock) -> None:
    case, _ = ordered(engine)
    clock.advance(timedelta(hours=2))
    move(engine, case, 1, "sent", tracking="RU2")
    state = item_states(case.data, "items")[1]
    assert [(h["from"], h["to"], h["by"]) for h in state["history"]] == [
        (None, "ordering", None),
        ("ordering", "sent", LOGISTICIAN),
    ]
    assert state["history"][1]["at"] == "2026-12-21T09:00:00+00:00"


def test_an_item_stuck_at_a_stage_reminds_its_people_once_its_time_is_up(engine: Engine) -> None:
    case, _ = ordered(engine)
    effects = move(engine, case, 0, "sent", tracking="RU1")
    timer = next(e for e in effects if isinstance(e, SetTimer) and e.kind == "item")
    assert timer.item == ("items", 0) and timer.stage == "sent"
    assert timer.due_at > datetime(2026, 12, 23, tzinfo=UTC)  # three working days on
    fired = engine.fire(case, "item", None, timer.stage, timer.visit, timer.item)
    assert fired == [ItemReminder("items", 0)]
    move(engine, case, 0, "customs", declaration="D")
    assert engine.fire(case, "item", None, timer.stage, timer.visit, timer.item) == []  # it moved on meanwhile


def test_a_form_left_open_after_someone_else_moved_the_item_leads_nowhere(engine: Engine) -> None:
    case, _ = ordered(engine)
    effects = engine.move_item(case, "items", 0, "sent", LOGISTICIAN, {"logistician"})
    form: TaskState = next(e.task for e in effects if isinstance(e, TaskCreated))
    form.id = 9
    move(engine, case, 0, "cancelled")
    # Closed with the item's move, not left in «Мои задачи» until it is sent and refused.
    assert form.status == "cancelled"
    with pytest.raises(EngineError):
        engine.submit(case, form, "submit", {"tracking": "RU1"}, LOGISTICIAN)
    assert stage_of(case, 0) == "cancelled"


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "order.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(text: str) -> int:
    return SOURCE.splitlines().index(next(line for line in SOURCE.splitlines() if text in line)) + 1


def test_the_checker_points_at_a_move_to_an_undeclared_item_stage() -> None:
    found = problems_of(SOURCE.replace("moves: [customs, cancelled]", "moves: [custom, cancelled]"))
    assert f"order.yaml:{line_of('moves: [customs, cancelled]')}: unknown item stage 'custom'" in found[0]


def test_the_checker_refuses_a_required_field_the_entry_does_not_have() -> None:
    found = problems_of(SOURCE.replace("requires: [declaration]", "requires: [declaraton]"))
    assert found[0].startswith(f"order.yaml:{line_of('requires: [declaration]')}: 'declaraton' is not a field of an")


def test_the_checker_refuses_a_parent_rule_on_an_unknown_item_stage() -> None:
    found = problems_of(SOURCE.replace("at_least: customs}", "at_least: custom}"))
    assert found[0].startswith(f"order.yaml:{line_of('at_least: customs}')}: unknown item stage 'custom'")
    found = problems_of(SOURCE.replace("{list: items, at_least: sent}", "{list: client, at_least: sent}"))
    assert "'client' is not a list field with a 'track'" in found[0]


def test_the_checker_reads_the_rules_of_a_stage_with_the_item() -> None:
    found = problems_of(SOURCE.replace('rule: "item.cleared"', 'rule: "item.clered"'))
    assert found and "clered" in found[0] and f"order.yaml:{line_of('rule: ')}" in found[0]


def test_the_shipped_definitions_still_pass() -> None:
    assert SPEC.tracks()["items"].role == "logistician"
    assert [s.key for s in SPEC.followers("items")] == ["processing", "in_transit", "at_customs", "in_stock",
                                                        "delivered"]


def test_the_checker_keeps_a_tracked_list_from_being_answered_anew() -> None:
    source = SOURCE.replace(
        "    follows: {list: items, at_least: sent}\n",
        "    follows: {list: items, at_least: sent}\n    editable: [items]\n",
    )
    found = problems_of(source)
    assert found == [
        f"order.yaml:{line_of('follows: {list: items, at_least: sent}') + 1}: the items of 'items' move along a "
        "track, so the list is filled once, in the start form"
    ]


def test_the_checker_refuses_item_keys_too_long_for_a_move_button() -> None:
    long_stage = "customs_clearance_in_progress_2"  # a stage key may be this long, but not with a long list name
    source = SOURCE
    for old, new in [("key: customs\n", f"key: {long_stage}\n"), ("[customs,", f"[{long_stage},"),
                     ("at_least: customs}", f"at_least: {long_stage}}}")]:
        source = source.replace(old, new)
    assert parse_definition(source, "order.yaml").spec  # with the list called `items` it fits
    found = problems_of(source.replace("items", "equipment_items"))
    assert found == [
        f"order.yaml:{line_of('key: customs')}: '{long_stage}' and the list's name 'equipment_items' are too long "
        "together for a button; use shorter keys"
    ]


RETURNS = """
process: returns
title: Возврат
roles: [clerk]
start: {roles: [clerk], form: [units]}
fields:
  units:
    type: list
    label: Изделия
    fields:
      serial: {type: text, label: Серийный номер}
    track:
      stages:
        - {key: received, title: Принято, moves: [checked]}
        - {key: checked, title: Проверено}
stages:
  - key: work
    title: В работе
    moves: [{to: done}]
  - key: done
    title: Готово
    final: true
"""


def test_without_a_following_stage_items_begin_with_the_case_and_its_responsible_moves_them(engine: Engine) -> None:
    spec = parse_definition(RETURNS).spec
    case, effects = engine.start(spec, MANAGER, {"units": [{"serial": "A1"}, {"serial": "B2"}]})
    assert [(e.index, e.stage) for e in effects if isinstance(e, ItemMoved)] == [(0, "received"), (1, "received")]
    assert engine.item_moves(case, "units", 1, LOGISTICIAN, set()) == []  # not the case's responsible
    engine.move_item(case, "units", 1, "checked", MANAGER, set())
    assert [s["stage"] for s in item_states(case.data, "units")] == ["received", "checked"]
    assert case.stage == "work"  # nothing follows the items here: the case moves by hand


def test_work_of_a_following_stage_is_no_longer_needed_once_the_items_take_the_case_on(engine: Engine) -> None:
    source = SOURCE.replace(
        "    follows: {list: items, at_least: sent}\n",
        "    follows: {list: items, at_least: sent}\n"
        "    tasks:\n"
        "      - {key: book_broker, kind: confirm, title: Заказать таможенного брокера, assignee: manager}\n"
        "    next: at_customs\n",
    )
    spec = parse_definition(source).spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника", "items": [dict(i) for i in ITEMS[:2]]})
    move(engine, case, 0, "sent", tracking="RU1")
    effects = move(engine, case, 1, "sent", tracking="RU2")
    broker = next(e.task for e in effects if isinstance(e, TaskCreated) and e.task.key == "book_broker")
    assert case.stage == "in_transit" and broker.role == "manager"
    move(engine, case, 0, "customs", declaration="D1")
    move(engine, case, 1, "customs", declaration="D2")
    assert case.stage == "at_customs" and broker.status == "cancelled"


CHANGING = SOURCE.replace(
    "    follows: {list: items, at_least: ordering}\n",
    "    follows: {list: items, at_least: ordering}\n    editable: [items]\n",
).replace(
    "    follows: {list: items, at_least: sent}\n",
    "    follows: {list: items, at_least: sent}\n    editable: [items]\n",
).replace("      role: logistician\n", "      role: logistician\n      on_change: [add, cancel_removed]\n")


def edit_items(engine: Engine, case: CaseState, items: list[dict[str, Any]]) -> list[Any]:
    engine.request_edit(case, "items", MANAGER)
    task = case.open_tasks()[-1]
    task.id = 900 + len(case.tasks)
    return engine.submit(case, task, "submit", {"items": items}, MANAGER)


def test_an_item_added_after_the_items_began_begins_its_track_and_holds_the_order_back(engine: Engine) -> None:
    case, _ = engine.start(
        parse_definition(CHANGING).spec, MANAGER, {"client": "Клиника", "items": [dict(i) for i in ITEMS]}
    )
    for index in range(3):
        move(engine, case, index, "sent", tracking=f"RU{index}")
    assert case.stage == "in_transit"
    effects = edit_items(engine, case, [*case.data["items"], {"name": "Монитор", "payment": "credit"}])
    assert ItemMoved("items", 3, None, "ordering", MANAGER) in effects
    assert case.stage == "processing"  # the order follows its slowest item, the new one


def test_an_item_removed_after_the_items_began_no_longer_counts(engine: Engine) -> None:
    case, _ = engine.start(
        parse_definition(CHANGING).spec, MANAGER, {"client": "Клиника", "items": [dict(i) for i in ITEMS]}
    )
    move(engine, case, 0, "sent", tracking="RU0")
    move(engine, case, 1, "sent", tracking="RU1")
    assert case.stage == "processing"
    edit_items(engine, case, case.data["items"][:2])
    assert len(item_states(case.data, "items")) == 2 and case.stage == "in_transit"


def test_a_tracked_list_may_change_once_the_track_says_how() -> None:
    parse_definition(CHANGING)
    assert problems_of(CHANGING.replace("      on_change: [add, cancel_removed]\n", ""))


def test_correcting_an_entry_of_the_order_offers_only_what_it_is_asked_while_the_order_is_put_together(
    tmp_path: Path,
) -> None:
    """Seed 5's manager corrects an item from the summary of «Соберите заказ»: the tracking number, the declaration,
    the warehouse receipt and the delivery note belong to the item's track (asked on its card as it moves), and an
    item in stock has no supplier: none of them is offered, since nothing would ask it."""
    spec = load_file(Path(__file__).parent.parent / "flows" / "library" / "medical_order.yaml").spec
    names = ["items", "contract_file"]
    ultrasound = {"name": "Аппарат УЗИ", "availability": "to_order", "supplier": "Siemens", "quantity": 1,
                  "price": "4500000", "payment_method": "prepayment", "delivery_method": "air"}
    monitor = {"name": "Кардиомонитор", "availability": "in_stock", "quantity": 2, "price": "350000",
               "payment_method": "deferred", "delivery_method": "pickup"}
    draft = forms.new_draft("done", {"items": [dict(ultrasound), dict(monitor)]})
    renderer = Renderer(Translator(tmp_path), ZoneInfo("Europe/Moscow"))
    everything = ["Наименование", "Количество", "Наличие", "Поставщик", "Цена", "Способ оплаты", "Способ доставки"]
    subs = list(spec.fields["items"].fields or {})
    for index, offered in ((0, everything), (1, [label for label in everything if label != "Поставщик"])):
        keyboard = renderer.entry_field_picker(spec.fields, names, "items", index, draft, 7, "ru")
        assert keyboard is not None
        picks = [b for row in keyboard["inline_keyboard"] for b in row if FormCb.unpack(b["callback_data"]).action
                 == "sub" and FormCb.unpack(b["callback_data"]).arg.count(".") == 2]
        assert [b["text"] for b in picks] == offered
        # Each button still names its field by its place among all the entry's fields.
        assert [subs[int(FormCb.unpack(b["callback_data"]).arg.split(".")[2])] for b in picks] == [
            k for k in subs if k not in forms.track_fields(spec.fields["items"]) and (index == 0 or k != "supplier")
        ]
    # A made-up or stale button for a later stage's field corrects nothing and says so.
    with pytest.raises(InvalidAnswer):
        forms.reset_entry(spec.fields, draft, "items", 0, "tracking")
    forms.reset_entry(spec.fields, draft, "items", 1, None)  # the whole entry: only what it is asked comes back
    assert draft["current"] == {f"items.1.{k}": v for k, v in monitor.items()}


def test_a_cancelled_item_leaves_the_orders_total(engine: Engine) -> None:
    """What the order comes to is what will be delivered: the cancelled item's price is not in it."""
    prices, quantities = ("100.00", "25.00", "10.00"), (1, 4, 2)
    priced = [dict(i, price=p, quantity=q) for i, p, q in zip(ITEMS, prices, quantities, strict=True)]
    case, _ = engine.start(SPEC, MANAGER, {"client": "Клиника", "items": priced})
    total = "{{ items|total('price', 'quantity')|money }}"
    assert render(total, engine.context(case)) == "220,00"
    move(engine, case, 1, "cancelled")
    assert render(total, engine.context(case)) == "120,00"
    assert case.data["items"][1] == priced[1]  # the entry itself is kept as it was


# The test order with its tracking number correctable while the item travels (seed 5's `editable`).
CORRECTABLE = SOURCE.replace(
    "          requires: [tracking]\n", "          requires: [tracking]\n          editable: [tracking, payment]\n"
)


def test_a_mistyped_tracking_number_is_corrected_on_the_item_and_the_old_one_kept(engine: Engine) -> None:
    """The logistician typed RU10020030 for RU100200300: where the item stands he gives the right number, one field
    at a time; the entry has it, the item's history keeps the old one (old → new, when, by whom), and the other
    items are as they were."""
    spec = parse_definition(CORRECTABLE, "order.yaml").spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника «Здоровье»", "items": [dict(i) for i in ITEMS]})
    effects = engine.move_item(case, "items", 0, "sent", LOGISTICIAN, {"logistician"})
    form = next(e.task for e in effects if isinstance(e, TaskCreated))
    form.id = 1
    engine.submit(case, form, "submit", {"tracking": "RU10020030"}, LOGISTICIAN)
    # Only the track's people correct it; the manager is not one (nor may a field the stage does not name be).
    assert engine.item_corrections(case, "items", 0, LOGISTICIAN, {"logistician"}) == ["tracking", "payment"]
    assert engine.item_corrections(case, "items", 0, MANAGER, {"manager"}) == []
    assert engine.item_corrections(case, "items", 1, LOGISTICIAN, {"logistician"}) == []  # still being ordered
    for refused in ((0, "tracking", MANAGER, {"manager"}), (0, "declaration", LOGISTICIAN, {"logistician"}),
                    (1, "tracking", LOGISTICIAN, {"logistician"})):  # fmt: skip
        index, field, who, roles = refused
        with pytest.raises(EngineError, match="cannot be changed"):
            engine.request_item_edit(case, "items", index, field, who, roles)

    (edit,) = [e.task for e in engine.request_item_edit(case, "items", 0, "tracking", LOGISTICIAN, {"logistician"})]
    edit.id = 2
    assert parse_item_edit(edit.key) == ("items", 0, "tracking") and edit.assignee_id == LOGISTICIAN
    assert form_data(case.data, edit)["tracking"] == "RU10020030"  # the form offers the number it has to keep
    assert list(form_fields(spec, edit)) == ["name", "payment", "tracking", "declaration", "cleared"]
    # Pressed again, the same form (not a second one).
    assert engine.request_item_edit(case, "items", 0, "tracking", LOGISTICIAN, {"logistician"}) == []
    effects = engine.submit(case, edit, "submit", {"tracking": "RU100200300", "payment": "credit"}, LOGISTICIAN)

    assert case.data["items"][0]["tracking"] == "RU100200300"
    assert case.data["items"][0]["payment"] == "prepaid"  # a correction of one field changes that field only
    assert [e for e in effects if isinstance(e, FieldCorrected)] == [
        FieldCorrected("tracking", "RU10020030", "RU100200300", LOGISTICIAN, item=("items", 0))
    ]
    state = item_states(case.data, "items")[0]
    assert state["stage"] == "sent"  # corrected where it stands, not moved
    step = state["history"][-1]
    assert (step["corrected"], step["was"], step["now"], step["by"]) == ("tracking", "RU10020030", "RU100200300",
                                                                         LOGISTICIAN)  # fmt: skip
    assert corrections(state) == {"tracking": [{"value": "RU10020030", "at": step["at"]}]}
    assert case.data["items"][1] == ITEMS[1]

    # «↩️ Передумать» at its question: the form goes, the item is as it was.
    (left,) = [e.task for e in engine.request_item_edit(case, "items", 0, "tracking", LOGISTICIAN, {"logistician"})]
    left.id = 3
    assert [type(e) for e in engine.withdraw_move(case, left, LOGISTICIAN)] == [TaskClosed]
    assert left.status == "cancelled" and case.data["items"][0]["tracking"] == "RU100200300"
    # A field its stage requires is not emptied by a correction.
    (again,) = [e.task for e in engine.request_item_edit(case, "items", 0, "tracking", LOGISTICIAN, {"logistician"})]
    again.id = 4
    with pytest.raises(EngineError, match="Please fill in"):
        engine.submit(case, again, "submit", {"tracking": ""}, LOGISTICIAN)
    assert case.data["items"][0]["tracking"] == "RU100200300"
    # Moved on to where the number is no longer corrected, the open correction leads nowhere and is closed.
    move(engine, case, 0, "customs", declaration="D-1")
    assert again.status == "cancelled"
    assert engine.item_corrections(case, "items", 0, LOGISTICIAN, {"logistician"}) == []


def test_the_checker_reads_the_fields_an_item_stage_lets_its_people_correct() -> None:
    """`editable` under an item stage names fields of the list's entry, at its own line; a field of the case (not
    of the entry) or a name too long for the «✏️» button is said there."""
    spec = parse_definition(CORRECTABLE, "order.yaml").spec
    assert spec.tracks()["items"].stage("sent").editable == ["tracking", "payment"]
    line = CORRECTABLE.splitlines().index("          editable: [tracking, payment]") + 1
    found = problems_of(CORRECTABLE.replace("editable: [tracking, payment]", "editable: [tracking, client]"))
    assert found == [
        f"order.yaml:{line}: 'client' is not a field of an entry of 'items' (its fields: name, payment, tracking, "
        "declaration, cleared)"
    ]
    long_field = "tracking_number_of_the_carrier"  # 30 characters: fits beside `items`, not `equipment_items`
    source = CORRECTABLE.replace("tracking", long_field)
    assert parse_definition(source, "order.yaml").spec  # with the list called `items` it fits
    found = problems_of(source.replace("items", "equipment_items"))
    assert f"order.yaml:{line}: '{long_field}' and the list's name 'equipment_items' are too long together" in found[0]
    found = problems_of(CORRECTABLE.replace("editable: [tracking, payment]", "editable: tracking"))
    assert found[0].startswith(f"order.yaml:{line}: ") and "editable" in found[0], found
