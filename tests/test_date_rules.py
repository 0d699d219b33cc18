"""Dates that must agree with each other, a question worded for its round, and values that are replaced but not
forgotten — the engine and the checker alone (the chat side is in test_forms_in_view_e2e.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flows import forms
from flows.calendar import WorkCalendar
from flows.clock import FrozenClock
from flows.loader import load_file, parse_definition
from flows.model import FieldDef
from flows.runtime import EARLIER, MOVE_TASK, START_TASK, CaseState, Engine, EngineError, TaskState, task_field_defs
from flows.values import InvalidAnswer, parse_text
from tests.test_engine import LIBRARY, do, open_task, started
from tests.test_loader import problems_of

SPEC_PATH = LIBRARY / "defect_return.yaml"
TODAY = date(2026, 11, 30)  # a Monday
FIELDS = {
    "ship_date": FieldDef(type="date", label="Дата отправки"),
    "back_date": FieldDef(type="date", label="Дата возврата", after="ship_date", not_after="today"),
    "picked_at": FieldDef(type="datetime", label="Забрали", not_before="ship_date"),
}


def problem(name: str, value: str, known: dict[str, str]) -> str | None:
    found = forms.date_rule_problem(FIELDS[name], value, FIELDS, known, TODAY)
    return found[0] % found[1] if found else None


def test_a_return_before_the_shipping_is_refused_naming_the_shipping_date() -> None:
    said = problem("back_date", "2026-11-20", {"ship_date": "2026-11-25"})
    assert said == "The date must be later than “Дата отправки” (25.11.2026)."
    assert problem("back_date", "2026-11-25", {"ship_date": "2026-11-25"}) is not None  # `after` is strict
    assert problem("back_date", "2026-11-26", {"ship_date": "2026-11-25"}) is None


def test_a_rule_waits_for_its_other_date_and_today_is_a_date_too() -> None:
    assert problem("back_date", "2026-11-20", {}) is None  # no shipping date yet: nothing to compare
    assert problem("back_date", "2026-12-01", {}) == "The date cannot be later than today (30.11.2026)."
    # A date and time against a date compares the days: picked up on the day of shipping is fine.
    assert problem("picked_at", "2026-11-25T09:00:00", {"ship_date": "2026-11-25"}) is None
    assert problem("picked_at", "2026-11-24T23:59:00", {"ship_date": "2026-11-25"}) is not None


def test_a_form_is_checked_with_its_own_answers_over_the_case_and_inside_list_entries() -> None:
    fields = {
        **FIELDS,
        "parcels": FieldDef(
            type="list",
            label="Посылки",
            fields={
                "sent": FieldDef(type="date", label="Отправлена"),
                "got": FieldDef(type="date", label="Получена", not_before="sent"),
            },
        ),
    }
    case = {"ship_date": "2026-11-01"}
    # The form's own shipping date wins over the case's older one.
    broken = forms.form_rule_problem(fields, {"ship_date": "2026-11-25", "back_date": "2026-11-20"}, case, TODAY)
    assert broken is not None and broken[1]["value"] == "25.11.2026"
    assert forms.form_rule_problem(fields, {"back_date": "2026-11-20"}, case, TODAY) is None
    entries = [{"sent": "2026-11-10", "got": "2026-11-12"}, {"sent": "2026-11-10", "got": "2026-11-09"}]
    broken = forms.form_rule_problem(fields, {"parcels": entries}, case, TODAY)
    assert broken is not None and broken[1] == {"field": "Получена", "label": "Отправлена", "value": "10.11.2026"}


def test_natural_dates_are_understood() -> None:
    said = {
        "1 декабря": date(2026, 12, 1),
        "1-го декабря": date(2026, 12, 1),
        "1 декабря 2027 года": date(2027, 12, 1),
        "December 1st": date(2026, 12, 1),
        "завтра": date(2026, 12, 1),
        "вчера": date(2026, 11, 29),
        "пн": date(2026, 11, 30),  # today is a Monday: the coming one is today
        "в пятницу": date(2026, 12, 4),
        "прошлый пт": date(2026, 11, 27),
        "через 3 дня": date(2026, 12, 3),
        "2 дня назад": date(2026, 11, 28),
    }
    for text, meant in said.items():
        assert parse_text("date", text, today=TODAY) == meant, text
    with pytest.raises(InvalidAnswer):
        parse_text("date", "30 февраля", today=TODAY)


def test_a_date_that_cannot_be_in_the_future_reads_words_backwards() -> None:
    assert forms.date_preference(FIELDS["back_date"]) == "past"
    assert parse_text("date", "ср", today=TODAY, prefer="past") == date(2026, 11, 25)
    # «28 декабря» typed on 10 January for an arrival is last December's.
    assert parse_text("date", "28 декабря", today=date(2027, 1, 10), prefer="past") == date(2026, 12, 28)
    assert parse_text("date", "28.12", today=date(2027, 1, 10), prefer="past") == date(2026, 12, 28)
    assert parse_text("date", "5 января", today=date(2026, 12, 28), prefer="future") == date(2027, 1, 5)


def test_a_date_typed_without_its_year_is_the_one_nearest_today_and_refused_like_the_full_date() -> None:
    # Saturday 5 December 2026: a shop manager types «7 декабря», the bot's own example, for a date that may not be
    # after today. It is the 7th two days ahead, refused like «07.12.2026» — not last year's, taken silently.
    saturday = date(2026, 12, 5)
    back_date = FIELDS["back_date"]
    lean = forms.date_preference(back_date)

    def said(text: str) -> str | None:
        day = parse_text("date", text, today=saturday, prefer=lean)
        found = forms.date_rule_problem(back_date, day.isoformat(), FIELDS, {}, saturday)
        return found[0] % found[1] if found else None

    assert parse_text("date", "7 декабря", today=saturday, prefer=lean) == date(2026, 12, 7)
    assert said("7 декабря") == said("07.12.2026") == "The date cannot be later than today (05.12.2026)."
    assert said("7.12") == said("07.12.2026")
    # Just after New Year, a December date is last December's; a January one typed late in December is the coming one.
    # Just after New Year, a December date is last December's; a January one typed late in December, for a date that
    # may not be after today, is the January gone (the coming one could only be refused, naming no year).
    assert parse_text("date", "28 декабря", today=date(2027, 1, 3), prefer=lean) == date(2026, 12, 28)
    assert parse_text("date", "3 января", today=date(2026, 12, 28), prefer=lean) == date(2026, 1, 3)
    assert parse_text("date", "1 июня", today=saturday, prefer=lean) == date(2026, 6, 1)


DECEMBER_20 = date(2026, 12, 20)


def read(name: str, text: str, known: dict[str, str], fields: dict[str, FieldDef] | None = None) -> date:
    """A date typed for the field `name` on 20 December 2026, read as the chat reads it (its lean and bound)."""
    fields = fields or FIELDS
    prefer, anchor = forms.date_lean(fields[name], fields, known)
    day: date = parse_text("date", text, today=DECEMBER_20, prefer=prefer, anchor=anchor)
    return day


def test_a_january_day_typed_in_december_for_a_plan_is_the_coming_january() -> None:
    """Seed 2's planned shipping (not before today) typed «15.01» on 20 December is next January's, as the manager
    meant — not last January's, refused as gone."""
    plan = {"ship_on": FieldDef(type="date", label="Плановая дата отгрузки", not_before="today")}
    for text in ("15.01", "15 января", "Jan 15"):
        assert read("ship_on", text, {}, plan) == date(2027, 1, 15), text
    # A day of this December just gone is a slip, refused like the full date — not taken for a year ahead.
    assert read("ship_on", "18.12", {}, plan) == date(2026, 12, 18)


