"""Admin commands in chat pick with buttons, not typed keys: `/export` offers the processes by title, `/users`
opens a person's roles as buttons that grant or revoke them."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from db.models import User
from services.people import roles_of
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop

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


async def test_the_admin_grants_and_revokes_roles_with_buttons(shop: Harness) -> None:
    admin, ivan = shop.admin, shop.people["Кладовщик Иван"]
    await admin.send("/users")
    roster = await admin.expect("Кладовщик Иван")
    button = next(b for b in admin.buttons(roster) if "Кладовщик Иван" in b)
    await admin.press(button, roster)
    card = await admin.expect("Кладовщик Иван — роли теперь: Заведующий складом", "Нажмите роль")
    assert "warehouse_head" not in card["text"] and "✓ Заведующий складом" in admin.buttons(card)
    assert not any("_" in b for b in admin.buttons(card))  # role labels, never keys

    await admin.press("Бухгалтер", card)
    card = await admin.expect("Кладовщик Иван — роли теперь:", "Бухгалтер")
    assert "✓ Бухгалтер" in admin.buttons(card) and "✓ Заведующий складом" in admin.buttons(card)
    await admin.press("✓ Заведующий складом", card)
    card = await admin.expect("Кладовщик Иван — роли теперь: Бухгалтер\n")
    assert "Заведующий складом" in admin.buttons(card)  # no longer marked

    async with shop.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == ivan.id))).scalar_one()
        assert await roles_of(session, user.id) == {"accountant"}
