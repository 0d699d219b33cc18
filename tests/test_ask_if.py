"""Conditional fields (`ask_if`): a prepayment form asks what its payment type needs and nothing else; the checker
points at a condition that names an unknown field or compares values that never compare."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows import forms
from flows.loader import DefinitionError, parse_definition
from flows.model import FieldDef, ref_names

PAYMENT = {
    "payment_type": FieldDef(
        type="choice",
        label="Тип оплаты",
        options={"prepayment": "Предоплата", "deferred": "Отсрочка", "letter_of_credit": "Аккредитив"},
    ),
    "prepayment_amount": FieldDef(type="money", label="Сумма", ask_if="payment_type == 'prepayment'"),
    "prepayment_date": FieldDef(type="date", label="Дата", ask_if="payment_type == 'prepayment'"),
    "deferral_agreement": FieldDef(type="document", label="Соглашение", ask_if="payment_type == 'deferred'"),
    "lc_bank": FieldDef(type="text", label="Банк", ask_if="payment_type == 'letter_of_credit'"),
    "note": FieldDef(type="text", label="Примечание", required=False),
}
NAMES = list(PAYMENT)
LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"


def _fill(draft: dict[str, Any], answers: dict[str, Any], data: dict[str, Any] | None = None) -> list[str]:
    """Answer the form as a person would; the paths asked, in order."""
    asked = []
    while (step := forms.next_step(PAYMENT, forms.asked(PAYMENT, NAMES, draft["values"], data), draft)) is not None:
        asked.append(step.path)
        forms.answer(draft, step, answers.get(step.path))
    return asked


def test_each_payment_type_asks_its_own_fields_only() -> None:
    draft = forms.new_draft("submit")
    asked = _fill(draft, {"payment_type": "letter_of_credit", "lc_bank": "Сбербанк"})
    assert asked == ["payment_type", "lc_bank", "note"]

    draft = forms.new_draft("submit")
    asked = _fill(draft, {"payment_type": "prepayment", "prepayment_amount": "100", "prepayment_date": "2026-12-01"})
    assert asked == ["payment_type", "prepayment_amount", "prepayment_date", "note"]


def test_a_changed_answer_drops_the_fields_it_no_longer_needs_from_the_summary() -> None:
    draft = forms.new_draft("submit")
    _fill(draft, {"payment_type": "prepayment", "prepayment_amount": "100", "prepayment_date": "2026-12-01"})
    forms.reset_field(draft, "payment_type")
    asked = _fill(draft, {"payment_type": "deferred", "deferral_agreement": [{"id": "f1"}]})
    assert asked == ["payment_type", "deferral_agreement"]
    shown = forms.asked(PAYMENT, NAMES, draft["values"])
    assert "prepayment_amount" not in shown and "deferral_agreement" in shown


def test_the_condition_may_read_what_the_case_already_has() -> None:
    draft = forms.new_draft("submit")
    names = ["prepayment_amount", "lc_bank"]
    asked = forms.asked(PAYMENT, names, draft["values"], {"payment_type": "letter_of_credit"})
    assert asked == ["lc_bank"]


DEFINITION = """\
process: pay
title: Pay
roles: [clerk]
start:
  roles: [clerk]
  form: [payment_type, amount]
fields:
  payment_type: {type: choice, label: Type, options: {prepayment: Prepayment, deferred: Deferred}}
  amount: {type: money, label: Amount, ask_if: "payment_type == 'prepayment'"}
stages:
  - key: done
    title: Done
    final: true
"""


def _problems(source: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "pay.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_checker_accepts_a_good_condition() -> None:
    spec = parse_definition(DEFINITION, "pay.yaml").spec
    assert spec.fields["amount"].ask_if == "payment_type == 'prepayment'"


def test_the_checker_names_an_unknown_field_at_its_line() -> None:
    problems = _problems(DEFINITION.replace("payment_type == 'prepayment'", "paymnt_type == 'prepayment'"))
    assert any(p.startswith("pay.yaml:9:") and "paymnt_type" in p for p in problems), problems


def test_the_checker_refuses_a_comparison_that_never_holds() -> None:
    problems = _problems(DEFINITION.replace("payment_type == 'prepayment'", "payment_type == 'prepaid'"))
    assert any(p.startswith("pay.yaml:9:") and "prepaid" in p for p in problems), problems
    problems = _problems(DEFINITION.replace("payment_type == 'prepayment'", "amount > 'много'"))
    assert any(p.startswith("pay.yaml:9:") for p in problems), problems


def _library_problems(edit: Callable[[str], str]) -> list[str]:
    source = (LIBRARY / "medical_order.yaml").read_text(encoding="utf-8")
    changed = edit(source)
    assert changed != source
    with pytest.raises(DefinitionError) as caught:
        parse_definition(changed, "medical_order.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_medical_deal_is_valid_and_fills_its_items_before_they_begin() -> None:
    spec = parse_definition((LIBRARY / "medical_order.yaml").read_text(encoding="utf-8"), "m.yaml").spec
    assert ref_names(spec.stage("contract").tasks[0].fields) == ["items", "contract_file"]
    # …but not at a stage the case reaches once the items have begun.
    problems = _library_problems(lambda s: s.replace("fields: [closing_docs]", "fields: [closing_docs, items]"))
    assert any("filled once" in p for p in problems), problems


def test_the_checker_reads_an_entrys_condition_and_a_moves_condition_over_the_item() -> None:
    problems = _library_problems(
        lambda s: s.replace("ask_if: \"availability == 'to_order'\"}", 'ask_if: "avail == 1"}', 1)
    )
    assert any("avail" in p for p in problems), problems
    problems = _library_problems(
        lambda s: s.replace("item.availability == 'in_stock'", "item.availabilty == 'in_stock'")
    )
    assert any("availabilty" in p for p in problems), problems


def test_the_checker_refuses_a_lead_mapped_into_a_file_or_started_by_an_unknown_role() -> None:
    problems = _library_problems(
        lambda s: s.replace("map: {client: organisation,", "map: {contract_file: file, client: organisation,")
    )
    assert any("'contract_file' is not a text" in p for p in problems), problems
    problems = _library_problems(lambda s: s.replace("initiator: director", "initiator: ceo"))
    assert any("unknown role 'ceo'" in p for p in problems), problems
