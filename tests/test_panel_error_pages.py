"""The panel's own error pages: an address that is not there, a case or a version that is gone, a form's address
opened as a page, a form without the page's security token, a page that fails on our side. The admin reads each in
their language, with the panel's header and the way back to the cases list, never aiohttp's English plain text nor a
traceback (that goes to the log). Over real HTTP."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web

from admin.panel import AdminPanel
from tests.conftest import Harness
from tests.test_admin_panel import TOKEN, Panel
from tests.test_admin_panel import panel as panel  # the fixture: the panel served over HTTP


def the_panels_own_page(page: str) -> None:
    """The panel's header (the admin is still logged in) and the way back, and nothing of aiohttp's English."""
    assert 'id="logout"' in page and 'href="people"' in page
    assert 'id="to-cases" href="./"' in page or '<a href="./" id="to-cases">' in page
    assert page.startswith("<!doctype html>")  # not aiohttp's «404: Not Found» or «no such case» in plain text
    for english in ("Not Found", "Method Not Allowed", "Forbidden", "CSRF token"):
        assert english not in page, english


async def test_a_russian_admin_reads_every_error_as_the_panels_page_in_russian(panel: Panel) -> None:
    async with panel.client() as http:
        csrf = await panel.login(http)

        async with http.get(f"{panel.base}/no-such-page") as response:
            assert response.status == 404 and response.content_type == "text/html"
            page = await response.text()
        assert "Такой страницы нет" in page and "К списку дел" in page
        the_panels_own_page(page)

        async with http.get(f"{panel.base}/cases/987654") as response:  # a case that does not exist
            assert response.status == 404
            page = await response.text()
        assert "Такого дела нет." in page
        the_panels_own_page(page)

        async with http.get(f"{panel.base}/processes/nothing_like_it") as response:
            assert response.status == 404
            assert "Такого процесса нет." in await response.text()

        # A form's address opened as a page (a bookmark, an address typed in): said so, not «405: Method Not Allowed».
        async with http.get(f"{panel.base}/cases/1/cancel") as response:
            assert response.status == 405 and "POST" in response.headers["Allow"]
            page = await response.text()
        assert "Этот адрес не открывается как страница" in page
        the_panels_own_page(page)

        # A form without the page's security token is refused in words, with the header still there.
        async with http.post(f"{panel.base}/cases/1/cancel", data={"csrf": "forged", "reason": "x"}) as response:
            assert response.status == 403
            page = await response.text()
        assert "Дело №1 не отменено." in page and "обновите ту страницу" in page
        the_panels_own_page(page)
        assert f'value="{csrf}"' in page  # the header's logout form still works


async def test_an_english_admin_reads_them_in_english(harness: Harness) -> None:
    runner = await AdminPanel(harness.core, TOKEN, language="en").serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/?token={TOKEN}") as response:
                assert response.status == 200
            async with http.get(f"{base}/cases/987654") as response:
                assert response.status == 404
                page = await response.text()
    finally:
        await runner.cleanup()
    assert "There is no such page here" in page and "There is no such case." in page and "To the cases list" in page
    assert "Такого" not in page
    the_panels_own_page(page)


async def a_page_that_fails(request: web.Request) -> web.Response:
    """A page of the test's own, mounted beside the panel's: it fails as a page meeting a row it cannot read would."""
    raise ValueError("cannot read the case's data: {'inn': '7701234567'")


@pytest.mark.parametrize(
    ("language", "said"),
    [("ru", "На сервере что-то пошло не так: ошибка записана в журнал панели"),
     ("en", "Something went wrong on the server: the error is written to the panel")],
)  # fmt: skip
async def test_a_page_failing_on_our_side_is_the_panels_500_page_and_the_traceback_goes_to_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture, language: str, said: str
) -> None:
    panel = AdminPanel(harness.core, TOKEN, language=language)
    app = panel.app()
    app.router.add_get("/failing", a_page_that_fails)  # the test's own route, behind the panel's middlewares
    root = web.Application()
    root.add_subapp("/admin", app)
    runner = web.AppRunner(root)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}/admin"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/?token={TOKEN}") as response:
                assert response.status == 200
            with caplog.at_level(logging.ERROR, logger="admin.panel"):
                async with http.get(f"{base}/failing") as response:
                    assert response.status == 500 and response.content_type == "text/html"
                    page = await response.text()
    finally:
        await runner.cleanup()
    assert said in page
    the_panels_own_page(page)
    for inside in ("Traceback", "ValueError", "7701234567", "a_page_that_fails", "Internal Server Error"):
        assert inside not in page, inside
    (logged,) = [r for r in caplog.records if r.name == "admin.panel" and r.levelno == logging.ERROR]
    assert "GET /admin/failing" in logged.getMessage()
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], ValueError)
    assert "a_page_that_fails" in caplog.text  # the traceback, with the frame that failed
