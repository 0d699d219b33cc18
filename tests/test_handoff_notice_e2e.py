"""A case started by itself when another ended (seed 3: the quote agreed with a new client starts the contract) is
told to the person whose case it is, with a button to open it: no one started it by hand, so no one knew of it."""

from __future__ import annotations

from services import companies
from tests.chat import Person
from tests.conftest import Harness
from tests.test_fulfillment_e2e import fulfillment, new_quote, through_the_director  # noqa: F401 (the fixture)


async def test_the_account_manager_is_told_the_contract_started_after_the_quote(
    fulfillment: Harness,  # noqa: F811
) -> None:
    manager, lawyer = fulfillment.people["Алина"], fulfillment.people["Юрист Вера"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(fulfillment, manager)

    told = await manager.card(
        "Продолжение дела №1 («Заявка на просчёт заказа»): КП с клиентом согласовано", button="Дело"
    )
    assert told["text"].startswith("🔔 №2 · Договор: ООО Ромашка"), told["text"]
    await manager.press("Дело", told)
    card = await manager.expect("№2", "Договор: ООО Ромашка")
    assert "Этап:" in card["text"], card["text"]
    await lawyer.expect("Подготовьте договор с клиентом")  # the contract's first task, as before


async def an_old_clients_quote_agreed(shop: Harness) -> Person:
    """Алина's quote for a client with a contract is agreed: its end starts the receiving request (case №2)."""
    manager = shop.people["Алина"]
    async with shop.core.sessionmaker() as session, session.begin():
        await companies.create(session, "ООО Старый клиент", None, shop.clock.now(), {"contract_signed": True})
    await new_quote(manager, "ООО Старый клиент", create=False)
    await through_the_director(shop, manager)
    return manager


async def test_the_request_a_quote_started_comes_to_its_manager_as_one_message_saying_why(
    fulfillment: Harness,  # noqa: F811
) -> None:
    manager = await an_old_clients_quote_agreed(fulfillment)
    note = await manager.card("Заявка на приёмку товара создана", button="Дело")
    assert "Продолжение дела №1 («Заявка на просчёт заказа»): КП с клиентом согласовано." in note["text"], note["text"]
    await fulfillment.settle()
    about_it = [m["text"] for m in await manager.bot_messages() if "Продолжение дела" in (m.get("text") or "")]
    assert about_it == [note["text"]], about_it  # not a second message in a row about the same new case


async def test_a_request_started_by_another_cases_end_is_new_in_the_digest_not_moved(
    fulfillment: Harness,  # noqa: F811
) -> None:
    await an_old_clients_quote_agreed(fulfillment)
    director = fulfillment.people["Генеральный Олег"]
    await director.send("/digest")
    await director.press("Прислать сейчас", await director.card("сводку", button="Прислать сейчас"))
    text = (await director.expect("📊 Сводка"))["text"]
    assert "Новая заявка → Новая заявка" not in text and "№2" not in text, text
