"""«✖️ Отменить дело» on a case card: the reason is asked, then the cancellation is confirmed or the case kept; an old
card does not cancel a case that has moved on; whoever works on the case hears it by a message of its own, with the
reason, and the case's history keeps the reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import AuditEntry, Case
from tests.chat import Person
from tests.conftest import Harness
from tests.test_fulfillment_e2e import at_the_warehouse
from tests.test_fulfillment_e2e import fulfillment as fulfillment  # the fixture: the fulfillment company's people


async def cancel_case(person: Person, card: dict[str, Any], reason: str) -> dict[str, Any]:
    """Cancel a case from its card for a reason, confirmed; the answer that it is cancelled."""
    await person.press("Отменить дело", card)
    await person.expect("Напишите причину")
    await person.send(reason)
    await person.press("Отменить дело", await person.expect("Отменить дело", f"Причина: {reason}"))
    return await person.expect("отменено")


async def test_a_case_is_cancelled_for_a_reason_its_worker_hears_and_an_old_card_cannot_cancel_it(
    fulfillment: Harness,
) -> None:
    shop = fulfillment
    manager, timur = shop.people["Алина"], shop.people["Кладовщик Тимур"]
    first_card = await at_the_warehouse(shop, "Заявка на обработку товара", "1800", "23.12.2026")
    card = await timur.wait_for("Обработайте товар по заявке", "Нажмите «✋ Взять»")
    await timur.press("Взять", card)
    await timur.press("Начать работу", await timur.wait_for("Обработайте товар", "Вы взяли"))

    # The first card still shows the new request: pressed there, it cancels nothing and brings the card as it is.
    notice = await manager.press("Отменить дело", first_card)
    assert notice is not None and "Эта карточка устарела" in notice, notice
    fresh = await manager.expect("№1", "Обработайте товар по заявке — Кладовщик Тимур")
    assert "Этап: Новая заявка" not in fresh["text"], fresh["text"]

    # A reason is asked; a dot is no reason; «Не отменять» keeps the case.
    await manager.press("Отменить дело", fresh)
    await manager.expect("Отменить дело №1", "Напишите причину")
    await manager.send(".")
    await manager.expect("Напишите причину словами")
    await manager.send("Клиент отказался от обработки")
    question = await manager.expect("Отменить дело №1", "Этап: ", "Причина: Клиент отказался от обработки")
    assert "Этап: Новая заявка" not in question["text"], question["text"]  # where it is now, not where it began
    assert manager.buttons(question) == ["✖️ Отменить дело", "↩️ Не отменять"]
    assert await manager.press("Не отменять", question) == "Дело продолжается."
    async with shop.core.sessionmaker() as session:
        assert (await session.execute(select(Case.status))).scalar_one() == "active"

    await cancel_case(manager, fresh, "Клиент отказался от обработки")
    told = await timur.expect("отменено: Клиент отказался от обработки")
    assert "работу над «Обработайте товар по заявке» можно остановить" in told["text"], told["text"]
    assert "Отменил: Алина" in told["text"], told["text"]
    await timur.wait_for("Обработайте товар по заявке", "✖️")  # and his card says the task is no longer needed
    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalar_one()
        cancelled = await session.execute(select(AuditEntry.data).where(AuditEntry.action == "case.cancelled"))
    assert case.status == "cancelled" and cancelled.scalar_one() == {"reason": "Клиент отказался от обработки"}
    # The manager cancelled it herself: no «Дело отменено» notice tells her what she has just done.
    assert await manager.find("🚫") is None
    # The case's card says why it ended, as a dealer's rejected request does (`services.end_reasons`).
    await manager.send("/case 1")
    card = await manager.expect("№1", "Статус: Отменено")
    assert "Статус: Отменено\nПричина: Клиент отказался от обработки\n" in card["text"], card["text"]
