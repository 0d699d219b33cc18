"""Small things that made people type what a button would do, in seed 1 (a watch shop's defect return) and seed 3 (a
fulfillment warehouse): a date question offers «Сегодня» and «Завтра» where the date may be that day; a question for
the person's own full name offers it; a form task's button says it opens the form, not that something is sent; an
optional photo question that has photos says «Готово», not «Пропустить»; «500 коробок» is a number of boxes, and a
number in another unit is refused naming the unit asked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.clock import FrozenClock
from tests.chat import a_return_up_to_the_arrival_date, a_return_up_to_the_employee, describe_the_faulty_watch
from tests.conftest import Harness, library_with
from tests.test_fulfillment_e2e import (  # noqa: F401 (the fixture)
    a_request_for_a_client_under_contract,
    an_offer_for_the_director,
    fulfillment,
    to_the_warehouse_date,
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 6, 7, 0, tzinfo=UTC))  # Sunday, 10:00 in Moscow


async def test_the_arrival_date_is_today_by_one_press(harness: Harness) -> None:
    """Seed 1: the watches came in this morning. «Дата поступления товара» cannot be later than today, so its question
    offers «Сегодня» and no «Завтра» (which it would refuse); pressed, the arrival is today's date."""
    manager = await harness.person("Марина", "shop_manager")
    question = await a_return_up_to_the_arrival_date(manager)
    buttons = " ".join(manager.buttons(question))
    assert "Сегодня" in buttons and "Завтра" not in buttons, buttons
    await manager.press("Сегодня", question)
    await describe_the_faulty_watch(manager)
    summary = await manager.expect("Проверьте")
    assert "Дата поступления товара: 06.12.2026" in summary["text"], summary["text"]


async def _the_warehouse_date_pressed(shop: Harness, offered: str, not_offered: str) -> str:
    """Seed 3: Алина sends a request of a client under contract to the warehouse, 300 units; «Дата работ на складе»
    offers `offered` and not `not_offered`, and she presses `offered`. The summary she is asked to confirm."""
    manager = shop.people["Алина"]
    _card, question = await to_the_warehouse_date(shop, "Заявка на приёмку товара", "300")
    buttons = " ".join(manager.buttons(question))
    assert offered in buttons and not_offered not in buttons, buttons
    await manager.press(offered, question)
    summary = await manager.expect("Проверьте")
    return str(summary["text"])


async def test_a_warehouse_date_offers_only_a_day_people_work(fulfillment: Harness) -> None:  # noqa: F811
    """Seed 3, Friday: the warehouse date is a working day not in the past. «Сегодня» is offered, «Завтра» (a
    Saturday) is not; pressed, the request goes to the warehouse for today. Typing a date still works."""
    fulfillment.clock.set(datetime(2026, 12, 25, 7, 0, tzinfo=UTC))  # Friday 10:00 in Moscow
    summary = await _the_warehouse_date_pressed(fulfillment, "Сегодня", not_offered="Завтра")
    assert "Дата работ на складе: 25.12.2026" in summary, summary


async def test_tomorrow_is_offered_where_today_is_a_day_off(fulfillment: Harness) -> None:  # noqa: F811
    """Seed 3 on a Sunday: today is no working day, Monday is — «Завтра» alone is offered, and it is Monday."""
    summary = await _the_warehouse_date_pressed(fulfillment, "Завтра", not_offered="Сегодня")
    assert "Дата работ на складе: 07.12.2026" in summary, summary


async def test_the_employee_is_offered_her_own_full_name(harness: Harness) -> None:
    """Seed 1: «ФИО сотрудника» is the one filing the return; the question offers her own full name from her profile,
    and one press answers it."""
    manager = await harness.person("Иванова Марина", "shop_manager")
    question = await a_return_up_to_the_employee(manager)
    await manager.press("Иванова Марина", question)
    await manager.expect("Дата поступления товара")
    await manager.send("сегодня")
    await describe_the_faulty_watch(manager)
    summary = await manager.expect("Проверьте")
    assert "ФИО сотрудника: Иванова Марина" in summary["text"], summary["text"]


