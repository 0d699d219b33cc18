"""A date question's example is a date the field takes on the day it is asked (a person copying it succeeds), and a
date refused for two reasons is refused for the more fundamental one: «вчера» for a date that cannot be in the past
is in the past, whatever day of the week it was; and an example follows a rule naming another answer of the form
too (a return not before the goods went out). Sunday, 6 December 2026."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.clock import FrozenClock
from tests.chat import (
    Person,
    a_return_up_to_the_arrival_date,
    describe_the_faulty_watch,
    start_a_deal_with_a_new_client,
)
from tests.conftest import Harness, library_with


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 6, 7, 0, tzinfo=UTC))  # Sunday, 10:00 in Moscow


async def _to_the_shipping_date(manager: Person) -> dict:
    await start_a_deal_with_a_new_client(manager, "ООО Мясной двор")
    for answer in ("1500", "0", "450 000"):
        await manager.expect("✏️")
        await manager.send(answer)
    return await manager.expect("Плановая дата отгрузки")


async def test_the_example_of_a_past_date_is_a_past_date_a_person_can_copy(harness: Harness) -> None:
    """«Дата поступления товара» cannot be later than today: the question's example is no «7 декабря» (tomorrow,
    refused) but a day already gone; copied as it is, it is taken."""
    manager = await harness.person("Марина", "shop_manager")
    question = await a_return_up_to_the_arrival_date(manager)
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
    for answer, next_label in (
        ("1", "Purchase sum"),
        ("10000", "Brand"),
        ("Tissot", "Incoming document number"),
        ("IN-1", "Employee's full name"),
        ("Maria Ivanova", "Date the goods arrived"),
    ):
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
    # A pre-order's date is of a week to come (seed 2): on Sunday 06.12 that is Monday 07.12.
    told = await manager.expect(
        "Дата не может быть раньше следующей недели: самый ранний день — 07.12.2026.", "Плановая дата отгрузки"
    )
    assert "нерабочий день" not in told["text"], told["text"]


async def test_a_pre_order_on_a_wednesday_offers_next_monday_by_one_press(harness: Harness) -> None:
    """Seed 2: a pre-order ships next week at the earliest. On Wednesday neither today nor tomorrow is taken, so the
    question offers the first day that is — next Monday — as a button, and one press answers it."""
    await harness.move_to(datetime(2026, 12, 9, 7, 0, tzinfo=UTC))  # Wednesday, 10:00 in Moscow
    manager = await harness.person("Антон", "sales_manager")
    question = await _to_the_shipping_date(manager)
    buttons = [b["text"] for row in question.get("inline_keyboard") or [] for b in row]
    assert "Ближайшая дата: 14 декабря" in buttons, buttons
    assert not any(b.startswith(("Сегодня", "Завтра")) for b in buttons), buttons
    await manager.press("Ближайшая дата", question)
    await manager.expect("Условия оплаты")


async def _lend_watches(harness: Harness, name: str, lang: str, lent_on: str) -> tuple[Person, dict]:
    """A manager lends watches to an exhibition going out on `lent_on`: the question for the day they come back."""
    manager = await harness.person(name, "manager", language=lang)
    russian = lang == "ru"
    await manager.send("▶️ Начать процесс" if russian else "▶️ Start a process")
    await manager.press("Часы на выставку" if russian else "Watches lent to an exhibition",
                        await manager.expect("Какой процесс" if russian else "Which process"))  # fmt: skip
    await manager.expect("Выставка" if russian else "Exhibition")
    await manager.send("Watch Expo")
    await manager.expect("Дата выдачи" if russian else "Date lent")
    await manager.send(lent_on)
    return manager, await manager.expect("Дата возврата" if russian else "Date back")


async def test_the_example_of_a_return_date_is_not_before_the_day_the_watches_go_out(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The watches go out to the exhibition on 15 January: the day they come back cannot be earlier. Its question
    offers neither tomorrow nor «сегодня» (both refused) but 15 January itself — a month and more ahead, past
    today's neighbourhood; copied as it is, it is taken, and read as the day after the watches went out — in 2027,
    which the summary shows. In English the same with 20 December, this year's without saying so."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "exhibition_loan.yaml"))
    manager, question = await _lend_watches(harness, "Марина", "ru", "15.01.2027")
    assert "Отправьте дату: ДД.ММ.ГГГГ или так: «15 января»." in question["text"], question["text"]
    await manager.send("15 января")
    summary = await manager.expect("Проверьте")
    assert "Дата возврата: 15.01.2027" in summary["text"], summary["text"]

    mary, question = await _lend_watches(harness, "Mary", "en", "20.12.2026")
    assert "Send a date: DD.MM.YYYY or as “Dec 20”." in question["text"], question["text"]
    await mary.send("Dec 20")
    summary = await mary.expect("Please check")
    assert "Date back: Dec 20, 2026" in summary["text"], summary["text"]


async def test_a_return_typed_without_its_year_is_the_day_after_the_watches_went_out(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """20 December: the watches go out on 15 January, and the manager types the day they come back as people do,
    «20.01». That is 20 January 2027, after they went — it was read as 20 January 2026 and refused as «earlier
    than “Дата выдачи” (15.01.2027)». The summary shows the year it was read in."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "exhibition_loan.yaml"))
    harness.clock.set(datetime(2026, 12, 20, 7, 0, tzinfo=UTC))
    manager, _question = await _lend_watches(harness, "Марина", "ru", "15.01")
    await manager.send("20.01")
    summary = await manager.expect("Проверьте")
    assert "Дата выдачи: 15.01.2027" in summary["text"], summary["text"]
    assert "Дата возврата: 20.01.2027" in summary["text"], summary["text"]


