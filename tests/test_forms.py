"""Forms in chat: one question at a time, one entry per unit of goods, back and correct."""

from __future__ import annotations

from flows import forms
from flows.model import FieldDef

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
    assert forms.back(draft)
    assert paths(draft, names) == ["note"]
    forms.answer(draft, forms.next_step(FIELDS, names, draft), "ok")
    forms.reset_field(draft, "quantity")
    assert paths(draft, names) == ["quantity"] and draft["values"]["note"] == "ok"


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
