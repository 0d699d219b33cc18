"""Racing for a task, a bot restart in the middle of a form, reminders across a restart and two workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from db.models import Timer
from scheduler.timers import tick
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect


async def test_two_warehouse_heads_press_take_at_once(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    ivan = await harness.person("Иван", "warehouse_head")
    pavel = await harness.person("Павел", "warehouse_head")
    await register_defect(manager)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))

    cards = [await ivan.expect("Подтвердите наличие дефекта"), await pavel.expect("Подтвердите наличие дефекта")]
    assert all("Взять" in " ".join(p.buttons(c)) for p, c in zip((ivan, pavel), cards, strict=True))
    answers = await asyncio.gather(ivan.press("Взять", cards[0]), pavel.press("Взять", cards[1]))
    await harness.settle()
    winners = [a for a in answers if a and "уже" not in a]
    losers = [a for a in answers if a and "уже" in a]
    assert len(winners) == 1 and len(losers) == 1, answers
    winner, loser = (ivan, pavel) if answers[0] in winners else (pavel, ivan)
    assert winner.name in losers[0]  # the other is told who took it
    # The winner's card now has the answers; the loser's card says who has it and offers nothing to press.
    card = await winner.find("Подтвердите наличие дефекта")
    assert card is not None and "Брака нет" in " ".join(winner.buttons(card))
    card = await loser.find("Подтвердите наличие дефекта")
    assert card is not None and winner.name in card["text"]
    assert not any("Брак" in b or "Взять" in b for b in loser.buttons(card))
    # A press on the loser's stale «take» (sent before their client got the edit) is refused and changes nothing.
    old_card = cards[1] if loser is pavel else cards[0]
    data = old_card["inline_keyboard"][0][0]["callback_data"]
    stale = await loser.press_data(old_card["message_id"], data, unchecked=True)
    assert stale and winner.name in stale


async def test_restart_in_the_middle_of_a_form_loses_nothing(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    await manager.send("1")
    await manager.send("99 000")
    await manager.expect("Марка")

    await harness.restart()

    await manager.send("Tissot")
    await manager.expect("Входящий номер")
    await manager.send("ВХ-7")
    await manager.send("Иванова Марина")
    await manager.send("18.12.2026")
    await manager.send("T-Classic")
    await manager.send("SN-1")
    await manager.send("Стекло")
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    summary = await manager.expect("Проверьте")
    for answer in ("Альфа", "99", "Tissot", "ВХ-7", "T-Classic"):
        assert answer in summary["text"], answer


async def test_reminders_survive_a_restart_and_fire_once(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    await register_defect(manager)
    card = await service.expect("Переместите товар на склад сервиса в 1С")
    # Registered Monday 10:00: due in one working day (Tuesday 18:00), reminder two hours before.
    assert "22.12.2026 18:00" in card["text"], card["text"]

    await harness.restart()
    assert await harness.move_to(datetime(2026, 12, 22, 13, 30, tzinfo=UTC)) >= 1  # 16:30 Moscow: reminder due
    reminder = await service.expect("Напоминание")
    assert "Переместите товар" in reminder["text"]
    await harness.advance(minutes=30)
    reminders = [m for m in await service.bot_messages() if "Напоминание" in (m.get("text") or "")]
    assert len(reminders) == 1

    # Overdue after 18:00: the service manager is told; nothing escalates (this task names nobody to escalate to).
    await harness.move_to(datetime(2026, 12, 22, 15, 1, tzinfo=UTC))
    await service.expect("Просрочено")


async def test_two_workers_ticking_together_fire_each_timer_once(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    await register_defect(manager)
    await service.expect("Переместите товар на склад сервиса в 1С")
    harness.clock.set(datetime(2026, 12, 23, 12, 0, tzinfo=UTC))  # past the reminder and the deadline
    fired = await asyncio.gather(tick(harness.core), tick(harness.core), tick(harness.core))
    assert sum(fired) == 2  # one reminder, one overdue: each once, whichever worker got it
    await harness.settle()
    texts = [m.get("text") or "" for m in await service.bot_messages()]
    assert sum("Напоминание" in t for t in texts) == 1
    assert sum("Просрочено" in t for t in texts) == 1
    async with harness.core.sessionmaker() as session:
        pending = (
            await session.execute(
                select(func.count()).select_from(Timer).where(Timer.status == "pending", Timer.kind != "cron")
            )
        ).scalar_one()
    assert pending == 0