async def test_an_arrival_typed_without_its_year_in_december_is_this_januarys(harness: Harness) -> None:
    """Seed 1, 20 December: the shop manager registers watches that came in on 15 January and types «15 января».
    The arrival cannot be later than today, so it is 15 January gone, which the summary shows with its year — it was
    read as next January's and refused «Дата не может быть позже сегодняшней (20.12.2026)», a date nobody typed."""
    harness.clock.set(datetime(2026, 12, 20, 7, 0, tzinfo=UTC))
    manager = await harness.person("Марина", "shop_manager")
    await a_return_up_to_the_arrival_date(manager)
    await manager.send("15 января")
    await describe_the_faulty_watch(manager)
    summary = await manager.expect("Проверьте")
    assert "Дата поступления товара: 15.01.2026" in summary["text"], summary["text"]


async def test_goods_that_arrived_today_are_shipped_today_and_the_question_offers_only_today(harness: Harness) -> None:
    """Seed 1: the faulty watches came in this morning and go back to the supplier the same day. «Дата отправки»
    cannot be before their arrival nor after today: its question offers «сегодня» alone, not yesterday (refused as
    before the arrival)."""
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    await harness.person("Директор Пётр", "director")
    service = await harness.person("Сергей", "service_manager")
    head = await harness.person("Кладовщик Иван", "warehouse_head")
    question = await a_return_up_to_the_arrival_date(manager)
    await manager.send("сегодня")
    await describe_the_faulty_watch(manager)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    await head.photo()
    await head.press("Готово", await head.expect("Фото с осмотра", "1"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.press("Готово", await service.expect("Уведомите поставщика о браке"))
    await service.press("В сервисный центр", await service.expect("Куда поставщик просит отправить часы"))
    await service.expect("Адрес отправки")
    await service.send("Москва, Петровка, 10")
    await service.press("Подтвердить", await service.expect("Проверьте"))
    await service.press("Готово", await service.expect("Проверьте и подпишите сопроводительный документ"))
    await service.press("Готово", await service.expect("Упакуйте товар и передайте перевозчику"))
    question = await service.expect("Дата отправки")
    assert "Отправьте дату: ДД.ММ.ГГГГ или «сегодня»." in question["text"], question["text"]
    await service.send("сегодня")
    await service.expect("Номер накладной")