def test_a_january_day_typed_in_december_for_a_past_date_is_the_january_gone() -> None:
    """Seed 1's arrival of the goods (not after today), typed «15.01» on 20 December: the 15th of January this year,
    not next year's, which was refused «cannot be later than today (20.12.2026)» though the person typed no date
    after it."""
    assert read("back_date", "15.01", {}) == date(2026, 1, 15)
    assert read("back_date", "15 января", {}) == date(2026, 1, 15)


def test_a_day_typed_without_its_year_leans_from_the_answer_its_rule_names() -> None:
    """The watches go out to an exhibition on 15 January 2027; «20.01» for the day they come back (not before the day
    they went) is 20 January 2027 — it was this year's and refused as earlier than the day they went. A day just
    before that one is refused as the full date would be."""
    loan = {
        "lent_on": FieldDef(type="date", label="Дата выдачи", not_before="today"),
        "back_on": FieldDef(type="date", label="Дата возврата", not_before="lent_on"),
    }
    assert read("back_on", "20.01", {"lent_on": "2027-01-15"}, loan) == date(2027, 1, 20)
    assert read("back_on", "20 января", {"lent_on": "2027-01-15"}, loan) == date(2027, 1, 20)
    assert read("back_on", "10.01", {"lent_on": "2027-01-15"}, loan) == date(2027, 1, 10)  # refused by the rule
    # Not yet answered: nothing to lean from but the calendar.
    assert read("back_on", "20.01", {}, loan) == date(2027, 1, 20)


