"""Seed 4's reclamation parts, as the dealer's engineer lives it: he put a part in his cart and pressed «Готово» on the
parts task (the button under the task, where he looked), and the reclamation went to the decision without the part,
the part left in his cart with nothing said."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from db.models import Case
from tests.chat import Person
from tests.conftest import Harness
from tests.test_dealer_portal_cart_e2e import cart
from tests.test_dealer_portal_e2e import add_to_cart, dealers, file_reclamation
from tests.test_organisations_e2e import texts

KNIFE = "Нож для газонокосилки 48 см"


async def diagnosed(sergey: Person, semyon: Person, serial: str) -> None:
    """Sergey files the reclamation, Semyon accepts it into diagnosis, Sergey gives the diagnosis (no works)."""
    await file_reclamation(sergey, serial)
    await semyon.press("Взять в работу", await semyon.card("Примите рекламацию", serial, button="Взять в работу"))
    await sergey.press("Заполнить", await sergey.card("Проведите диагностику", button="Заполнить"))
    await sergey.expect("Результат диагностики")
    await sergey.send("Нож сколот")
    await sergey.press("Нет, не нужно", await sergey.expect("Работы — добавить?"))
    await sergey.press("Подтвердить", await sergey.expect("Проверьте"))


async def stage_of(harness: Harness) -> str:
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.process == "reclamation"))).scalar_one()
    return case.stage


async def test_a_part_left_in_the_cart_is_offered_to_the_reclamation_when_the_parts_task_is_pressed_done(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Sergey puts the knife in his cart and presses «Готово» on the parts task, not the cart's «В рекламацию»: the
    reclamation does not go on without it — he is asked whether the knife is its part, says so with one press, and
    Semyon's decision lists the knife."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon = people["sergey"], people["semyon"]
    await diagnosed(sergey, semyon, "SN-48-000801")
    parts_task = await sergey.card("Запчасти: добавьте их из каталога", button="Готово")
    await add_to_cart(sergey, "нож 48", KNIFE, "В корзину")

    await sergey.press("Готово", parts_task)
    asked = await sergey.expect("В вашей корзине", f"{KNIFE} × 1", "Это запчасти для рекламации №")
    assert sergey.buttons(asked)[1] == "🚫 Запчасти не нужны", sergey.buttons(asked)
    assert await stage_of(harness) == "diagnosis"  # nothing went on with the part left behind
    assert "Согласуйте ремонт" not in await texts(semyon)

    await sergey.press("В рекламацию", asked)
    await sergey.expect("Запчасти добавлены в рекламацию")
    assert not (await sergey.no_buttons_left(asked["message_id"])).get("inline_keyboard")
    await semyon.card("Согласуйте ремонт", f"Запчасти: {KNIFE} × 1", button="Согласовать")
    await cart(sergey, "Корзина пуста")


async def test_an_engineer_whose_cart_holds_no_parts_says_so_and_keeps_his_cart(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The knife in Sergey's cart is for a dealer's order, not for the repair: «🚫 Запчасти не нужны» sends the
    reclamation on without parts, and the knife stays in his cart."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon = people["sergey"], people["semyon"]
    await diagnosed(sergey, semyon, "SN-48-000802")
    await add_to_cart(sergey, "нож 48", KNIFE, "В корзину")

    await sergey.press("Готово", await sergey.card("Запчасти: добавьте их из каталога", button="Готово"))
    await sergey.press("Запчасти не нужны", await sergey.expect("В вашей корзине", f"{KNIFE} × 1"))
    await sergey.expect("✅ Готово.", "этап: Решение по рекламации")
    verdict = await semyon.card("Согласуйте ремонт", "Нож сколот", button="Согласовать")
    assert "Запчасти" not in verdict["text"], verdict["text"]
    await cart(sergey, "Ваша корзина", f"{KNIFE} × 1")
