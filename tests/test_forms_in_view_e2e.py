"""Seed 1 in chat (issue 12, point 6): one watch corrected alone, the return from repair asked as such and kept
beside the first arrival, and dates that must follow one another refused with the date they clash with."""

from __future__ import annotations

from sqlalchemy import select

from admin.words import Words
from db.models import AuditEntry, Task
from tests.conftest import Harness
from tests.test_defect_return_e2e import confirm_defect_and_ship, inform_supplier, register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop


async def history_of(shop: Harness, case_id: int) -> list[str]:
    """The case's history as the panel words it."""
    async with shop.core.sessionmaker() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.case_id == case_id))).scalars().all()
        tasks = {t.id: t for t in (await session.execute(select(Task).where(Task.case_id == case_id))).scalars()}
    spec = shop.core.registry.library["defect_return"].spec
    words = Words(shop.core, "ru")
    return [words.history(entry, spec, tasks, {}) for entry in entries]


async def test_the_return_from_repair_is_asked_as_such_and_kept_beside_the_first_arrival(shop: Harness) -> None:
    manager, service = shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager, supplier="Helvetia")  # arrived 25.12.2026
    await confirm_defect_and_ship(shop)  # shipped 28.12.2026
    await inform_supplier(service)
    await service.press("Ремонт", await service.expect("Поставщик получил товар"))
    await service.document(b"%PDF verdict", "verdict.pdf")
    await service.press("Подтвердить", await service.expect("Проверьте"))

    # Sent back from repair before it was even shipped: refused, naming the shipping date.
    await service.press("Готово", await service.expect("Проконтролируйте готовность"))
    await service.expect("Дата отправки из ремонта")
    await service.send("27.12.2026")
    refusal = await service.expect("⚠️")
    assert "раньше, чем «Дата отправки» (28.12.2026)" in refusal["text"], refusal["text"]
    await service.expect("Дата отправки из ремонта")
    await service.send("20 января 2027")  # a date in words
    summary = await service.expect("Проверьте")
    assert "Дата отправки из ремонта: 20.01.2027" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)

    # Not fixed: the arrival date is asked again, as the return from repair, showing the first arrival.
    await service.press("Не устранён", await service.expect("Дефект устранён?"))
    question = await service.expect("Дата возврата из ремонта")
    assert "Дата поступления" not in question["text"] and "25.12.2026" in question["text"], question["text"]
    await service.send("19.01.2027")
    refusal = await service.expect("⚠️")
    assert "«Дата отправки из ремонта» (20.01.2027)" in refusal["text"], refusal["text"]
    await service.expect("Дата возврата из ремонта")
    await service.send("22.01.2027")
    await service.expect("Комментарий")
    await service.send("Всё ещё отстают")
    summary = await service.expect("Проверьте")
    assert "Дата возврата из ремонта: 22.01.2027" in summary["text"], summary["text"]
    await service.press("Подтвердить", summary)

    # The case card shows the new date with what it was, and the earlier one beside it.
    card = await service.expect("Уведомите поставщика о браке")
    assert "29.01.2027 18:00" in card["text"]  # the supplier's new deadline counts from the return
    await service.press("Дело", card)
    case_card = await service.expect("📁 №")
    assert "Дата поступления товара: 22.01.2027 (Дата возврата из ремонта)\n   ранее: 25.12.2026" in case_card["text"]
    case_id = int(case_card["text"].split("№", 1)[1].split(" ", 1)[0])
    history = await history_of(shop, case_id)
    assert any("«Дата поступления товара» изменено с 25.12.2026 на 22.01.2027" in line for line in history), history