def test_a_day_without_a_rule_is_the_nearest_across_new_year_else_this_years() -> None:
    """A date with no rule (seed 4's «Paid in 1C on»): «15.01» typed on 20 December is the coming one, «28.12»
    typed on 3 January the one a week ago; a day months away is this year's, as before."""
    paid = {"paid_on": FieldDef(type="date", label="Дата оплаты по 1С")}
    assert read("paid_on", "15.01", {}, paid) == date(2027, 1, 15)
    assert parse_text("date", "28.12", today=date(2027, 1, 3)) == date(2026, 12, 28)
    assert parse_text("date", "25.12", today=date(2026, 5, 14)) == date(2026, 12, 25)
    assert parse_text("date", "5.1", today=date(2026, 5, 14)) == date(2026, 1, 5)
    assert parse_text("date", "1 июня", today=DECEMBER_20) == date(2026, 6, 1)


def test_a_rule_naming_two_dates_compares_with_the_latest_event_that_happened() -> None:
    """Seed 1's repeated cycle: the goods are shipped again after they came back from repair; the first time after
    they arrived. The first of the dates that has a value is the one compared with."""
    shipping = FieldDef(type="date", label="Дата отправки", not_before="back_from_repair or arrival")
    fields = {
        "shipping": shipping,
        "arrival": FieldDef(type="date", label="Дата поступления"),
        "back_from_repair": FieldDef(type="date", label="Дата возврата из ремонта"),
    }

    def said(value: str, known: dict[str, str]) -> str | None:
        found = forms.date_rule_problem(shipping, value, fields, known, TODAY)
        return found[0] % found[1] if found else None

    assert said("2026-11-10", {"arrival": "2026-11-05"}) is None
    first = said("2026-11-01", {"arrival": "2026-11-05"})
    assert first == "The date cannot be earlier than “Дата поступления” (05.11.2026).", first
    again = {"arrival": "2026-11-05", "back_from_repair": "2026-11-25"}
    assert said("2026-11-10", again) == "The date cannot be earlier than “Дата возврата из ремонта” (25.11.2026)."
    assert said("2026-11-25", again) is None
    # Written with «или», as a deadline may be: the same rule.
    assert forms.alternatives("back_from_repair или arrival") == ["back_from_repair", "arrival"]
    # Each date it names is checked as the definition is read.
    assert any("unknown field 'arival'" in p for p in problems_of(
        (LIBRARY / "defect_return.yaml").read_text(encoding="utf-8").replace("or arrival_date", "or arival")
    ))


def test_the_checker_names_what_is_wrong_with_a_date_rule() -> None:
    source = """\
process: rules
title: Rules
roles: [clerk]
start: {roles: [clerk], form: [ship_date, back_date]}
fields:
  ship_date: {type: date, label: Отправка, after: ship_date}
  back_date: {type: date, label: Возврат, after: shipping}
  amount: {type: number, label: Сумма}
  again: {type: date, label: Снова, not_before: amount}
stages:
  - key: check
    title: Check
    tasks:
      - key: look
        title: Look
        assignee: clerk
        fields:
          - {field: amount, label: Сумма ещё раз, after: ship_date}
          - {field: again, label: Снова, not_after: nowhere}
    next: done
  - {key: done, title: Done, final: true}
"""
    found = problems_of(source)
    assert any(":6:" in p and "compares the field with itself" in p for p in found), found
    assert any(":7:" in p and "unknown field 'shipping'" in p for p in found), found
    assert any(":9:" in p and "'amount', which is not a date field" in p for p in found), found
    assert any(":18:" in p and "'amount' is not a date field" in p for p in found), found
    assert any(":19:" in p and "unknown field 'nowhere'" in p for p in found), found
    # A rule on a field that holds no date is refused as the definition is read.
    shaped = problems_of(source.replace("amount: {type: number,", "amount: {type: number, before: today,"))
    assert any(":8:" in p and "belong to a date or datetime field" in p for p in shaped), shaped


