"""An order of medical equipment in chat: three items, each with its own card, move along their own track at
different speeds (оформление → отправлен → на таможне → на складе → отгружен клиенту); the logistician presses
the buttons on each item's card and gives what a stage requires when it is asked, one question at a time; the
order's stage follows its slowest item, and the manager hears of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import AuditEntry, Case
from flows.items import item_states
from tests.chat import Person
from tests.conftest import Harness, library_with
from tests.test_case_cancel_e2e import cancel_case

ITEMS = [("Аппарат УЗИ", "Предоплата"), ("Кардиомонитор", "Отсрочка"), ("Дефибриллятор", "Предоплата")]


async def _order(harness: Harness) -> None:
    manager = harness.people["Менеджер Ольга"]
    await manager.send("▶️ Начать процесс")
    await manager.press("Заказ оборудования", await manager.expect("Какой процесс"))
    await manager.expect("Клиент")
    await manager.send("Клиника «Здоровье»")
    for number, (name, payment) in enumerate(ITEMS, 1):
        await manager.expect(f"Позиции №{number}: Наименование")
        await manager.send(name)
        await manager.press(payment, await manager.expect(f"Позиции №{number}: Оплата"))
        # The tracking number, the declaration and the clearance are asked on the item's card when it moves.
        more = await manager.expect("Добавить ещё")
        await manager.press("Да" if number < len(ITEMS) else "Нет", more)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")


async def _move(person: Person, item: str, to: str, answer: str | None = None, *, label: str = "") -> None:
    """Press the move on the item's card; a stage that asks for a field asks it here, then the card changes."""
    await person.press(to, await person.card(f"📦 {item}", button=to))
    if answer is not None:
        await person.expect(label)
        if answer in ("Да", "Нет"):
            await person.press(answer, await person.card(label, button=answer))
        else:
            await person.send(answer)
        await person.press("Подтвердить", await person.expect("Проверьте"))
    await person.wait_for(f"📦 {item}", f"Этап: {to}")


async def _order_row(harness: Harness) -> Case:
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        return (await session.execute(select(Case).where(Case.process == "equipment_order"))).scalar_one()


def _stages(case: Case) -> list[Any]:
    return [state["stage"] for state in item_states(case.data, "items")]


