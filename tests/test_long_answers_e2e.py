"""A long answer (near Telegram's 4096 characters a message) makes the summary and the case card longer than one
message: they come as several, and no message leaves a label without its value or begins with words nobody can
place — a message that goes on with a value first says whose value it is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat import Person
from tests.conftest import Harness

SENTENCES = (
    "Часы отстают примерно на тридцать секунд в сутки, покупатель заметил это через неделю после покупки. ",
    "После завода головкой секундная стрелка иногда замирает на несколько секунд и потом догоняет. ",
    "На стекле у отметки двенадцать часов видна тонкая царапина, которой не было при продаже. ",
)
# Three paragraphs, 3 900 characters: the most Telegram lets a person send in one message, nearly.
DEFECT = "\n".join(
    opening + "".join(SENTENCES[(n + i) % 3] for i in range(size // 95)).strip()
    for n, (opening, size) in enumerate((("Первое. ", 1600), ("Второе. ", 1600), ("Третье. ", 900)))
)


@pytest.fixture
async def shop(harness: Harness) -> Harness:
    await harness.person("Марина", "shop_manager")
    await harness.person("Ольга", "shop_admin")
    await harness.person("Сергей", "service_manager")
    return harness


async def messages_until_buttons(person: Person, first: dict[str, Any], button: str) -> list[str]:
    """The texts of the bot's messages from `first` up to the one that carries `button` (a long text's last
    piece has the buttons)."""
    last = await person.card(button=button)
    return [
        m.get("text") or ""
        for m in await person.bot_messages()
        if first["message_id"] <= m["message_id"] <= last["message_id"] and m.get("text")
    ]


def read_as_one(pieces: list[str]) -> str:
    """What the pieces say together, without the labels repeated at the top of a piece that goes on with them."""
    lines: list[str] = []
    for piece in pieces:
        for line in piece.split("\n"):
            if line.endswith(": …"):
                continue  # «Часы: …», «   Описание дефекта: …»: what the next lines go on with
            lines.append(line.replace(": …", ": ", 1) if ": …" in line else line)
    return "\n".join(lines)


def assert_labels_keep_their_values(pieces: list[str]) -> None:
    assert len(pieces) > 1, pieces
    for piece in pieces:
        assert len(piece) <= 4096
        assert not piece.rstrip().endswith(":"), f"a message ends with a label: {piece[-120:]!r}"
    # The description goes on in the next message, which first says whose it is: the watch, then the field.
    going_on = [p for p in pieces[1:] if "Третье." in p]
    assert going_on and going_on[0].startswith("Часы: …\n   Описание дефекта: …\n      Третье."), going_on[0][:200]
    # Every paragraph of the answer arrives once, whole, in order, each under the label it belongs to.
    said = read_as_one(pieces)
    assert said.count("Первое.") == said.count("Второе.") == said.count("Третье.") == 1
    assert "   Описание дефекта: " + DEFECT.replace("\n", "\n      ") in said


async def test_a_long_defect_description_is_never_parted_from_its_label(shop: Harness) -> None:
    manager = shop.people["Марина"]
    assert 3800 < len(DEFECT) <= 4000 and DEFECT.count("\n") == 2
    await manager.send("▶️ Начать процесс")
    await manager.press("Возврат бракованных часов", await manager.expect("Какой процесс"))
    await manager.press("Альфа", await manager.expect("Поставщик"))
    for question, answer in (
        ("Количество", "1"), ("Сумма закупки", "125 000"), ("Марка", "Longines"), ("Входящий номер", "ВХ-42"),
        ("ФИО сотрудника", "Иванова Марина"), ("Дата поступления", "21.12.2026"), ("Модель", "L2.793.4"),
        ("Серийный номер", "SN-123456"), ("Описание дефекта", DEFECT),
    ):  # fmt: skip
        await manager.expect(question)
        await manager.send(answer)
    await manager.photo()
    await manager.press("Готово", await manager.expect("Фото дефекта", "Получено: 1"))

    # «Проверьте…» comes in two messages, «Подтвердить» under the last.
    first = await manager.expect("Проверьте")
    summary = await messages_until_buttons(manager, first, "Подтвердить")
    assert summary[0].startswith("Проверьте") and "Поставщик: ООО «Альфа Тайм»" in summary[0]
    assert_labels_keep_their_values(summary)
    await manager.press("Подтвердить")
    registered = await manager.expect("зарегистрировано")

    # The case's card, longer than a message too, is cut the same way.
    number = registered["text"].split("№", 1)[1].split()[0].rstrip(".")
    await manager.send(f"/case {number}")
    first = await manager.expect(f"📁 №{number}")
    card = await messages_until_buttons(manager, first, "Комментарий")
    assert_labels_keep_their_values(card)
