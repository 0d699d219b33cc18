"""`konveyer demo` ships seed 4's catalogue: on a first start (an empty catalogue) it loads the demo's CommerceML
package, so each demo dealer finds products at the price type of their own organisation and can order them; a
second start, or a catalogue 1C already filled, is left alone."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import CatalogImport, CatalogProduct
from sandbox.demo import DEALERS, demo_user_id, seed, seed_catalogue
from tests.chat import Person
from tests.conftest import Harness


async def test_each_demo_dealer_finds_the_demo_catalogue_at_their_own_prices(harness: Harness) -> None:
    await seed(harness.core, harness.sandbox)
    products = await seed_catalogue(harness.core)
    assert products == 18
    assert await seed_catalogue(harness.core) == products  # the next start imports nothing again
    async with harness.core.sessionmaker() as session:
        imports = await session.scalar(select(func.count()).select_from(CatalogImport))
        assert imports == 1
        assert await session.scalar(select(func.count()).select_from(CatalogProduct)) == products

    garden, tools = (
        Person(harness.http, harness.base, demo_user_id(f"dealer{number}_dealer_manager"), dealer.name)
        for number, dealer in enumerate(DEALERS, 1)
    )
    assert [d.details["price"] for d in DEALERS] == ["Дилерская", "Оптовая"]
    mower = "Газонокосилка бензиновая GM-46S, 46 см, самоходная"
    found = {r["title"]: r["description"] for r in (await garden.inline("GM-46S"))["results"]}
    assert sorted(found) == [mower, "Фильтр воздушный для GM-46S и GM-53SV"]  # its article, and a part named by it
    assert "32\xa0900" in found[mower]  # the dealers' price
    theirs = {r["title"]: r["description"] for r in (await tools.inline("GM-46S"))["results"]}
    assert "36\xa0850" in theirs[mower]  # the wholesale price of the same mower

    # The dealer puts it into the cart and starts an order request from it: the demo can be ordered from.
    await garden.choose(await garden.inline("GM-46S"), mower)
    card = await garden.expect(mower, "Ваша цена")
    await garden.press("В заявку", card)
    await garden.send("/cart")
    await garden.press("Оформить заявку", await garden.expect("Ваша корзина", f"{mower} × 1"))
    await garden.expect("Оплата")