def test_seed_one_asks_the_return_from_repair_as_a_date_of_its_own() -> None:
    loaded = parse_definition((SPEC_PATH).read_text(encoding="utf-8"), str(SPEC_PATH))
    task = TaskState(key="defect_fixed", stage="fix_check", visit=1, kind="approve")
    asks = task_field_defs(loaded.spec, task, "reject")
    # The arrival stays the incoming document's date: the return is another fact, asked as itself.
    assert "arrival_date" not in asks
    asked = asks["back_from_repair_date"]
    assert asked.label == {"ru": "Дата возврата из ремонта", "en": "Date the goods came back from repair"}
    assert asked.not_before == "return_ship_date"


def to_fix_check(engine: Engine, ship: str = "2026-12-28", back: str = "2027-01-20") -> CaseState:
    case = started(engine)
    do(engine, case, "move_to_service", "done")
    do(engine, case, "confirm_defect", "approve", {}, user=3)
    do(engine, case, "supplier_notified", "done")
    do(engine, case, "ship_to", "office", {"ship_address": "Москва"})
    do(engine, case, "prepare_documents", "done")
    docs = [{"id": 7, "name": "act.pdf"}]
    do(engine, case, "pack_and_ship", "done", {"shipping_date": ship, "waybill": "CDEK-1", "shipping_docs": docs})
    do(engine, case, "inform_supplier", "done")
    do(engine, case, "verdict", "repair", {"verdict_doc": [{"id": 8, "name": "v.pdf"}]})
    do(engine, case, "goods_back", "done", {"return_ship_date": back})
    return case


def test_the_engine_refuses_dates_out_of_order_naming_the_other_date() -> None:
    # 1 February 2027: every date of the story below has already happened.
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2027, 2, 1, 7, 0, tzinfo=UTC)))
    with pytest.raises(EngineError) as refused:
        to_fix_check(engine, ship="2026-12-24")  # shipped before the goods arrived (25.12)
    # Said away from its question, the refusal names the date that is wrong as well as the one it must follow.
    assert refused.value.message == "“%(field)s”: the date cannot be earlier than “%(label)s” (%(value)s)."
    assert refused.value.params == {"field": "Дата отправки", "label": "Дата поступления товара", "value": "25.12.2026"}
    with pytest.raises(EngineError) as refused:
        to_fix_check(engine, back="2026-12-27")  # back from repair before it was shipped (28.12)
    assert refused.value.params == {
        "field": "Дата отправки товара поставщиком",
        "label": "Дата отправки",
        "value": "28.12.2026",
    }
    assert to_fix_check(engine).stage == "fix_check"


def test_the_return_from_repair_keeps_the_first_arrival_and_moves_the_deadline() -> None:
    # 1 February 2027: every date of the story below has already happened.
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2027, 2, 1, 7, 0, tzinfo=UTC)))
    case = to_fix_check(engine)
    comment = {"defect_fixed_comment": "Всё ещё отстают"}
    with pytest.raises(EngineError):  # back from repair before the supplier sent it back (20.01)
        do(engine, case, "defect_fixed", "reject", {"back_from_repair_date": "2027-01-19", **comment})
    do(engine, case, "defect_fixed", "reject", {"back_from_repair_date": "2027-01-22", **comment})
    assert case.stage == "notify_supplier" and case.data["back_from_repair_date"] == "2027-01-22"
    assert case.data["arrival_date"] == "2026-12-25" and "arrival_date" not in case.data.get(EARLIER, {})
    # The supplier's new deadline counts from the new date.
    assert open_task(case, "supplier_notified").due_at == datetime(2027, 1, 29, 15, 0, tzinfo=UTC)


