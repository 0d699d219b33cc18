"""Moving a version's running cases in the panel, in a real browser at a phone's size: the admin opens the old
version from the processes page, maps its stages, checks, then moves the cases."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.async_api import Browser, Dialog

from admin.panel import AdminPanel
from app.container import build_core
from flows.clock import FrozenClock
from tests.conftest import START
from tests.test_migrate import DATA, _cases, _office_on_version_1
from tests.test_panel_browser import browser, log_in, no_sideways_scroll, phone  # noqa: F401  (fixture)

TOKEN = "browser-test-admin-token"


async def test_on_a_phone_the_admin_maps_stages_checks_and_moves_the_cases(
    tmp_path: Path, database_url: str, browser: Browser  # noqa: F811
) -> None:
    office = await _office_on_version_1(tmp_path, database_url)
    shutil.copy(DATA / "next_versions" / "supply_request.yaml", office.library / "supply_request.yaml")
    core = await build_core(office.settings, FrozenClock(START))
    runner = await AdminPanel(core, TOKEN).serve("127.0.0.1", 0)
    served = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        page = await phone(browser)
        assert await log_in(page, served, TOKEN) == 200
        await page.goto(f"{served}/processes")
        await page.click("a[href='processes/supply_request/versions/2']")
        await page.click("#versions a[href='processes/supply_request/versions/1']")
        assert "в работе: 3" in await page.locator("#versions").inner_text()
        await no_sideways_scroll(page)

        await page.select_option("select[name='map:review']", label="Согласование")
        async with page.expect_navigation():
            await page.click("#check")
        assert "Можно перенести: 2, нельзя: 1." in await page.locator("#summary").inner_text()
        assert await page.locator("#report tr.refused").count() == 1
        assert "Отложено" in await page.locator("#report tr.refused").inner_text()
        await no_sideways_scroll(page)

        # The mapping checked is still on the form; the case on hold gets a place, and all three move.
        assert await page.locator("select[name='map:review']").input_value() == "approval"
        await page.select_option("select[name='map:on_hold']", label="Проверка поставщика")
        asked: list[str] = []

        async def confirm(dialog: Dialog) -> None:  # moving cases is asked first, naming how many go where
            asked.append(dialog.message)
            await dialog.accept()

        page.once("dialog", confirm)
        async with page.expect_navigation():
            await page.click("#apply")
        assert asked and "верси" in asked[0], asked
        assert "Перенесено: 3, не перенесено: 0." in await page.locator("#summary").inner_text()
        assert "Поставщик" in await page.locator("#report").inner_text()  # what the chairs' case will ask for
    finally:
        await runner.cleanup()
        await core.close()
    assert {version for version, _stage, _status in (await _cases(office)).values()} == {2}
