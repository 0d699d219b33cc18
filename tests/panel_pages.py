"""The admin panel's page of a case as an admin reads it, for the chat tests that also check what the panel says."""

from __future__ import annotations

import aiohttp

from admin.panel import AdminPanel
from tests.conftest import Harness

PANEL_TOKEN = "panel-token-5b1e0d7a"


async def case_fields(
    harness: Harness, case_id: int, lang: str, *, until: str = 'id="files"', start: str = 'id="fields"'
) -> str:
    """The case's fields on the panel's page of the case, in `lang`: from its «fields» section (or `start`) to
    `until` (by default, its files)."""
    runner = await AdminPanel(harness.core, PANEL_TOKEN, language=lang).serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/?token={PANEL_TOKEN}") as response:
                assert response.status == 200
            async with http.get(f"{base}/cases/{case_id}") as response:
                page = await response.text()
    finally:
        await runner.cleanup()
    begins = page.index(start)
    return page[begins : page.index(until, begins)]
