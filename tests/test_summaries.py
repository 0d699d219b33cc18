"""Summaries read on a phone: nothing cut, entries apart, files counted."""

from __future__ import annotations

import random

from flows.values import utf16_length
from tgbot.render import MAX_TEXT, pieces


def test_a_long_text_is_split_between_lines_and_nothing_is_lost() -> None:
    lines = [f"Часы №{n}: Описание дефекта — " + "отстают " * 20 for n in range(1, 60)]
    text = "\n".join(lines)
    assert len(text) > 2 * MAX_TEXT
    parts = pieces(text)
    assert len(parts) >= 3 and all(len(p) <= MAX_TEXT for p in parts)
    assert "\n".join(parts) == text  # cut only where a line ended: every entry whole, in order, no «…»
    assert all(not p.endswith("…") for p in parts)


def test_a_line_longer_than_a_message_is_cut_between_words() -> None:
    word = "слово "
    text = word * 2000
    parts = pieces(text.strip(), limit=1000)
    assert all(len(p) <= 1000 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_a_short_text_is_one_message() -> None:
    assert pieces("Проверьте:\nМарка: Longines") == ["Проверьте:\nМарка: Longines"]


def _watch(number: int, defect: str) -> list[str]:
    """A watch's block of a defect return's summary, as `Wording.summary` writes it."""
    return [f"Часы №{number}:", "   Модель: L2.793.4", "   Серийный номер: SN-1", f"   Описание дефекта: {defect}"]


def test_a_label_is_never_the_last_line_of_a_message() -> None:
    # The first watch's description fills its message up to the second watch's heading, which would have been left
    # alone at its end, its fields in the next message.
    head = ["Проверьте, всё ли верно:", "", *_watch(1, "")]
    room = MAX_TEXT - len("\n".join([*head, "", "Часы №2:"]))
    text = "\n".join(["Проверьте, всё ли верно:", "", *_watch(1, "отстают " * (room // 8)), "", *_watch(2, "царапина")])
    parts = pieces(text)
    assert len(parts) == 2, parts
    assert parts[0].rstrip().endswith("отстают"), parts[0][-200:]
    assert parts[1].startswith("Часы №2:\n   Модель: L2.793.4"), parts[1]


def test_a_value_longer_than_a_message_is_cut_inside_it_and_its_label_repeated() -> None:
    defect = " ".join(f"слово{n}" for n in range(700))  # 5 000 characters: two messages of its own
    text = "\n".join(["Проверьте, всё ли верно:", "", *_watch(1, defect), "", *_watch(2, "царапина")])
    parts = pieces(text)
    assert len(parts) == 3 and all(len(p) <= MAX_TEXT for p in parts)
    assert parts[0].endswith("Серийный номер: SN-1")
    # The value begins a message of its own, under the watch it belongs to, its label with its first words.
    assert parts[1].startswith("Часы №1: …\n   Описание дефекта: слово0 слово1 "), parts[1][:100]
    # Cut between its words; the next message says whose value goes on, from the very next word.
    said = parts[1].rsplit(" ", 1)[-1]
    after = f"слово{int(said.removeprefix('слово')) + 1}"
    assert parts[2].startswith(f"Часы №1: …\n   Описание дефекта: …{after} слово"), parts[2][:120]
    assert parts[2].endswith("слово699\n\n" + "\n".join(_watch(2, "царапина")))


def test_a_value_of_many_lines_cut_between_them_goes_on_under_its_label() -> None:
    paragraphs = [" ".join(["стекло"] * 60) + f" абзац{n}" for n in range(14)]  # ~430 characters each
    text = "Проверьте, всё ли верно:\nМарка: Longines\nОписание: " + "\n   ".join(paragraphs) + "\nКоличество: 2"
    parts = pieces(text)
    assert len(parts) == 2 and all(len(p) <= MAX_TEXT for p in parts)
    assert parts[0].startswith("Проверьте") and "Описание: стекло" in parts[0]
    assert parts[1].startswith("Описание: …\n   стекло"), parts[1][:80]
    assert parts[1].endswith("Количество: 2")
    # Every paragraph once, in order.
    assert [w for p in parts for w in p.split() if w.startswith("абзац")] == [f"абзац{n}" for n in range(14)]


def test_a_value_without_spaces_is_cut_where_the_message_ends_not_after_its_label() -> None:
    link = "https://example.com/" + "a" * 4000
    parts = pieces(f"Проверьте, всё ли верно:\nСсылка: {link}\nКоличество: 2")
    assert parts[0].startswith("Проверьте, всё ли верно:\nСсылка: https://example.com/aaa")
    assert len(parts[0]) == MAX_TEXT
    assert parts[1].startswith("Ссылка: …aaa")
    assert "".join(p.split("Ссылка: ")[1].removeprefix("…").split("\n")[0] for p in parts) == link


def test_any_text_is_cut_into_messages_that_fit_and_keep_everything_in_order() -> None:
    rng = random.Random(7)
    alphabet = ["слово", " ", " ", "\n", "\n", "\n   ", "\n      ", "Метка:", ": ", "😀", "x" * 40, ":"]
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(20, 700)))
        limit = rng.choice([60, 120, 400])
        parts = pieces(text, limit=limit)
        assert all(utf16_length(p) <= limit for p in parts), text
        # Take away what was repeated (a label and its «…», the text has none of its own): what is left is the
        # text, every character in its place, only the line breaks and spaces at the cuts differing.
        left = [line.split("…", 1)[-1] for p in parts for line in p.split("\n")]
        assert "".join("".join(left).split()) == "".join(text.split()), text
