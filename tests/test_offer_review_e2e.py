"""Seed 3, a request at the warehouse from the manager's side: a case whose task a worker has taken says whom it
waits for by name."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_fulfillment_e2e import a_request_for_a_client_under_contract
from tests.test_fulfillment_e2e import fulfillment as fulfillment  # the fixture: the warehouse's five people


async def test_a_task_a_worker_has_taken_waits_for_him_by_name(fulfillment: Harness) -> None:
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    card = await a_request_for_a_client_under_contract(shop, "Заявка на обработку товара")
    await manager.press("Направить заявку на склад", card)
    await manager.expect("Количество единиц")
    await manager.send("1800")
    await manager.expect("Дата работ на складе")
    await manager.send("23.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await timur.press("Взять", await timur.card("Обработайте товар по заявке", button="Взять"))
    await timur.wait_for("Обработайте товар по заявке", "Вы взяли")

    await manager.send("/case 1")
    await manager.press("Дата работ на складе", await manager.expect("№1", "Этап:"))
    await manager.expect("Дата работ на складе")
    await manager.send("25.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    said = await manager.expect("Ждёт:")
    assert "Ждёт: Кладовщик Тимур (Работник склада)" in said["text"], said["text"]