async def test_three_items_at_their_own_pace_and_the_order_following_the_slowest(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "equipment_order.yaml"))
    manager = await harness.person("Менеджер Ольга", "manager")
    logistician = await harness.person("Логист Пётр", "logistician")
    await _order(harness)

    # Each item has a card of its own with its moves as buttons — labels, never keys.
    for name, _payment in ITEMS:
        card = await logistician.card(f"📦 {name}", "Этап: Оформление")
        assert logistician.buttons(card)[:2] == ["➡️ Отправлен", "✖️ Отменить позицию"]
        assert "sent" not in card["text"] and "ordering" not in card["text"]
    order = await _order_row(harness)
    assert order.stage == "processing" and _stages(order) == ["ordering"] * 3

    # «Отправлен» needs a tracking number: asked, then the card itself shows the new stage.
    await _move(logistician, "Аппарат УЗИ", "Отправлен", "RU100200300", label="Трек-номер")
    await _move(logistician, "Кардиомонитор", "Отправлен", "RU100200301", label="Трек-номер")
    order = await _order_row(harness)
    assert order.stage == "processing"  # the defibrillator is still being ordered
    await _move(logistician, "Дефибриллятор", "Отправлен", "RU100200302", label="Трек-номер")
    await manager.expect("теперь «Заказ в пути»")
    order = await _order_row(harness)
    assert order.stage == "in_transit" and order.data["items"][2]["tracking"] == "RU100200302"

    # The ultrasound runs ahead to the warehouse; the order waits at customs for the other two.
    await _move(logistician, "Аппарат УЗИ", "На таможне", "10702010/211226/0001", label="Номер декларации")
    # Customs not cleared: the warehouse's check refuses the move and says why, in words.
    await logistician.press("На складе", await logistician.card("📦 Аппарат УЗИ", button="На складе"))
    await logistician.press("Нет", await logistician.card("Таможня пройдена", button="Нет"))
    refusal = await logistician.press("Подтвердить", await logistician.expect("Проверьте"))
    assert refusal is not None and "Позиция не прошла таможню" in refusal
    await logistician.press("Исправить", await logistician.card("Проверьте", button="Исправить"))
    await logistician.press("Таможня пройдена", await logistician.card("Какое поле", button="Таможня пройдена"))
    await logistician.press("Да", await logistician.card("Таможня пройдена", button="Да"))
    await logistician.press("Подтвердить", await logistician.expect("Проверьте"))
    await logistician.wait_for("📦 Аппарат УЗИ", "Этап: На складе")
    order = await _order_row(harness)
    assert order.stage == "in_transit" and _stages(order) == ["warehouse", "sent", "sent"]

    await _move(logistician, "Кардиомонитор", "На таможне", "D-2", label="Номер декларации")
    await _move(logistician, "Дефибриллятор", "На таможне", "D-3", label="Номер декларации")
    await manager.expect("теперь «Заказ на таможне»")
    await _move(logistician, "Кардиомонитор", "На складе", "Да", label="Таможня пройдена")
    await _move(logistician, "Дефибриллятор", "На складе", "Да", label="Таможня пройдена")
    # «All items at least in the warehouse» moves the order on, with that stage's own notice.
    await manager.expect("Все позиции заказа Клиника «Здоровье» на складе")
    assert (await _order_row(harness)).stage == "in_stock"

    for name, _payment in ITEMS:
        await _move(logistician, name, "Отгружен клиенту")
    await manager.expect("Дело закрыто")
    order = await _order_row(harness)
    assert order.stage == "delivered" and order.status == "done" and _stages(order) == ["shipped"] * 3

    # An item's history, from its card: each stage, when, and who moved it.
    await logistician.press("История", await logistician.card("📦 Кардиомонитор", button="История"))
    history = await logistician.expect("История «Кардиомонитор»")
    lines = history["text"].splitlines()
    assert [line.split(" — ")[1] for line in lines[1:]] == [
        "Оформление",
        "Отправлен · Логист Пётр",
        "На таможне · Логист Пётр",
        "На складе · Логист Пётр",
        "Отгружен клиенту · Логист Пётр",
    ]
    async with harness.core.sessionmaker() as session:
        moves = (
            await session.execute(
                select(AuditEntry.data).where(AuditEntry.case_id == order.id, AuditEntry.action == "item.moved")
            )
        ).scalars().all()
    assert sum(1 for m in moves if m["index"] == 1) == 4  # the item's history is in the case's audit too


async def test_an_item_left_too_long_at_a_stage_reminds_the_logistician_and_a_cancelled_order_stops_its_items(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(library_dir=library_with(tmp_path, "equipment_order.yaml"))
    manager = await harness.person("Менеджер Ольга", "manager")
    logistician = await harness.person("Логист Пётр", "logistician")
    await _order(harness)
    await _move(logistician, "Кардиомонитор", "Отправлен", "RU1", label="Трек-номер")
    await harness.advance(days=1)
    assert await logistician.find("всё ещё на этапе") is None
    await harness.advance(days=6)  # three working days, whatever the weekend
    reminder = await logistician.expect("«Кардиомонитор» всё ещё на этапе «Отправлен»")
    # The reminder brings the item's card back, with its moves.
    await logistician.press("Позиция", reminder)
    card = await logistician.card("📦 Кардиомонитор", "Этап: Отправлен", button="На таможне")
    assert "Трек-номер: RU1" in card["text"]

    # The order's card says where each item stands; cancelling the order takes the items' buttons away.
    order = await _order_row(harness)
    await manager.send(f"/case {order.id}")
    view = await manager.expect(f"№{order.id}", "📦 Кардиомонитор: Отправлен", "📦 Аппарат УЗИ: Оформление")
    await cancel_case(manager, view, "Клиент отменил заказ")
    closed = await logistician.wait_for("📦 Кардиомонитор", "Дело закрыто.")
    assert logistician.buttons(closed) == ["📜 История", "📁 Дело"]
