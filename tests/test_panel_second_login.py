"""An admin opens the panel's login link again in another tab (the link from `konveyer demo`, a bookmark): the
case page open in the first tab still sends its form. The cancel with the reason typed there goes through, though
the browser's session was renewed by the second login; another browser's login does not share the token."""

from __future__ import annotations

import aiohttp
from yarl import URL

from tests.test_panel_actions import Office, load_letter, panel_login, start_letter, the_case
from tests.test_panel_actions import office as office  # the fixture: the bot with its panel, an admin logged in


async def test_a_form_from_the_first_tab_still_goes_through_after_a_second_login(office: Office) -> None:
    await load_letter(office)
    await start_letter(await office.harness.person("Анна", "clerk"), "Поставка бумаги")
    paper = await the_case(office, "Поставка бумаги")
    first_tab = office.csrf  # the case page the admin opened first, its cancel form filled in
    cookie_before = next(c for c in office.http.cookie_jar if c.key == "konveyer_panel").value

    second_tab = await panel_login(office.http, office.base)  # the login link opened again, same browser
    cookie_after = next(c for c in office.http.cookie_jar if c.key == "konveyer_panel").value
    assert cookie_after != cookie_before  # still a fresh session id at every login
    assert second_tab == first_tab

    response = await office.post(f"cases/{paper.id}/cancel", reason="Бумагу привезли сами")
    assert response.status == 303  # not «403: CSRF token missing or wrong», and the reason not lost
    assert (await the_case(office, "Поставка бумаги")).status == "cancelled"
    assert [e.data["reason"] for e in await office.audit("case.cancelled")] == ["Бумагу привезли сами"]

    # The session the first login had is gone, not kept alive beside the new one.
    for cookie, status in ((cookie_before, 401), (cookie_after, 200)):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            browser.cookie_jar.update_cookies({"konveyer_panel": cookie}, URL(f"{office.base}/"))
            async with browser.get(f"{office.base}/people") as page:
                assert page.status == status
    # Another browser logging in gets a token of its own.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other_browser:
        assert await panel_login(other_browser, office.base) != first_tab
