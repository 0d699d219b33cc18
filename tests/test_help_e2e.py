"""/help tells each person what they can do here: the menu for everyone, the catalogue and the cart for a dealer's
staff who may order, the admins' commands for the admins alone."""

from __future__ import annotations

from tests.conftest import Harness
from tests.test_access_closed_e2e import menu_of
from tests.test_organisations_e2e import dealer_person, organisation

ADMIN_COMMANDS = "Для администраторов: /invite"


async def test_each_person_is_told_what_they_can_do_and_nothing_they_cannot(harness: Harness) -> None:
    await organisation(harness, "ООО Сад region=Москва inn=7707083893 kpp=770101001")
    dealer = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    clerk = await harness.person("Кладовщик Пётр", "warehouse_head")

    await dealer.send("/help")
    told = await dealer.expect("Я веду процессы вашей компании")
    assert "/cart — ваша корзина" in told["text"] and ADMIN_COMMANDS not in told["text"]
    # Her figures are her organisation's alone: /help does not promise her every dealer's.
    assert "/figures — что заказала ваша организация" in told["text"] and "каждый дилер" not in told["text"]

    await clerk.send("/help")
    told = await clerk.expect("Я веду процессы вашей компании", "/case и номер")
    assert "/cart" not in told["text"] and ADMIN_COMMANDS not in told["text"] and "/figures" not in told["text"]
    assert "/diagram" in told["text"] and "/digest" in told["text"]
    # He starts no process: /help does not offer him one (he used to read «Начать процесс — зарегистрировать новое
    # дело» and then be told none of his roles can start one).
    assert "Начать процесс" not in told["text"], told["text"]
    # A shop manager is told which processes she starts.
    seller = await harness.person("Марина", "shop_manager")
    await seller.send("/help")
    told_her = await seller.expect("Я веду процессы вашей компании")
    assert "«Начать процесс» — зарегистрировать новое дело: «Возврат бракованных часов" in told_her["text"], told_her[
        "text"
    ]
    # Nor does his menu: «Начать процесс» is the shop manager's button, not the warehouse head's.
    for person in (clerk, seller, dealer):
        await person.send("/start")
    assert await menu_of(clerk) == [["📋 Мои задачи"], ["📁 Мои дела"]]
    assert await menu_of(seller) == [["📋 Мои задачи", "▶️ Начать процесс"], ["📁 Мои дела"]]
    # A dealer's manager starts requests from the catalogue, which the button opens.
    assert (await menu_of(dealer) or [[]])[0] == ["📋 Мои задачи", "▶️ Начать процесс"]
    # Given a role that starts a process, he hears it with the menu that now offers it; without it, it goes.
    await harness.admin.send(f"/grant @u{clerk.id} shop_manager")
    await clerk.expect("Администратор изменил ваши роли", "Менеджер магазина")
    assert await menu_of(clerk) == [["📋 Мои задачи", "▶️ Начать процесс"], ["📁 Мои дела"]]
    await harness.admin.send(f"/revoke @u{clerk.id} shop_manager")
    await clerk.wait_for("Администратор изменил ваши роли, теперь: Заведующий складом.")
    assert await menu_of(clerk) == [["📋 Мои задачи"], ["📁 Мои дела"]]
    # An admin's command from him is answered as one, not «I did not understand».
    for command in ("/users", "/find 1", "/export"):
        await clerk.send(command)
        await clerk.expect("Эта команда — для администраторов")

    await harness.admin.send("/help")
    told = await harness.admin.expect("Я веду процессы вашей компании")
    assert ADMIN_COMMANDS in told["text"] and "/cart" not in told["text"]
    # Every command an admin has is named (the list missed /export, /worktime, /unreachable, the organisations').
    commands = ("/restore", "/export", "/worktime", "/unreachable", "/org_new", "/org_set", "/dealer_link", "/region")
    for command in (*commands, "/find"):
        assert command in told["text"], command
    # Everyone's own commands; the figures only for those who see them.
    assert "/diagram" in told["text"] and "/digest" in told["text"]
    assert "/figures — что каждый дилер заказал" in told["text"]
