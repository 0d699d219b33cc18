"""Digests: the director gets a morning digest on working days (not on a weekend or a holiday) of what is late,
due today, stuck and moved, with a chart; anyone may ask for one with /digest, sees only what they may see, and
gets each group's list or Excel file from the digest's buttons."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import matplotlib.colors
import matplotlib.image
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from db.models import StoredFile, Task, Timer, User
from flows.runtime import START_TASK
from services.charts import Series, bar_chart
from tests.chat import Person
from tests.conftest import Harness
from tests.test_case_cancel_e2e import cancel_case
from tests.test_defect_return_e2e import register_defect
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tests.test_diagrams_e2e import picture
from tests.test_fulfillment_e2e import a_quote_left_at_its_first_question, an_offer_for_the_director
from tests.test_fulfillment_e2e import fulfillment as fulfillment  # the fixture: the fulfillment warehouse's people

MSK = ZoneInfo("Europe/Moscow")  # the company's time zone (the default setting)
HEADING = "📊 Сводка"
MOVE_TO_SERVICE = "Переместите товар на склад сервиса в 1С"


def morning(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=MSK)


async def digests_of(person: Person) -> list[str]:
    return [m["text"] for m in await person.bot_messages() if (m.get("text") or "").startswith(HEADING)]


async def open_work(shop: Harness) -> tuple[list[Task], list[Task]]:
    """The open tasks of the cases (not the half-filled requests), and those of them past their deadline now."""
    async with shop.core.sessionmaker() as session:
        tasks = list(
            (await session.execute(select(Task).where(Task.status == "open", Task.key != START_TASK))).scalars()
        )
    now = shop.clock.now()
    return tasks, [t for t in tasks if t.due_at is not None and t.due_at < now]


async def chart_received(shop: Harness, person: Person) -> None:
    """The chart came as a photo the person can open, and what the bot uploaded is a valid PNG."""
    _, delivered = await picture(person, "Открытая и просроченная работа")
    with Image.open(io.BytesIO(delivered)) as photo:  # Telegram (and the sandbox) re-encodes photos as JPEG
        assert photo.size[0] > 300 and photo.size[1] > 100
    async with shop.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == person.id))).scalar_one()
        stored = (
            await session.execute(
                select(StoredFile)
                .where(StoredFile.uploaded_by == user.id, StoredFile.file_name == "digest.png")
                .order_by(StoredFile.id.desc())
                .limit(1)
            )
        ).scalar_one()
    data = shop.core.files.path(stored).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        image.verify()
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 300


async def test_the_director_gets_the_morning_digest_on_working_days_and_not_on_holidays(shop: Harness) -> None:
    director, manager, service = shop.people["Директор Пётр"], shop.people["Марина"], shop.people["Сергей"]
    # Monday 21 December: two defects are registered; the service manager must move each within a working day.
    await register_defect(manager)
    await register_defect(manager, supplier="Helvetia")
    await shop.tick()  # the director, by his role, is subscribed at 09:00

    # Tuesday 09:00: both moves are due today (18:00); nothing is late yet.
    await shop.move_to(morning(2026, 12, 22))
    await chart_received(shop, director)
    text = (await director.expect(HEADING, "22.12.2026 09:00"))["text"]
    assert "📅 Срок сегодня: 2" in text and "⏰" not in text and MOVE_TO_SERVICE in text
    assert "Сергей: открыто 2, просрочено 0" in text
    # What the open returns are worth (the process names its purchase sum as a case's amount): 2 × 125 000 ₽.
    worth = "на сумму 250\xa0000,00\xa0₽"
    assert f"Возврат бракованных часов поставщику: дел 2, открытых задач 2, просрочено 0, {worth}" in text
    assert "defect_return" not in text and "move_to_service" not in text and "service_manager" not in text

    # Sergey moves one case's goods on Tuesday morning; the other he forgets.
    await shop.advance(hours=2)
    await service.press("Готово", await service.card(MOVE_TO_SERVICE, button="Готово"))
    # The director looks at his digest now: the move is in it, and it stays in tomorrow's — the moves count from
    # the digest sent at its hour, not from one he asked for, and the heading says from when.
    await shop.advance(hours=1)
    await director.send("/digest")
    await director.press("Прислать сейчас", await director.expect("Сводка приходит вам по рабочим дням в 09:00"))
    await chart_received(shop, director)
    asked = (await director.expect(HEADING, "22.12.2026 12:00"))["text"]
    assert "🔄 Сдвинулись с 22.12.2026 09:00: 1" in asked and "прошлой сводки" not in asked, asked
    # Asked again four minutes later: the same move, said as the same period — not a new one «since the last».
    await shop.advance(minutes=4)
    await director.press("Прислать сейчас", await director.card("Сводка приходит вам", button="Прислать сейчас"))
    again = (await director.expect(HEADING, "22.12.2026 12:04"))["text"]
    assert "🔄 Сдвинулись с 22.12.2026 09:00: 1" in again, again

    # Wednesday 09:00: the forgotten move is 15 hours late; the first case moved on to the inspection.
    await shop.move_to(morning(2026, 12, 23))
    text = (await director.expect(HEADING, "23.12.2026 09:00"))["text"]
    tasks, overdue = await open_work(shop)
    assert len(tasks) == 2 and len(overdue) == 1
    assert f"⏰ Просрочено: {len(overdue)}" in text
    assert f"«{MOVE_TO_SERVICE}», Сергей, опоздание 15 ч 0 мин" in text
    assert "🔄 Сдвинулись с 22.12.2026 09:00: 1" in text
    assert "Брак зарегистрирован → Проверка брака на складе" in text
    # The forgotten case is stuck at its first stage: past the deadline the stage gave its task.
    assert "🐢 Застряли на этапе: 1" in text and "«Брак зарегистрирован» с 21.12.2026" in text
    assert "(норма: до 22.12.2026 18:00)" in text
    assert "Сергей: открыто 1, просрочено 1" in text and "Кладовщик Иван: открыто 1, просрочено 0" in text
    assert f"дел 2, открытых задач {len(tasks)}, просрочено {len(overdue)}" in text
    assert director.buttons(await director.find(HEADING, "23.12.2026")) == [
        "📋 Просрочено (1)",
        "📊 Excel",
        "📋 Застряли на этапе (1)",
        "📊 Excel",
        "📋 Сдвинулись с 22.12.2026 09:00 (1)",
        "📊 Excel",
    ]
    assert len(await digests_of(director)) == 4

    # Saturday is not a working day: Thursday's digest, due while the bot was not looking, is not sent then.
    await shop.move_to(morning(2026, 12, 26))
    assert len(await digests_of(director)) == 4
    # 1 January 2027 is a public holiday: no digest; the next one is on the first working day after the holidays.
    await shop.move_to(morning(2027, 1, 1))
    assert len(await digests_of(director)) == 4
    async with shop.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == director.id))).scalar_one()
        pending = [
            t.due_at
            for t in (await session.execute(select(Timer).where(Timer.kind == "digest", Timer.status == "pending")))
            .scalars()
            if t.payload["user_id"] == user.id
        ]
    assert pending == [morning(2027, 1, 11)]
    await shop.move_to(morning(2027, 1, 11))
    await director.expect(HEADING, "11.01.2027 09:00")
    assert len(await digests_of(director)) == 5


async def test_anyone_asks_for_a_digest_in_chat_and_gets_each_group_as_a_list_and_an_excel_file(shop: Harness) -> None:
    director, manager = shop.people["Директор Пётр"], shop.people["Марина"]
    await register_defect(manager)
    await shop.move_to(morning(2026, 12, 23, 10))  # the move to the service warehouse is a day late

    # Someone whose processes have no cases gets a one-line digest that says so.
    seller = await shop.person("Кирилл", "commercial_director")
    await seller.send("/digest")
    menu = await seller.expect("Вы не получаете сводку")
    await seller.press("10:00", menu)
    edited = await seller.wait_for("Сводка приходит вам по рабочим дням в 10:00")
    assert "✓ 10:00" in seller.buttons(edited)
    await seller.press("10:00", edited)  # pressed again: still the one message, never a copy of it
    await seller.press("12:00", edited)
    menu = await seller.wait_for("Сводка приходит вам по рабочим дням в 12:00")
    assert menu["message_id"] == edited["message_id"]
    assert "✓ 12:00" in seller.buttons(menu) and "✓ 10:00" not in seller.buttons(menu)
    assert len([m for m in await seller.bot_messages() if "Сводка приходит" in (m.get("text") or "")]) == 1
    await seller.press("Прислать сейчас", menu)
    empty = (await seller.expect(HEADING))["text"]
    assert "Всё спокойно" in empty and "\n" not in empty

    # The director asks for his now: the overdue group opens as a list and as an Excel file.
    await director.send("/digest")
    await director.press("Прислать сейчас", await director.expect("Сводка приходит вам по рабочим дням в 09:00"))
    await chart_received(shop, director)
    digest = await director.expect(HEADING, "⏰ Просрочено: 1")
    await director.press("Просрочено", digest)
    listed = (await director.expect("Просрочено: 1", MOVE_TO_SERVICE))["text"]
    assert "Сергей" in listed and "16 ч 0 мин" in listed  # due Tuesday 18:00, now Wednesday 10:00
    excel = next(k["callback_data"] for row in digest["inline_keyboard"] for k in row if k["text"] == "📊 Excel")
    await director.press_data(digest["message_id"], excel)
    document = (await director.expect("Просрочено: 1"))["document"]
    sheet = load_workbook(io.BytesIO(await director.download(document["url"]))).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Дело", "Процесс", "Задача", "Исполнитель", "Срок", "Опоздание"]
    assert len(rows) == 2 and rows[1][2] == MOVE_TO_SERVICE and rows[1][3] == "Сергей" and rows[1][5] == "16 ч 0 мин"

    # Turned off, it does not come the next morning (and his role does not turn it back on).
    await director.send("/digest")
    await director.press("Отключить", await director.expect("Сводка приходит вам"))
    await director.wait_for("Вы не получаете сводку")  # the same message, edited
    before = len(await digests_of(director))
    await shop.move_to(morning(2026, 12, 24))
    assert len(await digests_of(director)) == before


async def test_a_case_cancelled_since_the_last_digest_is_among_what_moved(shop: Harness) -> None:
    """A case cancelled where it stood entered no stage, but it left the work: the digest lists it with what moved
    («Брак зарегистрирован → Отменено»), so the director is not left wondering where it went. With nothing open
    then, no chart comes: it would be an empty axis."""
    director, manager = shop.people["Директор Пётр"], shop.people["Марина"]
    await register_defect(manager)
    await manager.send("/case 1")
    await cancel_case(manager, await manager.card("№1", button="Отменить дело"), "Клиент забрал часы")
    await director.send("/digest")
    await director.press("Прислать сейчас", await director.card("сводку", button="Прислать сейчас"))
    text = (await director.expect(HEADING, "Сдвинулись"))["text"]
    assert "🔄 Сдвинулись с 20.12.2026" in text and "Брак зарегистрирован → Отменено" in text, text
    assert not [m for m in await director.bot_messages() if m.get("photos")], "a chart of no open work was sent"


async def test_a_case_moved_twice_is_one_line_from_where_it_was_to_where_it_is(shop: Harness) -> None:
    """The moves list a case once, «from → to», in the digest and in its list (it used to write each move, the list
    as «Брак зарегистрирован · Проверка брака на складе»); the chart's legend has a colour per series."""
    director, manager = shop.people["Директор Пётр"], shop.people["Марина"]
    service, head = shop.people["Сергей"], shop.people["Кладовщик Иван"]
    await register_defect(manager)
    await shop.tick()
    await shop.move_to(morning(2026, 12, 22))
    await director.expect(HEADING, "22.12.2026 09:00")
    await shop.advance(hours=1)
    await service.press("Готово", await service.card(MOVE_TO_SERVICE, button="Готово"))
    await head.press("Брак подтверждён", await head.expect("Подтвердите наличие дефекта"))
    await head.photo()
    await head.press("Готово", await head.expect("Фото с осмотра", "1"))
    await head.press("Подтвердить", await head.expect("Проверьте"))
    await service.expect("Уведомите поставщика о браке")
    await director.send("/digest")
    await director.press("Прислать сейчас", await director.card("Сводка приходит вам", button="Прислать сейчас"))
    await chart_received(shop, director)
    digest = await director.expect(HEADING, "Сдвинулись")
    assert "🔄 Сдвинулись с 22.12.2026 09:00: 1" in digest["text"], digest["text"]
    assert "Брак зарегистрирован → Уведомление поставщика" in digest["text"], digest["text"]
    await director.press("Сдвинулись", digest)
    # The list and the file count from where the digest they came from did, and say so: the list of a digest asked
    # for now used to count from the day before the last one sent at its hour («с 21.12.2026 09:00»).
    listed = (await director.expect("Сдвинулись с 22.12.2026 09:00: 1", "→"))["text"]
    assert "Брак зарегистрирован → Уведомление поставщика" in listed and "Брак зарегистрирован · " not in listed, listed
    assert listed.count("№1 ·") == 1, listed
    excel = next(k["callback_data"] for row in digest["inline_keyboard"] for k in row if k["text"] == "📊 Excel")
    await director.press_data(digest["message_id"], excel)
    document = await director.expect("Сдвинулись с 22.12.2026 09:00: 1")
    sheet = load_workbook(io.BytesIO(await director.download(document["document"]["url"]))).active
    assert sheet is not None and sheet.title == "Сдвинулись с 22.12.2026 09.00"
    assert [c.value for c in sheet[2]][2:4] == ["Брак зарегистрирован", "Уведомление поставщика о браке"]


