"""Forms in chat: one question at a time, one entry per unit of goods, back and correct."""

from __future__ import annotations

import pytest

from flows import forms
from flows.model import FieldDef
from flows.values import InvalidAnswer

FIELDS = {
    "quantity": FieldDef(type="number", label="Количество"),
    "note": FieldDef(type="text", label="Примечание", required=False),
    "units": FieldDef(
        type="list",
        label="Часы",
        count="quantity",
        fields={
            "model": FieldDef(type="text", label="Модель"),
            "photos": FieldDef(type="photo", label="Фото", multiple=True),
        },
    ),
    "extras": FieldDef(type="list", label="Доп.", fields={"name": FieldDef(type="text", label="Имя")}),
}


def paths(draft: dict, names: list[str]) -> list[str]:
    step = forms.next_step(FIELDS, names, draft)
    return [step.path] if step else []


def test_one_entry_per_unit_from_the_quantity() -> None:
    draft = forms.new_draft("submit")
    names = ["quantity", "units"]
    forms.answer(draft, forms.next_step(FIELDS, names, draft), 2)
    asked = []
    while (step := forms.next_step(FIELDS, names, draft)) is not None:
        asked.append(step.path)
        if step.is_file:
            forms.add_file(draft, step, {"id": len(asked)})
            forms.answer(draft, step, forms.collected_files(draft, step))
        else:
            forms.answer(draft, step, f"M{step.index}")
    assert asked == ["units.0.model", "units.0.photos", "units.1.model", "units.1.photos"]
    assert [u["model"] for u in draft["values"]["units"]] == ["M0", "M1"]


def test_back_forgets_the_last_answer_and_reset_asks_again() -> None:
    draft = forms.new_draft("submit")
    names = ["quantity", "note"]
    forms.answer(draft, forms.next_step(FIELDS, names, draft), 3)
    forms.answer(draft, forms.next_step(FIELDS, names, draft), None)  # skipped optional
    assert forms.next_step(FIELDS, names, draft) is None
    assert forms.back(FIELDS, draft)
    assert paths(draft, names) == ["note"]
    forms.answer(draft, forms.next_step(FIELDS, names, draft), "ok")
    forms.reset_field(draft, "quantity")
    assert paths(draft, names) == ["quantity"] and draft["values"]["note"] == "ok"


def test_back_offers_the_answer_given_to_keep_unless_it_is_a_fact_of_one_round() -> None:
    fields = {**FIELDS, "waybill": FieldDef(type="text", label="Накладная", fresh=True)}
    draft = forms.new_draft("submit")
    names = ["quantity", "waybill", "note"]
    forms.answer(draft, forms.next_step(fields, names, draft), 3)
    forms.answer(draft, forms.next_step(fields, names, draft), "СДЭК 1")
    # Back from the note: this round's waybill is asked anew, nothing offered to keep.
    assert forms.back(fields, draft)
    step = forms.next_step(fields, names, draft)
    assert step is not None and step.path == "waybill" and not step.can_keep
    forms.answer(draft, step, "СДЭК 2")
    # Back twice, to the quantity: its answer is shown and kept as it was.
    assert forms.back(fields, draft) and forms.back(fields, draft)
    step = forms.next_step(fields, names, draft)
    assert step is not None and step.path == "quantity" and step.current == 3
    assert forms.keep(fields, draft, step) and draft["values"]["quantity"] == 3
    # The optional note answered, taken back and skipped: skipping a given answer leaves the field empty.
    forms.answer(draft, forms.next_step(fields, names, draft), "СДЭК 2")
    forms.answer(draft, forms.next_step(fields, names, draft), "хрупкое")
    assert forms.back(fields, draft)
    step = forms.next_step(fields, names, draft)
    assert step is not None and step.current == "хрупкое"
    forms.answer(draft, step, None)
    assert draft["values"]["note"] is None


def test_list_without_count_asks_whether_to_add_more() -> None:
    draft = forms.new_draft("submit")
    names = ["extras"]
    forms.answer(draft, forms.next_step(FIELDS, names, draft), "a")
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.is_more
    forms.answer(draft, step, True)
    forms.answer(draft, forms.next_step(FIELDS, names, draft), "b")
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.is_more
    forms.answer(draft, step, False)
    assert forms.next_step(FIELDS, names, draft) is None
    assert draft["values"]["extras"] == [{"name": "a"}, {"name": "b"}]