def test_a_day_of_work_is_a_working_day_and_a_day_off_names_the_next_one() -> None:
    work_date = FieldDef(type="date", label="Дата работ на складе", working_day=True)
    calendar = WorkCalendar()

    def said(value: str) -> str | None:
        found = forms.date_rule_problem(work_date, value, {}, {}, TODAY, calendar=calendar)
        return found[0] % found[1] if found else None

    assert said("2026-12-05") == "05.12.2026 is not a working day; the nearest working day is 07.12.2026."  # Saturday
    assert said("2026-12-31") == "31.12.2026 is not a working day; the nearest working day is 11.01.2027."  # holidays
    assert said("2026-12-07") is None
    # Without the calendar (a date parsed alone) there is nothing to check it against.
    assert forms.date_rule_problem(work_date, "2026-12-05", {}, {}, TODAY) is None
    with pytest.raises(ValueError, match="working_day"):
        FieldDef(type="text", label="Заметка", working_day=True)


def test_the_engine_refuses_a_warehouse_date_on_a_day_off() -> None:
    """Whichever way the answer comes (not only typed at its question), a day off is no day of work."""
    spec = load_file(LIBRARY / "fulfillment_receiving.yaml").spec
    engine = Engine(WorkCalendar(), FrozenClock(datetime(2026, 12, 25, 7, 0, tzinfo=UTC)))  # Friday
    case, _ = engine.start(spec, 1)
    start = {"client": {"id": 1, "name": "ООО Ромашка"}, "contact_name": "Иван", "goods_description": "Игрушки"}
    do(engine, case, START_TASK, "submit", start, user=1)
    engine.move(case, "warehouse", 1, {"account_manager"})
    with pytest.raises(EngineError) as refused:
        do(engine, case, MOVE_TASK, "submit", {"expected_units": 10, "work_date": "2026-12-26"}, user=1)
    assert refused.value.params == {"field": "Дата работ на складе", "value": "26.12.2026", "next": "28.12.2026"}
    do(engine, case, MOVE_TASK, "submit", {"expected_units": 10, "work_date": "2026-12-28"}, user=1)
    assert case.stage == "warehouse"


def test_only_a_wait_for_a_date_of_the_case_is_told_as_a_plan() -> None:
    """A deal ready to ship waits for its planned date: worth saying («⏳ Ждёт до …»). An approved order request waits
    four working hours only to ask why 1C has not taken it: telling the dealer it «waits until 15:30» would mislead."""
    from flows.runtime import CaseStatus, waits_for_a_date

    deal = CaseState(spec=load_file(LIBRARY / "meat_deal.yaml").spec, initiator_id=1, stage="accountant_checked",
                     status=CaseStatus.ACTIVE)  # fmt: skip
    order = CaseState(spec=load_file(LIBRARY / "order_request.yaml").spec, initiator_id=1, stage="approved",
                      status=CaseStatus.ACTIVE)  # fmt: skip
    assert waits_for_a_date(deal) and not waits_for_a_date(order)
    deal.status = CaseStatus.DONE
    assert not waits_for_a_date(deal)


def test_a_pre_order_at_new_year_names_the_first_working_day_of_next_week() -> None:
    """Seed 2's pre-order is shipped not before next week. On Wednesday 30.12.2026 next week begins on Monday
    04.01.2027, a holiday of the Russian calendar like the rest of the New Year week: the manager is told the first
    day the plant ships, 11.01.2027, not a Monday he would be refused again for."""
    plan = FieldDef(type="date", label="Плановая дата отгрузки", not_before="next_week", working_day=True)
    wednesday = date(2026, 12, 30)
    refused = forms.date_rule_problem(plan, "2026-12-31", {}, {}, wednesday, calendar=WorkCalendar())
    assert refused is not None and refused[1] == {"label": "", "value": "11.01.2027"}, refused
    assert forms.date_rule_problem(plan, "2027-01-11", {}, {}, wednesday, calendar=WorkCalendar()) is None
    # On a Sunday next week is tomorrow.
    assert forms.date_rule_problem(plan, "2026-12-07", {}, {}, date(2026, 12, 6), calendar=WorkCalendar()) is None
