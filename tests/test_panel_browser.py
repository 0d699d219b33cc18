"""The admin panel in a real browser at a phone's size: Playwright drives Debian's chromium (/usr/bin/chromium,
installed by .ci/run) against the app started with ADMIN_TOKEN/ADMIN_PORT, as `konveyer run` serves it."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from pydantic import SecretStr
from sqlalchemy import select

from admin.panel import AdminPanel
from db.models import Case
from tests.chat import Person
from tests.conftest import Harness
from tests.ports import free_port
from tests.test_admin_panel import png
from tests.test_dealer_order_again_e2e import KNIFE, knives_by_the_set, plain
from tests.test_dealer_orders_e2e import newest_order_id
from tests.test_dealer_portal_cart_e2e import cart
from tests.test_dealer_portal_e2e import add_to_cart, dealers, file_reclamation
from tests.test_weekly_orders_e2e import msk

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-admin-token"
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists() and not os.environ.get("CI"):
    # Only off CI: there .ci/run installs the browser, and a missing one must fail, not skip.
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium) and CI is unset: browser tests skipped",
        allow_module_level=True,
    )


async def register_with_photo(manager: Person) -> None:
    """Seed 1's request as the shop manager fills it, with a real photo of the defect."""
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    for question, answer in (
        ("Количество", "1"),
        ("Сумма закупки", "125 000"),
        ("Марка", "Longines"),
        ("Входящий номер", "ВХ-42"),
        ("ФИО сотрудника", "Иванова Марина"),
        ("Дата поступления", "18.12.2026"),
        ("Часы №1: Модель", "L2.793.4"),
        ("Серийный номер", "SN-777001"),
        ("Описание дефекта", "Отстают на 30 секунд в сутки"),
    ):
        await manager.expect(question)
        await manager.send(answer)
    await manager.expect("Фото дефекта")
    await manager.send_file("photo", png(40, 30), "defect.png")
    await manager.press("Готово", await manager.expect("Фото дефекта", "1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")


@pytest.fixture
async def served(harness: Harness) -> AsyncIterator[str]:
    """The app restarted with the panel switched on through its settings, as an operator would."""
    port = free_port()
    harness.settings = harness.settings.model_copy(update={"admin_token": SecretStr(TOKEN), "admin_port": port})
    await harness.restart()
    yield f"http://127.0.0.1:{port}/admin"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def phone(browser: Browser, locale: str | None = None) -> Page:
    """A phone's page; `locale` the browser's language (its Accept-Language), Playwright's en-US if not given."""
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    return await context.new_page()


async def log_in(page: Page, base: str, token: str = TOKEN) -> int:
    await page.goto(f"{base}/")
    await page.fill("input[name=token]", token)
    async with page.expect_navigation() as navigation:
        await page.click("form[action=login] button")
    response = await navigation.value
    assert response is not None
    return response.status


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a {PHONE['width']}px screen"


async def test_on_a_phone_the_admin_finds_the_case_and_sees_the_photo(
    harness: Harness, served: str, browser: Browser
) -> None:
    manager = await harness.person("Марина", "shop_manager")
    await harness.person("Сергей", "service_manager")
    await register_with_photo(manager)
    await harness.settle()

    page = await phone(browser)
    assert await log_in(page, served) == 200
    assert "token" not in page.url
    row = page.locator("tr.case[data-case='1']")
    await row.wait_for()
    assert "Брак зарегистрирован" in await row.locator(".stage").inner_text()
    assert "2026" in await row.locator(".deadline").inner_text()  # the open task's due date
    assert "Сергей" in await row.locator(".holder").inner_text()
    await no_sideways_scroll(page)
    # On a phone a row is a card: its cells stack, each with its label.
    assert await row.evaluate("r => getComputedStyle(r).display") == "block"

    await page.fill("input[name=q]", "SN-777001")  # a serial number, deep inside the list of watches
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url("**q=SN-777001**")
    assert await page.locator("tr.case").count() == 1
    await page.fill("input[name=q]", "Breguet")
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url("**q=Breguet**")
    assert await page.locator("tr.case").count() == 0

    await page.goto(f"{served}/cases/1")
    image = page.locator("#fields img").first
    await image.wait_for()
    await page.wait_for_function("img => img.complete", arg=await image.element_handle())
    assert await image.evaluate("img => img.naturalWidth") == 40  # loaded through the session, decoded
    history = await page.locator("#history").inner_text()
    assert "Марина: дело начато" in history and "case.started" not in history
    await no_sideways_scroll(page)


async def test_wrong_tokens_are_refused_then_throttled(served: str, browser: Browser) -> None:
    page = await phone(browser)
    for _ in range(4):
        assert await log_in(page, served, "a-wrong-guess-of-the-token") == 401
        assert "Неверный токен" in await page.locator("#error").inner_text()
    assert await log_in(page, served, "a-wrong-guess-of-the-token") == 429
    assert "Повторите через" in await page.locator("#throttled").inner_text()
    # The right token does not get through while the address waits.
    response = await page.goto(f"{served}/?token={TOKEN}")
    assert response is not None and response.status == 429


async def test_logout_ends_the_session_and_a_forged_csrf_token_is_refused(served: str, browser: Browser) -> None:
    page = await phone(browser)
    assert await log_in(page, served) == 200
    cookie = next(c for c in await page.context.cookies() if c["name"] == "konveyer_panel")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != TOKEN

    # A write from the page with a forged token: refused, and the session is untouched.
    status = await page.evaluate(
        """async () => (await fetch('logout', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'csrf=forged'})).status"""
    )
    assert status == 403
    response = await page.goto(f"{served}/people")
    assert response is not None and response.status == 200

    async with page.expect_navigation():
        await page.click("#logout")
    assert page.url.endswith("/admin/login")
    response = await page.goto(f"{served}/people")
    assert response is not None and response.status == 401
    assert await page.locator("input[name=token]").count() == 1


async def test_the_staff_read_reclamations_in_the_panel_by_the_colour_of_their_stage(
    harness: Harness, served: str, browser: Browser, tmp_path: Path
) -> None:
    """Seed 4: one reclamation just registered (blue), one taken into diagnosis (purple), in coloured rows on a
    phone and on a desk, as the definition's `colour:` gives them and as the chat's list marks them."""
    people = await dealers(harness, tmp_path / "1c")
    sergey, semyon = people["sergey"], people["semyon"]
    await file_reclamation(sergey, "SN-1")
    harness.clock.advance(minutes=5)
    await file_reclamation(sergey, "SN-2")
    accept = await semyon.card("Примите рекламацию в диагностику", "SN-2", button="Взять в работу")
    await semyon.press("Взять в работу", accept)
    await harness.settle()
    await semyon.send("/reclamations")
    listed = (await semyon.expect("Рекламации, сначала ранние"))["text"]
    assert re.search(r"🔵 №\d+ .*SN-1 — Зарегистрирована", listed)
    assert re.search(r"🟣 №\d+ .*SN-2 — Диагностика", listed)
    assert listed.index("SN-1") < listed.index("SN-2"), "oldest first"

    desk = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
    for page in (await phone(browser), desk):
        assert await log_in(page, served) == 200
        await page.goto(f"{served}/?process=reclamation")
        rows = page.locator("tr.case")
        await rows.first.wait_for()
        colours = {}
        for n in range(await rows.count()):
            row = rows.nth(n)
            stage = (await row.locator(".stage").inner_text()).strip()
            colours[stage] = await row.evaluate("r => getComputedStyle(r).backgroundColor")
        assert colours == {"Зарегистрирована": "rgb(227, 239, 255)", "Диагностика": "rgb(241, 230, 251)"}
        if page is not desk:
            await no_sideways_scroll(page)


async def test_the_request_page_says_a_positions_shortage_as_chat_does(
    harness: Harness, browser: Browser, tmp_path: Path
) -> None:
    """Seed 4: Anna asks forty sets of mower knives, thirty-five are in stock. Her summary in chat warns of it on
    the position's line; the admin panel's page of the request heads the position's block with the same line, the
    shortage in sets — in Russian, and in English for an English admin — so the office reads there what the dealer
    and the approver were told."""
    folder = tmp_path / "1c"
    anna = (await dealers(harness, folder))["anna"]
    await knives_by_the_set(harness, folder)
    await add_to_cart(anna, "нож", KNIFE)
    await anna.press("✏️ №1", await cart(anna, "Ваша корзина", KNIFE))
    await anna.expect("Сколько")
    await anna.send("40")
    await anna.press("Оформить заявку", await anna.expect("Ваша корзина", f"{KNIFE} × 40"))
    await anna.press("Предоплата", await anna.expect("Оплата"))
    await anna.press("Самовывоз", await anna.expect("Доставка"))
    await anna.press("Пропустить", await anna.expect("Комментарий"))
    summary = await anna.expect("Проверьте")
    in_chat = next(line for line in summary["text"].splitlines() if line.startswith("1. "))
    assert "⚠️ в наличии: 35 компл" in in_chat, in_chat
    await anna.press("Подтвердить", summary)
    await anna.expect("передана на согласование")
    order = await newest_order_id(harness)

    english = f"{KNIFE} (1111-9101-01) × 40 at 1,350.00 ₽ = 54,000.00 ₽ ⚠️ in stock: 35 sets"
    for lang, line, quantity in (("ru", in_chat.removeprefix("1. "), "40 компл"), ("en", english, "40 sets")):
        runner = await AdminPanel(harness.core, TOKEN, language=lang).serve("127.0.0.1", 0)
        try:
            page = await phone(browser)
            await page.goto(f"http://127.0.0.1:{runner.addresses[0][1]}/admin/?token={TOKEN}")
            await page.goto(f"http://127.0.0.1:{runner.addresses[0][1]}/admin/cases/{order}")
            block = page.locator("#fields .entry").first
            await block.wait_for()
            said = [plain(text).strip() for text in (await block.inner_text()).splitlines() if text.strip()]
            # The position as chat's card says it, numbered as there, then its fields.
            assert said[0] == plain(f"1. {line}"), said
            assert any(quantity in text for text in said[1:]), said
            await no_sideways_scroll(page)
        finally:
            await runner.cleanup()


async def test_the_weekly_cycles_productions_read_in_the_panel_as_on_the_cycles_card(
    harness: Harness, served: str, browser: Browser
) -> None:
    """Seed 2: the weekly cycle starts by itself on Thursday at 09:00 with its two productions. Its card in chat
    names each once («Производства: 1. №1»); the panel's page of the cycle says them the same way — not «№1», then
    «№1», then «Производство: №1», the number three times over."""
    await harness.person("Кирилл", "commercial_director")
    harness.clock.set(msk(24, 9, 5))
    assert await harness.tick() >= 1
    await harness.settle()
    async with harness.core.sessionmaker() as session:
        cycle = (await session.execute(select(Case.id).where(Case.process == "weekly_orders"))).scalar_one()
    page = await phone(browser)
    assert await log_in(page, served) == 200
    await page.goto(f"{served}/cases/{cycle}")
    blocks = page.locator("#fields .entry")
    await blocks.first.wait_for()
    said = [
        [line.strip() for line in (await blocks.nth(n).inner_text()).splitlines() if line.strip()]
        for n in range(await blocks.count())
    ]
    assert said == [["1. №1"], ["2. №2"]], said
    await no_sideways_scroll(page)