# -- asked again: the current value is shown and may be kept (issue 9, item 5) ----------------------------------

CASE_DATA = {
    "quantity": 2,
    "note": "хрупкое",
    "units": [{"model": "L1", "photos": [{"id": 1, "name": "a.jpg"}]}, {"model": "L2", "photos": []}],
}


def test_a_question_asked_again_carries_the_current_value_and_can_keep_it() -> None:
    draft = forms.new_draft("submit")
    forms.remember_current(["quantity", "note"], draft, CASE_DATA)
    step = forms.next_step(FIELDS, ["quantity", "note"], draft)
    assert step is not None and step.path == "quantity" and step.can_keep and step.current == 2
    assert forms.describe_current(step, "ru") == "2"
    assert forms.keep(FIELDS, draft, step) is True
    step = forms.next_step(FIELDS, ["quantity", "note"], draft)
    assert step is not None and step.path == "note" and step.current == "хрупкое"
    forms.answer(draft, step, "стекло")  # a new answer replaces the value
    assert forms.next_step(FIELDS, ["quantity", "note"], draft) is None
    assert draft["values"] == {"quantity": 2, "note": "стекло"}


def test_skipping_a_question_never_erases_the_current_value() -> None:
    draft = forms.new_draft("submit", current={"note": "хрупкое", "quantity": None})
    step = forms.next_step(FIELDS, ["note"], draft)
    assert step is not None and step.current == "хрупкое"
    forms.answer(draft, step, None)  # what «⏭ Skip» does
    assert draft["values"] == {"note": "хрупкое"}
    # without a current value, skipping leaves the field empty, as before
    draft = forms.new_draft("submit")
    step = forms.next_step(FIELDS, ["note"], draft)
    assert step is not None and not step.can_keep
    forms.answer(draft, step, None)
    assert draft["values"] == {"note": None}


def test_a_list_asked_again_may_be_kept_whole_at_its_first_question() -> None:
    draft = forms.new_draft("submit")
    forms.remember_current(["quantity", "units"], draft, CASE_DATA)
    names = ["quantity", "units"]
    forms.keep(FIELDS, draft, forms.next_step(FIELDS, names, draft))
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.path == "units.0.model" and step.current == CASE_DATA["units"]
    assert step.whole  # told entry by entry in the bot's words (tests/test_form_answers_e2e.py)
    assert forms.keep(FIELDS, draft, step)
    assert forms.next_step(FIELDS, names, draft) is None
    assert draft["values"]["units"] == CASE_DATA["units"]


def test_a_list_answered_anew_offers_keep_only_before_its_first_answer() -> None:
    draft = forms.new_draft("submit", current=CASE_DATA)
    names = ["units"]
    draft["values"]["quantity"] = 1
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.can_keep
    forms.answer(draft, step, "L9")
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.path == "units.0.photos" and not step.can_keep
    assert forms.keep(FIELDS, draft, step) is False


def test_the_current_value_is_described_in_the_persons_language() -> None:
    fields = {
        "sum": FieldDef(type="money", label="Сумма"),
        "day": FieldDef(type="date", label="День"),
        "size": FieldDef(type="choice", label="Размер", options={"s": "Малый"}),
        "scan": FieldDef(type="document", label="Скан"),
        "client": FieldDef(type="company", label="Клиент"),
    }
    data = {
        "sum": "1234.50",
        "day": "2026-12-25",
        "size": "s",
        "scan": [{"id": 1, "name": "scan.pdf"}],
        "client": {"id": 3, "name": "ООО Ромашка"},
    }
    draft = forms.new_draft("submit", current=data)
    described = {}
    for name in fields:
        step = forms.next_step(fields, [name], draft)
        assert step is not None
        described[name] = forms.describe_current(step, "ru", {"s": "Малый"} if name == "size" else None)
    assert described == {
        "sum": "1\u00a0234,50\u00a0₽",
        "day": "25.12.2026",
        "size": "Малый",
        "scan": "scan.pdf",
        "client": "ООО Ромашка",
    }


