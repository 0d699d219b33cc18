"""A deadline counted from a number of the case (`due: deferral_days days or 5 working days`): a client on a 30-day
deferral pays when the deferral ends, and the accountant is not chased, nor the director told, 25 days early; a
client without one pays in five working days as before. `konveyer check` refuses such a deadline on a field that is
missing or holds no number."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.deadlines import DeadlineError, parse_deadline
from flows.loader import DefinitionError, load_file, parse_definition
from flows.runtime import CaseState, Engine, Notify, SetTimer, TaskState, task_def

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"

# The shape of seed 5's end: the order is shipped, the accountant closes its payment.
SOURCE = """\
process: deferred_payment
title: Оплата заказа
roles: [manager, accountant, director]
start: {roles: [manager], form: [client, deferral_days]}
fields:
  client: {type: text, label: Клиент}
  deferral_days: {type: number, integer: true, min: 1, required: false, label: "Отсрочка, дней"}
stages:
  - key: shipped
    title: Отгружен клиенту
    tasks:
      - key: order_payment
        kind: confirm
        assignee: accountant
        title: Закройте оплату заказа
        due: deferral_days days or 5 working days
        remind: [3 working days before, 1 working day before]
        escalate_to: [director]
    next: paid
  - {key: paid, title: Заказ оплачен, final: true, result: success}
