"""/help tells each person what they can do here: the menu for everyone, the catalogue and the cart for a dealer's
staff who may order, the admins' commands for the admins alone."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_organisations_e2e import dealer_person, organisation

ADMIN_COMMANDS = "/invite, /users, /grant"


async def test_each_person_is_told_what_they_can_do_and_nothing_they_cannot(harness: Harness) -> None:
    await organisation(harness, "ООО Сад region=Москва inn=7707083893 kpp=770101001")
    dealer = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    clerk = await harness.person("Кладовщик Пётр", "warehouse_head")

    await dealer.send("/help")
    told = await dealer.expect("Я веду процессы вашей компании")
    assert "/cart — ваша корзина" in told["text"] and ADMIN_COMMANDS not in told["text"]

    await clerk.send("/help")
    told = await clerk.expect("Я веду процессы вашей компании", "/case и номер")
    assert "/cart" not in told["text"] and ADMIN_COMMANDS not in told["text"]

    await harness.admin.send("/help")
    told = await harness.admin.expect("Я веду процессы вашей компании")
    assert "Для администраторов: /invite, /users, /grant" in told["text"] and "/cart" not in told["text"]
