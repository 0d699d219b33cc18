"""Representatives' figures in chat: the regional representative asks `/figures` and gets a chart of what each of
her region's dealers ordered and was shipped this month, picks another period with a button, and gets the same
numbers as an Excel file; the other region's dealer is on none of it."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from db.models import StoredFile, User
from tests.chat import Person
from tests.conftest import Harness
from tests.test_case_cancel_e2e import cancel_case
from tests.test_figures import order, shipped_by_1c
from tests.test_organisations_e2e import dealer_person, organisation


async def user(harness: Harness, name: str) -> User:
    async with harness.core.sessionmaker() as session:
        return (await session.execute(select(User).where(User.name == name))).scalar_one()


async def chart_png(harness: Harness, person: Person, *caption: str) -> dict[str, object]:
    """The chart came as a photo; what the bot uploaded is a valid PNG."""
    message = await person.expect(*caption)
    assert message["photos"], f"{message['text']!r} came without a picture"
    with Image.open(io.BytesIO(await person.download(message["photos"][0]["url"]))) as seen:
        assert seen.size[0] > 300
    async with harness.core.sessionmaker() as session:
        who = (await session.execute(select(User).where(User.tg_id == person.id))).scalar_one()
        stored = (
            await session.execute(
                select(StoredFile)
                .where(StoredFile.uploaded_by == who.id, StoredFile.file_name == "figures.png")
                .order_by(StoredFile.id.desc())
                .limit(1)
            )
        ).scalar_one()
    data = harness.core.files.path(stored).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.size[0] > 300
        image.verify()
    return message


async def test_a_regional_representative_gets_her_dealers_figures_as_a_chart_and_excel(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    harness = await harness_factory()
    await organisation(harness, "ООО Сад region=Москва inn=7701234560 price=Оптовая")
    await organisation(harness, "ООО Лес region=Москва inn=7702234563 price=Оптовая")
    await organisation(harness, "ООО Инструмент region=Казань inn=1655000003 price=Розничная")
    await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    await dealer_person(harness, "Лев", "ООО Лес", "Менеджер дилера")
    boris = await dealer_person(harness, "Борис", "ООО Инструмент", "Менеджер дилера")
    regina = await harness.person("Регина", "regional_rep")
    await harness.admin.send(f"/region {(await user(harness, 'Регина')).id} Москва")
    await harness.admin.expect("Регина", "Москва")
    anna, lev, boris_row, regina_row = [await user(harness, n) for n in ("Анна", "Лев", "Борис", "Регина")]
    # Kazan's representative is not set up with a region here: she approves Инструмент's request.
    karina_chat = await harness.person("Карина", "regional_rep")
    karina = await user(harness, "Карина")

    # This month: Сад 120 000 ₽, shipped by 1C; Лес 45 500,50 ₽ approved; Инструмент (another region) 99 000 ₽.
    garden = await order(harness.core, anna, regina_row, "120000.00")
    await order(harness.core, lev, regina_row, "45500.50")
    await order(harness.core, boris_row, karina, "99000.00")
    today = harness.clock.now().date().isoformat()
    await shipped_by_1c(harness.core, garden, today)

    # The menu has the button; the answer is the chart with the same numbers in its caption.
    await regina.send("/figures")
    chart = await chart_png(harness, regina, "Отгрузки и продажи\nЭтот месяц", "ООО Сад")
    caption = str(chart["text"])
    assert "ООО Сад: заказано 120\xa0000,00\xa0₽ (1), отгружено 120\xa0000,00\xa0₽ (1)" in caption
    assert "ООО Лес: заказано 45\xa0500,50\xa0₽ (1), отгружено 0,00\xa0₽ (0)" in caption
    assert "Инструмент" not in caption and "99\xa0000" not in caption
    assert "month" not in caption and "shipped" not in caption  # no internal key reaches her

    # «📊 Excel»: exactly the figures shown, as numbers.
    await regina.press("📊 Excel", chart)
    document = (await regina.expect("Этот месяц"))["document"]
    sheet = load_workbook(io.BytesIO(await regina.download(document["url"]))).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [
        ["Дилер", "Заявок", "Заказано, ₽", "Отгрузок", "Отгружено, ₽"],
        ["ООО Сад", 1, 120000, 1, 120000],
        ["ООО Лес", 1, 45500.5, 0, 0],
        ["Итого", 2, 165500.5, 1, 120000],
    ]

    # Last month had nothing: a line says so, with the period buttons to go back.
    await regina.press("Прошлый месяц", chart)
    await regina.expect("За этот период нет одобренных заявок и отгрузок")

    # Karina, with no region set yet, approves every region's requests: she counts every dealer, Инструмент too.
    await karina_chat.send("/figures")
    theirs = str((await chart_png(harness, karina_chat, "Отгрузки и продажи", "ООО Инструмент"))["text"])
    assert "ООО Инструмент: заказано 99\xa0000,00\xa0₽ (1)" in theirs and "ООО Сад" in theirs and "ООО Лес" in theirs

    # The other region's dealer sees his own figures only.
    await boris.send("📈 Показатели")
    own = await chart_png(harness, boris, "Отгрузки и продажи", "ООО Инструмент")
    assert "Сад" not in str(own["text"]) and "Лес" not in str(own["text"])


async def test_an_order_cancelled_after_its_approval_is_not_counted_as_ordered(
    harness_factory: Callable[..., Awaitable[Harness]],
) -> None:
    """A cancelled case keeps the stage it was cancelled at («Одобрена, передаётся в 1С»): it is still no order."""
    harness = await harness_factory()
    await organisation(harness, "ООО Сад region=Москва inn=7701234560 price=Оптовая")
    anna_chat = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")
    regina = await harness.person("Регина", "regional_rep")
    anna, regina_row = await user(harness, "Анна"), await user(harness, "Регина")
    await order(harness.core, anna, regina_row, "120000.00")
    withdrawn = await order(harness.core, anna, regina_row, "45500.50")

    await anna_chat.send(f"/case {withdrawn}")
    await cancel_case(anna_chat, await anna_chat.card(f"№{withdrawn}", button="Отменить дело"), "Клиент отказался")
    for person in (regina, anna_chat):
        await person.send("/figures")
        caption = str((await chart_png(harness, person, "Отгрузки и продажи", "ООО Сад"))["text"])
        assert "ООО Сад: заказано 120\xa0000,00\xa0₽ (1), отгружено 0,00\xa0₽ (0)" in caption, caption
