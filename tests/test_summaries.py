"""Summaries read on a phone: nothing cut, entries apart, files counted."""

from __future__ import annotations

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
