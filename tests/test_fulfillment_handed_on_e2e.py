"""Seed 3: a request another case handed on (the signed contract starts the receiving request) whose fields its
manager still has to fill is work given to her, with its number: leaving its form puts it off, it never drops it."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Case
from flows.status import CaseStatus
from tests.chat import Person
from tests.conftest import Harness
from tests.test_fulfillment_e2e import fulfillment  # noqa: F401 (the fixture)


async def a_contract_started_by_hand(shop: Harness) -> Person:
    """Алина starts «Заключить договор с новым клиентом» by hand for a new client, ООО Тюльпан (no quote before it,
    so no goods named): it goes to the lawyer. Returns Алина."""
    manager = shop.people["Алина"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Заключить договор", await manager.expect("Какой процесс"))
    await manager.expect("Клиент (компания)")
    await manager.send("ООО Тюльпан")
    await manager.press("Создать", await manager.expect("ООО Тюльпан", "Создать"))
    await manager.expect("Контактное лицо")
    await manager.send("Пётр Сидоров, +7 900 000-00-01")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    return manager


async def a_contract_signed_by_hand(shop: Harness) -> Person:
    """The contract started by hand (`a_contract_started_by_hand`), the lawyer drafts it, Алина attaches the signed
    scan: the receiving request №2 comes to her to fill in."""
    manager, lawyer = await a_contract_started_by_hand(shop), shop.people["Юрист Вера"]
    await lawyer.press("Готово", await lawyer.card("Подготовьте договор с клиентом", button="Готово"))
    await lawyer.expect("Проект договора")
    await lawyer.document(b"%PDF contract draft", "contract.pdf")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))
    await manager.press("Договор подписан", await manager.card("Подпишите договор", button="Договор подписан"))
    await manager.expect("Подписанный договор")
    await manager.document(b"%PDF signed", "signed.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("№2", "Продолжение дела №1")
    return manager


async def status_of(shop: Harness, case_id: int) -> CaseStatus:
    async with shop.core.sessionmaker() as session:
        return CaseStatus((await session.execute(select(Case.status).where(Case.id == case_id))).scalar_one())


async def test_leaving_the_form_of_a_request_handed_on_puts_it_off_and_keeps_the_request(
    fulfillment: Harness,  # noqa: F811
) -> None:
    """Алина opens the receiving request the contract handed on, and leaves its first question: the button says she
    puts it off, not that she cancels; request №2 stays open and comes back among her tasks, not as a draft to drop;
    filled in later, it goes on to «Новая заявка»."""
    shop = fulfillment
    manager = await a_contract_signed_by_hand(shop)
    await manager.press("Заполнить", await manager.card("№2", "Заявка на приёмку товара", button="Заполнить"))
    question = await manager.expect("Товар")
    assert "⏸ Отложить" in manager.buttons(question), manager.buttons(question)
    assert "✖️ Отмена" not in manager.buttons(question), manager.buttons(question)
    await manager.press("Отложить", question)
    aside = await manager.expect("(дело №2) отложена, ваши ответы сохранены")
    assert "ничего не зарегистрировано" not in aside["text"], aside["text"]
    assert await status_of(shop, 2) == CaseStatus.DRAFT  # still to be filled in, not cancelled

    await manager.send("📋 Мои задачи")
    await manager.expect("Ваши открытые задачи: 1")
    card = await manager.expect("№2", "Заявка на приёмку товара")
    assert "📝 Заполнить" in manager.buttons(card), manager.buttons(card)
    assert await manager.find("Незаконченная заявка") is None

    # Starting a receiving request of her own does not offer to drop №2 for it.
    await manager.send("▶️ Начать процесс")
    await manager.press("Заявка на приёмку товара", await manager.expect("Какой процесс"))
    asked = await manager.expect("Клиент (компания)")
    assert "незаконченная заявка" not in asked["text"], asked["text"]
    await manager.press("Отмена", asked)
    await manager.expect("ничего не зарегистрировано")
    assert await status_of(shop, 2) == CaseStatus.DRAFT

    await manager.press("Заполнить", await manager.card("№2", "Заявка на приёмку товара", button="Заполнить"))
    await manager.expect("Товар")
    await manager.send("Садовый инвентарь")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.wait_for("№2", "Этап: Новая заявка")
    assert await status_of(shop, 2) == CaseStatus.ACTIVE


async def test_cancel_typed_in_the_form_of_a_request_handed_on_does_not_cancel_it(
    fulfillment: Harness,  # noqa: F811
) -> None:
    """/cancel typed in the request's form leaves it for later too: it is cancelled from its card, with a reason."""
    shop = fulfillment
    manager = await a_contract_signed_by_hand(shop)
    await manager.press("Заполнить", await manager.card("№2", "Заявка на приёмку товара", button="Заполнить"))
    await manager.expect("Товар")
    await manager.send("/cancel")
    await manager.expect("(дело №2) отложена, ваши ответы сохранены")
    assert await status_of(shop, 2) == CaseStatus.DRAFT


async def test_a_request_handed_on_and_not_yet_filled_in_is_not_closed_as_one_never_finished(
    fulfillment: Harness,  # noqa: F811
) -> None:
    """The client names his goods only after a week: request №2 waits for them, among Алина's tasks. It is not closed
    as a request she began and never finished (that is for her own drafts)."""
    shop = fulfillment
    manager = await a_contract_signed_by_hand(shop)
    await shop.advance(days=8)
    await shop.settle()
    assert await manager.find("не закончена") is None
    assert await status_of(shop, 2) == CaseStatus.DRAFT
    await manager.send("📋 Мои задачи")
    await manager.expect("Ваши открытые задачи: 1")
    await manager.press("Заполнить", await manager.expect("№2", "Заявка на приёмку товара"))
    await manager.expect("Товар")
