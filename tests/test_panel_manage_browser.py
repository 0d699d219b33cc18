"""An admin manages the office from the panel on a phone, in a real browser (Debian's chromium): a definition
with a mistake is refused with its line, the fixed one is loaded and drawn, a newcomer is invited with a QR
code, a task is reassigned, a failed step is retried once its template is there; a forged CSRF token is
refused. One browser session, against the app serving its panel as `konveyer run` does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from playwright.async_api import Browser
from pydantic import SecretStr

from tests.chat import create_person
from tests.conftest import Harness, library_with
from tests.ports import free_port
from tests.test_panel_actions import DATA, add_letterhead, start_letter, the_case
from tests.test_panel_browser import browser, log_in, no_sideways_scroll, phone  # noqa: F401  (fixture)

TOKEN = "browser-test-admin-token"


async def test_on_a_phone_the_admin_loads_a_process_invites_reassigns_and_retries(
    tmp_path: Path,
    harness_factory: Callable[..., Awaitable[Harness]],
    browser: Browser,  # noqa: F811
) -> None:
    library = library_with(tmp_path)
    port = free_port()
    harness = await harness_factory(library_dir=library, admin_token=SecretStr(TOKEN), admin_port=port)
    served = f"http://127.0.0.1:{port}/admin"
    page = await phone(browser)
    assert await log_in(page, served) == 200

    # A definition with a mistake: refused, the mistake named with its line, and that line marked in the text.
    await page.goto(f"{served}/processes")
    await page.set_input_files("input[name=file]", str(DATA / "office_letter_broken.yaml"))
    async with page.expect_navigation():
        await page.click("#upload button[value=load]")
    problems = await page.locator("#problems").inner_text()
    assert "строка 19" in problems and "clerck" in problems
    assert "clerck" in await page.locator("#line-19.bad").inner_text()
    await no_sideways_scroll(page)

    # The fixed one is loaded and its diagram drawn.
    await page.set_input_files("input[name=file]", str(DATA / "office_letter.yaml"))
    async with page.expect_navigation():
        await page.click("#upload button[value=load]")
    assert page.url.endswith("/processes/office_letter?loaded=1")
    diagram = page.locator("img#diagram")
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await diagram.element_handle())
    await no_sideways_scroll(page)

    # A newcomer is invited as a clerk: the link and its QR code to scan; the link lets her in.
    await page.goto(f"{served}/people")
    await page.check("#invite-form input[name=role][value=clerk]")
    async with page.expect_navigation():
        await page.click("#invite-form button")
    qr = page.locator("img#qr")
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await qr.element_handle())
    link = await page.locator("#invite-link").inner_text()
    assert link.startswith("https://t.me/") and "?start=" in link
    await no_sideways_scroll(page)
    vera = await create_person(harness.http, harness.base, 5001, "Вера")
    await vera.send("/start " + link.split("?start=")[1])
    await vera.expect("Вера")

    anna = await harness.person("Анна", "clerk")
    await start_letter(anna, "Аренда склада")
    case = await the_case(harness, "Аренда склада")

    # The writing task waits in the clerks' pool: the admin gives it to Vera.
    await page.goto(f"{served}/cases/{case.id}")
    await page.select_option("form.reassign select[name=to]", label="Вера")
    async with page.expect_navigation():
        await page.click("form.reassign button")
    assert "Вера" in await page.locator("table.cards").nth(1).inner_text()
    assert "передана" in await page.locator("#history").inner_text()
    await no_sideways_scroll(page)

    # Vera finishes; the letter cannot be printed (no letterhead template yet): the case needs attention.
    await harness.settle()
    await vera.press("Готово", await vera.card("Подготовьте текст письма", button="Готово"))
    await harness.settle()
    await page.reload()
    assert "office_letter.docx" in await page.locator("#attention").inner_text()

    # A forged token is refused and changes nothing.
    status = await page.evaluate(
        """async (path) => (await fetch(path, {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'csrf=forged&reason=forged'})).status""",
        f"cases/{case.id}/cancel",
    )
    assert status == 403

    # The admin adds the template and retries: the letter is made, the case moves on.
    add_letterhead(library)
    async with page.expect_navigation():
        await page.click("#attention button")
    await harness.settle()
    await page.reload()
    assert await page.locator("#attention").count() == 0
    assert await page.locator("#stage").inner_text() == "Печать на бланке"
    assert "Письмо — Аренда склада.docx" in await page.locator("#files").inner_text()
    assert (await the_case(harness, "Аренда склада")).status == "active"


async def test_a_definition_that_loads_says_what_konveyer_check_warns_of(
    tmp_path: Path,
    harness_factory: Callable[..., Awaitable[Harness]],
    browser: Browser,  # noqa: F811
) -> None:
    """The office's letter gives English for most of its words but not for the case's title and the letter's file
    name. Checked in the panel, it is valid — and under that the admin reads, in the panel's language and apart
    from mistakes, the two places an English reader would get in Russian, each with its line, as `konveyer check`
    prints them; loaded, the process's page says them under the success as well."""
    port = free_port()
    await harness_factory(library_dir=library_with(tmp_path), admin_token=SecretStr(TOKEN), admin_port=port)
    served = f"http://127.0.0.1:{port}/admin"
    page = await phone(browser)
    assert await log_in(page, served) == 200

    await page.goto(f"{served}/processes")
    await page.set_input_files("input[name=file]", str(DATA / "office_letter.yaml"))
    async with page.expect_navigation():
        await page.click("#upload button[value=check]")
    assert "office_letter" in await page.locator("#valid").inner_text()
    assert await page.locator("#problems").count() == 0  # nothing is wrong with it
    warnings = page.locator("#warnings")
    said = await warnings.inner_text()
    assert "Предупреждения — определение загружается и так" in said, said
    assert "строка 9: start → title — только по-русски" in said, said
    assert "строка 29: stages → printing → on_enter → #1 → render → name — только по-русски" in said, said
    assert "warning" not in said and "is in Russian only" not in said, said  # the panel's language, not the CLI's
    # Below the success, in a warning's colour, not a mistake's.
    assert await page.locator("#valid + #warnings").count() == 1
    assert await warnings.locator("li.warning").count() == 2 and await warnings.locator(".error").count() == 0
    await no_sideways_scroll(page)

    await page.set_input_files("input[name=file]", str(DATA / "office_letter.yaml"))
    async with page.expect_navigation():
        await page.click("#upload button[value=load]")
    assert page.url.endswith("/processes/office_letter?loaded=1")
    said = await page.locator("#loaded + #warnings").inner_text()
    assert "строка 9: start → title — только по-русски" in said, said
    assert "строка 29:" in said, said
    await no_sideways_scroll(page)
    # The process's page opened another time (no upload just made) says nothing of them.
    await page.goto(f"{served}/processes/office_letter")
    assert await page.locator("#warnings").count() == 0
