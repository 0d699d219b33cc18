"""The Mini App for big orders in a real browser at a phone's size: a dealer taps «🛒 Большой заказ» in the chat,
the sandbox hands the launch URL Telegram would load (initData in its `#tgWebAppData=` fragment), and Debian's
chromium plays Telegram's web view. She searches, filters, puts four positions with quantities into the cart,
changes one in the cart, gives payment and delivery and submits: the order request is the one the chat's cart makes,
at her organisation's prices, and her chat says so.

Telegram opens only HTTPS, so the button's address is `https://konveyer.test/app/order`; the browser's requests to
that host are carried to the site server over plain HTTP on the loopback (Playwright's routing), unchanged."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright, expect
from sqlalchemy import select

from app.settings import SANDBOX_TOKEN
from db.models import Case, Company
from sandbox.webapp import launch_url, sign_init_data
from tests.conftest import Harness
from tests.test_dealer_portal_e2e import dealers
from tests.test_miniapp_e2e import WEBAPP_URL, mini_app_harness, tap_big_order

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
WAIT = 20_000  # ms: each step is a round trip to the server, which shares two cores with other suites
PUBLIC = WEBAPP_URL.removesuffix("/app/order")

if not CHROMIUM.exists() and not os.environ.get("CI"):
    # Only off CI: there .ci/run installs the browser, and a missing one must fail, not skip.
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium) and CI is unset: browser tests skipped",
        allow_module_level=True,
    )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def phone_page(browser: Browser, served: str) -> tuple[BrowserContext, Page]:
    """A phone's browser whose requests to the Mini App's public address reach the test's server."""
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="ru-RU")
    context.set_default_timeout(WAIT)
    page = await context.new_page()

    async def to_our_server(route: Route) -> None:
        response = await route.fetch(url=route.request.url.replace(PUBLIC + "/app", served))
        await route.fulfill(response=response)

    await page.route(PUBLIC + "/**", to_our_server)
    return context, page


async def put(page: Page, name: str, count: int) -> None:
    """The product's row in the results: its quantity, then «Добавить»."""
    row = page.locator("#results .item").filter(has_text=name)
    await row.locator(".qty").fill(str(count))
    await row.locator(".add").click()
    await expect(page.locator("#cart .line").filter(has_text=name)).to_contain_text(f"× {count}", timeout=WAIT)


