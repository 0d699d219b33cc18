"""The panel's case search as admins type: several words mean a case with all of them (a client's name and a brand,
two words of a title), and an amount typed as people type money («125 000», «125 000,00», «125000.00») finds the
cases with that amount, and no other. Over real HTTP against a case the shop manager registered in chat."""

from __future__ import annotations

from tests.test_admin_panel import Panel
from tests.test_admin_panel import panel as panel  # the fixture: the panel served over HTTP
from tests.test_defect_return_e2e import register_defect


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