def test_the_charts_legend_has_a_colour_per_series_even_for_one_with_no_bar() -> None:
    """A legend made from the bars gave a series with no bar matplotlib's default blue: «Открытые задачи» and
    «Просрочено» read the same. The legend is drawn from the series' own colours."""
    png = bar_chart(
        ["Сергей"],
        [Series("Открытые задачи", [2.0], "#90caf9"), Series("Просрочено", [], "#e53935")],
        side_by_side=False,
        counts=True,
    )
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    red = (pixels[:, :, 0] > 0.8) & (pixels[:, :, 1] < 0.35) & (pixels[:, :, 2] < 0.35)
    assert red.sum() > 20, "no red in the legend"


def test_the_charts_open_and_overdue_bars_both_show_and_the_legend_covers_neither() -> None:
    """Сергей has one open task and it is late: the overdue bar was drawn over the open one (one red bar, the open
    one hidden) and the legend sat on the bars. Now each has its own bar, and the legend is outside the plot."""
    from services.digests.contents import Digest, Load, chart_figure

    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    digest = Digest(now=now, since=now, load=[Load("Сергей", 1, 1), Load("Иван", 3, 0)])
    figure = chart_figure(digest, "Просрочено", "Открытые задачи")
    figure.canvas.draw()
    axes = figure.axes[0]
    bars = [bar for bar in axes.patches if bar.get_width() > 0]
    sergei = [bar for bar in bars if abs(bar.get_y() + bar.get_height() / 2 - 1) < 0.5]  # his band (at the top)
    colours = sorted(matplotlib.colors.to_hex(bar.get_facecolor()) for bar in sergei)
    assert colours == ["#90caf9", "#e53935"], colours
    spans = sorted((bar.get_y(), bar.get_y() + bar.get_height()) for bar in sergei)
    assert spans[0][1] <= spans[1][0] + 1e-9, spans  # one beside the other, not one over the other
    legends = figure.legends or [axes.get_legend()]
    assert len(legends) == 1 and legends[0] is not None
    box = legends[0].get_window_extent()
    plot = axes.get_window_extent()
    assert box.y0 >= plot.y1 or box.x0 >= plot.x1, (box, plot)  # outside the plot area