async def test_a_dealer_orders_many_positions_in_the_mini_app_on_a_phone(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path, browser: Browser
) -> None:
    harness, served = await mini_app_harness(harness_factory)
    anna = (await dealers(harness, tmp_path / "1c"))["anna"]
    launch = str((await tap_big_order(harness, anna))["launch_url"])
    assert launch.startswith(WEBAPP_URL + "#tgWebAppData=")

    context, page = await phone_page(browser, served)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(PUBLIC) else None)
    await page.goto(launch)
    await expect(page.locator("#who")).to_have_text("Анна · ООО Сад", timeout=WAIT)
    await expect(page.locator("#title")).to_have_text("🛒 Большой заказ", timeout=WAIT)

    # Words; the group and «in stock»; quantities straight from the results.
    await page.fill("#q", "газонокосилка stiga")
    await page.click("#find-button")
    await expect(page.locator("#results .item")).to_have_count(3, timeout=WAIT)
    await expect(page.locator("#results .item").first).to_contain_text("31\xa0500,00\xa0₽", timeout=WAIT)
    await put(page, "Combi 48", 2)
    await put(page, "Twinclip 55", 1)
    await page.fill("#q", "SBC")
    await page.click("#find-button")
    await put(page, "Триммер STIGA SBC 900", 3)
    await page.fill("#q", "")
    parts = await page.locator("#group option", has_text="Запчасти").get_attribute("value")
    await page.select_option("#group", value=parts)
    await page.check("#stock")
    await page.click("#find-button")
    await expect(page.locator("#results .item")).to_have_count(1, timeout=WAIT)
    await put(page, "Нож для газонокосилки", 10)
    await expect(page.locator("#total")).to_have_text("184\xa0600,00\xa0₽", timeout=WAIT)
    # In the cart: twelve knives rather than ten.
    await page.locator("#cart .line").filter(has_text="Нож").locator(".qty").fill("12")
    await page.locator("#cart .line").filter(has_text="Нож").locator(".qty").dispatch_event("change")
    await expect(page.locator("#total")).to_have_text("187\xa0300,00\xa0₽", timeout=WAIT)

    # Payment and delivery: the address is asked only for a delivery.
    address = page.locator("label[data-field=delivery_address]")
    await expect(address).to_be_hidden(timeout=WAIT)
    await page.select_option("select[name=payment_type]", label="Отсрочка платежа")
    await page.select_option("select[name=delivery_type]", label="Доставка по адресу")
    await expect(address).to_be_visible(timeout=WAIT)
    await page.fill("input[name=delivery_address]", "Москва, Садовая ул., 1")
    await page.fill("textarea[name=comment]", "Разгрузка с 9 до 18")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    await page.click("#submit")
    await expect(page.locator("#done")).to_contain_text("оформлена из Mini App", timeout=WAIT)
    assert outside == [], "the page loads nothing from the internet"
    await context.close()

    async with harness.core.sessionmaker() as session:
        order = (await session.execute(select(Case).where(Case.process == "order_request"))).scalar_one()
        garden = (await session.execute(select(Company).where(Company.name == "ООО Сад"))).scalar_one()
    data = order.data
    assert order.company_id == garden.id and order.stage == "region_approval"
    assert [(p["name"], p["quantity"], p["price"]) for p in data["positions"]] == [
        ("Газонокосилка STIGA Combi 48", 2, "31500.00"),
        ("Газонокосилка STIGA Twinclip 55", 1, "52000.00"),
        ("Триммер STIGA SBC 900", 3, "18700.00"),
        ("Нож для газонокосилки 48 см", 12, "1350.00"),
    ], "her organisation's wholesale prices, snapshotted"
    assert data["amount"] == "187300.00" and data["payment_type"] == "deferred"
    assert (data["delivery_type"], data["delivery_address"]) == ("delivery", "Москва, Садовая ул., 1")
    assert data["comment"] == "Разгрузка с 9 до 18"
    await anna.expect(f"№{order.id}", "передана на согласование")
    await anna.expect(f"Заявка №{order.id} оформлена из Mini App", "позиций — 4", "187\xa0300,00\xa0₽")


async def test_someone_who_may_not_order_fills_the_cart_in_the_mini_app_and_is_told_who_orders(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path, browser: Browser
) -> None:
    """A dealer's service engineer (no «Большой заказ» in his chat) opening the page anyway: the catalogue and the
    cart work, the order form is not there, and the page says who places orders."""
    harness, served = await mini_app_harness(harness_factory)
    sergey = (await dealers(harness, tmp_path / "1c"))["sergey"]
    user = json.dumps({"id": sergey.id, "first_name": sergey.name})
    signed = sign_init_data(SANDBOX_TOKEN, {"user": user, "auth_date": str(int(harness.clock.now().timestamp()))})
    context, page = await phone_page(browser, served)
    await page.goto(launch_url(WEBAPP_URL, signed))
    await expect(page.locator("#who")).to_have_text("Сергей · ООО Сад", timeout=WAIT)
    await page.fill("#q", "Combi 48")
    await page.click("#find-button")
    await expect(page.locator("#results .item")).to_have_count(1, timeout=WAIT)
    await put(page, "Combi 48", 2)
    await expect(page.locator("#details-title")).to_contain_text("Заявки оформляет менеджер", timeout=WAIT)
    await expect(page.locator("#submit")).to_be_hidden(timeout=WAIT)
    await expect(page.locator("#details")).to_be_hidden(timeout=WAIT)
    await context.close()
