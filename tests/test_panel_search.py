"""The panel's case search as admins type: several words mean a case with all of them (a client's name and a brand,
two words of a title), and an amount typed as people type money («125 000», «125 000,00», «125000.00») finds the
cases with that amount, and no other. Over real HTTP against a case the shop manager registered in chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from tests.conftest import Harness
from tests.test_admin_panel import Panel
from tests.test_admin_panel import panel as panel  # the fixture: the panel served over HTTP
from tests.test_defect_return_e2e import register_defect


async def copies_of_case_one(harness: Harness, count: int) -> None:
    """`count` claims more, copies of case №1 titled «Заявка» with no data, changed as late as it (the newer by
    number): one statement on either database, not thousands of chat conversations."""
    async with harness.core.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
                "INSERT INTO cases (definition_id, process, title, stage, status, visit, data, initiator_id, "
                "created_at, updated_at) SELECT definition_id, process, 'Заявка', stage, status, visit, '{}', "
                "initiator_id, created_at, updated_at FROM cases, n WHERE id = 1"
            ),
            {"count": count},
        )


async def test_several_words_and_an_amount_as_typed_find_the_case(panel: Panel) -> None:
    harness = panel.harness
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_defect(manager)  # Longines from «Альфа», bought for 125 000 ₽, serial SN-123456
    await harness.settle()

    async with panel.client() as http:
        await panel.login(http)

        async def found(query: str) -> bool:
            async with http.get(f"{panel.base}/", params={"q": query}) as response:
                assert response.status == 200
                return 'data-case="1"' in await response.text()

        for query in ("Longines Альфа", "альфа longines", "Иванова Longines SN-123456", "брак Longines"):
            assert await found(query), query  # every word is the case's, wherever it stands
        assert not await found("Longines Breguet")  # one word the case lacks: not this case

        for amount in ("125 000", "125 000,00", "125000.00", "125000", "125 000.00", "125,000.00", "Longines 125 000"):
            assert await found(amount), amount
        for other in ("126 000", "25000.00", "12 500,00"):
            assert not await found(other), other  # another amount, or a part of this one


async def test_the_oldest_of_thousands_of_cases_is_found_and_the_list_pages_back_to_it(panel: Panel) -> None:
    """A shop with 5,500 claims changed after hers, indexed by the scheduler's ticks: the panel finds Марина's Longines
    by its serial (it once read only the newest 5,000), and the list without a search reaches it page by page, newest
    first."""
    harness = panel.harness
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_defect(manager)  # case №1: Longines from «Альфа», serial SN-123456
    await harness.settle()
    await copies_of_case_one(harness, 5500)  # changed as late as hers (the newer by number)
    await harness.advance(minutes=11)  # still ten minutes: the scheduler indexes them in the background, tick by tick
    for _tick in range(-(-5501 // harness.core.config.case_search_tick_bound)):
        await harness.advance(seconds=10)

    async with panel.client() as http:
        await panel.login(http)

        async def page(**params: str) -> str:
            async with http.get(f"{panel.base}/", params=params) as response:
                assert response.status == 200
                return await response.text()

        found = await page(q="SN-123456")
        assert found.count("data-case=") == 1 and 'data-case="1"' in found
        assert 'data-case="1"' in await page(q="longines альфа 125 000")
        assert "data-case=" not in await page(q="SN-123456 Breguet")

        first = await page()
        assert 'data-case="5501"' in first and 'data-case="1"' not in first and "Более ранние →" in first
        last = await page(page="111")  # 5,501 cases, fifty a page
        assert 'data-case="1"' in last and "← Более новые" in last and "Более ранние →" not in last

    await register_defect(manager, supplier="Альфа")  # a new claim is found as soon as it is there
    await harness.settle()
    async with panel.client() as http:
        await panel.login(http)
        async with http.get(f"{panel.base}/", params={"q": "SN-123456"}) as response:
            found = await response.text()
    assert 'data-case="5502"' in found and 'data-case="1"' in found


async def claims_none_indexed(harness: Harness) -> None:
    """Марина's Longines (case №1), 1,199 claims changed as late as hers (the newer by number), and five minutes later
    the same watch again (case №1201, the newest): none of them yet seen by the search, as after an upgrade."""
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_defect(manager)  # case №1: Longines from «Альфа», serial SN-123456
    await harness.settle()
    await copies_of_case_one(harness, 1199)
    harness.clock.advance(minutes=5)
    await register_defect(manager, supplier="Альфа")
    await harness.settle()


async def test_after_an_upgrade_a_search_finds_the_newest_says_how_many_wait_and_the_scheduler_indexes_the_rest(
    panel: Panel,
) -> None:
    """A fresh upgrade of a shop with 1,200 claims none of which the search has seen: the first search stays quick,
    writing the newest thousand itself, finds Марина's newest Longines and says honestly that 201 older claims are
    still being indexed (her first one among them); a scheduler's tick later, without anyone searching in between,
    her first claim is found too and the note is gone."""
    harness = panel.harness
    await claims_none_indexed(harness)

    async def search(http: Any) -> str:
        async with http.get(f"{panel.base}/", params={"q": "SN-123456"}) as response:
            assert response.status == 200
            return str(await response.text())

    async with panel.client() as http:
        await panel.login(http)
        first = await search(http)
    assert 'data-case="1201"' in first and 'data-case="1"' not in first
    assert "Ещё индексируется дел: 201 — их найдёт поиск через несколько минут." in first

    await harness.advance(minutes=11)  # the scheduler's tick once the claims have been still ten minutes
    async with panel.client() as http:
        await panel.login(http)
        later = await search(http)
    assert 'data-case="1201"' in later and 'data-case="1"' in later
    assert "индексируется" not in later


async def test_an_admins_find_says_how_many_cases_wait_to_be_indexed_until_the_scheduler_has_indexed_them(
    harness: Harness,
) -> None:
    """/find in chat as in the panel: right after the upgrade it shows the newest Longines and says 201 older claims
    are still being indexed; after a scheduler's tick it lists both of Марина's claims and says nothing of it."""
    await claims_none_indexed(harness)
    admin = harness.admin
    await admin.send("/find SN-123456")
    card = await admin.expect("🛠 №1201")  # the one case found: its admin card
    assert "Ещё индексируется дел: 201 — их найдёт поиск через несколько минут." in card["text"], card["text"]

    await harness.advance(minutes=11)  # the scheduler's tick once the claims have been still ten minutes
    await admin.send("/find SN-123456")
    found = await admin.expect("Найденные дела")
    assert "№1201" in found["text"] and "№1 ·" in found["text"] and "индексируется" not in found["text"], found["text"]


async def test_a_shop_that_lets_a_search_write_more_cases_itself_has_fewer_waiting(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A faster server set to let a search write the newest 1,100 changed cases itself (CASE_SEARCH_BOUND), not a
    thousand: right after the upgrade /find says only 101 older claims wait."""
    harness = await harness_factory(case_search_bound=1_100)
    await claims_none_indexed(harness)
    await harness.admin.send("/find SN-123456")
    card = await harness.admin.expect("🛠 №1201")
    assert "Ещё индексируется дел: 101 — их найдёт поиск через несколько минут." in card["text"], card["text"]
