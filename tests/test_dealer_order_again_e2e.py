"""Seed 4's order requests as a dealer and her regional representative read them: a line asking more than the
stock says so on the dealer's summary and on the approver's task, as the cart did; a rejected request is ordered
again in one press; a dealer's service engineer is not offered /orders he may not read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from integrations.onec.importer import import_files
from tests.conftest import Harness, library_with
from tests.panel_pages import case_fields
from tests.test_dealer_orders_e2e import COMBI, newest_order_id, place_order, send_the_cart
from tests.test_dealer_portal_cart_e2e import cart
from tests.test_dealer_portal_e2e import add_to_cart, dealers


def plain(text: object) -> str:
    """Spaces as one reads them: money is grouped with no-break spaces of more than one kind."""
    return "".join(" " if c.isspace() else c for c in str(text))


MULTICLIP = "Газонокосилка STIGA Multiclip 50"  # none in stock anywhere
COMBI_SHORT = f"{COMBI} × 10 по 31\xa0500,00\xa0₽ ⚠️ в наличии: 6 шт"
MULTICLIP_NONE = f"{MULTICLIP} × 1 по 44\xa0000,00\xa0₽ ⚠️ нет в наличии"


async def test_a_shortage_is_said_on_the_dealers_summary_and_on_the_approvers_task(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Anna asks ten Combi 48 (six in stock) and a Multiclip 50 (none): her cart warns of both, the one with none
    as «нет в наличии» (not «в наличии: 0 шт»); her «Проверьте» and Regina's task say the same per line, so the
    representative does not approve a shortage unknowingly."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina = people["anna"], people["regina"]
    await add_to_cart(anna, "combi 48", COMBI)
    await add_to_cart(anna, "multiclip", MULTICLIP)
    first = await cart(anna, "Ваша корзина", MULTICLIP)
    assert "в наличии: 0" not in first["text"], first["text"]
    assert f"{MULTICLIP} × 1 = 44\xa0000,00\xa0₽ ⚠️ нет в наличии" in first["text"], first["text"]
    await anna.press("✏️ №1", first)
    await anna.expect("Сколько")
    await anna.send("10")
    full = await anna.expect("Ваша корзина", f"{COMBI} × 10 = 315\xa0000,00\xa0₽ ⚠️ в наличии: 6 шт")

    await anna.press("Оформить заявку", full)
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    summary = await anna.expect("Проверьте")
    said = plain(summary["text"])
    assert f"{COMBI} (2L0481848) × 10 по 31 500,00 ₽ = 315 000,00 ₽ ⚠️ в наличии: 6 шт" in said, said
    assert f"{MULTICLIP} (2L0500848) × 1 по 44 000,00 ₽ = 44 000,00 ₽ ⚠️ нет в наличии" in said, said
    await anna.press("Подтвердить", summary)
    await anna.expect("передана на согласование")

    task = await regina.card("Согласуйте заявку дилера", button="Согласовать")
    asked = plain(task["text"])
    assert plain(COMBI_SHORT) in asked and plain(MULTICLIP_NONE) in asked, asked


async def test_a_rejected_request_is_ordered_again_from_its_card(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Regina rejects Anna's request; Anna's cart is empty. The request's card offers «🛒 Повторить заказ»: its
    positions go back into the cart, shown at once, and the cart orders them again. A request still under way
    offers nothing of the kind."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, regina = people["anna"], people["regina"]
    rejected = await place_order(harness, anna, ("combi 48", COMBI), ("SBC 900", "Триммер STIGA SBC 900"))
    await regina.press("Отклонить", await regina.card("Согласуйте заявку дилера", button="Отклонить"))
    await regina.expect("Причина отказа")
    await regina.send("Уточните модель")
    await regina.press("Подтвердить", await regina.expect("Проверьте"))
    await anna.expect("Заявка отклонена. Причина: Уточните модель")
    await anna.send("/cart")
    await anna.expect("Корзина пуста")

    await anna.send(f"/case {rejected}")
    card = await anna.card(f"№{rejected}", "Отклонена", button="Повторить заказ")
    await anna.press("🛒 Повторить заказ", card)
    again = await anna.expect("Ваша корзина", f"{COMBI} × 1 = 31\xa0500,00\xa0₽", "Триммер STIGA SBC 900 × 1")
    await send_the_cart(anna, again, COMBI, "Триммер STIGA SBC 900")
    going = await newest_order_id(harness)
    assert going != rejected
    await anna.send(f"/case {going}")
    open_card = await anna.card(f"№{going}", "Согласование регионального представителя")
    assert "🛒 Повторить заказ" not in anna.buttons(open_card), anna.buttons(open_card)


async def test_a_dealers_service_engineer_is_not_offered_orders_he_may_not_read(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Sergey serves Garden's mowers (reclamations), not its orders: his /help names /cart and /reclamations but
    not /orders, and /orders says it is not for his role — not «Заявок пока нет» while Anna's request is there."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    anna, sergey = people["anna"], people["sergey"]
    sent = await place_order(harness, anna, ("combi 48", COMBI))

    await sergey.send("/help")
    told = await sergey.expect("/reclamations")
    assert "/cart" in told["text"] and "/orders" not in told["text"], told["text"]
    await sergey.send("/orders")
    await sergey.expect("Вашей роли не видны заявки организации")
    await anna.send("/help")
    assert "/orders" in (await anna.expect("/reclamations"))["text"]
    await anna.send("/orders")
    await anna.expect("Заявки, сначала новые", f"№{sent}")


async def test_the_approver_opening_her_task_reads_todays_stock_beside_the_stock_at_ordering(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Anna asks ten Combi 48 (six in stock), a Multiclip 50 (none) and a trimmer (seven). Before Regina gets to
    it, 1C's next offers.xml has three Combi left and five Multiclip come in: her task, opened from «Мои задачи»,
    says the stock of today with the one Anna ordered against — «в наличии: 3 шт (при заказе было 6)», and the
    Multiclip no longer short; the trimmer, whose stock did not change, says nothing."""
    harness = await harness_factory()
    folder = tmp_path / "1c"
    people = await dealers(harness, folder)
    anna, regina, rita = people["anna"], people["regina"], people["rita"]
    await add_to_cart(anna, "combi 48", COMBI)
    await add_to_cart(anna, "multiclip", MULTICLIP)
    await add_to_cart(anna, "SBC 900", "Триммер STIGA SBC 900")
    full = await cart(anna, "Ваша корзина", MULTICLIP)
    await anna.press("✏️ №1", full)
    await anna.expect("Сколько")
    await anna.send("10")
    await send_the_cart(anna, await anna.expect("Ваша корзина", f"{COMBI} × 10"))
    given = plain((await regina.card("Согласуйте заявку дилера", button="Согласовать"))["text"])
    assert plain(COMBI_SHORT) in given and "при заказе" not in given, given

    # 1C's offers: Combi 48 two in Moscow and one in Kazan (was four and two), Multiclip 50 five in Moscow (none).
    offers = folder / "offers.xml"
    xml = offers.read_text(encoding="utf-8")
    for offer, was, now in (
        ("guid-0", (4, 2), (2, 1)),
        ("guid-2", (0, 0), (5, 0)),
    ):
        start = xml.index(f"<Ид>{offer}</Ид>")
        end = xml.index("</Предложение>", start)
        part = xml[start:end]
        part = part.replace(f"<Количество>{sum(was)}</Количество>", f"<Количество>{sum(now)}</Количество>")
        part = part.replace(f'"w-msk" КоличествоНаСкладе="{was[0]}"', f'"w-msk" КоличествоНаСкладе="{now[0]}"')
        part = part.replace(f'"w-kzn" КоличествоНаСкладе="{was[1]}"', f'"w-kzn" КоличествоНаСкладе="{now[1]}"')
        xml = xml[:start] + part + xml[end:]
    offers.write_text(xml, encoding="utf-8")
    await import_files(harness.core.sessionmaker, harness.core.clock, [offers])

    await regina.send("📋 Мои задачи")
    opened = plain((await regina.card("Согласуйте заявку дилера", "при заказе", button="Согласовать"))["text"])
    assert plain(f"{COMBI} × 10 по 31\xa0500,00\xa0₽ ⚠️ в наличии: 3 шт (при заказе было 6);") in opened, opened
    assert plain(f"{MULTICLIP} × 1 по 44\xa0000,00\xa0₽ ✅ в наличии: 5 шт (при заказе было 0);") in opened, opened
    assert plain("Триммер STIGA SBC 900 × 1 по 18\xa0700,00\xa0₽;") in opened, opened

    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", "при заказе", button="Согласовать"))
    office = plain((await rita.card("Согласуйте заявку дилера от представительства", button="Согласовать"))["text"])
    assert plain(f"{COMBI} × 10 по 31\xa0500,00\xa0₽ ⚠️ в наличии: 3 шт (при заказе было 6);") in office, office


