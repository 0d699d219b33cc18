"""Seed 4's cart and product card as a dealer's people meet them in chat: a request dropped before it was
registered gives its positions back to the cart (once, added to what the cart holds by then), a registered one
does not; the card's stock agrees with the search when 1C sends a plain total; and a dealer's service engineer,
who may not order, is offered no ordering buttons — only the cart his reclamation's parts come from."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select

from db.models import Case
from integrations.onec.importer import import_files
from tests.chat import Person
from tests.conftest import Harness
from tests.test_case_cancel_e2e import cancel_case
from tests.test_dealer_portal_e2e import add_to_cart, garden_package
from tests.test_organisations_e2e import dealer_person, organisation

COMBI, TWINCLIP, MULTICLIP, TRIMMER = (
    "Газонокосилка STIGA Combi 48",
    "Газонокосилка STIGA Twinclip 55",
    "Газонокосилка STIGA Multiclip 50",
    "Триммер STIGA SBC 900",
)


async def garden(harness: Harness, folder: Path, *, total_only: str | None = None) -> None:
    """The maker's catalogue as 1C sends it, with stock by warehouse; `total_only`: that product's offer carries
    only its total (`<Количество>`), as 1C sends it when it gives no warehouses."""
    files = garden_package(folder)
    if total_only is not None:
        offers = files[1].read_text(encoding="utf-8")
        head = rf"<Предложение><Ид>[^<]+</Ид><Наименование>{total_only}</Наименование>"
        offer = re.search(rf"{head}.*?</Предложение>", offers)
        assert offer is not None
        bare = re.sub(r"<Склад ИдСклада=[^>]*/>", "", offer.group(0))
        files[1].write_text(offers.replace(offer.group(0), bare), encoding="utf-8")
    result = await import_files(harness.core.sessionmaker, harness.core.clock, files)
    assert result.counts["products"] == 5, result.counts
    await organisation(harness, "ООО Сад region=Москва inn=7707083893 kpp=770101001 price=Оптовая")


async def card_of(person: Person, query: str, title: str) -> dict[str, object]:
    await person.choose(await person.inline(query), title)
    return await person.expect(title, "Ваша цена")


async def cart(person: Person, *fragments: str) -> dict[str, object]:
    await person.send("/cart")
    return await person.expect(*fragments)


async def test_a_request_dropped_before_it_is_registered_gives_its_positions_back_to_the_cart(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")

    # Two mowers and a trimmer, then the request; the form asks the payment first.
    combi = await card_of(anna, "combi 48", COMBI)
    await anna.press("В заявку", combi)
    await anna.press("В заявку", combi)
    await add_to_cart(anna, "SBC 900", TRIMMER)
    await anna.press("Оформить заявку", await cart(anna, "Ваша корзина", f"{COMBI} × 2", f"{TRIMMER} × 1"))
    payment = await anna.expect("Оплата")
    # While the form waits she puts one more mower into the (now empty) cart, then thinks better of the request.
    await anna.press("В заявку", combi)
    await anna.press("Отмена", payment)
    await anna.expect("Отменено, ничего не зарегистрировано", "Позиции вернулись в корзину")
    # A second press of the same «Отмена» (a double tap) gives nothing back again.
    [cancel] = [k["callback_data"] for row in payment["inline_keyboard"] for k in row if "Отмена" in k["text"]]
    await anna.press_data(payment["message_id"], cancel, unchecked=True)
    back = await cart(anna, "Ваша корзина", f"{COMBI} × 3 = 94\xa0500,00\xa0₽", f"{TRIMMER} × 1")
    assert "Итого: 113\xa0200,00\xa0₽" in back["text"]

    # Discarded from «Мои задачи»: the same.
    await anna.press("Оформить заявку", back)
    await anna.expect("Оплата")
    await anna.send("📋 Мои задачи")
    draft = await anna.card("Незаконченная заявка", "Заявка дилера на отгрузку", button="Удалить")
    await anna.press("Удалить", draft)
    await anna.expect("Отменено, ничего не зарегистрировано", "Позиции вернулись в корзину")
    await anna.press_data(draft["message_id"], next(
        k["callback_data"] for row in draft["inline_keyboard"] for k in row if "Удалить" in k["text"]
    ), unchecked=True)
    again = await cart(anna, "Ваша корзина", f"{COMBI} × 3", f"{TRIMMER} × 1")

    # Left unfinished for more than a week, the request is closed: its positions come back too.
    await anna.press("Оформить заявку", again)
    await anna.expect("Оплата")
    await harness.advance(days=8)
    await anna.expect("не закончена", "Позиции вернулись в корзину")
    again = await cart(anna, "Ваша корзина", f"{COMBI} × 3", f"{TRIMMER} × 1")

    # A request sent on is registered: cancelling it later leaves the cart as it is.
    await anna.press("Оформить заявку", again)
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    await anna.press("Подтвердить", await anna.expect("Проверьте"))
    await anna.expect("передана на согласование")
    async with harness.core.sessionmaker() as session:
        cases = list((await session.execute(select(Case).order_by(Case.id))).scalars())
    assert [(c.process, c.status) for c in cases] == [
        *[("order_request", "cancelled")] * 3, ("order_request", "active")
    ]
    await anna.send(f"/case {cases[-1].id}")
    await cancel_case(anna, await anna.card(f"№{cases[-1].id}", button="Отменить дело"), "Передумали")
    await cart(anna, "Корзина пуста")


async def test_a_number_typed_after_adding_a_product_is_how_many_of_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A dealer who wants 25 mowers presses «В заявку» and types «25», as in any shop: the cart holds 25 (he was
    told «not understood» and had to find «✏️» in the cart). Only the very next text, only a number, and never a
    form's answer."""
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    combi = await card_of(anna, "combi 48", COMBI)

    assert await anna.press("В заявку", combi) == "В корзине: 1. Нужно больше — напишите сколько."
    await anna.send("25")
    assert f"{COMBI} × 25 = " in (await anna.expect("Ваша корзина"))["text"]
    # The offer was for that one text: a number now is not about the cart.
    await anna.send("3")
    await anna.expect("Не удалось понять")
    # A text that is no number goes its usual way, and the number after it is no quantity either.
    assert await anna.press("В заявку", combi) == "В корзине: 26. Нужно больше — напишите сколько."
    await anna.send("когда будет поставка?")
    await anna.expect("Не удалось понять")
    await anna.send("4")
    await anna.expect("Не удалось понять")
    # A number that is no good quantity is refused as one, and the cart keeps what it had.
    await anna.press("В заявку", combi)
    await anna.send("2,5")
    await anna.expect("целое число")
    await cart(anna, "Ваша корзина", f"{COMBI} × 27")
    # A form opened after the press takes its own answers: the quantity offered is gone with it.
    await anna.press("В заявку", combi)
    await anna.press("Оформить заявку", await cart(anna, "Ваша корзина", f"{COMBI} × 28"))
    await anna.expect("Оплата")
    await anna.send("5")
    await anna.expect("Оплата")
    await cart(anna, "Корзина пуста")


