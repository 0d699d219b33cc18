"""Half-filled requests are visible and resumable: «Мои задачи» lists them, starting the same process again
asks whether to continue or start anew, and a request never finished is closed after a week with a word to
its author."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Case
from tests.conftest import Harness


async def _half_filled(harness: Harness) -> None:
    manager = harness.people["Марина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.expect("Количество")
    await manager.send("2")
    await manager.expect("Сумма закупки")


async def test_my_tasks_lists_an_unfinished_request_and_continues_it(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await _half_filled(harness)
    await manager.send("📋 Мои задачи")
    draft = await manager.expect("Незаконченная заявка", "Возврат бракованных часов")
    await manager.press("Продолжить", draft)
    await manager.expect("Сумма закупки")  # where it stopped: the quantity is kept
    await manager.send("125 000")
    await manager.expect("Марка")


async def test_starting_again_offers_to_continue_or_start_anew(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await _half_filled(harness)
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    choice = await manager.expect("незаконченная заявка")
    assert {"▶️ Продолжить", "🆕 Начать заново"} <= set(manager.buttons(choice))
    await manager.press("Начать заново", choice)
    await manager.expect("Поставщик")
    async with harness.core.sessionmaker() as session:
        statuses = [c.status for c in (await session.execute(select(Case).order_by(Case.id))).scalars()]
    assert statuses == ["cancelled", "draft"] or statuses == ["cancelled", "active"], statuses  # no orphan left


async def test_a_request_never_finished_is_closed_after_a_week(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await _half_filled(harness)
    await harness.advance(days=8)
    note = await manager.expect("не закончена")
    assert "Возврат бракованных часов" in note["text"]
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalars().one()
    assert case.status == "cancelled"
    await manager.send("📋 Мои задачи")
    await manager.expect("нет открытых задач")
