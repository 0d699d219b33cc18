"""What a question says it wants, before the answer: a list of files asks for files, not «a file»; a date question
names the ways a date may be typed, the reader's way among them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flows.clock import FrozenClock
from flows.model import FieldDef
from services.i18n import Translator
from services.wording import Wording


@pytest.fixture(scope="module")
def wording(tmp_path_factory: pytest.TempPathFactory) -> Wording:
    clock = FrozenClock(datetime(2026, 12, 6, 7, 0, tzinfo=UTC))  # Sunday, 6 December, 10:00 in Moscow
    return Wording(Translator(tmp_path_factory.mktemp("locales")), ZoneInfo("Europe/Moscow"), clock=clock)


def test_closing_documents_ask_for_files_one_or_several(wording: Wording) -> None:
    closing = FieldDef(type="document", label="Закрывающие документы (УПД, ТТН, акт сверки)", multiple=True)
    assert wording.type_hint(closing, "ru") == "Отправьте файлы — один или несколько."
    assert wording.type_hint(closing, "en") == "Send the files, one or several."
    scans = FieldDef(type="document", label="Сканы", multiple=True, accept=["pdf"])
    assert wording.type_hint(scans, "ru") == "Отправьте файлы (pdf) — один или несколько."
    draft = FieldDef(type="document", label="Проект договора")
    assert wording.type_hint(draft, "ru") == "Отправьте файл."


def test_a_date_question_names_the_ways_a_date_is_typed(wording: Wording) -> None:
    shipping = FieldDef(type="date", label="Дата отгрузки")
    assert wording.type_hint(shipping, "ru") == "Отправьте дату: ДД.ММ.ГГГГ, «7 декабря» или «сегодня»."
    # An English reader sees a date as «Dec 7, 2026» (its «Now:») and may type it so.
    assert wording.type_hint(shipping, "en") == "Send a date: DD.MM.YYYY, “Dec 7” or “today”."
    # A date of the past gets an example of the past: «7 декабря», tomorrow, would be refused.
    arrival = FieldDef(type="date", label="Дата поступления", not_after="today")
    assert wording.type_hint(arrival, "ru") == "Отправьте дату: ДД.ММ.ГГГГ, «5 декабря» или «сегодня»."
    # A date later than today: «сегодня» is not offered.
    due = FieldDef(type="date", label="Срок", after="today")
    assert wording.type_hint(due, "en") == "Send a date: DD.MM.YYYY or as “Dec 7”."


def test_a_date_question_s_example_follows_the_other_answers_its_rules_name(wording: Wording) -> None:
    """The example is a date the rules take on the answers already given: a return after a shipping, a signing
    before a deadline two months back; and without them, as before."""
    shipped = FieldDef(type="date", label="Дата отгрузки")
    fields = {"shipped_on": shipped, "arrival_date": FieldDef(type="date", label="Дата поступления")}
    back = FieldDef(type="date", label="Дата возврата", after="shipped_on")
    assert wording.type_hint(back, "ru", (fields, {"shipped_on": "2026-12-20"})) == (
        "Отправьте дату: ДД.ММ.ГГГГ или так: «21 декабря»."
    )
    assert wording.type_hint(back, "ru") == "Отправьте дату: ДД.ММ.ГГГГ, «7 декабря» или «сегодня»."
    # Two months back, beyond today's neighbourhood: the example is found by the bound, the nearest day it allows.
    signed = FieldDef(type="date", label="Дата подписания", before="shipped_on")
    assert wording.type_hint(signed, "en", (fields, {"shipped_on": "2026-10-01"})) == (
        "Send a date: DD.MM.YYYY or as “Sep 30”."
    )
    # Of two dates, the latest event that happened: the return after the repair, in the next year — typed without its
    # year it is read after that return, so none is shown.
    again = FieldDef(type="date", label="Дата отправки", not_before="back_from_repair_date or arrival_date")
    fields["back_from_repair_date"] = FieldDef(type="date", label="Дата возврата из ремонта")
    known = {"arrival_date": "2026-11-02", "back_from_repair_date": "2027-01-20"}
    assert wording.type_hint(again, "ru", (fields, known)) == "Отправьте дату: ДД.ММ.ГГГГ или так: «20 января»."


def test_a_number_question_names_its_range_as_the_reader_writes_numbers(wording: Wording) -> None:
    quantity = FieldDef(type="number", label="Количество", integer=True, min=1, max=100000)
    assert wording.type_hint(quantity, "en") == "Send a whole number from 1 to 100,000."
    assert wording.type_hint(quantity, "ru") == "Отправьте целое число от 1 до 100\u00a0000."
    weight = FieldDef(type="number", label="Вес", max=12.5)
    assert wording.type_hint(weight, "en") == "Send a number, at most 12.5."
    assert wording.type_hint(weight, "ru") == "Отправьте число, не больше 12,5."


def test_a_number_bounded_by_another_value_of_the_case_names_it_as_it_is_now(wording: Wording) -> None:
    """The kilos a production makes are at most the report's: the question says «от 0 до 1 800» — the bound as the
    case holds it now, or the fixed `max` where that is tighter or the report's figure is not there."""
    made = FieldDef.model_validate(
        {"type": "number", "label": "Сколько кг", "min": 0, "max": 5000, "at_most": {"value": "report_kg"}}
    )
    fields = {"report_kg": FieldDef(type="number", label="Заявки, кг"), "made": made}
    assert wording.type_hint(made, "ru", (fields, {"report_kg": 1800.0})) == "Отправьте число от 0 до 1\u00a0800."
    assert wording.type_hint(made, "en", (fields, {"report_kg": 9000})) == "Send a number from 0 to 5,000."
    assert wording.type_hint(made, "ru", (fields, {})) == "Отправьте число от 0 до 5\u00a0000."
    floor = FieldDef.model_validate({"type": "number", "label": "Предоплата", "at_least": "deposit"})
    fields = {"deposit": FieldDef(type="number", label="Задаток"), "floor": floor}
    assert wording.type_hint(floor, "en", (fields, {"deposit": 300})) == "Send a number, at least 300."
    assert wording.type_hint(floor, "en", (fields, {})) == "Send a number."


def test_a_date_whose_earliest_day_is_beyond_tomorrow_offers_that_day(wording: Wording) -> None:
    """Today and tomorrow offered where the field takes them; where it takes neither (a return after goods shipped
    on the 20th), the first day it does, as one press."""
    shipping = FieldDef(type="date", label="Дата отгрузки")
    assert [label for _day, label in wording.date_offers(shipping, "ru", ({}, {}))] == [
        "Сегодня, 6 декабря",
        "Завтра, 7 декабря",
    ]
    fields = {"shipped_on": shipping}
    back = FieldDef(type="date", label="Дата возврата", after="shipped_on")
    offered = wording.date_offers(back, "ru", (fields, {"shipped_on": "2026-12-20"}))
    assert [(day.isoformat(), label) for day, label in offered] == [("2026-12-21", "Ближайшая дата: 21 декабря")]
    assert [label for _day, label in wording.date_offers(back, "en", (fields, {"shipped_on": "2026-12-20"}))] == [
        "Earliest: Dec 21"
    ]
    # A date of the past (a day something happened) offers no day ahead of it.
    arrival = FieldDef(type="date", label="Дата поступления", not_after="today", before="shipped_on")
    assert wording.date_offers(arrival, "ru", (fields, {"shipped_on": "2026-12-01"})) == []
