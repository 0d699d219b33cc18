"""What a person reads while answering a form, in chat: a list asked again shows its entries as the summary words
them (a choice by its label, money in roubles, a date as a date), never a stored key or number; and an answer of
the wrong kind (a voice message, a photo for text, text for a file) is refused with what this question takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.chat import Person, picture
from tests.conftest import Harness, library_with

ITEMS = [
    # name, availability, price, delivery date
    ("УЗИ аппарат Mindray DC-70", "Под заказ", "3 500 000", "15.03.2027"),
    ("Монитор пациента Mindray uMEC10", "В наличии", "450 000", "20.01.2027"),
]


async def _quote(harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path) -> Harness:
    harness = await harness_factory(library_dir=library_with(tmp_path, "equipment_quote.yaml"))
    await harness.person("Менеджер Ольга", "sales_manager")
    await harness.person("Директор Олег", "director")
    return harness


async def _start(manager: Person) -> None:
    await manager.send("▶️ Начать процесс")
    await manager.press("Коммерческое предложение", await manager.expect("Какой процесс"))


async def test_a_returned_list_is_shown_as_the_summary_words_it(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _quote(harness_factory, tmp_path)
    manager, director = harness.people["Менеджер Ольга"], harness.people["Директор Олег"]
    await _start(manager)
    await manager.expect("Клиент")
    await manager.send("Клиника «Здоровье»")
    await manager.expect("Фото помещения")
    await manager.photo()
    await manager.expect("Техническое задание")
    await manager.document(b"%PDF specification", "tz.pdf")
    for number, (name, availability, price, delivery) in enumerate(ITEMS, 1):
        await manager.expect(f"Позиции №{number}: Наименование")
        await manager.send(name)
        await manager.press(availability, await manager.expect(f"Позиции №{number}: Наличие"))
        await manager.expect(f"Позиции №{number}: Цена")
        await manager.send(price)
        await manager.expect(f"Позиции №{number}: Дата поставки")
        await manager.send(delivery)
        await manager.press("Да" if number < len(ITEMS) else "Нет", await manager.expect("Добавить ещё"))
    await manager.press("Подтвердить", await manager.expect("Проверьте"))

    # The director sends it back; the manager opens the list again and reads it as she typed it.
    await director.press("Отклонить", await director.expect("Согласуйте предложение"))
    await director.expect("Причина отказа")
    await director.send("Уточните сроки поставки")
    await director.press("Подтвердить", await director.expect("Проверьте"))
    await manager.press("Готово", await manager.card("Доработайте предложение", button="Готово"))
    question = await manager.expect("Позиции №1: Наименование", "Сейчас")
    assert (
        "Сейчас: 1. УЗИ аппарат Mindray DC-70, Под заказ, 3\u00a0500\u00a0000,00\u00a0₽, 15.03.2027\n"
        "2. Монитор пациента Mindray uMEC10, В наличии, 450\u00a0000,00\u00a0₽, 20.01.2027"
    ) in question["text"], question["text"]
    for stored in ("to_order", "in_stock", "3500000", "2027-03-15"):
        assert stored not in question["text"], question["text"]

    # Kept as it is; correcting the list offers its entries in the same words.
    await manager.press("Оставить как есть", question)
    await manager.press("Исправить", await manager.expect("Проверьте"))
    await manager.press("Позиции", await manager.expect("Какое поле"))
    entries = manager.buttons(await manager.expect("Какую запись «Позиции» исправить?"))
    assert entries[0].startswith("Позиции №1: УЗИ аппарат Mindray DC-70, Под заказ, 3\u00a0500"), entries
    assert entries[1].startswith("Позиции №2: Монитор пациента Mindray uMEC10, В наличии"), entries
    assert not [button for button in entries if "to_order" in button or "in_stock" in button], entries


async def test_an_answer_of_the_wrong_kind_is_told_what_this_question_takes(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await _quote(harness_factory, tmp_path)
    manager = harness.people["Менеджер Ольга"]
    await _start(manager)

    async def refused(answer: Callable[[], Awaitable[object]], label: str) -> str:
        """Give a wrong answer: the refusal, and the same question asked again."""
        await answer()
        text = str((await manager.expect("⚠️", "✏️ " + label))["text"])
        return text.split("\n\n")[0]  # what is wrong, said above the same question

    async def voice() -> None:
        await manager.send_file("voice", b"OggS voice message", "voice.ogg", content_type="audio/ogg")

    # A text question takes text: a voice message and a photo are told so, in the same words.
    await manager.expect("✏️ Клиент")
    assert await refused(voice, "Клиент") == "⚠️ Здесь нужен ответ текстом: Клиент."
    assert await refused(manager.photo, "Клиент") == "⚠️ Здесь нужен ответ текстом: Клиент."
    await manager.send("Клиника «Здоровье»")

    # A photo question takes a photo, or a picture sent as a file — and says so to a voice message, text and a PDF.
    photo_only = "⚠️ Здесь нужно фото (подойдёт и изображение, отправленное файлом): Фото помещения."
    await manager.expect("✏️ Фото помещения")
    assert await refused(voice, "Фото помещения") == photo_only
    assert await refused(lambda: manager.send("фото позже пришлю"), "Фото помещения") == photo_only
    assert await refused(lambda: manager.document(b"%PDF plan", "plan.pdf"), "Фото помещения") == photo_only
    await manager.send_file("document", picture(), "room.png", content_type="image/png")  # what it said it takes

    # A file question takes a file or a photo.
    file_or_photo = "⚠️ Здесь нужен файл или фото: Техническое задание."
    await manager.expect("✏️ Техническое задание")
    assert await refused(voice, "Техническое задание") == file_or_photo
    assert await refused(lambda: manager.send("ТЗ у клиента"), "Техническое задание") == file_or_photo
    await manager.photo()  # a photo of the paper, as it said
    await manager.expect("✏️ Позиции №1: Наименование")
