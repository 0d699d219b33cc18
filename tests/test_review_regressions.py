"""Regressions found in review: each test names the harm it guards against."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document

from flows import forms
from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import DefinitionError, load_file, parse_definition
from flows.model import FieldDef
from flows.runtime import EDIT_PREFIX, Engine, EngineError
from services.files import render_docx

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"


def test_user_text_cannot_break_the_letter_to_the_supplier() -> None:
    context = {
        "supplier": {"name": "Dolce & Gabbana <Limited>", "address": "Москва"},
        "brand": "A&B",
        "incoming_doc": "№ 5 < 6",
        "arrival_date": "2026-12-25",
        "quantity": 1,
        "purchase_sum": "100",
        "ship_address": "x",
        "employee_name": "y",
        "today": "2026-12-28",
        "case": {"id": 1},
        "units": [{"model": "M&M", "serial": "<S>", "defect": "a & b"}],
    }
    content = render_docx(LIBRARY / "templates" / "supplier_alpha.docx", context)
    document = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = " ".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "Dolce & Gabbana <Limited>" in text and "Марка: A&B." in text and "№ 5 < 6" in text
    assert "M&M" in cells and "<S>" in cells


def test_lowering_then_raising_the_count_asks_for_the_entries_again() -> None:
    fields = {
        "quantity": FieldDef(type="number", label="Q"),
        "units": FieldDef(
            type="list", label="U", count="quantity", fields={"serial": FieldDef(type="text", label="S")}
        ),
    }
    draft = forms.new_draft("submit")
    names = ["quantity", "units"]
    forms.answer(draft, forms.next_step(fields, names, draft), 3)
    while (step := forms.next_step(fields, names, draft)) is not None:
        forms.answer(draft, step, f"SN{step.index}")
    forms.reset_field(draft, "quantity")
    forms.answer(draft, forms.next_step(fields, names, draft), 2)
    assert forms.next_step(fields, names, draft) is None  # still complete: two watches described
    forms.reset_field(draft, "quantity")
    forms.answer(draft, forms.next_step(fields, names, draft), 3)
    step = forms.next_step(fields, names, draft)
    assert step is not None and step.path == "units.2.serial"  # the third watch must be described again


def _deal_at_waiting_stage() -> tuple[Engine, object, object]:
    clock = FrozenClock(datetime(2026, 12, 21, 7, 0, tzinfo=UTC))
    engine = Engine(WorkCalendar(), clock)
    spec = load_file(LIBRARY / "meat_deal.yaml").spec
    data = {
        "client": {"id": 1, "name": "ООО"},
        "volume_p1": 10,
        "volume_p2": 0,
        "amount": "100.00",
        "planned_ship_date": "2026-12-29",
        "payment_terms": "prepaid",
        "receivables": "0.00",
    }
    case, _ = engine.start(spec, 1, data)
    return engine, case, clock


def test_a_change_form_left_open_cannot_change_the_case_after_it_moved_on() -> None:
    engine, case, _clock = _deal_at_waiting_stage()
    (edit,) = [e.task for e in engine.request_edit(case, "planned_ship_date", 1)]  # type: ignore[arg-type, attr-defined]
    edit.id = 99
    case.stage = "shipped"  # the deal moved on while the form stayed open
    with pytest.raises(EngineError):
        engine.submit(case, edit, "submit", {"planned_ship_date": "2027-03-01"}, 1)  # type: ignore[arg-type]
    assert case.data["planned_ship_date"] == "2026-12-29"  # type: ignore[attr-defined]
    assert EDIT_PREFIX in edit.key


def test_weekly_deadlines_belong_to_the_cycles_week() -> None:
    clock = FrozenClock(datetime(2026, 12, 24, 6, 0, tzinfo=UTC))  # Thursday 09:00 Moscow: the cycle starts
    engine = Engine(WorkCalendar(), clock)
    spec = load_file(LIBRARY / "weekly_orders.yaml").spec
    case, _ = engine.start(spec, 1)
    # The report's kilos per production, as the bot writes them from the deals (a production without any is not
    # asked to confirm).
    case.data.update({"preorders_count": 2, "preorders_kg_p1": 1800, "preorders_kg_p2": 400})
    review = case.open_tasks()[0]
    review.id = 1
    engine.claim(case, review, 1, {"commercial_director"})
    clock.set(datetime(2026, 12, 25, 8, 0, tzinfo=UTC))  # the review is closed late, on Friday at 11:00
    engine.submit(case, review, "done", {}, 1)
    production = {t.key: t.due_at for t in case.open_tasks()}
    # «friday 10:00» of this cycle's week: already past, so overdue now — not 1 January next year.
    assert production["production_ok_p1"] == datetime(2026, 12, 25, 7, 0, tzinfo=UTC)


def test_keys_too_long_for_a_button_are_refused() -> None:
    source = (LIBRARY / "fulfillment_quote.yaml").read_text(encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        parse_definition(
            source.replace("key: make_offer", "key: " + "make_offer_" * 4).replace(
                "to: make_offer", "to: " + "make_offer_" * 4
            ),
            "q.yaml",
        )
    assert any("too long for a button" in str(p) for p in caught.value.problems)


@pytest.mark.parametrize("cron", ["0 25 * * thu", "0 9 30 2 *", "every thursday"])
def test_a_schedule_that_cannot_run_is_refused_when_loaded(cron: str) -> None:
    source = (LIBRARY / "weekly_orders.yaml").read_text(encoding="utf-8").replace("0 9 * * thu", cron)
    with pytest.raises(DefinitionError) as caught:
        parse_definition(source, "weekly.yaml")
    assert any("cron" in str(p) or cron in str(p) for p in caught.value.problems)


def test_webhook_mode_without_a_secret_does_not_start(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main as cli

    assert cli(["run", "--webhook-url", "https://bot.example/telegram"]) == 2
    assert "WEBHOOK_SECRET" in capsys.readouterr().err
