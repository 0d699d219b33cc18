"""The start of seed 1 played in the sandbox's web chat, in a real browser at a phone's size (Playwright with
Debian's chromium, launched as tests/test_panel_browser.py does): each person in turn, by tapping and typing,
and the photos of the defect seen as pictures where they matter — hers above the summary and with the warehouse
head's card."""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from tests.conftest import Harness
from tests.test_admin_panel import png
from tests.test_panel_browser import PHONE, no_sideways_scroll, phone
from tests.test_panel_browser import browser as browser  # the fixture: chromium, started once per test

WAIT = 30_000  # ms; one message a second per chat, on a busy machine


async def chat_of(browser: Browser, harness: Harness, person_id: int) -> Page:
    page = await phone(browser)
    await page.goto(f"{harness.base}/?user={person_id}")
    await page.locator("#chat .row").first.wait_for(timeout=WAIT)
    return page


def newest(page: Page) -> Locator:
    return page.locator("#chat .row.bot").last


async def bot_asks(page: Page, *fragments: str) -> Locator:
    row = newest(page)
    for fragment in fragments:
        await expect(row).to_contain_text(fragment, timeout=WAIT)
    return row


async def tap(row: Locator, button: str) -> None:
    await row.locator(".ikb button", has_text=button).first.click()


async def answer(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")


async def pictures_before(row: Locator) -> list[int]:
    """The widths of the bot's pictures above `row`: the files a card brings come before it, its buttons last."""
    widths: list[int] = await row.evaluate(
        """row => {
            const rows = [...document.querySelectorAll('#chat .row.bot')];
            return rows.slice(0, rows.indexOf(row))
                .flatMap(r => [...r.querySelectorAll('img')]).map(img => img.complete ? img.naturalWidth : 0);
        }"""
    )
    return widths


async def test_on_a_phone_the_defect_photos_are_seen_in_the_summary_and_on_the_heads_card(
    harness: Harness, browser: Browser
) -> None:
    manager = await harness.person("Марина", "shop_manager")
    service = await harness.person("Сергей", "service_manager")
    head = await harness.person("Кладовщик Иван", "warehouse_head")

    page = await chat_of(browser, harness, manager.id)
    await page.locator("#rkb button", has_text="Начать процесс").click()
    await tap(await bot_asks(page, "Какой процесс"), "Возврат бракованных часов")
    await tap(await bot_asks(page, "Поставщик"), "Альфа")
    for question, text in (
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
        await bot_asks(page, question)
        await answer(page, text)
    await bot_asks(page, "Фото дефекта")
    for n, (width, height) in enumerate(((64, 48), (48, 64))):
        # The phone's camera roll: the web chat's paper clip opens a file chooser.
        async with page.expect_file_chooser() as chooser:
            await page.click("#attach")
        await (await chooser.value).set_files({"name": f"defect{n}.png", "mimeType": "image/png",
                                               "buffer": png(width, height)})  # fmt: skip
        await bot_asks(page, "Фото дефекта", f"Получено: {n + 1}")
    await tap(newest(page), "Готово")

    summary = await bot_asks(page, "Проверьте")
    await expect(summary).to_contain_text("Фото дефекта: 2 фото")
    assert "defect0.png" not in await summary.inner_text()  # counted, not named
    # Her photos are in her chat, right above the summary, to check before «Confirm»; the bot sends none back.
    await expect(page.locator("#chat .row.me img")).to_have_count(2, timeout=WAIT)
    await expect(page.locator("#chat .row.bot img")).to_have_count(0)
    await no_sideways_scroll(page)
    await tap(page.locator("#chat .row.bot", has_text="Проверьте").last, "Подтвердить")
    await bot_asks(page, "зарегистрировано")

    page = await chat_of(browser, harness, service.id)
    await tap(await bot_asks(page, "Переместите товар на склад сервиса в 1С"), "Готово")

    page = await chat_of(browser, harness, head.id)
    card = page.locator("#chat .row.bot", has_text="Подтвердите наличие дефекта").first
    await card.wait_for(timeout=WAIT)
    await expect(card).to_contain_text("L2.793.4")
    await expect(card.locator(".ikb button", has_text="Брак подтверждён")).to_be_visible()
    # The album arrives with the card, above it (its buttons stay at the bottom): both pictures decoded and within
    # the phone's width.
    await expect(page.locator("#chat .row.bot img")).to_have_count(2, timeout=WAIT)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#chat .row.bot img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert sorted(await pictures_before(card)) == [48, 64]
    for img in await page.locator("#chat .row.bot img").all():
        box = await img.bounding_box()
        assert box is not None and box["width"] > 0 and box["x"] + box["width"] <= PHONE["width"]
    await no_sideways_scroll(page)


async def test_on_a_phone_three_photos_picked_at_once_are_one_album_and_one_answer(
    harness: Harness, browser: Browser
) -> None:
    """The camera roll's multiple choice: the web chat sends the photos as Telegram's client does (one album), and the
    bot asks its question once, counting all three, instead of once a photo."""
    manager = await harness.person("Марина", "shop_manager")
    page = await chat_of(browser, harness, manager.id)
    await page.locator("#rkb button", has_text="Начать процесс").click()
    await tap(await bot_asks(page, "Какой процесс"), "Возврат бракованных часов")
    await tap(await bot_asks(page, "Поставщик"), "Альфа")
    for question, text in (
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
        await bot_asks(page, question)
        await answer(page, text)
    await bot_asks(page, "Фото дефекта")
    async with page.expect_file_chooser() as chooser:
        await page.click("#attach")
    await (await chooser.value).set_files([
        {"name": f"IMG_{n}.png", "mimeType": "image/png", "buffer": png(40 + n, 30)} for n in range(3)
    ])  # fmt: skip
    await expect(page.locator("#chat .row.me img")).to_have_count(3, timeout=WAIT)
    await bot_asks(page, "Фото дефекта", "Получено: 3")
    await harness.settle()
    await expect(page.locator("#chat .row.bot", has_text="Фото дефекта")).to_have_count(2)  # the first ask, and one
    await tap(newest(page), "Готово")
    await expect(await bot_asks(page, "Проверьте")).to_contain_text("Фото дефекта: 3 фото")
