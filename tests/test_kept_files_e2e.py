"""A file sent when no question asks for one is kept, and offered at the next question for a file («use it» / «send
another»), for a day: then, if no question took it, it is deleted, its copy on disk too; a question once answered shows
the answer and no buttons (seed 1: the defect's photos)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Case, StoredFile, User
from services import kept_files
from tests.chat import picture
from tests.conftest import Harness
from tests.revisions import indexes_down_and_up
from tests.table_reads import index_entries_read, rows_read
from tests.test_defect_return_e2e import shop as shop  # the fixture: the six people of the shop
from tests.test_files_on_phone_e2e import up_to_the_description_of_the_defect, up_to_the_photos_of_the_defect


def keys(message: dict[str, Any]) -> list[str]:
    return [k["text"] for row in message.get("inline_keyboard") or [] for k in row]


async def test_a_photo_sent_before_the_question_is_used_when_the_question_comes(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.photo(picture(80, 60), filename="IMG_0042.png")
    said = await manager.expect("Сохранил")
    assert "предложу" in said["text"] and "не сохранён" not in said["text"], said["text"]

    question = await up_to_the_photos_of_the_defect(manager)
    assert "Использовать файл, который вы прислали раньше?" in question["text"], question["text"]
    await manager.press("Использовать", question)
    received = await manager.expect("Фото дефекта", "Получено: 1")
    # The offer's message shows what was taken and no buttons: «use it» pressed twice takes nothing twice.
    offered = await manager.no_buttons_left(question["message_id"])
    assert "Получено: 1" in offered["text"], offered["text"]
    assert "Использовать" not in " ".join(keys(received)), keys(received)
    await manager.press("Готово", received)
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")

    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalars().one()
        photos = case.data["units"][0]["photos"]
        stored = (await session.execute(select(StoredFile))).scalars().all()
    # The case holds the very photo sent before the question (the one stored file, the case's now).
    assert len(photos) == 1 and [(f.id, f.case_id, f.kind) for f in stored] == [(photos[0]["id"], case.id, "photo")]


async def test_send_another_forgets_the_kept_photo_and_asks_plainly(shop: Harness) -> None:
    manager = shop.people["Марина"]
    await manager.photo()
    await manager.expect("Сохранил")
    question = await up_to_the_photos_of_the_defect(manager)
    await manager.press("Отправить другой", question)
    again = await manager.expect("Фото дефекта")
    assert "раньше" not in again["text"] and "Использовать" not in " ".join(keys(again)), again
    await manager.no_buttons_left(question["message_id"])
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")
    # Declined: not offered again at the next question for a photo.
    assert not [m for m in await manager.bot_messages() if "раньше?" in (m.get("text") or "")][1:]


async def test_a_question_answered_by_a_button_loses_its_buttons(shop: Harness) -> None:
    """«Skip», «Done», an option: the question shows the answer chosen and no buttons to press by mistake."""
    manager = shop.people["Марина"]
    question = await up_to_the_photos_of_the_defect(manager)
    await manager.photo()
    received = await manager.expect("Фото дефекта", "Получено: 1")
    await manager.press("Готово", received)
    summary = await manager.expect("Проверьте")
    done = await manager.no_buttons_left(received["message_id"])
    assert "Фото дефекта" in done["text"] and "✅ Получено: 1" in done["text"], done["text"]
    # The photo question before it offered no «Готово» (nothing had come yet): answered by the photo sent, as a typed
    # question is by its words, it keeps only the form's «Назад» and «Отмена», as a typed question does.
    now = next(m for m in await manager.bot_messages() if m["message_id"] == question["message_id"])
    assert manager.buttons(now) == ["⬅️ Назад", "✖️ Отмена"], manager.buttons(now)
    await manager.press("Подтвердить", summary)
    await manager.expect("зарегистрировано")


async def test_an_english_reader_is_offered_the_photo_in_english(harness: Harness) -> None:
    manager = await harness.person("Maria", "shop_manager", language="en")
    await manager.photo()
    said = await manager.expect("Saved")
    assert "offer" in said["text"], said["text"]
    await manager.send("▶️ Start a process")
    await manager.press("Return of defective watches", await manager.expect("Which process"))
    await manager.press("Альфа", await manager.expect("Supplier"))
    await manager.expect("Quantity")
    for answer, question in (
        ("1", "Purchase sum"), ("125,000", "Brand"), ("Longines", "Incoming document number"),
        ("IN-42", "Employee's full name"), ("Maria Ivanova", "Date the goods arrived"), ("18.12.2026", "Model"),
        ("L2.793.4", "Serial"), ("SN-1", "Defect description"),
    ):  # fmt: skip
        await manager.send(answer)
        await manager.expect(question)
    await manager.send("Runs slow")
    question = await manager.expect("Photos of the defect", "Use the file you sent earlier?")
    await manager.press("Use it", question)
    await manager.press("Done", await manager.expect("Photos of the defect", "Received: 1"))
    await manager.press("Confirm", await manager.expect("Please check"))
    await manager.expect("is registered")


async def files_of(harness: Harness) -> list[StoredFile]:
    async with harness.core.sessionmaker() as session:
        return list((await session.execute(select(StoredFile).order_by(StoredFile.id))).scalars())


async def test_a_photo_no_question_took_is_deleted_a_day_after_it_came_from_the_disk_too(shop: Harness) -> None:
    """A photo sent by mistake was ignored after a day but kept for ever, in the table and on the disk."""
    manager = shop.people["Марина"]
    came = shop.clock.now()
    await manager.photo(picture(80, 60))
    await manager.expect("Сохранил")
    (kept,) = await files_of(shop)
    on_disk = shop.core.files.path(kept)
    assert on_disk.exists()

    # 23 hours on it is still hers to use: kept.
    await shop.move_to(came + timedelta(hours=23))
    assert [f.id for f in await files_of(shop)] == [kept.id] and on_disk.exists()
    # A day and a minute after it came: its row, its copy on disk and her list of kept files are gone.
    await shop.move_to(came + timedelta(days=1, minutes=1))
    assert await files_of(shop) == [] and not on_disk.exists()
    async with shop.core.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.tg_id == manager.id))).scalar_one()
    assert not user.kept_files, user.kept_files
    question = await up_to_the_photos_of_the_defect(manager)
    assert "раньше" not in question["text"] and "Использовать" not in " ".join(keys(question)), question


async def test_a_declined_photo_is_deleted_a_day_on_but_not_the_same_picture_a_case_holds(shop: Harness) -> None:
    """She declines the photo she sent before and sends the same picture to the question: the case's photo stays;
    the declined one's row goes a day after it came, its bytes on disk staying for the case (files are stored by
    their content)."""
    manager = shop.people["Марина"]
    came = shop.clock.now()
    await manager.photo(picture(90, 70))
    await manager.expect("Сохранил")
    await manager.press("Отправить другой", await up_to_the_photos_of_the_defect(manager))
    await manager.expect("Фото дефекта")
    await manager.photo(picture(90, 70))
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")
    declined, the_cases = await files_of(shop)
    assert (declined.case_id, the_cases.path) == (None, declined.path) and the_cases.case_id is not None

    await shop.move_to(came + timedelta(days=1, minutes=1))
    assert [f.id for f in await files_of(shop)] == [the_cases.id]
    assert shop.core.files.path(the_cases).exists()


async def test_the_index_of_stray_files_comes_with_its_revision_and_goes_with_it(empty_database_url: str) -> None:
    """0039_stray_files: the files no case took, by when they came (the scheduler's sweep reads only those)."""
    at_head, before, again = await indexes_down_and_up(
        empty_database_url, "files", "0038_current_definition", at="0039_stray_files"
    )
    assert "ix_files_stray" not in before and at_head == again
    assert at_head["ix_files_stray"]["column_names"] == ["created_at"]


async def test_the_clocks_look_for_stale_kept_files_reads_none_of_the_bots_own_files(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Every tick looks for stray files a day old; the files of no case are mostly the bot's own (exports, diagrams,
    the catalogue's pictures), and the look reads none of them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts the rows and index entries a PostgreSQL plan reads")
    now = datetime(2026, 12, 21, 7, 0, tzinfo=UTC)
    async with sessionmaker() as session, session.begin():
        await session.execute(text(
            "INSERT INTO files (kind, file_name, size, path, created_at) SELECT 'document', 'export.xlsx', 1, "
            "'ab/' || n, CAST(:past AS timestamptz) + n * interval '1 minute' FROM generate_series(1, 5000) AS n"
        ), {"past": now - timedelta(days=20)})
        await session.execute(text("ANALYZE files"))
    async with sessionmaker() as session, session.begin():
        rows, entries = await rows_read(session, "files"), await index_entries_read(session, "files")
        assert await kept_files.drop_stale(session, now) == []
        read = (await index_entries_read(session, "files") - entries, await rows_read(session, "files") - rows)
    assert max(read) < 50, read  # (index entries, rows): not the 5,000 exports


async def test_a_photo_sent_before_the_defect_is_described_is_offered_with_the_photos(shop: Harness) -> None:
    """Марина photographs the faulty watch first and only then types what is wrong: the photo, refused at the
    question for the description, is kept and offered when the photos are asked, not lost to be sent again."""
    manager = shop.people["Марина"]
    await up_to_the_description_of_the_defect(manager)
    await manager.photo(picture(80, 60))
    await manager.expect("Сохранил", "предложу")
    await manager.expect("⚠️ Здесь нужен ответ текстом: Описание дефекта.", "✏️ Часы №1: Описание дефекта")
    await manager.send("Отстают на 30 секунд в сутки")
    question = await manager.expect("Фото дефекта", "Использовать файл, который вы прислали раньше?")
    await manager.press("Использовать", question)
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))
    await manager.expect("зарегистрировано")
    async with shop.core.sessionmaker() as session:
        case = (await session.execute(select(Case))).scalars().one()
    assert len(case.data["units"][0]["photos"]) == 1, case.data["units"][0]
