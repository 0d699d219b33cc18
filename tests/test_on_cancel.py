"""A process's `on_cancel`: who is told, in the definition's words, when a case is cancelled as a whole — in the
engine alone and in the checker. The deal called off after the client prepaid tells the accountant to return the
money; one called off before any prepayment tells her nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, parse_definition
from flows.runtime import CaseClosed, Engine, Notify
from flows.templating import render

SOURCE = """\
process: deal
title: Deal
roles: [manager, accountant]
start:
  roles: [manager]
  form: [client]
fields:
  client: {type: text, label: Client}
  prepayment_amount: {type: money, label: Prepayment, required: false}
on_cancel:
  - notify: [accountant]
    when: "prepayment_amount"
    text:
      ru: "Заказ {{ client }} отменён: верните клиенту предоплату {{ prepayment_amount|money }} ₽."
      en: "Order {{ client }} is called off: return the client's prepayment of {{ prepayment_amount|money }} ₽."
stages:
  - key: order
    title: Order
    tasks:
      - {key: ship, kind: confirm, assignee: manager, title: Ship}
    next:
      - {to: shipped}
  - key: shipped
    title: Shipped
    final: true
"""
MANAGER = 1


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def test_a_deal_cancelled_after_a_prepayment_tells_the_accountant_to_return_it(engine: Engine) -> None:
    spec = parse_definition(SOURCE, "deal.yaml").spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника «Здоровье»", "prepayment_amount": "700000"})

    effects = engine.cancel(case, MANAGER)

    (notice,) = [e for e in effects if isinstance(e, Notify)]
    assert notice.kind == "text" and notice.roles == ("accountant",)
    assert notice.text is not None
    words = render(notice.text["ru"], engine.context(case))
    assert words == "Заказ Клиника «Здоровье» отменён: верните клиенту предоплату 700\xa0000,00 ₽.", words
    # Told before the case's end, as a final stage's notices are.
    assert effects.index(notice) < next(i for i, e in enumerate(effects) if isinstance(e, CaseClosed))


def test_a_cancel_notice_quotes_why_the_deal_was_called_off(engine: Engine) -> None:
    said = "{{ prepayment_amount|money }} ₽"
    source = SOURCE.replace(f'{said}."', f'{said} ({{{{ cancel_reason }}}})."')
    spec = parse_definition(source, "deal.yaml").spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника «Здоровье»", "prepayment_amount": "700000"})

    effects = engine.cancel(case, MANAGER, "Клиент ушёл к конкуренту")

    (notice,) = [e for e in effects if isinstance(e, Notify)]
    assert notice.text is not None
    words = render(notice.text["ru"], {**engine.context(case), **dict(notice.values)})
    assert words.endswith("700\xa0000,00 ₽ (Клиент ушёл к конкуренту)."), words


def test_a_deal_cancelled_before_any_prepayment_tells_the_accountant_nothing(engine: Engine) -> None:
    spec = parse_definition(SOURCE, "deal.yaml").spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника «Здоровье»"})

    effects = engine.cancel(case, MANAGER)

    assert not [e for e in effects if isinstance(e, Notify)]


def test_a_deal_that_ends_as_planned_does_not_hear_its_cancel_notices(engine: Engine) -> None:
    spec = parse_definition(SOURCE, "deal.yaml").spec
    case, _ = engine.start(spec, MANAGER, {"client": "Клиника «Здоровье»", "prepayment_amount": "700000"})
    (task,) = case.open_tasks()
    engine.claim(case, task, MANAGER, {"manager"})

    effects = engine.submit(case, task, "done", {}, MANAGER)

    assert not [e for e in effects if isinstance(e, Notify) and e.roles == ("accountant",)]


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "deal.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_checker_reads_an_on_cancel_notice_as_it_reads_a_stages() -> None:
    source = (
        SOURCE.replace("notify: [accountant]", "notify: [cashier]")
        .replace('when: "prepayment_amount"', 'when: "prepayment_amount >"')
        .replace("{{ client }} отменён", "{{ customer }} отменён")
    )
    # Each at its own line of `on_cancel`: the role, the condition, the template.
    assert sorted(problems_of(source)) == [
        "deal.yaml:11: unknown role 'cashier' (roles: accountant, manager; or initiator, responsible, field:<name>)",
        "deal.yaml:12: cannot read the condition 'prepayment_amount >': cannot read the condition "
        "'prepayment_amount >': invalid syntax",
        "deal.yaml:13: 'Заказ {{ customer }} отменён: верните клиенту предоплату {{ …': this process has no field or "
        "task 'customer'",
    ]


def test_only_notices_belong_to_on_cancel() -> None:
    source = SOURCE.replace(
        "  - notify: [accountant]\n    when:", "  - set: {client: x}\n  - notify: [accountant]\n    when:"
    )
    assert "deal.yaml:11: unknown key 'set'" in problems_of(source)


def test_only_a_cancel_notice_reads_the_cancels_reason() -> None:
    # A stage's notice is told on no cancel: there is no reason for it to read.
    source = SOURCE.replace("    title: Order\n", "    title: Order\n    on_enter:\n      - notify: [manager]\n"
                            "        text: \"Отменено: {{ cancel_reason }}\"\n")
    assert problems_of(source) == ["deal.yaml:21: 'Отменено: {{ cancel_reason }}': this process has no field or task "
                                   "'cancel_reason'"]
    # A field of that name beside `on_cancel` would be read as the reason, or the reason as the field.
    named = SOURCE.replace("fields:\n", "fields:\n  cancel_reason: {type: text, label: Why}\n")
    assert problems_of(named) == ["deal.yaml:8: 'cancel_reason' is the reason a cancelled case's on_cancel texts "
                                  "read: give the field another name"]
