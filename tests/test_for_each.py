"""One task per entry of a list (`for_each`), with each join rule, in the engine alone and in the checker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, load_file, parse_definition
from flows.runtime import CaseState, Engine, TaskClosed, TaskCreated, TaskState, task_entry

DATA = Path(__file__).parent / "data"
SOURCE = (DATA / "batch_review.yaml").read_text(encoding="utf-8")
SPEC = load_file(DATA / "batch_review.yaml").spec
MANAGER, INSPECTOR = 1, 2
UNITS = [{"serial": "A1", "weight": 3}, {"serial": "B2", "weight": 5}, {"serial": "C3", "weight": 7}]


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def started(engine: Engine, units: list[dict[str, Any]] | None = None) -> tuple[CaseState, list[Any]]:
    case, effects = engine.start(SPEC, MANAGER, {"units": UNITS if units is None else units})
    for number, task in enumerate(case.tasks, 1):
        task.id = number
    return case, effects


def tasks_of(case: CaseState, key: str) -> list[TaskState]:
    return [t for t in case.open_tasks() if t.key.partition("#")[0] == key]


def answer(engine: Engine, case: CaseState, task: TaskState, outcome: str, comment: str | None = None) -> list[Any]:
    # As the bot sends it: an entry's comment under the entry's own task key.
    values = {f"{task.key}_comment": comment} if comment else {}
    if task.assignee_id is None:
        engine.claim(case, task, INSPECTOR, {"inspector"})
    effects = engine.submit(case, task, outcome, values, INSPECTOR)
    for number, fresh in enumerate(case.tasks, 100):
        fresh.id = fresh.id or number
    return effects


def test_one_task_per_entry_each_knowing_its_entry(engine: Engine) -> None:
    case, effects = started(engine)
    created = [e.task for e in effects if isinstance(e, TaskCreated)]
    assert [t.key for t in created] == ["unit_check#0", "unit_check#1", "unit_check#2"]
    found = task_entry(case.spec, case.data, created[1])
    assert found is not None and found[1] == {"serial": "B2", "weight": 5}
    assert found[0] is SPEC.fields["units"]


def test_all_waits_for_every_entry(engine: Engine) -> None:
    case, _ = started(engine)
    first, second, third = tasks_of(case, "unit_check")
    answer(engine, case, first, "approve")
    answer(engine, case, third, "approve")
    assert case.stage == "every_unit" and tasks_of(case, "unit_check") == [second]
    answer(engine, case, second, "reject", "Царапина")
    assert case.stage == "any_rejected"  # `next` reads the last answer given
    assert case.data["unit_check#1_comment"] == "Царапина" and case.data["unit_check_comment"] == "Царапина"


def test_any_stops_at_the_first_entry_meeting_the_condition(engine: Engine) -> None:
    case, _ = started(engine)
    for task in tasks_of(case, "unit_check"):
        answer(engine, case, task, "approve")
    assert case.stage == "first_reject"
    first, second, third = tasks_of(case, "quick_check")
    answer(engine, case, second, "approve")
    assert case.stage == "first_reject" and len(tasks_of(case, "quick_check")) == 2
    effects = answer(engine, case, first, "reject", "Брак")
    cancelled = [e.task.key for e in effects if isinstance(e, TaskClosed) and e.task.status == "cancelled"]
    assert cancelled == [third.key]  # the rest are no longer needed
    assert case.stage == "any_rejected"


def test_any_without_a_match_waits_for_all(engine: Engine) -> None:
    case, _ = started(engine)
    for task in tasks_of(case, "unit_check"):
        answer(engine, case, task, "approve")
    quick = tasks_of(case, "quick_check")
    for task in quick[:-1]:
        answer(engine, case, task, "approve")
        assert case.stage == "first_reject"
    answer(engine, case, quick[-1], "approve")
    assert case.stage == "two_of_them"


def test_at_least_moves_on_after_n_entries(engine: Engine) -> None:
    case, _ = started(engine)
    for key in ("unit_check", "quick_check"):
        for task in tasks_of(case, key):
            answer(engine, case, task, "approve")
    first, second, third = tasks_of(case, "sample")
    answer(engine, case, third, "done")
    assert case.stage == "two_of_them" and len(tasks_of(case, "sample")) == 2
    effects = answer(engine, case, first, "done")
    assert [e.task.key for e in effects if isinstance(e, TaskClosed) and e.task.status == "cancelled"] == [second.key]
    assert case.stage == "done" and case.status == "done"


def test_an_empty_list_gives_no_task_and_moves_on(engine: Engine) -> None:
    spec = parse_definition(SOURCE.replace("  form: [units]", "  form: []")).spec
    case, effects = engine.start(spec, MANAGER, {})
    assert not any(isinstance(e, TaskCreated) for e in effects)
    assert case.status == "done" and case.stage == "done"  # nothing to check at any stage


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "batch.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_checker_knows_item_and_the_list() -> None:
    found = problems_of(SOURCE.replace("{{ item.serial }}", "{{ item.serail }}"))
    assert any("serail" in p for p in found)
    found = problems_of(
        SOURCE.replace(
            "for_each: units\n        join: {at_least: 2}", "for_each: sample_units\n        join: {at_least: 2}"
        )
    )
    assert any("'sample_units' is not a list field" in p for p in found)
    found = problems_of(
        SOURCE.replace("join: {any: \"quick_check == 'reject'\"}", "join: {any: \"quick_check == 'rejected'\"}")
    )
    assert any("never 'rejected'" in p for p in found)
    found = problems_of(SOURCE.replace("join: {at_least: 2}", "join: {at_least: 2, any: \"sample == 'done'\"}"))
    assert any("exactly one of 'any' and 'at_least'" in p for p in found)


def test_the_list_cannot_change_while_its_tasks_run() -> None:
    source = SOURCE.replace("    title: Каждое изделие\n", "    title: Каждое изделие\n    editable: [units]\n")
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "for_each: units" in text)
    assert (
        f"batch.yaml:{line}: 'units' can be changed at stage 'every_unit', where a task runs for each of its "
        "entries; say what then happens with 'on_change'"
        in problems_of(source)
    )
    source = SOURCE.replace(
        "        title: Проверьте изделие\n", "        title: Проверьте изделие\n        fields: [units]\n"
    )
    assert any("answered with its outcome and comment only" in p for p in problems_of(source))


def test_join_all_may_be_spelled_out() -> None:
    spec = parse_definition(SOURCE.replace("join: {at_least: 2}", "join: all")).spec
    assert spec.stage("two_of_them").tasks[0].join is None


def test_an_entrys_card_shows_its_fields_and_its_text_sees_item(engine: Engine, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from services.i18n import Translator
    from tgbot.render import Renderer

    case, _ = started(engine)
    case.id = 7
    task = tasks_of(case, "unit_check")[1]
    text, _keyboard = Renderer(Translator(tmp_path), ZoneInfo("Europe/Moscow")).task_card(
        case, task, "ru", names={}, viewer_id=INSPECTOR
    )
    assert "Серийный номер: B2" in text and "Изделие B2, вес 5" in text and "A1" not in text


def test_an_entry_may_name_who_gets_its_task() -> None:
    source = SOURCE.replace(
        "      weight: {type: number, label: Вес}\n",
        "      weight: {type: number, label: Вес}\n"
        "      who: {type: choice, label: Кто, options: {inspector: Контролёр, manager: Менеджер}}\n",
    ).replace(
        "        for_each: units\n        assignee: inspector", "        for_each: units\n        assignee: item:who"
    )
    spec = parse_definition(source).spec
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    case, _ = engine.start(
        spec, MANAGER, {"units": [{"serial": "A1", "who": "manager"}, {"serial": "B2", "who": "inspector"}]}
    )
    assert [t.role for t in case.open_tasks()] == ["manager", "inspector"]
    found = problems_of(source.replace("inspector: Контролёр", "boss: Начальник"))
    assert any(
        "'item:who': the entry's 'who' must be a person field or a choice of this process's roles" in p for p in found
    )
    assert any("'item:weight'" in p for p in problems_of(source.replace("assignee: item:who", "assignee: item:weight")))


def test_the_weekly_cycle_runs_its_per_production_blocks_per_entry() -> None:
    spec = load_file(Path(__file__).parent.parent / "flows" / "library" / "weekly_orders.yaml").spec
    keys = [t.key for s in spec.stages for t in s.tasks]
    per_production = [t for s in spec.stages for t in s.tasks if t.for_each == "productions"]
    # The production confirmation is a task per head: each answers how many kilos his production will make, a figure
    # of its own that one task's parallel entries could not keep apart (a `for_each` task asks no fields).
    own_figure = {"production_ok_p1", "production_ok_p2"}
    assert len(per_production) == 4
    assert not [k for k in keys if k.endswith("_p1") and not k.startswith("collect_") and k not in own_figure]


CHANGING = SOURCE.replace("    title: Каждое изделие\n", "    title: Каждое изделие\n    editable: [units]\n").replace(
    "        for_each: units\n        assignee: inspector\n        title: Проверьте изделие",
    "        for_each: units\n        on_change: [add, cancel_removed]\n        assignee: inspector\n"
    "        title: Проверьте изделие",
)


def edit_units(engine: Engine, case: CaseState, units: list[dict[str, Any]]) -> list[Any]:
    """The manager changes the list while its tasks run (the field is editable at the stage)."""
    engine.request_edit(case, "units", MANAGER)
    task = case.open_tasks()[-1]
    task.id = 900 + len(case.tasks)
    return engine.submit(case, task, "submit", {"units": units}, MANAGER)


def test_a_unit_added_while_the_checks_run_gets_its_own_check() -> None:
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    case, _ = engine.start(parse_definition(CHANGING).spec, MANAGER, {"units": UNITS})
    for number, task in enumerate(case.tasks, 1):
        task.id = number
    answer(engine, case, tasks_of(case, "unit_check")[0], "approve")
    effects = edit_units(engine, case, [*UNITS, {"serial": "D4", "weight": 9}])
    assert [e.task.key for e in effects if isinstance(e, TaskCreated)] == ["unit_check#3"]
    assert [t.key for t in tasks_of(case, "unit_check")] == ["unit_check#1", "unit_check#2", "unit_check#3"]
    found = task_entry(case.spec, case.data, tasks_of(case, "unit_check")[-1])
    assert found is not None and found[1]["serial"] == "D4"


def test_a_unit_removed_while_the_checks_run_loses_its_check_and_the_stage_goes_on_without_it() -> None:
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    case, _ = engine.start(parse_definition(CHANGING).spec, MANAGER, {"units": UNITS})
    for number, task in enumerate(case.tasks, 1):
        task.id = number
    first, second, _third = tasks_of(case, "unit_check")
    answer(engine, case, first, "approve")
    answer(engine, case, second, "approve")
    effects = edit_units(engine, case, UNITS[:2])
    cancelled = [e.task.key for e in effects if isinstance(e, TaskClosed) and e.task.status == "cancelled"]
    assert cancelled == ["unit_check#2"]
    assert case.stage == "first_reject"  # the two left were checked: the stage is done


def test_ignore_lets_the_list_change_and_leaves_the_checks_as_they_were() -> None:
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    spec = parse_definition(CHANGING.replace("on_change: [add, cancel_removed]", "on_change: ignore")).spec
    case, _ = engine.start(spec, MANAGER, {"units": UNITS})
    for number, task in enumerate(case.tasks, 1):
        task.id = number
    effects = edit_units(engine, case, [*UNITS, {"serial": "D4", "weight": 9}])
    assert not [e for e in effects if isinstance(e, TaskCreated)] and len(tasks_of(case, "unit_check")) == 3
    unsaid = CHANGING.replace("        on_change: [add, cancel_removed]\n", "")
    assert any("on_change" in p for p in problems_of(unsaid))


ONLY_HEAVY = SOURCE.replace(
    "        for_each: units\n        assignee: inspector\n",
    '        for_each: units\n        when: "item.weight > 4"\n        assignee: inspector\n',
    1,
)


def test_an_entry_its_when_does_not_hold_for_gets_no_task_and_the_others_decide(engine: Engine) -> None:
    """Only units over 4 kg go to the inspector: A1 (3 kg) gets no check at all, and the stage moves on once the two
    heavy ones are checked — the light one is neither asked nor waited for."""
    case, effects = engine.start(parse_definition(ONLY_HEAVY).spec, MANAGER, {"units": UNITS})
    for number, task in enumerate(case.tasks, 1):
        task.id = number
    assert [e.task.key for e in effects if isinstance(e, TaskCreated)] == ["unit_check#1", "unit_check#2"]
    heavy = tasks_of(case, "unit_check")
    assert [task_entry(case.spec, case.data, t)[1]["serial"] for t in heavy] == ["B2", "C3"]  # type: ignore[index]
    answer(engine, case, heavy[0], "approve")
    assert case.stage == "every_unit"
    answer(engine, case, heavy[1], "approve")
    assert case.stage == "first_reject"


def test_no_entry_its_when_holds_for_gives_no_task_and_moves_on(engine: Engine) -> None:
    case, effects = engine.start(parse_definition(ONLY_HEAVY).spec, MANAGER, {"units": UNITS[:1]})
    assert not [e for e in effects if isinstance(e, TaskCreated) and e.task.key.startswith("unit_check")]
    assert case.stage == "first_reject"


def test_an_entry_added_while_the_checks_run_is_checked_only_if_its_when_holds() -> None:
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))
    source = CHANGING.replace("        on_change: [add, cancel_removed]\n", "        on_change: [add, cancel_removed]\n"
                              "        when: \"item.weight > 4\"\n")  # fmt: skip
    case, _ = engine.start(parse_definition(source).spec, MANAGER, {"units": UNITS})
    for number, task in enumerate(case.tasks, 1):
        task.id = number
    effects = edit_units(engine, case, [*UNITS, {"serial": "D4", "weight": 1}, {"serial": "E5", "weight": 9}])
    assert [e.task.key for e in effects if isinstance(e, TaskCreated)] == ["unit_check#4"]


def test_item_is_read_only_where_a_task_runs_per_entry() -> None:
    source = SOURCE.replace(
        "        kind: confirm\n        for_each: units\n        join: {at_least: 2}\n",
        '        kind: confirm\n        when: "item.weight > 4"\n',
    )
    line = next(n for n, text in enumerate(source.splitlines(), 1) if "item.weight > 4" in text)
    assert f"batch.yaml:{line}: 'item.weight > 4': this process has no field or task 'item'" in problems_of(source)
    assert any("'item.wieght" in p for p in problems_of(ONLY_HEAVY.replace("item.weight > 4", "item.wieght > 4")))