# -- one entry of a list corrected, added or removed from the summary (issue 12, point 6) ----------------------


def filled(names: list[str], models: list[str]) -> dict:
    """A form at its summary: the quantity, then one entry per model with one photo each."""
    draft = forms.new_draft("submit")
    if "quantity" in names:
        forms.answer(draft, forms.next_step(FIELDS, names, draft), len(models))
    answers = iter(models)
    while (step := forms.next_step(FIELDS, names, draft)) is not None:
        if step.is_more:
            forms.answer(draft, step, step.index is not None and step.index < len(models))
        elif step.is_file:
            forms.answer(draft, step, [{"id": step.index, "name": f"p{step.index}.jpg"}])
        else:
            forms.answer(draft, step, next(answers))
    return draft


def test_one_field_of_one_entry_is_asked_alone_showing_what_it_was() -> None:
    names = ["quantity", "units"]
    draft = filled(names, ["L1", "L2", "L3"])
    forms.reset_entry(FIELDS, draft, "units", 1, "photos")
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.path == "units.1.photos" and not step.whole
    assert step.current == [{"id": 1, "name": "p1.jpg"}]
    forms.answer(draft, step, None)  # no new photo sent: the entry keeps its photo
    assert forms.next_step(FIELDS, names, draft) is None
    assert draft["values"]["units"][1] == {"model": "L2", "photos": [{"id": 1, "name": "p1.jpg"}]}
    # The whole entry: both its questions, the others untouched.
    forms.reset_entry(FIELDS, draft, "units", 2, None)
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.path == "units.2.model" and step.current == "L3"
    assert forms.keep(FIELDS, draft, step)
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.path == "units.2.photos"
    forms.answer(draft, step, [{"id": 9, "name": "new.jpg"}])
    assert forms.next_step(FIELDS, names, draft) is None
    assert [u["model"] for u in draft["values"]["units"]] == ["L1", "L2", "L3"]
    assert draft["values"]["units"][2]["photos"] == [{"id": 9, "name": "new.jpg"}]


def test_a_counted_list_grows_and_shrinks_with_its_count() -> None:
    names = ["quantity", "units"]
    draft = filled(names, ["L1", "L2", "L3"])
    forms.remove_entry(FIELDS, names, draft, "units", 0)
    assert draft["values"]["quantity"] == 2 and [u["model"] for u in draft["values"]["units"]] == ["L2", "L3"]
    assert forms.next_step(FIELDS, names, draft) is None  # nothing to ask: the later entries moved up, answered
    forms.add_entry(FIELDS, names, draft, "units")
    assert draft["values"]["quantity"] == 3
    assert paths(draft, names) == ["units.2.model"]
    # Without its count in the form, a counted list keeps its length: the two would disagree.
    assert not forms.can_add_entry(FIELDS, ["units"], draft, "units")
    assert not forms.can_remove_entry(FIELDS, ["units"], draft, "units")


def test_a_list_without_count_keeps_its_last_entry_and_asks_for_more_after_an_added_one() -> None:
    names = ["extras"]
    draft = filled(names, ["a", "b"])
    assert draft["values"]["extras"] == [{"name": "a"}, {"name": "b"}]
    forms.remove_entry(FIELDS, names, draft, "extras", 1)
    assert forms.next_step(FIELDS, names, draft) is None and draft["values"]["extras"] == [{"name": "a"}]
    assert not forms.can_remove_entry(FIELDS, names, draft, "extras")  # at least one (min_items)
    with pytest.raises(InvalidAnswer):
        forms.remove_entry(FIELDS, names, draft, "extras", 0)
    forms.add_entry(FIELDS, names, draft, "extras")
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.path == "extras.1.name"
    forms.answer(draft, step, "c")
    step = forms.next_step(FIELDS, names, draft)
    assert step is not None and step.is_more  # one more after that?
    forms.answer(draft, step, False)
    assert forms.next_step(FIELDS, names, draft) is None
    assert draft["values"]["extras"] == [{"name": "a"}, {"name": "c"}]
