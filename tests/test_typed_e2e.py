"""Definitions that cannot go wrong at run time, in chat: a purchase request whose second approval depends on a
money amount (`amount > 100000` on a money field used to raise TypeError inside the head's «Согласовать»), and a
hand-off that maps the money amount into a number field of the budget line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from db.models import Case
from tests.conftest import Harness, library_with


async def _purchase(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path) -> Harness:
    harness = await harness_factory(library_dir=library_with(tmp_path, "purchase_request.yaml", "budget_entry.yaml"))
    await harness.person("Ольга", "employee")
    await harness.person("Руководитель Игорь", "department_head")
    await harness.person("Финдиректор Вера", "cfo")
    await harness.person("Бухгалтер Анна", "accountant")
    return harness


async def _request(harness: Harness, item: str, amount: str) -> None:
    employee = harness.people["Ольга"]
    await employee.send("▶️ Начать процесс")
    await employee.press("Заявка на закупку", await employee.expect("Какой процесс"))
    await employee.expect("Что купить")
    await employee.send(item)
    await employee.expect("Сумма")
    await employee.send(amount)
    await employee.press("Подтвердить", await employee.expect("Проверьте"))
    await employee.expect("зарегистрировано")


async def test_a_large_purchase_needs_the_cfo_and_its_sum_reaches_the_budget_as_a_number(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _purchase(harness_factory, tmp_path)
    await _request(harness, "Ноутбуки для склада", "150 000")
    head, cfo, accountant = (harness.people[n] for n in ("Руководитель Игорь", "Финдиректор Вера", "Бухгалтер Анна"))
    card = await head.expect("Согласуйте закупку")
    assert "150\xa0000,00 ₽" in card["text"]  # the amount printed as money (|money), unbroken
    await head.press("Согласовать", card)
    card = await cfo.expect("Согласуйте крупную закупку")  # above 100 000 ₽: the second approval
    await cfo.press("Согласовать", card)
    booking = await accountant.expect("Проведите в бюджете")
    assert "Ноутбуки для склада: 150000" in booking["text"] and "крупная сумма" in booking["text"]
    async with harness.core.sessionmaker() as session:
        cases = {c.process: c for c in (await session.execute(select(Case))).scalars()}
    assert cases["purchase_request"].stage == "approved" and cases["purchase_request"].attention is None
    assert cases["budget_entry"].data["budget"] == 150000  # a number now, not the money string


async def test_a_small_purchase_needs_the_head_only(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _purchase(harness_factory, tmp_path)
    await _request(harness, "Бумага", "12 500,50")
    head, cfo = harness.people["Руководитель Игорь"], harness.people["Финдиректор Вера"]
    await head.press("Согласовать", await head.expect("Согласуйте закупку"))
    await harness.people["Бухгалтер Анна"].expect("Проведите в бюджете")
    assert await cfo.find("Согласуйте крупную закупку") is None
