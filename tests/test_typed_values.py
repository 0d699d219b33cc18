"""Values behave as their types in conditions and templates (issue 9, item 2), and expressions stay bounded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.context import Choice, case_context
from flows.expressions import MAX_SEQUENCE, ExpressionError, evaluate
from flows.loader import parse_definition
from flows.runtime import CaseState, Engine, StartCase
from flows.templating import render

PURCHASE = """
process: purchase
title: Purchase
roles: [clerk, head, cfo]
start: {roles: [clerk], form: [amount, needed_by]}
fields:
  amount: {type: money, label: Сумма}
  needed_by: {type: date, label: Нужно к}
  winner: {type: choice, label: Поставщик, options: {a: {ru: Альфа, en: Alpha}, b: Бета}, required: false}
stages:
  - key: head
    title: Head
    tasks:
      - {key: head_approval, kind: approve, assignee: head, title: Approve}
    next:
      - {to: rejected, when: "head_approval == 'reject'"}
      - {to: cfo, when: "amount > 100000"}
      - {to: urgent, when: "needed_by <= today"}
      - {to: approved}
  - key: cfo
    title: CFO
    tasks:
      - {key: cfo_approval, kind: approve, assignee: cfo, title: Approve}
    next:
      - {to: rejected, when: "cfo_approval == 'reject'"}
      - {to: approved}
  - key: urgent
    title: Urgent
    final: true
    result: success
  - key: approved
    title: Approved
    final: true
    result: success
    on_enter:
      - start: {process: payment, carry: [], map: {sum: amount}}
  - key: rejected
    title: Rejected
    final: true
    result: failure
"""
SPEC = parse_definition(PURCHASE, "purchase.yaml").spec
CLERK, HEAD, CFO = 1, 2, 3


@pytest.fixture
def engine() -> Engine:
    # Monday 21 December 2026, 10:00 Moscow
    return Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC)))


def approve_by_head(engine: Engine, data: dict[str, Any]) -> tuple[CaseState, list[Any]]:
    # Stored as the bot stores answers: JSON, money as a string.
    case, _effects = engine.start(SPEC, CLERK, data)
    (task,) = case.open_tasks()
    task.id = 1
    engine.claim(case, task, HEAD, {"head"})
    return case, engine.submit(case, task, "approve", {}, HEAD)


@pytest.mark.parametrize(
    ("amount", "stage"),
    [("100000.00", "approved"), ("100000.01", "cfo"), ("250000", "cfo"), ("99999.99", "approved")],
)
def test_a_money_condition_branches_on_the_amount(engine: Engine, amount: str, stage: str) -> None:
    case, _effects = approve_by_head(engine, {"amount": amount, "needed_by": "2027-01-15"})
    assert case.stage == stage


def test_a_date_compares_with_today(engine: Engine) -> None:
    case, _effects = approve_by_head(engine, {"amount": "10.00", "needed_by": "2026-12-21"})
    assert case.stage == "urgent"
    case, _effects = approve_by_head(engine, {"amount": "10.00", "needed_by": "2026-12-22"})
    assert case.stage == "approved"


def test_money_handed_to_a_number_field_is_a_number_there(engine: Engine) -> None:
    _case, effects = approve_by_head(engine, {"amount": "1234.50", "needed_by": "2027-01-15"})
    (hand_off,) = [e for e in effects if isinstance(e, StartCase)]
    assert hand_off.data == {"sum": "1234.50"}
    payment = parse_definition(
        """
process: payment
title: Payment
roles: [clerk]
start: {roles: [clerk]}
fields:
  sum: {type: number, label: Sum}
stages:
  - key: pay
    title: Pay
    next:
      - {to: big, when: "sum >= 1000 and sum * 2 == 2469"}
      - {to: small}
  - {key: big, title: Big, final: true}
  - {key: small, title: Small, final: true}
