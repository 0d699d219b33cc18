"""The catalogue as a dealer sees it, below the chat: what an inline query's words and filters mean, pages of 50
with the offset of the next, the dealer's own price type only (none for someone without one), and a cart that
refuses to become an order while a product in it has no price for the dealer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.container import build_core
from app.settings import Settings
from db.models import CatalogPrice, CatalogPriceType, CatalogProduct
from services import catalogue, companies
from services import people as people_repo
from services.cases.service import CaseService
from services.portal import Portal
from services.portal_catalogue import PortalError
from services.portal_query import Filters, parse_query


def test_an_inline_query_reads_words_and_filters() -> None:
    assert parse_query("косилка ! от 10000 до 50000,50 #Садовая_техника") == Filters(
        "косилка", True, Decimal("10000"), Decimal("50000.50"), "Садовая техника"
    )
    assert parse_query("до") == Filters("до")  # «до» without an amount is a word like any other
    assert parse_query("  2L0481848  ") == Filters("2L0481848")


async def test_pages_of_fifty_with_the_dealers_own_prices(tmp_path: Path, database_url: str) -> None:
    core = await build_core(Settings(data_dir=tmp_path, database_url=database_url, bot_token=None))
    try:
        async with core.sessionmaker() as session, session.begin():
            now = core.clock.now()
            wholesale = CatalogPriceType(external_id="pt-opt", name="Оптовая")
            retail = CatalogPriceType(external_id="pt-rozn", name="Розничная")
            session.add_all([wholesale, retail])
            await session.flush()
            for n in range(60):
                name = f"Газонокосилка модель {n:02d}"
                product = CatalogProduct(
                    external_id=f"p-{n}",
                    name=name,
                    article=f"A-{n:02d}",
                    properties={},
                    images=[],
                    quantity=Decimal(n % 2),
                    search_text=catalogue.search_text(name, f"A-{n:02d}", None),
                    updated_at=now,
                )
                session.add(product)
                await session.flush()
                session.add(CatalogPrice(product_id=product.id, price_type_id=retail.id, value=Decimal(2000 + n)))
                if n != 59:  # the last has no wholesale price
                    session.add(
                        CatalogPrice(product_id=product.id, price_type_id=wholesale.id, value=Decimal(1000 + n))
                    )
            details = {"price": "Оптовая", "limit": "2500"}
            garden = await companies.create_organisation(session, "dealer", "ООО Сад", None, now, details)
            anna = await people_repo.register(session, tg_id=10, name="Анна", username=None, language="ru", now=now)
            anna.organisation_id = garden.id
            await people_repo.grant(session, anna.id, ["dealer_manager"])
            rita = await people_repo.register(session, tg_id=11, name="Рита", username=None, language="ru", now=now)

            portal = Portal(core, session, anna)
            first, more = await portal.search("газонокосилка", 0)
            assert len(first) == 50 and more == 50
            assert first[0].price == Decimal(1000) and all(o.price is not None and o.price < 2000 for o in first)
            rest, more = await portal.search("газонокосилка", 50)
            assert len(rest) == 10 and more is None and rest[-1].price is None  # no wholesale price: none shown
            in_stock, _ = await portal.search("модель ! до 1010", 0)
            assert [o.product.article for o in in_stock] == ["A-01", "A-03", "A-05", "A-07", "A-09"]
            # Someone without a price type sees no prices, and a price range does not narrow for them.
            internal, _ = await Portal(core, session, rita).search("модель до 1010", 0)
            assert len(internal) == 50 and {o.price for o in internal} == {None}

            # A product without the dealer's price cannot be ordered: the cart says which.
            await portal.add(rest[-1].product.id)
            await portal.add(first[0].product.id, 3)
            view = await portal.cart()
            assert [(e.quantity, e.price) for e in view.entries] == [(1, None), (3, Decimal(1000))]
            with pytest.raises(PortalError, match="модель 59"):
                await portal.submit_order(CaseService(core, session))
            await portal.step(rest[-1].product.id, -1)
            loaded = await portal.submit_order(CaseService(core, session))
            assert loaded.row.company_id == garden.id and loaded.state.data["amount"] == "3000.00"
            # Above what Garden's credit limit leaves: the request carries that, so the office approves it too.
            assert (loaded.state.data["over_credit"], loaded.state.data["credit_left"]) == (True, "2500.00")
            assert loaded.state.data["credit_stop"] is False
            assert (await portal.cart()).entries == []
            # 1C changes the price later: the request keeps the price it was submitted at.
            cheapest = first[0].product.id
            price_row = await session.scalar(
                select(CatalogPrice).where(
                    CatalogPrice.product_id == cheapest, CatalogPrice.price_type_id == wholesale.id
                )
            )
            assert price_row is not None
            price_row.value = Decimal(1500)
            await session.flush()
            again = await CaseService(core, session).load(loaded.row.id)
            assert [(p["price"], p["total"]) for p in again.state.data["positions"]] == [("1000.00", "3000.00")]
            assert again.state.data["amount"] == "3000.00"
    finally:
        await core.close()
