"""The admin panel shows every case with its history, people and roles, processes, and delivery problems."""

from __future__ import annotations

import aiohttp
import pytest

from admin.panel import AdminPanel
from tests.conftest import Harness
from tests.test_defect_return_e2e import register_defect

TOKEN = "panel-token-for-tests"


async def test_the_panel_needs_the_token_and_shows_cases_people_and_history(harness: Harness) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_defect(manager)

    runner = await AdminPanel(harness.core, TOKEN).serve("127.0.0.1", 0)
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}/admin"
    try:
        # unsafe=True: aiohttp keeps no cookies for bare IP hosts otherwise (browsers do).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/") as response:
                assert response.status == 401
            async with http.get(f"{base}/?token=wrong") as response:
                assert response.status == 401
            async with http.get(f"{base}/?token={TOKEN}") as response:
                page = await response.text()
                assert response.status == 200
                assert "token" not in str(response.url)  # redirected: the token stays out of history and logs
                assert "Longines" in page and "Брак зарегистрирован" in page
            async with http.get(f"{base}/?status=active") as response:
                page = await response.text()
                assert "Longines" in page and "<option selected>active</option>" in page
            for status in ("done", "bogus"):  # a filter that is no status shows nothing, as one nobody has
                async with http.get(f"{base}/?status={status}") as response:
                    assert response.status == 200 and "Longines" not in await response.text()
            # The cookie keeps the session; the case page shows its tasks and its history.
            async with http.get(f"{base}/cases/1") as response:
                page = await response.text()
                assert "Переместите товар на склад сервиса в 1С" in page
                assert "case.started" in page and "stage.entered" in page
            async with http.get(f"{base}/people") as response:
                page = await response.text()
                assert "Марина" in page and "shop_manager" in page
            async with http.get(f"{base}/processes") as response:
                assert "defect_return" in await response.text()
            async with http.get(f"{base}/outbox") as response:
                assert "sent" in await response.text()
    finally:
        await runner.cleanup()


def test_a_short_token_is_refused(harness: Harness) -> None:
    with pytest.raises(ValueError):
        AdminPanel(harness.core, "short")