""",
        "payment.yaml",
    ).spec
    child, _effects = engine.start(payment, CLERK, hand_off.data)
    assert child.stage == "big"


def test_choice_and_outcome_values_expose_labels_in_templates() -> None:
    data = {"winner": "a", "head_approval": "reject", "amount": "1500.5", "needed_by": "2026-12-25"}
    context = case_context(SPEC, data)
    assert isinstance(context["winner"], Choice) and context["winner"] == "a"
    text = render(
        "{{ winner }} ({{ winner.key }}): {{ winner.label }}; {{ head_approval }}; {{ amount + 1 }}; "
        "{{ amount|money }}; {{ needed_by|date }}",
        context,
    )
    # Printed, a choice or an outcome is its label (people read it); `.key` is there for whoever needs it.
    assert text == "Альфа (a): Альфа; Отклонить; 1501.50; 1\xa0500,50; 25.12.2026"
    # An English reader reads the same amount and date in his own way.
    english = render("{{ amount|money }} ₽, {{ needed_by|date }}", case_context(SPEC, data, lang="en"))
    assert english == "1,500.50 ₽, Dec 25, 2026"
    assert evaluate("head_approval == 'reject' and winner in ['a', 'b']", context) is True


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("amount > 100000", True),
        ("amount + 0.5 == 125000.5", True),
        ("amount * 2 > rate", True),
        ("due < now", True),
        ("day < moment", True),
        ("day == today", False),
    ],
)
def test_values_of_related_types_compare_and_add(source: str, expected: bool) -> None:
    data = {
        "amount": Decimal("125000.00"),
        "rate": 0.5,
        "due": date(2026, 12, 20),
        "now": datetime(2026, 12, 21, 10, 0),
        "day": date(2026, 12, 21),
        "moment": datetime(2026, 12, 21, 9, 0),
        "today": date(2026, 12, 22),
    }
    assert evaluate(source, data) is expected


@pytest.mark.parametrize(
    "source",
    [
        "name > 5",  # text against a number: a clear error, not a TypeError
        "1 / zero",
        "'x' * 100000",
        "big * 100000",
        "-name",
        "len(zero)",
        "not (" * 150 + "1" + ")" * 150,
        "1 + " * 400 + "1",
        "b'x' == name",
    ],
)
def test_bad_or_unbounded_expressions_fail_clearly(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, {"name": "x", "zero": 0, "big": ["y"] * (MAX_SEQUENCE // 10)})


def test_a_fraction_prints_as_its_reader_writes_it() -> None:
    """«1,5 н/ч» for a Russian reader, «1.5 h» for an English one; a whole number and text print as they are."""
    hours = {"hours": 1.5, "count": 2, "note": "1.5"}
    russian = render("{{ hours }} н/ч × {{ count }} ({{ note }})", case_context(SPEC, hours, lang="ru"))
    assert russian == "1,5 н/ч × 2 (1.5)"
    assert render("{{ hours }} h × {{ count }}", case_context(SPEC, hours, lang="en")) == "1.5 h × 2"
    assert render("{{ hours * 3 }}", case_context(SPEC, hours, lang="ru")) == "4,5"


def test_a_lists_total_is_the_sum_of_its_entries_products() -> None:
    """What an order comes to: price × quantity over its items; an item without a price adds nothing."""
    items = [
        {"name": "Аппарат УЗИ", "price": Decimal("1850000.00"), "quantity": 2},
        {"name": "Монитор", "price": Decimal("320000"), "quantity": 1},
        {"name": "Дефибриллятор", "price": Decimal("365000"), "quantity": 3},
        {"name": "Без цены", "quantity": 5},
    ]
    text = "{{ items|total('price', 'quantity')|money }} ₽"
    assert render(text, {"items": items, "__lang__": "ru"}).replace("\xa0", " ") == "5 115 000,00 ₽"
    assert render("{{ items|total('quantity') }}", {"items": items}) == "11"
    assert render(text, {}) == "0,00 ₽"  # no list yet: nothing to add up
