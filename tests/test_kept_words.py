"""What a step's cards and notices keep per process (issue 14) says what working it out afresh says: a task's
words per definition, stage, key and language, the file plan behind a card's «📎 Files (n)», a message's
translation, and a text that fits in one message kept whole without being measured line by line."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.items import item_approval_key
from flows.loader import load_file
from flows.runtime import TaskState
from services.i18n import Translator
from services.outbox import MAX_TEXT, split_lines, split_text
from services.wording import files as file_words
from tests.test_task_cards import SPEC, walked
from tgbot import render_cards
from tgbot.render import Renderer

EXTRA = {"case": {"id": 7, "title": "x"}, "today": datetime(2026, 12, 21, tzinfo=UTC).date()}
NAMES = {1: "Иванова", 2: "Петров", 3: "Сидоров"}


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    return Renderer(Translator(tmp_path_factory.mktemp("locales")), ZoneInfo("Europe/Moscow"))


def forget() -> None:
    render_cards._TASK_WORDS.clear()
    render_cards._HEAD_TEXTS.clear()
    file_words._FILE_PLANS.clear()


def cards(renderer: Renderer) -> list[tuple[tuple[str, ...], int, str, object]]:
    shown = []
    for case, task in walked():
        for lang in ("ru", "en", None):
            head = renderer.task_card_head(case, task, lang, EXTRA)
            for viewer in (2, 3):
                text, keyboard = renderer.task_card(case, task, lang, names=NAMES, viewer_id=viewer, head=head)
                shown.append((head.lines, head.files, text, keyboard))
    return shown


def test_every_card_of_seed_1_kept_or_not_says_the_same(renderer: Renderer) -> None:
    """The cards of the whole happy path, each worked out afresh (the kept words forgotten before it), then
    again over the words every earlier card kept, in both languages: the same texts and buttons."""
    fresh = []
    for case, task in walked():
        for lang in ("ru", "en", None):
            forget()
            head = renderer.task_card_head(case, task, lang, EXTRA)
            for viewer in (2, 3):
                forget()
                text, keyboard = renderer.task_card(case, task, lang, names=NAMES, viewer_id=viewer, extra=EXTRA)
                fresh.append((head.lines, head.files, text, keyboard))
    forget()
    assert cards(renderer) == fresh
    assert cards(renderer) == fresh  # every word read from what the first pass kept
    assert len(render_cards._TASK_WORDS) > 10
    assert any("Stage:" in line for lines, *_rest in fresh for line in lines)  # English cards among them


def test_an_item_approval_is_named_by_its_item_not_by_a_kept_title(renderer: Renderer) -> None:
    """An item's approval is titled after the item, whose name is the case's data: that line is never kept."""
    spec = load_file(Path(__file__).parent / "data" / "equipment_order.yaml").spec
    track = next(iter(spec.tracks()))
    task = TaskState(key=item_approval_key(track, 0, "sent"), stage=spec.stages[0].key, visit=1, kind="approve")
    words = renderer.task_words(spec, task, "ru")
    assert words.title is None and words is renderer.task_words(spec, task, "ru")
    assert renderer.task_words(spec, task, "en") is not words


def test_the_files_counted_are_the_files_listed_whatever_the_data(renderer: Renderer) -> None:
    photo = {"id": 1, "kind": "photo"}
    shapes = [
        {},
        {"units": [{"photos": [photo, photo]}, {"photos": photo}, {"photos": [{"name": "no id"}]}, "junk"]},
        {"units": "junk", "inspection_photos": [photo, 3, None]},
        {"inspection_photos": photo, "verdict_doc": [{"id": 6}], "shipping_docs": [{"id": None}]},
    ]
    for data in shapes:
        for _ in range(2):  # afresh, then over the kept plan
            listed = renderer.files(SPEC, data, file_words.file_fields(SPEC), "ru")
            assert file_words.file_count(SPEC, data) == len(listed)
        file_words._FILE_PLANS.clear()


def test_a_translation_kept_is_the_catalogs(renderer: Renderer) -> None:
    message = "Stage: %(stage)s"
    tr = renderer.tr
    for lang in ("ru", "en", None, "de"):
        for _ in range(2):
            assert tr.t(message, lang, stage="X") == tr.i18n.gettext(message, locale=tr.lang(lang)) % {"stage": "X"}
    assert tr.t(message, "ru", stage="X") != tr.t(message, "en", stage="X")


def test_a_text_that_fits_is_split_as_the_line_by_line_cut_splits_it() -> None:
    rng = random.Random(14)
    alphabet = ["a", " ", "\n", "\n", "ё", "😀", "  "]
    texts = ["", "\n", "\n\n", " \n", "\n \n", "x", "\nx", "\n\nx\n\n", " \nx", "x\n\n\ny\n"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60))) for _ in range(2000)]
    texts += ["😀" * (MAX_TEXT // 2), "😀" * (MAX_TEXT // 2) + "a", "a" * MAX_TEXT, "\n" + "a" * MAX_TEXT]
    for text in texts:
        assert split_text(text) == split_lines(text, MAX_TEXT), repr(text)
    for text in texts[:500]:
        assert split_text(text, 7) == split_lines(text, 7), repr(text)
