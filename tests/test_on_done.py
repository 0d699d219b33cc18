"""A task's `on_done`: who is told, in the definition's words, when a task is answered — not when it is withdrawn
or its case cancelled — in the engine alone and in the checker. The director approving a contract while the
client's answer is still to come is news to the manager at once; approving it last, it is not (the manager's next
task says it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, language_gaps, parse_definition
from flows.runtime import CaseState, Engine, Notify, TaskState
from flows.templating import render

DATA = Path(__file__).parent / "data"
SOURCE = """\
process: deal
title: {ru: Сделка, en: Deal}
roles: [manager, director]
start:
  roles: [manager]
  form: [client]
fields:
  client: {type: text, label: {ru: Клиент, en: Client}}
stages:
  - key: approval
    title: {ru: Согласование, en: Approval}
    join:
      any: "client_answer == 'refused' or director_approval == 'reject'"
    tasks:
      - key: client_answer
        kind: choice
        assignee: initiator
        title: {ru: Ответ клиента, en: The client's answer}
        outcomes:
          agreed: {label: {ru: Согласовал, en: Agreed}}
          refused: {label: {ru: Отказался, en: Refused}}
      - key: director_approval
        kind: approve
        assignee: director
        title: {ru: Согласуйте договор, en: Approve the contract}
        on_done:
          - notify: [responsible]
            when: "director_approval == 'approve' and not client_answer"
            text:
              ru: "{{ client }}: директор согласовал договор — ждём ответа клиента."
              en: "{{ client }}: the director approved the contract — waiting for the client's answer."
    next:
      - {to: lost, when: "client_answer == 'refused'"}
      - {to: approval, when: "director_approval == 'reject'"}
      - {to: won}
  - key: lost
    title: {ru: Проиграна, en: Lost}
    final: true
  - key: won
    title: {ru: Выиграна, en: Won}
    final: true
"""
MANAGER, DIRECTOR = 1, 2


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def _deal(engine: Engine, source: str = SOURCE) -> CaseState:
    spec = parse_definition(source, "deal.yaml").spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника «Здоровье»"})
    return case


def _task(case: CaseState, key: str) -> TaskState:
    return next(t for t in case.open_tasks() if t.key == key)


def _answer(engine: Engine, case: CaseState, key: str, outcome: str, by: int, **values: str) -> list:  # type: ignore[type-arg]
    """`by` takes the task (the director's is his role's pool) and answers it."""
    task = _task(case, key)
    if not task.claimed:
        engine.claim(case, task, by, {"director"})
    return engine.submit(case, task, outcome, values, by)


def _notices(effects: list) -> list[Notify]:  # type: ignore[type-arg]
    return [e for e in effects if isinstance(e, Notify) and e.kind == "text"]


def test_the_director_approving_before_the_client_answers_tells_the_manager_at_once(engine: Engine) -> None:
    case = _deal(engine)

    effects = _answer(engine, case, "director_approval", "approve", DIRECTOR)

    (notice,) = _notices(effects)
    assert notice.user_ids == (MANAGER,) and notice.answered, notice
    assert notice.text is not None
    words = render(notice.text["ru"], engine.context(case))
    assert words == "Клиника «Здоровье»: директор согласовал договор — ждём ответа клиента.", words
    # The client's answer then is his next step, with no second word of the approval.
    assert not _notices(_answer(engine, case, "client_answer", "agreed", MANAGER))
    assert case.stage == "won"


def test_the_director_approving_last_tells_nothing_more(engine: Engine) -> None:
    case = _deal(engine)
    _answer(engine, case, "client_answer", "agreed", MANAGER)

    effects = _answer(engine, case, "director_approval", "approve", DIRECTOR)

    assert not _notices(effects)
    assert case.stage == "won"


def test_a_previous_rounds_client_answer_does_not_hide_this_rounds_approval(engine: Engine) -> None:
    """The client agreed to the first contract and the director sent it back; in the new round the director
    approves first: the client has not answered this contract yet, so the manager is told."""
    case = _deal(engine)
    _answer(engine, case, "client_answer", "agreed", MANAGER)
    _answer(engine, case, "director_approval", "reject", DIRECTOR, director_approval_comment="Цена")
    assert case.stage == "approval" and case.data["client_answer"] == "agreed"

    effects = _answer(engine, case, "director_approval", "approve", DIRECTOR)

    assert [n.user_ids for n in _notices(effects)] == [(MANAGER,)]


def test_a_withdrawn_task_and_a_cancelled_case_tell_nothing(engine: Engine) -> None:
    source = SOURCE.replace("            when: \"director_approval == 'approve' and not client_answer\"\n", "")
    # The client refused: the director's approval is withdrawn, not answered.
    case = _deal(engine, source)
    effects = _answer(engine, case, "client_answer", "refused", MANAGER)
    assert case.stage == "lost" and not _notices(effects)
    # The deal cancelled while the director's approval waits.
    case = _deal(engine, source)
    assert not _notices(engine.cancel(case, MANAGER, "Клиент ушёл"))
    # Answered, it tells (the condition taken out, any answer does).
    case = _deal(engine, source)
    effects = _answer(engine, case, "director_approval", "reject", DIRECTOR, director_approval_comment="Нет")
    assert len(_notices(effects)) == 1


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "deal.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_checker_reads_an_on_done_notice_as_it_reads_a_stages() -> None:
    source = (
        SOURCE.replace("notify: [responsible]", "notify: [accountant]")
        .replace("director_approval == 'approve' and not client_answer", "not client_answer >")
        .replace("{{ client }}: директор", "{{ customer }}: директор")
    )
    # Each at its own line of `on_done`: the role, the condition, the template.
    assert sorted(problems_of(source)) == [
        "deal.yaml:27: unknown role 'accountant' (roles: director, manager; or initiator, responsible, field:<name>)",
        "deal.yaml:28: cannot read the condition 'not client_answer >': cannot read the condition "
        "'not client_answer >': invalid syntax",
        "deal.yaml:29: '{{ customer }}: директор согласовал договор — ждём ответа кл…': this process has no field or "
        "task 'customer'",
    ]


def test_only_notices_belong_to_on_done_and_each_says_whom_it_tells() -> None:
    assert problems_of(SOURCE.replace("          - notify: [responsible]\n", "          - set: {client: x}\n")) == [
        "deal.yaml:27: 'notify' is required here",
        "deal.yaml:27: unknown key 'set'",
    ]
    assert "deal.yaml:29: unknown key 'txt'" in problems_of(SOURCE.replace("            text:\n", "            txt:\n"))


def test_an_on_done_notice_left_in_russian_only_is_warned_of() -> None:
    source = SOURCE.replace(
        '              en: "{{ client }}: the director approved the contract — waiting for the client\'s answer."\n', ""
    )
    loaded = parse_definition(source, "deal.yaml")
    assert [str(p) for p in language_gaps(loaded)] == [
        "deal.yaml:29: warning: stages → approval → tasks → director_approval → on_done → #1 → text is in Russian "
        "only: a person reading English gets it in Russian; add 'en:' ({ru: …, en: …})"
    ]


def test_a_task_run_for_each_entry_tells_of_the_entry_it_answered(engine: Engine) -> None:
    """The inspector rejects one unit of a batch: the manager is told which one, as the task's card names it."""
    source = (
        (DATA / "batch_review.yaml")
        .read_text(encoding="utf-8")
        .replace(
            '        text: "Изделие {{ item.serial }}, вес {{ item.weight }}"\n',
            '        text: "Изделие {{ item.serial }}, вес {{ item.weight }}"\n'
            "        on_done:\n"
            "          - notify: [initiator]\n"
            "            when: \"unit_check == 'reject'\"\n"
            '            text: "Изделие {{ item.serial }} не прошло проверку: {{ unit_check_comment }}"\n',
        )
    )
    spec = parse_definition(source, "batch_review.yaml").spec
    units = [{"serial": "A1", "weight": 3}, {"serial": "B2", "weight": 5}]
    case, _ = engine.start(spec, MANAGER, {"units": units})
    first, second = case.open_tasks()
    engine.claim(case, first, DIRECTOR, {"inspector"})
    assert not _notices(engine.submit(case, first, "approve", {}, DIRECTOR))
    engine.claim(case, second, DIRECTOR, {"inspector"})

    effects = engine.submit(case, second, "reject", {f"{second.key}_comment": "Царапина"}, DIRECTOR)

    (notice,) = _notices(effects)
    assert notice.item == ("units", 1) and notice.user_ids == (MANAGER,)
    assert isinstance(notice.text, str)
    words = render(notice.text, {**engine.context(case), "item": units[1]})
    assert words == "Изделие B2 не прошло проверку: Царапина", words
