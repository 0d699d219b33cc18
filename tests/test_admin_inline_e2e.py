"""Admin commands in chat pick with buttons, not typed keys: `/export` offers the processes by title, `/users`
opens a person's roles as buttons that grant or revoke them, `/find` brings a case's admin card whose buttons
reassign a task to someone who may do it and cancel the case with a reason, `/unreachable` lists who blocked the
bot."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from db.models import AuditEntry, Case, User
from services.people import roles_of
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tgbot import team_view

DEFECTS = "Возврат бракованных часов поставщику"


async def test_the_admin_exports_a_process_picked_by_a_button_and_nobody_else_can(shop: Harness) -> None:
    admin, manager = shop.admin, shop.people["Марина"]
    await register_defect(manager)

    await admin.send("/export")
    menu = await admin.expect("Дела какого процесса выгрузить в Excel?")
    offered = admin.buttons(menu)
    assert DEFECTS in offered and "Сделка" in offered
    assert not any("_" in title for title in offered), offered  # titles, never keys like defect_return
    await admin.press(DEFECTS, menu)
    document = (await admin.expect(f"{DEFECTS}: 1"))["document"]
    sheet = load_workbook(io.BytesIO(await admin.download(document["url"]))).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 2 and "Longines" in [str(v) for v in rows[1]]

    # The same button's data sent by someone who is not an admin exports nothing.
    data = next(k["callback_data"] for row in menu["inline_keyboard"] for k in row if k["text"] == DEFECTS)
    own = (await manager.bot_messages())[-1]
    await manager.press_data(own["message_id"], data, unchecked=True)
    await shop.settle()
    assert await manager.documents() == []


async def test_the_admin_grants_and_revokes_roles_with_buttons(shop: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    admin, ivan = shop.admin, shop.people["Кладовщик Иван"]
    monkeypatch.setattr(team_view, "ROSTER_PAGE", 3)  # a phone's page is short: a few people, then ▶️
    await admin.send("/users")
    roster = await admin.expect("Люди: ", "(страница 1 из ")
    assert "@—" not in roster["text"] and len(roster["text"].splitlines()) == 4, roster["text"]
    # ▶️ turns the page in the same message, until Иван's page.
    page, first = 1, roster["message_id"]
    while "Кладовщик Иван" not in roster["text"]:
        await admin.press("▶️", roster)
        page += 1
        roster = await admin.wait_for("Люди: ", f"(страница {page} из")
        assert roster["message_id"] == first and "◀️" in admin.buttons(roster)
    button = next(b for b in admin.buttons(roster) if "Кладовщик Иван" in b)
    await admin.press(button, roster)
    card = await admin.expect("Кладовщик Иван — роли: Заведующий складом", "Нажмите роль")
    assert "warehouse_head" not in card["text"] and "✓ Заведующий складом" in admin.buttons(card)
    assert not any("_" in b for b in admin.buttons(card))  # role labels, never keys

    # A role pressed changes the card it is on: no second copy of it.
    await admin.press("Бухгалтер", card)
    edited = await admin.wait_for("Кладовщик Иван — роли: Бухгалтер, Заведующий складом")
    assert edited["message_id"] == card["message_id"]
    assert "✓ Бухгалтер" in admin.buttons(edited) and "✓ Заведующий складом" in admin.buttons(edited)
    await admin.press("✓ Заведующий складом", edited)
    edited = await admin.wait_for("Кладовщик Иван — роли: Бухгалтер\n")
    assert edited["message_id"] == card["message_id"] and "Заведующий складом" in admin.buttons(edited)
    assert await admin.find("Кладовщик Иван — роли: Бухгалтер, Заведующий складом") is None  # not kept as a copy

    async with shop.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == ivan.id))).scalar_one()
        assert await roles_of(session, user.id) == {"accountant"}


async def test_the_admin_finds_a_case_reassigns_its_task_by_buttons_and_cancels_it_with_a_reason(
    shop: Harness,
) -> None:
    admin, manager, sergey = shop.admin, shop.people["Марина"], shop.people["Сергей"]
    vadim = await shop.person("Вадим", "service_manager")
    await register_defect(manager)
    await sergey.expect("Переместите товар на склад сервиса в 1С")

    await admin.send("/find Рога и копыта")
    await admin.expect("По запросу «Рога и копыта» дел не найдено")
    await admin.send("/find Longines")  # any words of the case: one found, its card comes at once
    card = await admin.expect("🛠 №", "Переместите товар на склад сервиса в 1С — ждёт «Менеджер сервисного центра»")
    await admin.press("Переместите товар", card)
    picker = await admin.expect("Кому передать задачу «Переместите товар на склад сервиса в 1С»?")
    assert sorted(admin.buttons(picker)) == ["Вадим", "Сергей"]  # the service managers, by name
    await admin.press("Вадим", picker)
    await vadim.wait_for("Переместите товар на склад сервиса в 1С", "Эта задача — ваша")
    # The same picker pressed again (a double tap, an old message): it is his already — said so, nothing changes.
    assert await admin.press("Вадим", picker) == "Эта задача уже у этого человека."
    card = await admin.expect("🛠 №", "Переместите товар на склад сервиса в 1С — Вадим")
    await admin.press("Переместите товар", card)  # now Вадим holds it: only Сергей is offered
    assert admin.buttons(await admin.expect("Кому передать задачу")) == ["Сергей"]

    await admin.press("Отменить дело", card)
    await admin.expect("Почему отменяется")
    await admin.send("Поставщик принял часы без возврата")
    await admin.expect("отменено. Причина: Поставщик принял часы без возврата")
    # The manager who started it reads that it was cancelled, by whom and why — not «Дело закрыто» like any end.
    told = await manager.expect("🚫 Дело отменено", "Отменил: Админ", "Причина: Поставщик принял часы без возврата")
    assert "Дело закрыто" not in told["text"]
    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalar_one()
        audit = (await session.execute(select(AuditEntry).where(AuditEntry.action == "case.cancelled"))).scalar_one()
    assert case.status == "cancelled" and audit.data == {"reason": "Поставщик принял часы без возврата"}
    await admin.send(f"/find №{case.id}")  # by its number
    card = await admin.expect(f"🛠 №{case.id}", "Дело закрыто")
    assert not any("Отменить" in b for b in admin.buttons(card))


async def test_the_admin_sees_who_the_bot_cannot_reach(shop: Harness) -> None:
    admin, ivan = shop.admin, shop.people["Кладовщик Иван"]
    await admin.send("/unreachable")
    await admin.expect("Бот может написать всем")
    await shop.blocks_the_bot(ivan, "Кладовщик Иван")
    await admin.send("/unreachable")
    listed = await admin.expect("Бот не может написать этим людям")
    assert "Кладовщик Иван — с " in listed["text"] and "Марина" not in listed["text"]


async def test_the_admins_card_says_which_holder_the_bot_cannot_reach(shop: Harness) -> None:
    """A task held by someone who blocked the bot waits for nobody: the admin's card says so next to the name, where
    the admin decides whom to give it to."""
    admin, manager, sergey = shop.admin, shop.people["Марина"], shop.people["Сергей"]
    await register_defect(manager)
    await sergey.expect("Переместите товар на склад сервиса в 1С")
    await shop.blocks_the_bot(sergey, "Сергей")
    await admin.send("/find Longines")
    card = await admin.expect("🛠 №", "Переместите товар на склад сервиса в 1С — Сергей")
    assert "Сергей 🚫 бот не может им написать" in card["text"]