async def test_a_number_typed_under_another_products_card_is_not_the_earlier_products_quantity(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """After «В заявку» on one mower the dealer looks up another and types «5» under its card: the five were not
    for the mower pressed before (its line became 5 while the card on screen was another product's). The offer
    ends with the card picked from the search, as it ends with any other message."""
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    combi = await card_of(anna, "combi 48", COMBI)
    assert await anna.press("В заявку", combi) == "В корзине: 1. Нужно больше — напишите сколько."
    await card_of(anna, "twinclip", TWINCLIP)
    await anna.send("5")
    await anna.expect("Не удалось понять")
    shown = await cart(anna, "Ваша корзина", f"{COMBI} × 1")
    assert TWINCLIP not in shown["text"], shown["text"]


async def test_the_card_shows_the_stock_the_search_shows(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c", total_only=TRIMMER)
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")

    # 1C sent the trimmer's total alone: the search and the card both say 7.
    [trimmer] = (await anna.inline("SBC 900"))["results"]
    assert "в наличии: 7" in trimmer["description"]
    card = await card_of(anna, "SBC 900", TRIMMER)
    assert "В наличии: 7 шт" in card["text"] and "Нет в наличии" not in card["text"]
    assert "Склад" not in card["text"]
    # With warehouses: the total, then where it is.
    card = await card_of(anna, "combi 48", COMBI)
    assert "В наличии: 6 шт\n• Склад Казань: 2 шт\n• Склад Москва: 4 шт" in card["text"]
    # None anywhere.
    card = await card_of(anna, "multiclip", MULTICLIP)
    assert "Нет в наличии." in card["text"] and "В наличии" not in card["text"]


async def test_a_service_engineer_is_offered_no_ordering_buttons(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory(webapp_url="https://shop.example/app")
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    sergey = await dealer_person(harness, "Сергей", "ООО Сад", "Сервисник дилера")

    # The manager orders: «В заявку» on the card, «Оформить заявку» and the big order in the cart.
    assert "🛒 В заявку" in anna.buttons(await card_of(anna, "combi 48", COMBI))
    await add_to_cart(anna, "combi 48", COMBI)
    assert {"📝 Оформить заявку", "🛒 Большой заказ"} <= set(anna.buttons(await cart(anna, "Ваша корзина")))

    # The engineer may not order: his card puts the product into the cart for a reclamation's parts, and his
    # cart has nothing to order with.
    card = await card_of(sergey, "combi 48", COMBI)
    assert "🛒 В заявку" not in sergey.buttons(card)
    assert {"🛒 В корзину", "🛠 Рекламация"} <= set(sergey.buttons(card))
    empty = await cart(sergey, "Корзина пуста")
    assert "«🛒 В корзину»" in empty["text"] and "🛒 Большой заказ" not in sergey.buttons(empty)
    await sergey.press("В корзину", card)
    full = await cart(sergey, "Ваша корзина", f"{COMBI} × 1")
    buttons = " ".join(sergey.buttons(full))
    assert "Оформить заявку" not in buttons and "Большой заказ" not in buttons
    await sergey.send("/catalog")
    assert "🛒 Большой заказ" not in sergey.buttons(await sergey.expect("Ищите в каталоге"))
    # «Начать процесс» points him to the catalogue for what he does there — reclamations, not «requests».
    await sergey.send("▶️ Начать процесс")
    pointed = await sergey.expect("Рекламации оформляются из каталога", "«🛠 Рекламация»")
    assert "Заявки" not in pointed["text"]


async def test_a_product_1c_no_longer_sells_is_taken_out_of_the_cart_alone(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The dealer has a mower and a trimmer in her cart when 1C's next full package leaves the trimmer out. Her cart
    says which is no longer in the catalogue, and ordering asks her to remove it first: the line has its own «🗑» to
    do that, so she keeps the mowers — not only «Очистить корзину», which would throw away the cart she built."""
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    await add_to_cart(anna, "combi 48", COMBI)
    await add_to_cart(anna, "SBC 900", TRIMMER)
    await add_to_cart(anna, "combi 48", COMBI)

    files = garden_package(tmp_path / "next")
    for path, record in ((files[0], "Товар"), (files[1], "Предложение")):
        text = path.read_text(encoding="utf-8")
        trimmer = re.search(rf"<{record}><Ид>guid-3</Ид>.*?</{record}>", text)
        assert trimmer is not None
        path.write_text(text.replace(trimmer.group(0), ""), encoding="utf-8")
    await import_files(harness.core.sessionmaker, harness.core.clock, files)

    shown = await cart(anna, "Ваша корзина", "(больше нет в каталоге)")
    assert f"1. {COMBI} × 2" in shown["text"] and f"2. {TRIMMER} (больше нет в каталоге) × 1" in shown["text"], shown
    refusal = await anna.press("Оформить заявку", shown)
    assert refusal is not None and "сначала уберите его" in refusal, refusal
    await anna.press("🗑 №2", shown)
    await harness.settle()
    shown = next(m for m in await anna.bot_messages() if m["message_id"] == shown["message_id"])  # edited in place
    assert "больше нет в каталоге" not in shown["text"] and f"1. {COMBI} × 2" in shown["text"], shown
    assert "№2" not in str(anna.buttons(shown)), shown
    await anna.press("Оформить заявку", shown)
    await anna.expect("Оплата")


async def test_a_second_press_of_reclamation_on_a_card_goes_on_with_the_reclamation_begun(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A double tap, or the card's «🛠 Рекламация» pressed again later, is the same reclamation: its form goes on
    where it stopped, the answers kept — not a second unfinished reclamation left in «Мои задачи»."""
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    sergey = await dealer_person(harness, "Сергей", "ООО Сад", "Сервисник дилера")
    card = await card_of(sergey, "combi 48", COMBI)

    await sergey.press("Рекламация", card)
    await sergey.expect("Серийный номер")
    await sergey.send("SN-48-000731")
    await sergey.expect("Дата продажи")
    await sergey.press("Рекламация", card)
    # The question he stopped at comes again, saying it is the reclamation he began on this mower.
    again = await sergey.expect(f"🛠 Рекламация: {COMBI} — продолжаем начатую", "Дата продажи")
    assert "Серийный номер" not in again["text"] and "Новая рекламация" not in again["text"], again["text"]
    await sergey.send("15.11.2026")
    await sergey.expect("Описание дефекта")

    async with harness.core.sessionmaker() as session:
        reclamations = (await session.execute(select(Case).where(Case.process == "reclamation"))).scalars().all()
    assert len(reclamations) == 1, [(c.id, c.status) for c in reclamations]

    # Another product's reclamation is another reclamation.
    await sergey.press("Рекламация", await card_of(sergey, "twinclip", TWINCLIP))
    await sergey.expect(f"🛠 Новая рекламация: {TWINCLIP}", "Серийный номер")
    async with harness.core.sessionmaker() as session:
        reclamations = (await session.execute(select(Case).where(Case.process == "reclamation"))).scalars().all()
    assert len(reclamations) == 2


async def test_a_reclamations_first_question_names_the_product_it_was_pressed_on(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The dealer's engineer presses «🛠 Рекламация» on a mower's card: the serial number he is asked for is the
    mower's, and the question says so — he does not have to wait for the summary to see which product it is."""
    harness = await harness_factory()
    await garden(harness, tmp_path / "1c")
    sergey = await dealer_person(harness, "Сергей", "ООО Сад", "Сервисник дилера")

    await sergey.press("Рекламация", await card_of(sergey, "combi 48", COMBI))
    first = await sergey.expect("Серийный номер")
    assert first["text"].startswith(f"🛠 Новая рекламация: {COMBI}\n\n✏️ Серийный номер"), first["text"]
    assert "guid-" not in first["text"], first["text"]  # 1C's id of the product is for no one to read
    # Only the first question says it: the next ones are the same reclamation's.
    await sergey.send("SN-48-000731")
    second = await sergey.expect("Дата продажи")
    assert COMBI not in second["text"], second["text"]