"""
MANAGER, ACCOUNTANT = 1, 2
# Monday 21 December 2026, 10:00 Moscow: the order leaves the warehouse.
SHIPPED = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)


@pytest.fixture
def engine() -> Engine:
    return Engine(WorkCalendar(), FrozenClock(SHIPPED))


def shipped(engine: Engine, **form: Any) -> tuple[CaseState, TaskState, list[Any]]:
    spec = parse_definition(SOURCE, "deferred_payment.yaml").spec
    case, _ = engine.start(spec, MANAGER)
    task = next(t for t in case.open_tasks())
    task.id = 1
    effects = engine.submit(case, task, "submit", {"client": "Клиника «Здоровье»", **form}, MANAGER)
    payment = next(t for t in case.open_tasks() if t.key == "order_payment")
    payment.id = 2
    return case, payment, effects


def timers(effects: list[Any], task: TaskState) -> dict[str, list[datetime]]:
    found: dict[str, list[datetime]] = {}
    for e in effects:
        if isinstance(e, SetTimer) and e.task is task:
            found.setdefault(e.kind, []).append(e.due_at)
    return found


def test_a_client_on_a_thirty_day_deferral_pays_when_it_ends_and_no_one_is_chased_before(engine: Engine) -> None:
    case, payment, effects = shipped(engine, deferral_days=30)
    # 30 days after Monday 21.12: the client may pay through Wednesday 20.01.2027, to its close (18:00 Moscow).
    due = datetime(2027, 1, 20, 15, 0, tzinfo=UTC)
    assert payment.due_at == due
    # The reminders come 3 and 1 working days before the deferral ends, the overdue (and the director) after it.
    assert timers(effects, payment) == {
        "remind": [datetime(2027, 1, 15, 15, 0, tzinfo=UTC), datetime(2027, 1, 19, 15, 0, tzinfo=UTC)],
        "overdue": [due],
    }
    # Five working days later (Monday 28.12, evening) the client is well within the terms: nothing is due yet.
    assert isinstance(engine.clock, FrozenClock)
    engine.clock.set(datetime(2026, 12, 28, 16, 0, tzinfo=UTC))
    assert payment.due_at > engine.clock.now()
    # When the deferral has ended unpaid, the accountant is told and the director hears of it.
    engine.clock.set(due)
    told = engine.fire(case, "overdue", payment, None, None)
    assert [e.kind for e in told if isinstance(e, Notify)] == ["overdue", "escalation"]


@pytest.mark.parametrize("deferral", [None, ""])
def test_a_client_without_a_deferral_pays_in_five_working_days_as_before(engine: Engine, deferral: Any) -> None:
    _case, payment, effects = shipped(engine, **({} if deferral is None else {"deferral_days": deferral}))
    # Five working days after Monday 21.12: the end of Monday 28.12 (18:00 Moscow).
    assert payment.due_at == datetime(2026, 12, 28, 15, 0, tzinfo=UTC)
    assert timers(effects, payment)["overdue"] == [payment.due_at]


def test_the_medical_order_counts_the_payment_from_the_deal_s_deferral() -> None:
    spec = load_file(LIBRARY / "medical_order.yaml").spec
    deadline = parse_deadline(str(task_def(spec, "shipped", "order_payment").due))
    calendar, base = WorkCalendar(), SHIPPED
    assert deadline.resolve(base, {"deferral_days": 30}, calendar) == datetime(2027, 1, 20, 15, 0, tzinfo=UTC)
    assert deadline.resolve(base, {}, calendar) == datetime(2026, 12, 28, 15, 0, tzinfo=UTC)
    # The closing documents keep their five working days.
    assert task_def(spec, "shipped", "closing_documents").due == "5 working days"


def test_a_number_that_is_not_one_is_said_with_the_field() -> None:
    deadline = parse_deadline("deferral_days days or 5 working days")
    with pytest.raises(DeadlineError, match="deferral_days"):
        deadline.resolve(SHIPPED, {"deferral_days": "тридцать"}, WorkCalendar())
    with pytest.raises(DeadlineError, match="deferral_days"):
        deadline.resolve(SHIPPED, {"deferral_days": 2.5}, WorkCalendar())
    # Hours may be a fraction; a date anchor and a fallback read as before.
    assert parse_deadline("call_hours hours").resolve(SHIPPED, {"call_hours": "1,5"}, WorkCalendar()) == datetime(
        2026, 12, 21, 8, 30, tzinfo=UTC
    )
    anchored = parse_deadline("deferral_days days from shipping_date or 5 working days")
    assert anchored.field == "shipping_date" and anchored.or_fields == ()
    assert anchored.field_refs == {"deferral_days", "shipping_date"} and anchored.number_refs == {"deferral_days"}
    # Ten days from Thursday 24.12 end on Sunday 03.01, in the New Year holidays: the client pays on the first
    # working day after them, Monday 11.01.
    assert anchored.resolve(SHIPPED, {"deferral_days": 10, "shipping_date": "2026-12-24"}, WorkCalendar()) == (
        datetime(2027, 1, 11, 15, 0, tzinfo=UTC)
    )


def problems_of(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "deferred_payment.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_checker_refuses_a_deadline_counted_from_a_field_that_holds_no_number() -> None:
    line = next(n for n, text in enumerate(SOURCE.splitlines(), 1) if "due:" in text)
    missing = problems_of(SOURCE.replace("due: deferral_days days", "due: deferal_days days"))
    assert any(f":{line}:" in p and "'deferal_days', which is not a number field" in p for p in missing), missing
    text = problems_of(SOURCE.replace("due: deferral_days days", "due: client days"))
    assert any(f":{line}:" in p and "'client', which is not a number field" in p for p in text), text
    fraction = problems_of(SOURCE.replace("integer: true, ", ""))
    assert any(f":{line}:" in p and "integer: true" in p for p in fraction), fraction
    # The deadline after «or» is checked as any other.
    fallback = problems_of(SOURCE.replace("or 5 working days", "or 5 working dayz"))
    assert any(f":{line}:" in p and "dayz" in p for p in fallback), fallback


def test_the_drawing_of_the_process_says_the_deferral_by_its_label(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from services.i18n import Translator
    from services.wording import Wording
    from services.words import DefinitionWords

    spec = load_file(LIBRARY / "medical_order.yaml").spec
    due = str(task_def(spec, "shipped", "order_payment").due)
    wording = Wording(Translator(tmp_path), ZoneInfo("Europe/Moscow"))
    ru = DefinitionWords(wording, spec, "ru", {}).deadline(due)
    en = DefinitionWords(wording, spec, "en", {}).deadline(due)
    assert ru == "в течение «Отсрочка, дней» дн. (пока это поле пусто — в течение 5 раб. дн.)", ru
    assert en == "within “Deferral, days” day(s) (while it is empty, within 5 working day(s))", en
