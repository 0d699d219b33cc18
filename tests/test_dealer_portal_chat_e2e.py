"""Seed 4's cart and order as a dealer works them in chat, after a tester's round: the cart changes in its own
message (➕/➖ do not post a copy each), a quantity can be typed, the order's summary and card show what is
ordered (a line per position: name, article, quantity, price, sum; the total — never 1C's ids), money reads in
the reader's language, a dealer whose price type the catalogue lacks is told whom to ask, and a request an admin
cancels before it was registered tells its author that the positions are back in the cart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from db.models import Case
from tests.chat import Person
from tests.conftest import Harness
from tests.test_dealer_portal_cart_e2e import COMBI, TRIMMER, card_of, cart, garden
from tests.test_dealer_portal_e2e import file_reclamation
from tests.test_organisations_e2e import dealer_person, organisation


def carts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if "Ваша корзина" in (m.get("text") or "") or "Корзина пуста" in (m.get("text") or "")]


async def test_the_cart_changes_in_its_own_message(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    await anna.press("В заявку", await card_of(anna, "combi 48", COMBI))
    await anna.press("В заявку", await card_of(anna, "SBC 900", TRIMMER))
    shown = await cart(anna, "Ваша корзина", f"{COMBI} × 1", f"{TRIMMER} × 1")

    # ➕ twice on the mower, ➖ once on the trimmer: the same message says so each time, no copy is posted.
    await anna.press("➕ №1", shown)
    shown = await edited(anna, shown, f"{COMBI} × 2")
    await anna.press("➕ №1", shown)
    shown = await edited(anna, shown, f"{COMBI} × 3")
    await anna.press("➖ №2", shown)
    shown = await edited(anna, shown, "Итого: 94\xa0500,00\xa0₽")
    assert TRIMMER not in shown["text"]
    await anna.press("Очистить", shown)
    await edited(anna, shown, "Корзина пуста")
    assert [m["message_id"] for m in carts(await anna.bot_messages())] == [shown["message_id"]]

    # A forged button naming another message (here: the card above) is not taken for the cart: a new one comes.
    await anna.press("В заявку", await card_of(anna, "combi 48", COMBI))
    shown = await cart(anna, "Ваша корзина", f"{COMBI} × 1")
    [plus] = [k["callback_data"] for row in shown["inline_keyboard"] for k in row if k["text"] == "➕ №1"]
    prefix, action, product, _ref, version = plus.split(":")
    forged = ":".join((prefix, action, product, str(shown["message_id"] - 1), version))
    await anna.press_data(shown["message_id"], forged, unchecked=True)
    await anna.expect("Ваша корзина", f"{COMBI} × 2")


async def edited(person: Person, message: dict[str, Any], *fragments: str) -> dict[str, Any]:
    """The message, once an edit of it says all of `fragments`."""
    found = await person.wait_for(*fragments)
    assert found["message_id"] == message["message_id"], (found, message)
    return found


async def test_a_quantity_is_typed_for_a_line_of_the_cart(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    await anna.press("В заявку", await card_of(anna, "combi 48", COMBI))
    first = await cart(anna, "Ваша корзина", f"{COMBI} × 1")

    # «✏️ 1»: the bot asks the number; a word or too many is refused in words and changes nothing.
    await anna.press("✏️ №1", first)
    await anna.expect(f"Сколько «{COMBI}» нужно? Сейчас 1 шт.")
    await anna.send("пять")
    await anna.expect("Введите целое число")
    await anna.send("200000")
    await anna.expect("Введите число от 0 до 100\u00a0000")
    # A number with the product's own unit is what she means; another unit is refused, naming the product's.
    await anna.send("10 кг")
    await anna.expect("Здесь единица — шт, а не «кг»: введите число в шт, например 12")
    await anna.send("12 шт.")
    # The cart comes anew below with the number typed; the one above loses its buttons (one cart to press).
    await anna.expect("Ваша корзина", f"{COMBI} × 12 = 378\xa0000,00\xa0₽")
    assert await lost_buttons(anna, first)

    # /cancel leaves it as it was.
    await anna.press("✏️ №1", await anna.card("Ваша корзина", button="✏️ №1"))
    await anna.expect("Сколько")
    await anna.send("/cancel")
    await anna.expect("Количество не изменилось")
    await cart(anna, "Ваша корзина", f"{COMBI} × 12")
    # 0 takes it out of the cart.
    await anna.press("✏️ №1", await anna.card("Ваша корзина", button="✏️ №1"))
    await anna.expect("Сколько")
    await anna.send("0")
    await anna.expect("Корзина пуста")


async def lost_buttons(person: Person, message: dict[str, Any]) -> bool:
    """Waits until the message has no buttons left."""
    for _ in range(300):
        now = next(m for m in await person.bot_messages() if m["message_id"] == message["message_id"])
        if not now.get("inline_keyboard"):
            return True
        await asyncio.sleep(0.1)
    raise AssertionError(f"the message still has its buttons: {now}")


async def test_the_order_shows_what_is_ordered_before_it_is_sent_and_on_its_card(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    combi = await card_of(anna, "combi 48", COMBI)
    await anna.press("В заявку", combi)
    await anna.press("В заявку", combi)
    await anna.press("В заявку", await card_of(anna, "SBC 900", TRIMMER))
    await anna.press("Оформить заявку", await cart(anna, "Ваша корзина"))
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))

    # Before she sends it: a line per position with its article, quantity, price and sum, and the total — as the
    # cart reads, not six lines a position (eighteen positions are read on a phone).
    summary = (await anna.expect("Проверьте"))["text"].replace("\xa0", " ")
    for fragment in (
        f"Позиции:\n1. {COMBI} (2L0481848) × 2 по 31 500,00 ₽ = 63 000,00 ₽\n"
        f"2. {TRIMMER} (2T1090048) × 1 по 18 700,00 ₽ = 18 700,00 ₽\n",
        "Сумма заявки: 81 700,00 ₽", "Оплата: Предоплата",
    ):  # fmt: skip
        assert fragment in summary, (fragment, summary)
    assert "guid-" not in summary and "Количество:" not in summary, summary
    await anna.press("Подтвердить", await anna.card("Проверьте", button="Подтвердить"))
    await anna.expect("передана на согласование")

    # Its card: the same, by the product's name and article — never 1C's id of it or of the price type.
    await anna.send("/case 1")
    card = (await anna.expect("Заявка дилера на отгрузку", "Позиции"))["text"].replace("\xa0", " ")
    for fragment in (f"1. {COMBI} (2L0481848) × 2 по 31 500,00 ₽ = 63 000,00 ₽", "Сумма заявки: 81 700,00 ₽"):
        assert fragment in card, (fragment, card)
    assert "guid-" not in card and "Код товара" not in card and "pt-opt" not in card, card


async def test_an_english_reader_sees_the_portals_money_as_english_writes_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    emma = await dealer_person(harness, "Emma", "ООО Сад", "Менеджер дилера", "en")

    # The search, the card and the cart write money as her case cards do: «31,500.00 ₽», not «31 500,00 ₽».
    [combi] = [r for r in (await emma.inline("combi 48"))["results"] if r["title"] == COMBI]
    assert "31,500.00" in combi["description"], combi
    await emma.choose(await emma.inline("combi 48"), COMBI)
    card = await emma.expect(COMBI, "Your price")
    assert "Your price: 31,500.00\xa0₽" in card["text"], card["text"]
    await emma.press("To the request", card)
    await emma.press("To the request", card)
    await emma.send("/cart")
    shown = await emma.expect("Your cart", "Total: 63,000.00\xa0₽")
    assert f"{COMBI} × 2 = 63,000.00\xa0₽" in shown["text"], shown["text"]


async def test_a_dealer_whose_price_type_the_catalogue_lacks_is_told_whom_to_ask(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    await organisation(harness, "ООО Инструмент region=Казань inn=1655000003 price=Дилерская")
    boris = await dealer_person(harness, "Борис", "ООО Инструмент", "Менеджер дилера")

    # No «Ваша цена: —»: what it means and whom to ask.
    card = await card_of(boris, "combi 48", COMBI)
    told = "Ваша цена пока не установлена: обратитесь к региональному представителю или в представительство."
    assert told in card["text"] and "—" not in card["text"], card["text"]
    await boris.press("В заявку", card)
    assert told in (await cart(boris, "Ваша корзина", f"{COMBI} × 1"))["text"]


async def test_a_request_an_admin_cancels_before_it_is_registered_tells_its_author_the_cart_has_it_back(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    await anna.press("В заявку", await card_of(anna, "combi 48", COMBI))
    await anna.press("Оформить заявку", await cart(anna, "Ваша корзина"))
    await anna.expect("Оплата")

    # While she has not sent it yet, an admin cancels it: she is told, once, and the mower is in her cart again.
    admin = harness.admin
    await admin.send("/find №1")
    await admin.press("Отменить дело", await admin.card("№1", button="Отменить дело"))
    await admin.expect("Почему отменяется")
    await admin.send("Дубль")
    await admin.expect("отменено. Причина: Дубль")
    told = await anna.expect("отменено администратором до регистрации", "Позиции вернулись в корзину")
    assert told["text"].startswith("🧺 №1"), told["text"]
    await cart(anna, "Ваша корзина", f"{COMBI} × 1")
    assert sum("Позиции вернулись в корзину" in (m.get("text") or "") for m in await anna.bot_messages()) == 1


async def test_a_reclamations_card_names_its_product_not_1cs_id_of_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    sergey = await dealer_person(harness, "Сергей", "ООО Сад", "Сервисник дилера")
    await file_reclamation(sergey, "SN-48-000731")
    # What he confirmed named the product, and called it what it is: not «заявка».
    summary = await sergey.find("Проверьте", "SN-48-000731")
    assert summary is not None and "Изделие: Газонокосилка STIGA Combi 48" in summary["text"], summary
    assert "Новое дело: Рекламация" in summary["text"] and "заявк" not in summary["text"].lower(), summary["text"]
    await sergey.send("/case 1")
    card = (await sergey.expect("№1", "Изделие: Газонокосилка STIGA Combi 48"))["text"]
    assert "Артикул: 2L0481848" in card and "guid-" not in card and "Код товара" not in card, card


async def test_an_older_cart_message_is_not_revived_and_a_quantity_beyond_the_stock_is_said(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A press on a cart message older than the one that shows the cart now (crossing the loss of its buttons) is
    refused with the cart shown anew — not a second cart with another total, nor an order of it; a line asking more
    than the stock says how many there are."""
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    await anna.press("В заявку", await card_of(anna, "combi 48", COMBI))  # 4 in Moscow, 2 in Kazan
    first = await cart(anna, "Ваша корзина", f"{COMBI} × 1 = 31\xa0500,00\xa0₽\n")
    assert "⚠️" not in first["text"], first["text"]

    await anna.press("✏️ №1", first)
    await anna.expect("Сколько")
    await anna.send("10")
    await anna.expect("Ваша корзина", f"{COMBI} × 10 = 315\xa0000,00\xa0₽ ⚠️ в наличии: 6 шт")

    # The first cart's «➕ №1» and «📝 Оформить заявку», pressed as its buttons go: refused, the cart shown anew.
    keys = {k["text"]: k.get("callback_data") for row in first["inline_keyboard"] for k in row}
    for button in ("➕ №1", "📝 Оформить заявку"):
        said = await anna.press_data(first["message_id"], keys[button], unchecked=True)
        assert said == "Корзина изменилась с тех пор, как пришло это сообщение: она показана заново ниже.", said
        again = await anna.expect("Ваша корзина", f"{COMBI} × 10 = 315\xa0000,00\xa0₽")
        assert "Итого: 315\xa0000,00\xa0₽" in again["text"], again["text"]
    assert "Оформить заявку" not in " ".join(anna.buttons((await anna.find(f"{COMBI} × 1 ")) or first))
    async with harness.core.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 0