async def test_the_directors_digest_opens_with_the_offers_waiting_for_his_approval(fulfillment: Harness) -> None:
    """What asks for the reader comes first: the general director's digest lists the offer he is to approve (with
    its deadline); the account manager's has it only as his open work — she waits for him, not he for her."""
    manager, director = fulfillment.people["Алина"], fulfillment.people["Генеральный Олег"]
    await an_offer_for_the_director(manager)
    await director.expect("Согласуйте коммерческое предложение")
    # A second quote begun and left at its first question is no case yet: not counted in the totals.
    await a_quote_left_at_its_first_question(manager)

    await director.send("/digest")
    await director.press("Прислать сейчас", await director.expect("Вы не получаете сводку"))
    digest = await director.expect(HEADING, "Ждут вас")
    text = digest["text"]
    waiting = text.split("✍️ Ждут вас: 1\n", 1)[1].split("\n", 1)[0]
    assert "ООО Ромашка: Детские игрушки — «Согласуйте коммерческое предложение»" in waiting, text
    assert "срок" in waiting, waiting  # a working day to decide
    assert "approve_offer" not in text and "general_director" not in text
    assert "Заявка на просчёт заказа: дел 1, открытых задач 1" in text, text
    await director.press("Ждут вас", digest)
    listed = (await director.expect("Ждут вас: 1", "Согласуйте коммерческое предложение"))["text"]
    assert "ООО Ромашка" in listed

    await manager.send("/digest")
    await manager.press("Прислать сейчас", await manager.expect("Вы не получаете сводку"))
    mine = (await manager.expect(HEADING))["text"]
    assert "Ждут вас" not in mine and "Генеральный Олег: открыто 1" in mine, mine
