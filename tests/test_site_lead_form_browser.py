"""The site's lead form in a real browser at a phone's size (Playwright, Debian's chromium): a visitor who typed
a phone that is not one reads what is wrong by the field's label, never by the form's internal names, and sends
the corrected form — in the language of the visitor's browser."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, Page
from sqlalchemy import func, select

from db.models import Case
from tests.chat import Person
from tests.conftest import Harness
from tests.ports import free_port
from tests.test_panel_browser import browser, phone  # noqa: F401  (fixture)

TOKEN = "site-form-token-7f3a9c"


async def _a_visitor_opens_the_form(
    harness_factory: Callable[..., Awaitable[Harness]], browser: Browser, locale: str  # noqa: F811
) -> tuple[Harness, Person, Page]:
    """A company whose site sends its leads to the bot (a sales manager takes them, a director above him); a
    visitor opens the site's form on a phone whose browser reads `locale`."""
    office = await harness_factory(
        leads_port=free_port(), lead_tokens={"site": TOKEN}, lead_rate_per_minute=10, leads_page_token=True
    )
    manager = await office.person("Менеджер Ольга", "sales_manager")
    await office.person("Директор Олег", "director")
    page = await phone(browser, locale=locale)
    await page.goto(f"http://127.0.0.1:{office.settings.leads_port}/leads/site")
    return office, manager, page


async def test_on_a_phone_the_visitor_reads_the_wrong_field_by_its_label_and_sends_it_corrected(
    harness_factory: Callable[..., Awaitable[Harness]], browser: Browser  # noqa: F811
) -> None:
    office, manager, page = await _a_visitor_opens_the_form(harness_factory, browser, "ru-RU")

    await page.fill("input[name=organisation]", "Клиника «Здоровье»")
    await page.fill("input[name=name]", "Анна Петрова")
    await page.fill("input[name=phone]", "abc")
    await page.fill("input[name=email]", "bad")
    await page.click("button[type=submit]")
    answer = page.locator("#answer")
    await answer.filter(has_text="Проверьте поля").wait_for()
    shown = await answer.inner_text()
    assert shown.splitlines()[0] == "Проверьте поля: Телефон, Эл. почта"
    assert "Телефон: Это не номер телефона" in shown and "Эл. почта: Это не адрес электронной почты" in shown
    assert "phone" not in shown and "email" not in shown  # the posted names stay the page's own business
    assert await page.get_attribute("input[name=phone]", "aria-invalid") == "true"
    async with office.core.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Case))).scalar_one() == 0

    # Corrected (the e-mail is optional: left empty), the form is taken and the lead is a manager's task.
    await page.fill("input[name=phone]", "8 900 123-45-67")
    await page.fill("input[name=email]", "")
    await page.click("button[type=submit]")
    await answer.filter(has_text="Спасибо! Заявка получена").wait_for()
    assert await page.get_attribute("input[name=phone]", "aria-invalid") is None
    card = await manager.card("Возьмите заявку в работу", button="Взять в работу")
    assert "Клиника «Здоровье»" in card["text"]


async def test_a_visitor_whose_browser_reads_english_gets_the_form_and_its_answers_in_english(
    harness_factory: Callable[..., Awaitable[Harness]], browser: Browser  # noqa: F811
) -> None:
    """The company works in Russian; a visitor whose phone is set to English reads the form's labels, what is
    wrong and the thanks in English, and the lead is the managers' task as any other."""
    _, manager, page = await _a_visitor_opens_the_form(harness_factory, browser, "en-GB")
    assert await page.get_attribute("html", "lang") == "en"
    assert "Phone *" in await page.locator("form").inner_text()

    await page.fill("input[name=organisation]", "Clinic Zdorovye")
    await page.fill("input[name=name]", "Anna Petrova")
    await page.fill("input[name=phone]", "abc")
    await page.click("button[type=submit]")
    answer = page.locator("#answer")
    await answer.filter(has_text="Please check the fields").wait_for()
    shown = await answer.inner_text()
    assert shown.splitlines()[0] == "Please check the fields: Phone", shown
    assert "Phone: That is not a phone number" in shown, shown

    await page.fill("input[name=phone]", "8 900 123-45-67")
    await page.click("button[type=submit]")
    await answer.filter(has_text="Thank you! Your request is received").wait_for()
    card = await manager.card("Возьмите заявку в работу", button="Взять в работу")
    assert "Clinic Zdorovye" in card["text"]
