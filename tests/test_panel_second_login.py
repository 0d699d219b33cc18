"""An admin opens the panel's login link again in another tab (the link from `konveyer demo`, a bookmark): the
session gets a new security token, and the case page open in the first tab still sends its form for ten minutes.
The cancel with the reason typed there goes through, though the browser's session was renewed by the second login.
Later, or with the token of another browser's session, the form is refused with the panel's own page, which says
what was not saved and to reload the page; nothing of it is done."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from yarl import URL

from admin.auth import PUBLIC
from admin.forms import UNSAVED
from admin.panel import AdminPanel
from tests.conftest import Harness
from tests.test_panel_actions import TOKEN, Office, load_letter, panel_login, start_letter, the_case
from tests.test_panel_actions import office as office  # the fixture: the bot with its panel, an admin logged in
from tests.test_panel_error_pages import the_panels_own_page


async def test_a_form_from_the_first_tab_still_goes_through_after_a_second_login(office: Office) -> None:
    await load_letter(office)
    await start_letter(await office.harness.person("Анна", "clerk"), "Поставка бумаги")
    paper = await the_case(office, "Поставка бумаги")
    first_tab = office.csrf  # the case page the admin opened first, its cancel form filled in
    cookie_before = next(c for c in office.http.cookie_jar if c.key == "konveyer_panel").value

    second_tab = await panel_login(office.http, office.base)  # the login link opened again, same browser
    cookie_after = next(c for c in office.http.cookie_jar if c.key == "konveyer_panel").value
    assert cookie_after != cookie_before  # still a fresh session id at every login
    assert second_tab != first_tab  # and a fresh token: one seen before the login ages out

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
        assert await panel_login(other_browser, office.base) not in (first_tab, second_tab)


async def test_the_first_tabs_token_is_refused_ten_minutes_after_the_second_login(office: Office) -> None:
    await load_letter(office)
    clerk = await office.harness.person("Анна", "clerk")
    await start_letter(clerk, "Поставка бумаги")
    await start_letter(clerk, "Поставка картриджей")
    paper, cartridges = await the_case(office, "Поставка бумаги"), await the_case(office, "Поставка картриджей")
    first_tab = office.csrf
    second_tab = await panel_login(office.http, office.base)

    office.clock.moment += timedelta(minutes=9, seconds=59)  # the panel's clock: no sleeping through the grace
    response = await office.post(f"cases/{paper.id}/cancel", reason="Бумагу привезли сами")
    assert response.status == 303

    office.clock.moment += timedelta(seconds=1)
    response = await office.post(f"cases/{cartridges.id}/cancel", reason="Картриджи не нужны")
    assert response.status == 403
    page = await response.text()
    assert f"Дело №{cartridges.id} не отменено." in page  # what was not done, said in words
    assert "Страница, с которой отправлена форма, устарела" in page and "обновите ту страницу" in page
    the_panels_own_page(page)
    assert f'value="{second_tab}"' in page and first_tab not in page  # the header's logout has the session's token
    assert (await the_case(office, "Поставка картриджей")).status == "active"
    assert [e.case_id for e in await office.audit("case.cancelled")] == [paper.id]

    # The page reloaded: its form has the session's token and goes through.
    reloaded = await office.page(f"cases/{cartridges.id}")
    assert f'name="csrf" value="{second_tab}"' in reloaded
    response = await office.post(f"cases/{cartridges.id}/cancel", {"csrf": second_tab, "reason": "Картриджи не нужны"})
    assert response.status == 303
    assert (await the_case(office, "Поставка картриджей")).status == "cancelled"


async def test_a_token_of_another_browsers_session_is_refused(office: Office) -> None:
    await load_letter(office)
    await start_letter(await office.harness.person("Анна", "clerk"), "Поставка бумаги")
    paper = await the_case(office, "Поставка бумаги")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other_browser:
        others = await panel_login(other_browser, office.base)  # a live session, but not this browser's

    response = await office.post(f"cases/{paper.id}/cancel", {"csrf": others, "reason": "Бумагу привезли сами"})
    assert response.status == 403
    page = await response.text()
    assert f"Дело №{paper.id} не отменено." in page and "обновите ту страницу" in page
    the_panels_own_page(page)
    assert (await the_case(office, "Поставка бумаги")).status == "active"
    assert await office.audit("case.cancelled") == []


def test_every_form_of_the_panel_says_what_it_did_not_save(harness: Harness) -> None:
    """A form added later without its sentence would be refused with only «nothing was saved»."""
    app = AdminPanel(harness.core, TOKEN).app()
    forms = {r.name for r in app.router.routes() if r.method == "POST" and r.name not in PUBLIC}
    assert forms and None not in forms
    assert forms == set(UNSAVED)
