"""Seed 3, «Заключить договор с новым клиентом»: a client who sends the draft back with changes sends it back to the
lawyer, with the changes on her card, and the contract goes on to its signing and to the receiving request it hands on
to — not a contract that can only be cancelled."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Case, Company
from flows.status import CaseStatus
from tests.conftest import Harness
from tests.test_fulfillment_e2e import fulfillment  # noqa: F401 (the fixture)
from tests.test_fulfillment_handed_on_e2e import a_contract_started_by_hand


async def test_the_clients_changes_to_the_draft_go_back_to_the_lawyer_and_the_contract_goes_on(
    fulfillment: Harness,  # noqa: F811
) -> None:
    shop = fulfillment
    manager, lawyer = await a_contract_started_by_hand(shop), shop.people["Юрист Вера"]

    first = await lawyer.card("Подготовьте договор с клиентом", button="Готово")
    assert "правк" not in first["text"], first["text"]
    await lawyer.press("Готово", first)
    await lawyer.expect("Проект договора")
    await lawyer.document(b"%PDF contract v1", "contract_v1.pdf")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))

    # The client reads the draft and wants a clause changed: the manager sends it back with his words.
    signing = await manager.card("Подпишите договор с клиентом", button="Правки клиента")
    assert "Договор подписан" in " ".join(manager.buttons(signing)), manager.buttons(signing)
    await manager.press("Правки клиента", signing)
    await manager.expect("Правки клиента к договору")
    await manager.send("Срок оплаты хранения — 10 дней вместо 5")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    again = await lawyer.expect("Подготовьте договор с клиентом", "Клиент вернул проект с правками")
    assert "Клиент вернул проект с правками: Срок оплаты хранения — 10 дней вместо 5" in again["text"], again["text"]
    await lawyer.press("Готово", again)
    question = await lawyer.expect("Проект договора")
    assert "Оставить как есть" not in " ".join(lawyer.buttons(question))  # the draft sent back is no answer
    await lawyer.document(b"%PDF contract v2", "contract_v2.pdf")
    await lawyer.press("Подтвердить", await lawyer.expect("Проверьте"))

    signing = await manager.expect("Подпишите договор с клиентом")  # the second draft's, after the changes
    await manager.press("Договор подписан", signing)
    await manager.expect("Подписанный договор")
    await manager.document(b"%PDF signed", "signed.pdf")
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("Дело закрыто: №1 · Договор: ООО Тюльпан — Договор заключён")

    async with shop.core.sessionmaker() as session:
        company = (await session.execute(select(Company).where(Company.name == "ООО Тюльпан"))).scalar_one()
        contract = await session.get(Case, 1)
        receiving = (await session.execute(select(Case).where(Case.process == "fulfillment_receiving"))).scalar_one()
    assert company.data == {"contract_signed": True}
    assert contract is not None and CaseStatus(contract.status) == CaseStatus.DONE
    drafts = contract.data["contract_file"]
    assert "contract_v2.pdf" in str(drafts) and "contract_v1.pdf" not in str(drafts), drafts  # the one signed
    assert receiving.parent_id == 1
