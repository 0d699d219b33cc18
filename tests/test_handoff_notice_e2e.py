"""A case started by itself when another ended (seed 3: the quote agreed with a new client starts the contract) is
told to the person whose case it is, with a button to open it: no one started it by hand, so no one knew of it."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_fulfillment_e2e import fulfillment, new_quote, through_the_director  # noqa: F401 (the fixture)


async def test_the_account_manager_is_told_the_contract_started_after_the_quote(
    fulfillment: Harness,  # noqa: F811
) -> None:
    manager, lawyer = fulfillment.people["Алина"], fulfillment.people["Юрист Вера"]
    await new_quote(manager, "ООО Ромашка", create=True)
    await through_the_director(fulfillment, manager)

    told = await manager.card("Начато автоматически: дело №1 («Заявка на просчёт заказа») завершено", button="Дело")
    assert told["text"].startswith("🔔 №2 · Договор: ООО Ромашка"), told["text"]
    await manager.press("Дело", told)
    card = await manager.expect("№2", "Договор: ООО Ромашка")
    assert "Этап:" in card["text"], card["text"]
    await lawyer.expect("Подготовьте договор с клиентом")  # the contract's first task, as before
