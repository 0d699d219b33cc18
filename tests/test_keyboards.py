"""A form's keyboards are made as the dicts sent (`tgbot.callbacks.button`, `pack`), not as aiogram's models dumped
(issue 14: ~0.1 ms a question): each is exactly what aiogram's models give, and each button's data is what the
press means."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import InlineKeyboardMarkup

from flows.forms import Step
from flows.model import FieldDef
from services.i18n import Translator
from tests.test_task_cards import SPEC
from tgbot.callbacks import FormCb
from tgbot.form_base import answering_buttons, with_step
from tgbot.render import Renderer
from tgbot.render_forms import LATER


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    return Renderer(Translator(tmp_path_factory.mktemp("locales")), ZoneInfo("Europe/Moscow"))


def pressed(keyboard: dict[str, Any] | None) -> list[tuple[str, FormCb]]:
    """The buttons as a person sees them and what each press says, once the keyboard is checked to be the one
    aiogram's models send."""
    assert keyboard is not None
    assert InlineKeyboardMarkup.model_validate(keyboard).model_dump(exclude_none=True) == keyboard
    return [(b["text"], FormCb.unpack(b["callback_data"])) for row in keyboard["inline_keyboard"] for b in row]


def test_a_shop_manager_picks_the_supplier_goes_back_or_puts_the_form_aside(renderer: Renderer) -> None:
    supplier = FieldDef(type="choice", label="Поставщик", options={"alpha": "Альфа", "beta": "Бета"})
    _text, keyboard = renderer.question(
        SPEC, {"supplier": supplier}, Step(path="supplier", name="supplier", field=supplier), 41, "ru",
        options=[("alpha", "Альфа"), ("beta", "Бета")], collected=0, can_back=True, cancel=LATER,
    )  # fmt: skip
    assert pressed(keyboard) == [
        ("Альфа", FormCb(action="pick", task_id=41, arg="alpha")),
        ("Бета", FormCb(action="pick", task_id=41, arg="beta")),
        ("⬅️ Назад", FormCb(action="back", task_id=41)),
        ("⏸ Отложить", FormCb(action="later", task_id=41)),
    ]
    assert keyboard is not None and keyboard["inline_keyboard"][0][0]["callback_data"] == "f:pick:41:alpha:-1"


def test_photos_sent_are_done_by_a_press_and_an_optional_note_skipped(renderer: Renderer) -> None:
    photo = FieldDef(type="photo", label="Фото дефекта", multiple=True)
    note = FieldDef(type="text", label="Примечание", required=False)
    fields = {"photo": photo, "note": note}
    _text, photos = renderer.question(
        SPEC, fields, Step(path="photo", name="photo", field=photo), 7, "ru", options=[], collected=2, can_back=False
    )
    _text, skipping = renderer.question(
        SPEC, fields, Step(path="note", name="note", field=note), 7, "ru", options=[], collected=0, can_back=False
    )
    assert [press for _label, press in pressed(photos)] == [
        FormCb(action="files", task_id=7),
        FormCb(action="cancel", task_id=7),
    ]
    assert [press for _label, press in pressed(skipping)] == [
        FormCb(action="skip", task_id=7),
        FormCb(action="cancel", task_id=7),
    ]


def test_the_summary_is_confirmed_corrected_or_left(renderer: Renderer) -> None:
    note = FieldDef(type="text", label="Примечание", required=False)
    _text, keyboard = renderer.form_summary(
        SPEC, {"note": note}, ["note"], {"values": {"note": "Хрупкое"}}, 12, "en", "Defect return"
    )
    assert pressed(keyboard) == [
        ("✅ Confirm", FormCb(action="confirm", task_id=12)),
        ("✏️ Correct a field", FormCb(action="edit", task_id=12)),
        ("⬅️ Back", FormCb(action="back", task_id=12)),
        ("✖️ Cancel", FormCb(action="cancel", task_id=12)),
    ]


def test_a_question_sent_carries_its_step_so_an_older_questions_press_is_known_stale(renderer: Renderer) -> None:
    supplier = FieldDef(type="choice", label="Поставщик", options={"alpha": "Альфа"})
    note = FieldDef(type="text", label="Примечание")
    fields = {"supplier": supplier, "note": note}
    _text, choosing = renderer.question(
        SPEC, fields, Step(path="supplier", name="supplier", field=supplier), 41, "ru",
        options=[("alpha", "Альфа")], collected=0, can_back=True,
    )  # fmt: skip
    _text, typing = renderer.question(
        SPEC, fields, Step(path="note", name="note", field=note), 41, "ru", options=[], collected=0, can_back=True
    )
    assert answering_buttons(choosing) and not answering_buttons(typing)  # only «Назад» and «Отмена» under a text
    assert [press for _label, press in pressed(with_step(choosing, 12))] == [
        FormCb(action="pick", task_id=41, arg="alpha", step=12),
        FormCb(action="back", task_id=41, step=12),
        FormCb(action="cancel", task_id=41, step=12),
    ]
    assert with_step(choosing, 13) is choosing and pressed(choosing)[0][1].step == 13
