"""A task whose deadline has passed says so, and how late in working time, wherever a person reads its due date:
its card (brought back by the overdue notice or by «My tasks»), the case's card (/case), an admin's /find and the
stage news of those who follow the case. The mark is right when the text is rendered, by the case's clock (moved
here, never slept through)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from db.models import Case
from tests.conftest import Harness, library_with
from tests.test_defect_return_e2e import register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tests.test_escalations_e2e import PAST_DUE, _invoice_taken_by_anna, _office


async def test_a_late_task_is_marked_overdue_by_how_many_working_hours_and_days(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    anna, manager = harness.people["Анна"], harness.people["Ольга"]
    await _invoice_taken_by_anna(harness)
    card = await anna.card("Оплатите счёт", "Срок: 22.12.2026 18:00", button="Готово")
    assert "просрочено" not in card["text"]  # before the deadline: just the date
    async with harness.core.sessionmaker() as session:
        case_id = (await session.execute(select(Case.id))).scalar_one()

    # Tuesday 18:01, a minute after the deadline and after working hours: late, by no working time yet.
    await harness.move_to(PAST_DUE)
    overdue = await anna.expect("Просрочено", "Оплатите счёт")
    await anna.press("Открыть задачу", overdue)
    reopened = await anna.expect("Оплатите счёт", "Срок: 22.12.2026 18:00 ⚠️ просрочено")
    assert "просрочено на" not in reopened["text"], reopened["text"]
    # The card sent before the deadline is not edited at it: it keeps the words it was rendered with.
    sent = next(m for m in await anna.bot_messages() if m["message_id"] == card["message_id"])
    assert "просрочено" not in sent["text"], sent["text"]

    # Wednesday 12:30 (Moscow): three and a half working hours late — counted in hours, not as a day.
    await harness.move_to(datetime(2026, 12, 23, 9, 30, tzinfo=UTC))
    await anna.send("📋 Мои задачи")
    await anna.expect("Оплатите счёт", "Срок: 22.12.2026 18:00 ⚠️ просрочено на 3 ч")

    # Friday 12:00: Wednesday and Thursday whole and three hours of Friday — two working days.
    await harness.move_to(datetime(2026, 12, 25, 9, 0, tzinfo=UTC))
    await anna.send("📋 Мои задачи")
    await anna.expect("Оплатите счёт", "Срок: 22.12.2026 18:00 ⚠️ просрочено на 2 раб. дня")
    await manager.send(f"/case {case_id}")
    await manager.expect("Оплатите счёт", "срок 22.12.2026 18:00 ⚠️ просрочено на 2 раб. дня")


async def test_an_english_reader_reads_the_late_mark_in_english(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _office(harness_factory, tmp_path)
    anna = harness.people["Анна"]
    await _invoice_taken_by_anna(harness)
    await anna.send("/lang")
    await anna.expect("Language: English.")
    # Monday 28 December 12:00 (Moscow): Wednesday to Friday whole and Monday's three hours — three working days.
    await harness.move_to(datetime(2026, 12, 28, 9, 0, tzinfo=UTC))
    await anna.send("📋 My tasks")
    await anna.expect("Due: Dec 22, 2026 18:00 ⚠️ 3 working days overdue")


async def _invoice(harness: Harness, supplier: str) -> None:
    """The manager registers an invoice; it waits in the accountants' pool, due in a working day."""
    manager = harness.people["Ольга"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Оплата счёта", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    await manager.send(supplier)
    await manager.expect("Сумма")
    await manager.send("48 000")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")


async def test_the_admins_find_says_when_each_cases_work_is_due_and_how_late(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """/find listed the cases found and opened one's admin card with no due date: an admin choosing what to hand on
    could not tell the late ones."""
    harness = await _office(harness_factory, tmp_path)
    admin = harness.admin
    await _invoice(harness, "ООО Ромашка")
    await _invoice(harness, "ООО Лютик")

    await admin.send("/find ООО")
    found = await admin.expect("Найденные дела по запросу «ООО»")
    lines = found["text"].splitlines()
    assert "• №1 · ООО Ромашка · Оплата — срок 22.12.2026 18:00" in lines, lines  # before the deadline: the date
    assert "• №2 · ООО Лютик · Оплата — срок 22.12.2026 18:00" in lines, lines

    # Friday 12:00: Wednesday and Thursday whole and three hours of Friday — two working days late.
    await harness.move_to(datetime(2026, 12, 25, 9, 0, tzinfo=UTC))
    await admin.send("/find ООО")
    found = await admin.expect("Найденные дела по запросу «ООО»")
    late = "срок 22.12.2026 18:00 ⚠️ просрочено на 2 раб. дня"
    assert f"• №1 · ООО Ромашка · Оплата — {late}" in found["text"].splitlines(), found["text"]
    assert admin.buttons(found) == ["№2 · ООО Лютик · Оплата", "№1 · ООО Ромашка · Оплата"]
    # One case found: its admin card at once, its open task with who holds it and how late it is.
    await admin.send("/find Ромашка")
    await admin.expect("🛠 №1", f"• Оплатите счёт — ждёт «Бухгалтер», {late}")


async def test_stage_news_of_work_late_from_the_start_says_it_is_late(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Goods shipped on 1 December, registered on the 21st: once the papers are checked, the manager reads that the
    case waits for the head of the warehouse until a date three weeks gone — said to be late, as its card says."""
    harness = await harness_factory(library_dir=library_with(tmp_path, "papers_then_receipt.yaml"))
    manager = await harness.person("Ольга", "shop_manager")
    accountant = await harness.person("Анна", "accountant")
    head = await harness.person("Иван", "warehouse_head")
    await manager.send("▶️ Начать процесс")
    await manager.press("Приёмка по документам", await manager.expect("Какой процесс"))
    await manager.expect("Поставщик")
    await manager.send("ООО Ромашка")
    await manager.expect("Дата отгрузки")
    await manager.send("01.12.2026")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")

    await accountant.press("Готово", await accountant.card("Проверьте накладную", button="Готово"))
    card = await head.expect("Примите товар", "⚠️ просрочено на")
    due = card["text"].split("Срок: ", 1)[1].splitlines()[0]
    news = await manager.expect("📍", "теперь «Приёмка»")
    assert f"Ждёт: Иван (Заведующий складом) — до {due}." in news["text"], news["text"]
    assert due.startswith("03.12.2026 18:00 ⚠️ просрочено на "), due


async def test_work_late_from_the_start_is_told_late_once_and_still_escalates(shop: Harness) -> None:
    """Seed 1: the goods came on 1 December and the return is filed on the 21st, so the supplier should have been
    told by the 8th. The service manager's task comes marked late; he is not told it again by a second message a
    moment later. The director, who answers for it, hears of it once too."""
    manager, service, head = shop.people["Марина"], shop.people["Сергей"], shop.people["Кладовщик Иван"]
    director = shop.people["Директор Пётр"]
    await register_defect(manager, arrival="01.12.2026")
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    await head.press("Пропустить", await head.expect("Фото с осмотра"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.expect("Уведомите поставщика о браке", "Срок: 08.12.2026 18:00 ⚠️ просрочено на 8 раб. дней")
    await shop.tick()
    await director.expect("Эскалация", "Уведомите поставщика о браке")
    await shop.tick()
    await shop.settle()
    late = [m["text"] for m in await service.bot_messages() if "росроч" in (m["text"] or "")]
    assert len(late) == 1, late
    assert len([m for m in await director.bot_messages() if "Эскалация" in (m["text"] or "")]) == 1
