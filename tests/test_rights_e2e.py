"""Rights are checked at the moment of action: a revoked warehouse head's task goes to someone who may do it,
and his old button is refused."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from db.models import Task, User
from tests.chat import Person
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect


async def a_check_taken_by_ivan(harness: Harness) -> tuple[Person, Person, Person]:
    """A registered return whose warehouse check Иван took from the pool; Павел, the other warehouse head, saw it
    too. The shop manager who registered it, Иван and Павел."""
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    ivan = await harness.person("Иван", "warehouse_head")
    pavel = await harness.person("Павел", "warehouse_head")
    await register_defect(manager)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    await ivan.press("Взять", await ivan.expect("Подтвердите наличие дефекта"))
    await pavel.expect("Подтвердите наличие дефекта")
    await harness.settle()
    return manager, ivan, pavel


async def test_a_revoked_holder_loses_the_task_and_his_old_button(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    ivan = await harness.person("Иван", "warehouse_head")
    pavel = await harness.person("Павел", "warehouse_head")
    await register_defect(manager)
    await service.press("Готово", await service.expect("Переместите товар на склад сервиса в 1С"))
    card = await ivan.expect("Подтвердите наличие дефекта")
    await pavel.expect("Подтвердите наличие дефекта")
    await ivan.press("Взять", card)
    await harness.settle()
    taken = await ivan.find("Подтвердите наличие дефекта")
    assert taken is not None and "Брак подтверждён" in " ".join(ivan.buttons(taken))

    async with harness.core.sessionmaker() as session:
        ivan_id = (await session.execute(select(User.id).where(User.name == "Иван"))).scalar_one()
    await harness.admin.send(f"/revoke {ivan_id} warehouse_head")
    await harness.admin.expect("Иван")
    await harness.settle()

    # Pavel, now the only warehouse head, gets the task with its answers; it is his.
    offered = []
    for _ in range(200):
        offered = [
            m
            for m in await pavel.bot_messages()
            if "Подтвердите наличие дефекта" in (m.get("text") or "")
            and "Брак подтверждён" in " ".join(pavel.buttons(m))
        ]
        if offered:
            break
        await asyncio.sleep(0.05)
    assert offered, "the task never reached the other warehouse head"
    async with harness.core.sessionmaker() as session:
        pavel_id = (await session.execute(select(User.id).where(User.name == "Павел"))).scalar_one()
        task = (await session.execute(select(Task).where(Task.key == "confirm_defect"))).scalars().first()
        assert task is not None and task.assignee_id == pavel_id and task.status == "open"
    # Ivan's card no longer offers the task; a press that raced the card's edit (the button still on his screen
    # a moment ago) is refused, and the task stays open and Pavel's.
    edited = await ivan.find("Подтвердите наличие дефекта")
    assert edited is not None and "Брак подтверждён" not in " ".join(ivan.buttons(edited))
    button = next(b for row in taken["inline_keyboard"] for b in row if "Брак подтверждён" in b["text"])
    refusal = await ivan.press_data(taken["message_id"], button["callback_data"], unchecked=True)
    await harness.settle()
    assert refusal, "the old button must be answered with a refusal"
    async with harness.core.sessionmaker() as session:
        task = await session.get(Task, task.id)
        assert task is not None and task.status == "open" and task.assignee_id == pavel_id


async def test_a_person_who_blocks_the_bot_is_unreachable_and_their_pool_task_goes_back(harness: Harness) -> None:
    _manager, ivan, pavel = await a_check_taken_by_ivan(harness)

    await harness.blocks_the_bot(ivan, "Иван")
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        ivan_row = (await session.execute(select(User).where(User.name == "Иван"))).scalar_one()
        pavel_id = (await session.execute(select(User.id).where(User.name == "Павел"))).scalar_one()
        task = (await session.execute(select(Task).where(Task.key == "confirm_defect"))).scalars().one()
    assert ivan_row.unreachable_at is not None
    assert task.assignee_id is None or task.assignee_id == pavel_id  # back in the pool (or straight to Pavel)
    offered = await pavel.wait_for("Подтвердите наличие дефекта")
    assert any(label in " ".join(pavel.buttons(offered)) for label in ("Взять", "Брак подтверждён"))
    # The admins hear it, and where his task went.
    told = (await harness.admin.wait_for("Иван: бот заблокирован"))["text"]
    assert "Задачи сотрудника Иван теперь:\n• «Подтвердите наличие дефекта» (№1 · " in told, told
    assert "Остались только за ним" not in told, told
    await harness.admin.send("/users")
    roster = await harness.admin.expect("Иван")
    assert "Иван 🚫" in roster["text"]

    # Ivan unblocks the bot (Telegram: my_chat_member back to «member»): reachable again, no mark for the admins.
    async with harness.http.post(f"{ivan.api}/unblock") as response:
        assert response.status == 200
    for _ in range(200):
        async with harness.core.sessionmaker() as session:
            ivan_row = (await session.execute(select(User).where(User.name == "Иван"))).scalar_one()
        if ivan_row.unreachable_at is None:
            break
        await asyncio.sleep(0.05)
    assert ivan_row.unreachable_at is None
    await harness.admin.send("/users")
    roster = await harness.admin.expect("Иван")
    assert "Иван 🚫" not in roster["text"] and "Иван" in roster["text"]


async def test_a_person_whose_role_is_taken_hears_which_tasks_left_him_and_the_new_holder_hears_why(
    harness: Harness,
) -> None:
    _manager, ivan, pavel = await a_check_taken_by_ivan(harness)
    async with harness.core.sessionmaker() as session:
        ivan_id = (await session.execute(select(User.id).where(User.name == "Иван"))).scalar_one()
    await harness.admin.send(f"/revoke {ivan_id} warehouse_head")
    await harness.admin.expect("Иван")

    # Иван hears that his roles changed and where his task went, by a message, not only by an edited card.
    told = await ivan.expect("🔧 Администратор изменил ваши роли, теперь: ролей нет", "Эти задачи больше не ваши")
    assert "• «Подтвердите наличие дефекта» (№1 · " in told["text"] and "→ Павел" in told["text"], told["text"]
    # His card says whom it went to, and offers neither the task's answers nor «Взять».
    card = await ivan.wait_for("Подтвердите наличие дефекта", "↪️ Задача передана: Павел.")
    assert ivan.buttons(card) == ["📁 Дело"], ivan.buttons(card)
    # Павел, the only warehouse head left, is given the task and told why it came to him.
    why = "Иван больше не в роли «Заведующий складом»."
    await pavel.expect("↪️ Задача «Подтвердите наличие дефекта» передана вам", why)
