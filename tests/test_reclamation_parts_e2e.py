"""Seed 4's reclamation parts in the unit 1C sells them by: a part sold by the set is asked, approved and kept on
the reclamation's card in sets, as an order request's position is — not in pieces, another quantity of knives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness
from tests.test_dealer_order_again_e2e import KNIFE, knives_by_the_set, plain
from tests.test_dealer_portal_cart_e2e import cart
from tests.test_dealer_portal_e2e import add_to_cart, dealers, file_reclamation


async def test_a_part_sold_by_the_set_is_asked_approved_and_kept_in_sets(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """1C sells the mower knives by the set («компл»). Sergey, the dealer's engineer, needs two sets for a repair:
    asked how many, he is asked in sets; Semyon, the representative's engineer who reads English, approves «2
    sets» of them; the reclamation's card says «Количество: 2 компл» to Sergey and «Quantity: 2 sets» to Semyon."""
    harness = await harness_factory()
    folder = tmp_path / "1c"
    people = await dealers(harness, folder)
    sergey, semyon = people["sergey"], people["semyon"]
    await knives_by_the_set(harness, folder)
    await semyon.send("/lang")
    await semyon.expect("Language: English.")

    await file_reclamation(sergey, "SN-48-000777")
    accept = await semyon.card("Take the reclamation into diagnosis", "SN-48-000777", button="Take it")
    await semyon.press("Take it", accept)
    await sergey.press("Заполнить", await sergey.card("Проведите диагностику", button="Заполнить"))
    await sergey.expect("Результат диагностики")
    await sergey.send("Нож сколот, нужна замена комплекта")
    await sergey.press("Нет, не нужно", await sergey.expect("Работы — добавить?"))
    await sergey.press("Подтвердить", await sergey.expect("Проверьте"))

    await add_to_cart(sergey, "нож 48", KNIFE, "В корзину")
    await sergey.press("✏️ №1", await cart(sergey, "Ваша корзина", KNIFE))
    asked = await sergey.expect("Сколько")
    assert f"Сколько «{KNIFE}» нужно? Сейчас 1 компл." in asked["text"], asked["text"]
    await sergey.send("2")
    await sergey.press("В рекламацию", await sergey.expect("Ваша корзина", f"{KNIFE} × 2"))
    await sergey.expect("Запчасти добавлены в рекламацию")

    verdict = await semyon.card("Approve the warranty repair", KNIFE, button="Approve")
    assert f"Parts: {KNIFE} × 2 sets." in plain(verdict["text"]), verdict["text"]
    await semyon.press("Approve", verdict)

    for person, listing, quantity, pieces in (
        (sergey, "Рекламации, сначала ранние", "Количество: 2 компл", "шт"),
        (semyon, "Reclamations, oldest first", "Quantity: 2 sets", "pcs"),
    ):
        await person.send("/reclamations")
        listed = await person.expect(listing)
        number = next(b for b in person.buttons(listed) if "№" in b or "#" in b)  # the one reclamation
        await person.press(number, listed)
        card = plain((await person.expect(number, "SN-48-000777", KNIFE))["text"])
        assert quantity in card and pieces not in card, card
