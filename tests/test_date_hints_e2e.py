"""A date question's example is a date the field takes on the day it is asked (a person copying it succeeds), and a
date refused for two reasons is refused for the more fundamental one: «вчера» for a date that cannot be in the past
is in the past, whatever day of the week it was. Sunday, 6 December 2026."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from flows.clock import FrozenClock
from tests.chat import Person, start_a_return_of_faulty_watches
from tests.conftest import Harness


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 6, 7, 0, tzinfo=UTC))  # Sunday, 10:00 in Moscow


async def _to_the_arrival_date(manager: Person) -> dict:
    await start_a_return_of_faulty_watches(manager)
    for answer, next_label in (("1", "Сумма закупки"), ("10000", "Марка"), ("Tissot", "Входящий номер"),
                               ("ВХ-1", "ФИО сотрудника"), ("Иванова Марина", "Дата поступления товара")):
        await manager.send(answer)
        question = await manager.expect(next_label)
    return question


async def _to_the_shipping_date(manager: Person) -> dict:
    await manager.send("▶️ Начать процесс")
    await manager.press("Сделка", await manager.expect("Какой процесс"))
    await manager.expect("Клиент")
    await manager.send("ООО Мясной двор")
    await manager.press("Создать", await manager.expect("ООО Мясной двор", "Создать"))
    for answer in ("1500", "0", "450 000"):
        await manager.expect("✏️")
        await manager.send(answer)
    return await manager.expect("Плановая дата отгрузки")


async def test_the_example_of_a_past_date_is_a_past_date_a_person_can_copy(harness: Harness) -> None:
    """«Дата поступления товара» cannot be later than today: the question's example is no «7 декабря» (tomorrow,
    refused) but a day already gone; copied as it is, it is taken."""
    manager = await harness.person("Марина", "shop_manager")
    question = await _to_the_arrival_date(manager)
    examples = re.findall(r"«(\d{1,2} [а-я]+)»", question["text"])
    assert examples and "7 декабря" not in examples, question["text"]
    await manager.send(examples[0])
    await manager.expect("Модель")


async def test_an_english_reader_copies_the_example_too(harness: Harness) -> None:
    manager = await harness.person("Mary", "shop_manager", language="en")
    await manager.send("▶️ Start a process")
    await manager.press("Return of defective watches", await manager.expect("Which process"))
    await manager.press("Альфа", await manager.expect("Supplier"))
    await manager.expect("Quantity")
    for answer, next_label in (("1", "Purchase sum"), ("10000", "Brand"), ("Tissot", "Incoming document number"),
                               ("IN-1", "Employee's full name"), ("Maria Ivanova", "Date the goods arrived")):
        await manager.send(answer)
        question = await manager.expect(next_label)
    examples = re.findall(r"“([A-Z][a-z]{2} \d{1,2})”", question["text"])
    assert examples and "Dec 7" not in examples, question["text"]
    await manager.send(examples[0])
    await manager.expect("Model")


async def test_a_working_day_not_in_the_past_offers_no_sunday_and_not_today(harness: Harness) -> None:
    """A deal's planned shipping date is a working day not in the past: on a Sunday «сегодня» is no answer to
    offer, and the example is a working day ahead."""
    manager = await harness.person("Антон", "sales_manager")
    question = await _to_the_shipping_date(manager)
    assert "«сегодня»" not in question["text"], question["text"]
    examples = re.findall(r"«(\d{1,2} [а-я]+)»", question["text"])
    assert examples, question["text"]
    await manager.send(examples[0])
    await manager.expect("Условия оплаты")


async def test_yesterday_on_a_sunday_is_refused_as_past_not_as_a_day_off(harness: Harness) -> None:
    """«вчера» on a Sunday is a Saturday, but before that it is a day gone: that is what the person is told."""
    manager = await harness.person("Антон", "sales_manager")
    await _to_the_shipping_date(manager)
    await manager.send("вчера")
    told = await manager.expect("Дата не может быть раньше сегодняшней (06.12.2026)", "Плановая дата отгрузки")
    assert "нерабочий день" not in told["text"], told["text"]
