"""A stage whose parallel tasks may be decided by one answer (`join: {any: …}` on the stage): a contract agreed with
the client and the director at once — the client's refusal or the director's return is enough, and the other's task
is withdrawn. In the engine alone and in the checker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, parse_definition
from flows.runtime import CaseState, Engine, TaskClosed, TaskState

SOURCE = """
process: contract_deal
title: Сделка
roles: [manager, director]
start: {roles: [manager], form: [client]}
fields:
  client: {type: text, label: Клиент}
stages:
  - key: contract
    title: Подготовка договора
    tasks:
      - {key: prepare, kind: confirm, assignee: initiator, title: Подготовьте договор}
    next: approval
  - key: approval
    title: Согласование договора
    join:
      any: "client_answer == 'refused' or director_approval == 'reject'"
    tasks:
      - key: client_answer
        kind: choice
        assignee: initiator
        title: Ответ клиента
        outcomes: {agreed: {label: Согласовал}, refused: {label: Отказался, comment: required}}
      - {key: director_approval, kind: approve, assignee: director, title: Согласуйте договор}
    next:
      - {to: lost, when: "client_answer == 'refused'"}
      - {to: contract, when: "director_approval == 'reject'"}
      - {to: won}
  - {key: won, title: Выиграна, final: true, result: success}
  - {key: lost, title: Проиграна, final: true, result: failure}
"""
SPEC = parse_definition(SOURCE).spec
MANAGER, DIRECTOR = 1, 2


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def to_approval(engine: Engine) -> CaseState:
    case, _ = engine.start(SPEC, MANAGER, {"client": "Клиника"})
    answer(engine, case, "prepare", "done")
    assert case.stage == "approval"
    return case


def open_task(case: CaseState, key: str) -> TaskState:
    return next(t for t in case.open_tasks() if t.key == key)


def answer(engine: Engine, case: CaseState, key: str, outcome: str, comment: str | None = None) -> list[object]:
    task = open_task(case, key)
    for number, each in enumerate(case.tasks, 1):
        each.id = each.id or number
    if task.assignee_id is None:
        engine.claim(case, task, DIRECTOR, {"director"})
    values = {f"{key}_comment": comment} if comment else {}
    return engine.submit(case, task, outcome, values, task.assignee_id or DIRECTOR)


def withdrawn(effects: list[object]) -> list[str]:
    return [e.task.key for e in effects if isinstance(e, TaskClosed) and e.task.status == "cancelled"]


def test_the_clients_refusal_ends_the_stage_and_withdraws_the_directors_approval(engine: Engine) -> None:
    case = to_approval(engine)
    effects = answer(engine, case, "client_answer", "refused", "Дорого")
    assert withdrawn(effects) == ["director_approval"]
    assert case.stage == "lost" and case.result == "failure"


def test_the_directors_return_sends_the_contract_back_at_once(engine: Engine) -> None:
    case = to_approval(engine)
    effects = answer(engine, case, "director_approval", "reject", "Цена занижена")
    assert withdrawn(effects) == ["client_answer"]
    assert case.stage == "contract" and [t.key for t in case.open_tasks()] == ["prepare"]


def test_an_answer_that_decides_nothing_waits_for_the_other(engine: Engine) -> None:
    case = to_approval(engine)
    answer(engine, case, "client_answer", "agreed")
    assert case.stage == "approval" and [t.key for t in case.open_tasks()] == ["director_approval"]
    answer(engine, case, "director_approval", "approve")
    assert case.stage == "won"


def test_the_last_rounds_return_does_not_decide_the_new_round(engine: Engine) -> None:
    case = to_approval(engine)
    answer(engine, case, "director_approval", "reject", "Цена занижена")
    answer(engine, case, "prepare", "done")
    # The director's «no» was to the last contract: the client agreeing to the new one waits for his new answer.
    answer(engine, case, "client_answer", "agreed")
    assert case.stage == "approval" and [t.key for t in case.open_tasks()] == ["director_approval"]
    answer(engine, case, "director_approval", "approve")
    assert case.stage == "won"


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "deal.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_checker_reads_the_stages_join() -> None:
    found = problems_of(SOURCE.replace("client_answer == 'refused' or", "client_answer == 'declined' or"))
    assert any("never 'declined'" in p for p in found), found
    found = problems_of(SOURCE.replace("join:\n      any:", "join:\n      at_least: 1\n      any:"))
    assert any("exactly one of 'any' and 'at_least'" in p for p in found), found
    director = "      - {key: director_approval, kind: approve, assignee: director, title: Согласуйте договор}\n"
    found = problems_of(SOURCE.replace(director, ""))
    assert any("needs two tasks or more" in p for p in found), found
    spelled_out = SOURCE.replace("join:\n      any: \"client_answer == 'refused' or director_approval == 'reject'\"",
                                 "join: all")  # fmt: skip
    assert spelled_out != SOURCE and parse_definition(spelled_out).spec.stage("approval").join is None