KNIFE = "Нож для газонокосилки 48 см"  # 35 in stock (25 in Moscow, 10 in Kazan)


async def knives_by_the_set(harness: Harness, folder: Path) -> None:
    """1C's next import.xml has the mower knives sold by the set («компл», OKEI 704), not by the piece."""
    catalogue = folder / "import.xml"
    xml = catalogue.read_text(encoding="utf-8")
    start = xml.index("<Ид>guid-4</Ид>")
    end = xml.index("</Товар>", start)
    knife = xml[start:end].replace(
        '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт</БазоваяЕдиница>',
        '<БазоваяЕдиница Код="704" НаименованиеПолное="Комплект" МеждународноеСокращение="SET">компл</БазоваяЕдиница>',
    )
    catalogue.write_text(xml[:start] + knife + xml[end:], encoding="utf-8")
    await import_files(harness.core.sessionmaker, harness.core.clock, [catalogue])


async def test_a_shortage_is_said_in_the_products_own_unit(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """1C sells the mower knives by the set («компл»). Anna, asked how many, is asked in sets; she asks forty sets,
    thirty-five are in stock: her summary says «в наличии: 35 компл», and Regina, who reads English, «in stock: 35
    sets» — not pieces, which would be another quantity of knives."""
    harness = await harness_factory()
    folder = tmp_path / "1c"
    people = await dealers(harness, folder)
    anna, regina = people["anna"], people["regina"]
    await knives_by_the_set(harness, folder)
    await regina.send("/lang")
    await regina.expect("Language: English.")

    await add_to_cart(anna, "нож", KNIFE)
    await anna.press("✏️ №1", await cart(anna, "Ваша корзина", KNIFE))
    # Asked how many, she is told in what: sets, as she will be told the stock — not a bare «1» she may read as
    # one knife.
    asked = await anna.expect("Сколько")
    assert f"Сколько «{KNIFE}» нужно? Сейчас 1 компл." in asked["text"], asked["text"]
    await anna.send("40")
    await anna.press("Оформить заявку", await anna.expect("Ваша корзина", f"{KNIFE} × 40"))
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    summary = await anna.expect("Проверьте")
    said = plain(summary["text"])
    assert "⚠️ в наличии: 35 компл" in said and "шт" not in said, said
    await anna.press("Подтвердить", summary)
    await anna.expect("передана на согласование")

    task = plain((await regina.card("Approve the dealer's request", button="Approve"))["text"])
    assert f"{KNIFE} × 40 at 1,350.00 ₽ ⚠️ in stock: 35 sets;" in task, task
    # The admin panel's page of the request says the position's quantity in sets too, in the admin's language —
    # and, as the chat's summary, nothing the definition keeps for other systems: not 1C's id of the knife
    # («Код товара: guid-4»), nor 1C's own word for its unit («Unit: компл») nor the stock as a field of its own (the
    # position's line heading its block says the shortage, as chat does).
    order = await newest_order_id(harness)
    unsaid = {"ru": ("Код товара", "Единица:", "В наличии:"), "en": ("Product code", "Unit:", "In stock:", "компл")}
    for lang, ordered in (("ru", "Количество: 40 компл"), ("en", "Quantity: 40 sets")):
        fields = plain(await case_fields(harness, order, lang, until="</table>"))
        assert ordered in fields and "шт" not in fields and "pcs" not in fields, fields
        assert KNIFE in fields and "guid-4" not in fields, fields
        for words in unsaid[lang]:
            assert words not in fields, (words, fields)


async def test_a_products_unit_a_definition_shows_reads_in_the_admins_language(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """A company whose order requests show a position's unit (its definition does not hide it): the knives sold by
    the set read «Единица: компл» to a Russian admin on the panel and «Unit: set» to an English one — the unit the
    quantity beside it is said in («Quantity: 40 sets»), not 1C's Russian word."""
    library = library_with(tmp_path)
    definition = (library / "order_request.yaml").read_text(encoding="utf-8")
    hidden = "unit: {type: text, required: false, hidden: true,"
    shown = definition.replace(hidden, "unit: {type: text, required: false,")
    assert shown != definition
    (library / "order_request.yaml").write_text(shown, encoding="utf-8")
    harness = await harness_factory(library_dir=library)
    folder = tmp_path / "1c"
    anna = (await dealers(harness, folder))["anna"]
    await knives_by_the_set(harness, folder)
    await add_to_cart(anna, "нож", KNIFE)
    await anna.press("✏️ №1", await cart(anna, "Ваша корзина", KNIFE))
    await anna.expect("Сколько")
    await anna.send("40")
    await send_the_cart(anna, await anna.expect("Ваша корзина", f"{KNIFE} × 40"))

    order = await newest_order_id(harness)
    russian = plain(await case_fields(harness, order, "ru", until="</table>"))
    assert "Количество: 40 компл" in russian and "Единица: компл" in russian, russian
    english = plain(await case_fields(harness, order, "en", until="</table>"))
    assert "Quantity: 40 sets" in english and "Unit: set" in english and "компл" not in english, english