async def test_a_first_name_alone_is_not_offered_as_a_full_name(harness: Harness) -> None:
    """A profile that holds a first name only («Марина») would be refused as a full name: it is not offered."""
    manager = await harness.person("Марина", "shop_manager")
    question = await a_return_up_to_the_employee(manager)
    assert "Марина" not in " ".join(manager.buttons(question)), manager.buttons(question)


async def test_a_form_tasks_button_says_it_opens_the_form(fulfillment: Harness) -> None:  # noqa: F811
    """Seed 3: the director returns the offer; the manager's task «Исправьте КП по замечанию директора» had a button
    «Отправить», read as sending the offer to the client at once. It says it fills the form in; the answers are
    asked, then confirmed."""
    shop = fulfillment
    manager, director = shop.people["Алина"], shop.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    await director.press("Вернуть с замечаниями", await director.expect("Согласуйте коммерческое предложение"))
    await director.expect("Что исправить?")
    await director.send("Цена хранения завышена")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    card = await manager.card("Исправьте КП по замечанию директора")
    buttons = manager.buttons(card)
    assert "📝 Заполнить" in buttons and not any("Отправить" in b for b in buttons), buttons
    await manager.press("Заполнить", card)
    await manager.expect("Исправленный файл КП")


async def test_photos_sent_to_an_optional_question_are_kept_by_done_not_skip(harness: Harness) -> None:
    """Seed 1: the warehouse head confirms the defect and sends a photo of the inspection (an optional question).
    Before any photo it offers «Пропустить» and no «Готово» (done with nothing); once a photo came, «Готово» and no
    «Пропустить», which read as throwing it away."""
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    await harness.person("Директор Пётр", "director")
    service = await harness.person("Сергей", "service_manager")
    head = await harness.person("Кладовщик Иван", "warehouse_head")
    await a_return_up_to_the_arrival_date(manager)
    await manager.send("сегодня")
    await describe_the_faulty_watch(manager)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    first = await head.expect("Фото с осмотра")
    # Nothing sent yet: skipping is a choice, being done is not.
    assert "⏭ Пропустить" in head.buttons(first) and "✅ Готово" not in head.buttons(first), head.buttons(first)
    await head.photo()
    question = await head.expect("Фото с осмотра", "Получено: 1")
    assert "✅ Готово" in head.buttons(question) and "⏭ Пропустить" not in head.buttons(question), head.buttons(
        question
    )
    await head.press("Готово", question)
    summary = await head.expect("Проверьте")
    assert "Фото с осмотра: 1 фото" in summary["text"], summary["text"]


async def test_boxes_typed_with_their_word_are_the_number_of_boxes(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A shipment counted in «коробка»: «500 коробок» and «2 коробки» are numbers of boxes, as people write them;
    «5 паллет» is refused naming the unit asked."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "box_shipment.yaml"))
    worker = await harness.person("Кладовщик Рустам", "warehouse_worker")
    await worker.send("▶️ Начать процесс")
    await worker.press("Отгрузка коробок", await worker.expect("Какой процесс"))
    await worker.expect("Отгрузка, коробок")
    await worker.send("5 паллет")
    await worker.expect("Здесь единица — коробка, а не «паллет»")
    await worker.send("500 коробок")
    summary = await worker.expect("Проверьте")
    assert "Отгрузка, коробок: 500" in summary["text"], summary["text"]
    await worker.press("Назад", summary)
    await worker.expect("Отгрузка, коробок", "Сейчас: 500")
    await worker.send("2 коробки")
    summary = await worker.expect("Проверьте")
    assert "Отгрузка, коробок: 2" in summary["text"], summary["text"]


async def test_boxes_typed_where_pieces_are_asked_are_told_the_unit(fulfillment: Harness) -> None:  # noqa: F811
    """Seed 3: «500 коробок» typed at «Количество единиц» (counted in шт) is no number of pieces: the manager reads
    which unit is asked, not only «единица: шт»; «500 шт» is then taken."""
    shop = fulfillment
    manager = shop.people["Алина"]
    card = await a_request_for_a_client_under_contract(shop, "Заявка на приёмку товара")
    await manager.press("Направить заявку на склад", card)
    await manager.expect("Количество единиц")
    await manager.send("500 коробок")
    await manager.expect("Здесь единица — шт, а не «коробок»: введите число в шт", "Количество единиц")
    await manager.send("500 шт")
    await manager.expect("Дата работ на складе")
