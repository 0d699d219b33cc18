"""Seed 1's start form when Telegram takes a question but its answer never reaches the bot: the bot cannot know
whether the shop manager saw the question, so it does not take her next message for its answer. It tells her so,
asks the question again, and her second answer is recorded — once, in the right field."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Case, Outbox
from tests.conftest import Harness
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tests.test_evidence_e2e import fault


async def test_a_question_of_unknown_fate_is_asked_again_and_the_answer_is_not_misplaced(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    for question, answer in (("Количество", "1"), ("Сумма закупки", "125 000")):
        await manager.expect(question)
        await manager.send(answer)
    await manager.expect("Марка")
    # The next question reaches her, but the connection drops before Telegram's answer reaches the bot.
    await fault(shop, kind="drop_after", method="sendMessage", count=1)
    await manager.send("Longines")
    await manager.expect("Входящий номер")
    await shop.settle()
    async with shop.core.sessionmaker() as session:
        lost = (await session.execute(select(Outbox).where(Outbox.status == "uncertain"))).scalars().all()
    assert [row.payload.get("purpose") for row in lost] == ["question"]

    await manager.send("ВХ-42")  # she did see it; the bot cannot know that
    notice = await manager.expect("не записано как ответ")
    assert "Входящий номер" not in notice["text"]  # the notice, then the question itself
    await manager.expect("Входящий номер")
    await manager.send("ВХ-42")
    await manager.expect("ФИО сотрудника")  # the answer is taken now; the form goes on
    for question, answer in (
        ("ФИО сотрудника", "Иванова Марина"),
        ("Дата поступления", "18.12.2026"),
        ("Часы №1: Модель", "L2.793.4"),
        ("Серийный номер", "SN-123456"),
        ("Описание дефекта", "Отстают на 30 секунд в сутки"),
    ):
        if question != "ФИО сотрудника":
            await manager.expect(question)
        await manager.send(answer)
    await manager.expect("Фото дефекта")
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "1"))
    summary = await manager.expect("Проверьте")
    assert "ВХ-42" in summary["text"] and "Иванова Марина" in summary["text"]
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")
    async with shop.core.sessionmaker() as session:
        (case,) = (await session.execute(select(Case))).scalars().all()
    assert case.data["brand"] == "Longines" and case.data["incoming_doc"] == "ВХ-42"
    assert case.data["employee_name"] == "Иванова Марина"
