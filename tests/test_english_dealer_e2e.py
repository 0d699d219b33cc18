"""Seed 4 in English: a dealer whose Telegram is in English reads the catalogue's units, her order and 1C's word on
it in English — «In stock: 6 pcs», a quantity typed «3 pcs», «Status in 1C: In progress / reserved» — while her
Russian colleague reads the same order in Russian; a status 1C has no English for is shown as 1C wrote it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.conftest import Harness
from tests.test_dealer_orders_e2e import newest_order_id
from tests.test_dealer_portal_e2e import dealers, status_document
from tests.test_onec_exchange_e2e import _exchange
from tests.test_organisations_e2e import dealer_person

COMBI = "Газонокосилка STIGA Combi 48"


async def test_an_english_dealer_orders_in_english_and_reads_1cs_status_in_english(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness, onec = await _exchange(harness_factory)
    people = await dealers(harness, tmp_path / "1c", onec)
    anna, regina = people["anna"], people["regina"]
    emma = await dealer_person(harness, "Emma", "ООО Сад", "Менеджер дилера", language="en")

    await emma.send("/help")
    told = await emma.expect("I run your company's processes")
    assert "/cart — your cart" in told["text"], told["text"]

    # The catalogue's units in English: 1C's «шт» reads «pcs».
    await emma.choose(await emma.inline("combi 48"), COMBI)
    card = await emma.card(COMBI, "Your price", button="To the request")
    assert "In stock: 6 pcs\n" in card["text"] and "• Склад Москва: 4 pcs" in card["text"], card["text"]
    await emma.press("To the request", card)
    # A quantity typed with the English unit is taken as one typed with 1C's.
    await emma.send("/cart")
    shown = await emma.card("Your cart", button="✏️ #1")
    await emma.press("✏️ #1", shown)
    asked = await emma.expect("How many")
    assert f"How many “{COMBI}” do you want? Now 1 pc." in asked["text"], asked["text"]  # in 1C's unit, in English
    await emma.send("3 pcs")
    shown = await emma.card("Your cart", f"{COMBI} × 3", button="Place the order")

    await emma.press("Place the order", shown)
    await emma.press("Prepayment", await emma.card("Payment", button="Prepayment"))
    await emma.press("Pick-up", await emma.card("Delivery", button="Pick-up"))
    await emma.press("Skip", await emma.card("Comment", button="Skip"))
    summary = await emma.card("Please check", button="Confirm")
    assert "Items:\n" in summary["text"] and "Positions" not in summary["text"], summary["text"]
    await emma.press("Confirm", summary)
    await emma.expect("is sent for approval")
    order = await newest_order_id(harness)
    await regina.press("Согласовать", await regina.card("Согласуйте заявку дилера", "× 3", button="Согласовать"))
    await emma.expect("1C")

    # 1C accepts it and reserves the goods: its status, in its own words.
    reserved = status_document(order, [("Номер по 1С", "ЗК-000321"), ("Статус заказа", "К выполнению / В резерве")])
    assert (await onec.call("file", kind="sale", filename="o-1.xml", body=reserved))[1].startswith("success")
    await emma.expect("ЗК-000321")
    await emma.send(f"/case {order}")
    card = await emma.expect(f"#{order}", "Status in 1C")
    assert "Status in 1C: In progress / reserved" in card["text"] and "В резерве" not in card["text"], card["text"]
    await anna.send(f"/case {order}")
    card = await anna.expect(f"№{order}", "Статус в 1С")
    assert "Статус в 1С: К выполнению / В резерве" in card["text"], card["text"]

    # A status 1C's configuration added, not among those the bot knows: kept and shown as 1C wrote it.
    waiting = status_document(order, [("Номер по 1С", "ЗК-000321"), ("Статус заказа", "Ждёт машину")])
    assert (await onec.call("file", kind="sale", filename="o-2.xml", body=waiting))[1].startswith("success")
    await harness.settle()
    await emma.send(f"/case {order}")
    card = await emma.wait_for(f"#{order}", "Status in 1C: Ждёт машину")


async def test_an_english_dealer_is_told_the_catalogues_filters_in_the_words_she_types(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """«🔎 Catalogue» explains the search's filters: to an English reader as “from 1000”, “to 50000” — which the
    search takes — not as the Russian «от 1000», «до 50000»; a Russian reader still reads «от»/«до»."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    emma = await dealer_person(harness, "Emma", "ООО Сад", "Менеджер дилера", language="en")

    await emma.send("/catalog")
    told = await emma.expect("Search the catalogue")
    assert "“from 1000”, “to 50000” — your price" in told["text"] and "от" not in told["text"], told["text"]
    found = await emma.inline("stiga from 40000 to 50000")
    assert [r["title"] for r in found["results"]] == ["Газонокосилка STIGA Multiclip 50"], found["results"]
    await people["anna"].send("/catalog")
    assert "«от 1000», «до 50000» — ваша цена" in (await people["anna"].expect("Ищите в каталоге"))["text"]


async def test_an_english_engineers_cart_names_the_reclamation_waiting_for_parts_as_english_does(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """The dealer's English service engineer files a reclamation; taken into diagnosis, it waits for parts, and his
    cart offers «🛠 To the reclamation: #1» — the number as every English message writes it, not «№1»."""
    harness = await harness_factory()
    people = await dealers(harness, tmp_path / "1c")
    eric = await dealer_person(harness, "Eric", "ООО Сад", "Сервисник дилера", language="en")
    await eric.choose(await eric.inline("combi 48"), COMBI)
    await eric.press("Reclamation", await eric.card(COMBI, button="Reclamation"))
    await eric.expect("Serial number")
    await eric.send("SN-48-000735")
    await eric.expect("Date of sale")
    await eric.send("15.11.2026")
    await eric.expect("The defect")
    await eric.send("The engine does not start")
    await eric.expect("Photos of the defect")
    await eric.photo()
    await eric.press("Done", await eric.card("Photos of the defect", "Received: 1", button="Done"))
    await eric.press("Confirm", await eric.card("Please check", button="Confirm"))
    await eric.expect("is registered")
    semyon = people["semyon"]
    accept = await semyon.card("Примите рекламацию в диагностику", button="Взять в работу")
    await semyon.press("Взять в работу", accept)
    await eric.card("Parts: put them into the cart", button="Done")

    await eric.choose(await eric.inline("нож 48"), "Нож для газонокосилки 48 см")
    await eric.press("To the cart", await eric.card("Нож для газонокосилки 48 см", button="To the cart"))
    await eric.send("/cart")
    cart = await eric.card("Your cart", button="To the reclamation")
    assert "🛠 To the reclamation: #1" in eric.buttons(cart) and "№" not in str(eric.buttons(cart)), cart
    await eric.press("To the reclamation", cart)
    await eric.expect("The parts are in reclamation #1.")
