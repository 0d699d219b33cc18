"""Parsing chat answers into typed values, formatting them and storing them as JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from flows.values import (
    InvalidAnswer,
    format_value,
    from_json,
    parse_full_name,
    parse_text,
    said_roughly,
    to_json,
)

TODAY = date(2026, 5, 14)
SIZES = {"s": "Small", "m": "Medium", "xl": "Extra large"}


def invalid(kind: str, text: str, **kwargs: Any) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as info:
        parse_text(kind, text, **kwargs)
    return info.value


# -- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Иванова Марина", "Иванова Марина"),
        ("  Иванова   Марина Сергеевна ", "Иванова Марина Сергеевна"),
        ("Иванова М. С.", "Иванова М. С."),
        ("Салтыков-Щедрин Михаил", "Салтыков-Щедрин Михаил"),
        ("O'Neil Mary", "O'Neil Mary"),
    ],
)
def test_a_full_name_is_a_surname_and_a_first_name_at_least(typed: str, kept: str) -> None:
    assert parse_full_name(typed) == kept


@pytest.mark.parametrize("typed", ["Иван", "  Марина  ", "ВХ-42 Иванова", "Иванова 42", "- -"])
def test_a_first_name_alone_or_a_number_is_refused_with_an_example(typed: str) -> None:
    with pytest.raises(InvalidAnswer) as refused:
        parse_full_name(typed)
    assert "surname and the first name" in refused.value.message and "e.g." in refused.value.message


def test_text() -> None:
    assert parse_text("text", "  hello world \n") == "hello world"
    assert invalid("text", "   \n").message == "Please type some text"
    error = invalid("text", "x" * 4001)
    assert error.params == {"length": 4001, "limit": 4000}
    assert "4001" in str(error)
    assert parse_text("text", "x" * 4000) == "x" * 4000


# -- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("12,5", 12.5),
        ("12.5", 12.5),
        ("1 234", 1234),
        ("1\u00a0234,5", 1234.5),
        ("-7", -7),
        ("−7,25", -7.25),
        ("+3", 3),
        ("12.0", 12),
        ("1,234.50", 1234.5),
        ("1.234,50", 1234.5),
        (" 0 ", 0),
    ],
)
def test_number(text: str, expected: float) -> None:
    value = parse_text("number", text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("text", ["", "abc", "12a", "1,2,3", "1.2.3", "--1", "12..5", "1e5", "nan", "9" * 25])
def test_number_errors(text: str) -> None:
    error = invalid("number", text)
    assert error.message == "Enter a number, for example 12 or 12.5"


def test_integer_numbers() -> None:
    assert parse_text("number", "12", integer=True) == 12
    assert parse_text("number", "12,0", integer=True) == 12
    assert invalid("number", "12,5", integer=True).message == "Enter a whole number, for example 12"
    assert invalid("number", "twelve", integer=True).message == "Enter a whole number, for example 12"


@pytest.mark.parametrize(
    ("typed", "units", "expected"),
    [
        ("1 500 кг", ("кг", "kg"), 1500),
        ("12 шт.", ("шт", "pcs"), 12),
        ("10 штук", ("шт", "pcs"), 10),
        ("5 000 шт/мес", ("шт/мес", "pcs/month"), 5000),
        ("5000 шт", ("шт/мес", "pcs/month"), 5000),
        ("2,5 кг", ("кг", "kg"), 2.5),
        ("3 pcs", ("шт", "pcs"), 3),
        ("21 день", ("дн", "день", "days", "day"), 21),
        ("30 дней", ("дн", "день", "days", "day"), 30),
        ("500 ед.", ("шт", "ед", "pcs", "units"), 500),
        ("500 единиц", ("шт", "ед", "pcs", "units"), 500),
        # A unit that is a whole word, in the form the number asks for.
        ("500 коробок", ("коробка", "boxes"), 500),
        ("2 коробки", ("коробка", "boxes"), 2),
        ("3 паллеты", ("паллета",), 3),
        ("10 мешков", ("мешок",), 10),
        ("12", ("шт", "pcs"), 12),
        ("1,5 ч", ("ч", "час", "h"), 1.5),
        ("2 h", ("h", "hour", "ч"), 2),
        ("10 м", ("м", "m"), 10),
    ],
)
def test_a_number_typed_with_its_fields_unit_is_the_number(typed: str, units: tuple[str, ...], expected: float) -> None:
    assert parse_text("number", typed, units=units) == expected


def test_a_number_in_another_unit_is_refused_naming_the_fields() -> None:
    error = invalid("number", "10 кг", units=("шт", "pcs"))
    assert error.message == "The unit here is %(unit)s, not “%(typed)s”: enter the number in %(unit)s, for example 12"
    assert error.params == {"unit": "шт", "typed": "кг"}
    # A one-letter unit takes no longer word: «2 человека» is not two hours.
    assert invalid("number", "2 человека", units=("ч", "час", "h")).params == {"unit": "ч", "typed": "человека"}
    # Boxes are not pieces, nor pallets boxes.
    assert invalid("number", "500 коробок", units=("шт", "ед")).params == {"unit": "шт", "typed": "коробок"}
    assert invalid("number", "5 паллет", units=("коробка",)).params == {"unit": "коробка", "typed": "паллет"}
    assert parse_text("number", "2 часа", units=("ч", "час", "h")) == 2
    # A field without a unit reads numbers alone, as before.
    assert invalid("number", "10 шт").message == "Enter a number, for example 12 or 12.5"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1,5 т", 1500),
        ("1.5 тонны", 1500),
        ("1,5т", 1500),
        ("2 t", 2000),
        ("3 тонн", 3000),
        ("1 тонна", 1000),
        ("0,5 tonnes", 500),
        ("2 ц", 200),
        ("500 г", 0.5),
        ("250 гр.", 0.25),
        ("750 g", 0.75),
        ("12 кило", 12),
        ("12 килограммов", 12),
        ("1 500 кг", 1500),
    ],
)
def test_a_weight_typed_in_tonnes_or_grams_is_read_in_the_fields_kilograms(typed: str, expected: float) -> None:
    """Seed 2's volumes are kilograms, and meat is sold by the tonne: «1,5 т» typed there is 1500 kg, not refused."""
    assert parse_text("number", typed, units=("кг", "kg"), minimum=0) == expected


def test_a_weight_in_a_field_of_tonnes_and_what_is_not_a_weight() -> None:
    assert parse_text("number", "500 кг", units=("т", "t")) == 0.5
    assert parse_text("number", "2 тонны", units=("т", "t")) == 2
    # A whole number of kilograms: half a kilogram is refused as a fraction, a tonne is a thousand.
    half = invalid("number", "500 г", units=("кг", "kg"), integer=True)
    assert half.message == "Enter a whole number, for example 12"
    assert parse_text("number", "1,5 т", units=("кг", "kg"), integer=True) == 1500
    # The field's bounds are its kilograms: 2 t is above a maximum of 1 000 kg.
    assert invalid("number", "2 т", units=("кг", "kg"), maximum=1000).params == {"maximum": "1\u00a0000"}
    # Metres are no weight: refused saying so and naming the field's unit, not read as anything.
    error = invalid("number", "1,5 м", units=("кг", "kg"))
    assert error.message == "“%(typed)s” is not a unit of weight: enter the weight in %(unit)s, for example 12"
    assert error.params == {"typed": "м", "unit": "кг"}
    assert invalid("number", "2 l", units=("kg", "кг")).params == {"typed": "l", "unit": "kg"}
    # A field that counts pieces takes no weight: «10 кг» is refused as before.
    assert invalid("number", "10 кг", units=("шт", "pcs")).params == {"unit": "шт", "typed": "кг"}


def test_number_limits() -> None:
    assert parse_text("number", "5", minimum=1, maximum=10) == 5
    assert parse_text("number", "10", minimum=1, maximum=10) == 10
    error = invalid("number", "11", minimum=1, maximum=10)
    assert error.params == {"minimum": "1", "maximum": "10"}
    assert str(error) == "Enter a number from 1 to 10"
    assert str(invalid("number", "0,5", minimum=1)) == "The number must be at least 1"
    assert str(invalid("number", "100.5", maximum=99.5, lang="en")) == "The number must be at most 99.5"


@pytest.mark.parametrize(
    ("lang", "maximum", "at_most"), [("en", "100,000", "99.5"), ("ru", "100\u00a0000", "99,5")]
)
def test_a_limit_is_written_as_the_reader_writes_numbers(lang: str, maximum: str, at_most: str) -> None:
    """An English reader who typed «200,000» is told «from 1 to 100,000», not «100000»; a Russian one «100 000»."""
    error = invalid("number", "200000", minimum=1, maximum=100000, integer=True, lang=lang)
    assert error.params == {"minimum": "1", "maximum": maximum}
    assert invalid("number", "100", maximum=99.5, lang=lang).params == {"maximum": at_most}


# -- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,50", "1234.50"),
        ("1234.5 руб", "1234.50"),
        ("1234.5 руб.", "1234.50"),
        ("₽ 1234", "1234.00"),
        ("1234₽", "1234.00"),
        ("1234 р.", "1234.00"),
        ("1234 р", "1234.00"),
        ("1 000 000 рублей", "1000000.00"),
        ("0,99", "0.99"),
        ("1234 RUB", "1234.00"),
    ],
)
def test_money(text: str, expected: str) -> None:
    value = parse_text("money", text)
    assert value == Decimal(expected)
    assert isinstance(value, Decimal)
    assert str(value) == expected


@pytest.mark.parametrize("text", ["", "руб", "much", "12,345", "1234.555", "$$ 12"])
def test_money_errors(text: str) -> None:
    error = invalid("money", text)
    assert "for example" in error.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("125 тыс", "125000.00"),
        ("2 750 тыс. руб.", "2750000.00"),
        ("125 тыс. руб.", "125000.00"),
        ("125тыс", "125000.00"),
        ("125 тысяч", "125000.00"),
        ("125к", "125000.00"),
        ("125 т.р.", "125000.00"),
        ("1,5 млн", "1500000.00"),
        ("2 миллиона рублей", "2000000.00"),
        ("1,25 тыс", "1250.00"),
        ("1,23456 тыс", "1234.56"),
    ],
)
def test_an_amount_said_in_thousands_or_millions_is_taken_in_full(text: str, expected: str) -> None:
    # A shop manager writes a purchase of 125 000 ₽ as «125 тыс» or «125к»; the form's confirmation shows it in full.
    assert parse_text("money", text) == Decimal(expected)


def test_an_english_reader_says_thousands_and_millions_with_k_and_m() -> None:
    assert parse_text("money", "125k", lang="en") == Decimal("125000.00")
    assert parse_text("money", "1.5k", lang="en") == Decimal("1500.00")
    assert parse_text("money", "2.5m", lang="en") == Decimal("2500000.00")
    assert parse_text("money", "1.5 mln", lang="en") == Decimal("1500000.00")
    assert parse_text("money", "20 thousand", lang="en") == Decimal("20000.00")
    assert parse_text("money", "2 million", lang="en") == Decimal("2000000.00")


@pytest.mark.parametrize(
    "text", ["тыс", "к", "125 км", "125 м", "12 шт", "1,234567 тыс", "99999999999999999999 млн"]
)
def test_a_scale_word_alone_another_unit_or_a_fraction_of_a_kopeck_is_refused(text: str) -> None:
    assert "for example" in invalid("money", text).message


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("около 12 млн", "ru"),
        ("Около 12 млн", "ru"),
        ("примерно 12 млн", "ru"),
        ("приблизительно 12 млн руб.", "ru"),
        ("ориентировочно 12 000 000", "ru"),
        ("порядка 12 млн", "ru"),
        ("в районе 12 млн", "ru"),
        ("где-то 12 млн", "ru"),
        ("~12 млн", "ru"),
        ("~ 12 млн", "ru"),
        ("≈12 млн", "ru"),
        ("about 12m", "en"),
        ("around 12 million", "en"),
        ("approx. 12,000,000", "en"),
        ("roughly 12 mln", "en"),
    ],
)
def test_an_estimate_is_taken_as_its_amount(text: str, lang: str) -> None:
    """«около 12 млн» is what a sales manager writes of a client's budget: an estimate, and the amount to record is
    12 000 000 (the form says what it recorded, `said_roughly`); refusing it would only make him drop the word."""
    assert parse_text("money", text, lang=lang) == Decimal("12000000.00")
    assert said_roughly(text)
    assert not said_roughly("12 млн") and not said_roughly("около") and not said_roughly("до 12 млн")


@pytest.mark.parametrize(
    ("text", "lang", "amount", "estimate"),
    [
        ("до 12 млн", "ru", "12\u00a0000\u00a0000", "около 12 млн"),
        ("Не более 12 млн", "ru", "12\u00a0000\u00a0000", "около 12 млн"),
        ("максимум 500 тыс", "ru", "500\u00a0000", "около 500 тыс"),
        ("от 10 млн", "ru", "10\u00a0000\u00a0000", "около 10 млн"),
        ("свыше 10 млн", "ru", "10\u00a0000\u00a0000", "около 10 млн"),
        ("up to 12m", "en", "12,000,000", "about 12m"),
        ("at most 12 million", "en", "12,000,000", "about 12 million"),
    ],
)
def test_a_bound_is_no_amount_and_says_what_to_write(text: str, lang: str, amount: str, estimate: str) -> None:
    """«до 12 млн» says the most it may be, not what it is: an amount recorded from it would be a guess the bot
    made, so it is refused — naming the amount the person may mean and how to write an estimate."""
    error = invalid("money", text, lang=lang)
    assert error.message.startswith("“%(typed)s” is a limit, not an amount"), error.message
    assert error.params == {"typed": text, "amount": amount, "estimate": estimate}, error.params


def test_a_range_is_no_amount_either() -> None:
    error = invalid("money", "от 10 до 12 млн")
    assert error.message.startswith("“%(typed)s” is a limit, not an amount"), error.message
    # No one amount in it: the usual example, as an estimate too.
    assert (error.params["amount"], error.params["estimate"]) == ("125 000", "около 125 000"), error.params


def test_money_limits() -> None:
    assert invalid("money", "-5", minimum=0).message == "The number must be at least %(minimum)s"
    assert parse_text("money", "5", minimum=0) == Decimal("5.00")


def test_money_cents() -> None:
    # "12,345" is 12.345: a comma is decimal, and money has only two places.
    assert "2 digits" in invalid("money", "12,345").message


# -- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.12.2026", date(2026, 12, 25)),
        ("25.12.26", date(2026, 12, 25)),
        ("25.12", date(2026, 12, 25)),
        ("5.1", date(2026, 1, 5)),
        ("25/12/2026", date(2026, 12, 25)),
        ("2026-12-25", date(2026, 12, 25)),
        ("сегодня", TODAY),
        ("Today", TODAY),
        ("вчера", date(2026, 5, 13)),
        ("yesterday", date(2026, 5, 13)),
        ("завтра", date(2026, 5, 15)),
        ("tomorrow", date(2026, 5, 15)),
        ("29.02.2028", date(2028, 2, 29)),
        # In words (TODAY is Thursday 14 May 2026): a month's name, a weekday (the coming one, today counts).
        ("1 декабря", date(2026, 12, 1)),
        ("1 Декабря 2027", date(2027, 12, 1)),
        ("3 янв.", date(2026, 1, 3)),
        ("December 1", date(2026, 12, 1)),
        ("dec 1, 2027", date(2027, 12, 1)),
        ("пн", date(2026, 5, 18)),
        ("в пятницу", date(2026, 5, 15)),
        ("четверг", date(2026, 5, 14)),
        ("прошлый пн", date(2026, 5, 11)),
        ("last thursday", date(2026, 5, 7)),
        ("next thursday", date(2026, 5, 21)),
    ],
)
def test_date(text: str, expected: date) -> None:
    assert parse_text("date", text, today=TODAY) == expected


def test_date_errors() -> None:
    error = invalid("date", "31.02.2026", today=TODAY)
    assert error.message.startswith("There is no such date")
    assert error.params["text"] == "31.02.2026"
    assert invalid("date", "29.02.2026", today=TODAY).message.startswith("There is no such date")
    assert invalid("date", "2026-13-01", today=TODAY).message.startswith("There is no such date")
    assert invalid("date", "next week", today=TODAY).message.startswith("Enter a date")
    assert invalid("date", "31 ноября", today=TODAY).message.startswith("There is no such date")
    assert invalid("date", "1 брюмера", today=TODAY).message.startswith("Enter a date")
    assert invalid("date", "в пятницу 13", today=TODAY).message.startswith("Enter a date")
    assert invalid("date", "", today=TODAY).message.startswith("Enter a date")


def test_datetime() -> None:
    assert parse_text("datetime", "25.12.2026 14:30", today=TODAY) == datetime(2026, 12, 25, 14, 30)
    assert parse_text("datetime", "завтра 9:05", today=TODAY) == datetime(2026, 5, 15, 9, 5)
    assert parse_text("datetime", "2026-12-25T14:30", today=TODAY) == datetime(2026, 12, 25, 14, 30)
    assert parse_text("datetime", " 25.12   14:30 ", today=TODAY) == datetime(2026, 12, 25, 14, 30)
    assert invalid("datetime", "25.12.2026", today=TODAY).message.startswith("Enter a date and time")
    assert invalid("datetime", "25.12.2026 25:00", today=TODAY).message.startswith("There is no such time")
    assert invalid("datetime", "25.12.2026 noon", today=TODAY).message.startswith("Enter a time")
    assert invalid("datetime", "31.02 10:00", today=TODAY).message.startswith("There is no such date")


# -- bool and choice ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["да", "Да", "yes", "Y", "+", "да!"])
def test_bool_yes(text: str) -> None:
    assert parse_text("bool", text) is True


@pytest.mark.parametrize("text", ["нет", "НЕТ", "no", "n", "-"])
def test_bool_no(text: str) -> None:
    assert parse_text("bool", text) is False


def test_bool_error() -> None:
    assert invalid("bool", "maybe").message == "Answer yes or no"


def test_choice() -> None:
    assert parse_text("choice", "xl", options=SIZES) == "xl"
    assert parse_text("choice", "XL", options=SIZES) == "xl"
    assert parse_text("choice", "extra   LARGE", options=SIZES) == "xl"
    assert parse_text("choice", " medium ", options=SIZES) == "m"
    error = invalid("choice", "huge", options=SIZES)
    assert error.params == {"options": "Small, Medium, Extra large"}
    assert str(error) == "Choose one of: Small, Medium, Extra large"


SUPPLIERS = {"alpha": "ООО «Альфа Тайм»", "helvetia": "Helvetia Watch Service", "alpina": "Альфа Сервис"}


def test_a_choice_typed_as_people_call_it() -> None:
    assert parse_text("choice", "Тайм", options=SUPPLIERS) == "alpha"
    assert parse_text("choice", "альфа тайм", options=SUPPLIERS) == "alpha"
    assert parse_text("choice", "Альфа «Тайм»", options=SUPPLIERS) == "alpha"
    assert parse_text("choice", "helv", options=SUPPLIERS) == "helvetia"
    assert parse_text("choice", "Альфа серв", options=SUPPLIERS) == "alpina"
    # Two suppliers are «Альфа», none is «Сервис Альфа Тайм», and two letters name nothing: asked again.
    for text in ("Альфа", "Альфа Альфа", "Сервис Альфа Тайм", "ал", "2", "..."):
        assert invalid("choice", text, options=SUPPLIERS).params == {"options": ", ".join(SUPPLIERS.values())}


def test_programming_errors_are_not_invalid_answers() -> None:
    with pytest.raises(ValueError, match="options"):
        parse_text("choice", "xl")
    with pytest.raises(ValueError, match="unknown value kind"):
        parse_text("colour", "red")


# -- formatting and JSON --------------------------------------------------------------------


def test_format_value_ru_and_en() -> None:
    nbsp = "\u00a0"
    assert format_value("number", 1234.5) == f"1{nbsp}234,5"
    assert format_value("number", 1234.5, lang="en") == "1,234.5"
    assert format_value("number", 12) == "12"
    assert format_value("money", Decimal("1234.5")) == f"1{nbsp}234,50{nbsp}₽"
    assert format_value("money", "1234.50", lang="en") == f"1,234.50{nbsp}₽"
    assert format_value("date", date(2026, 12, 25)) == "25.12.2026"
    assert format_value("date", "2026-12-25", lang="en") == "Dec 25, 2026"
    assert format_value("datetime", datetime(2026, 12, 25, 9, 5)) == "25.12.2026 09:05"
    assert format_value("bool", True) == "да"
    assert format_value("bool", False, lang="en") == "no"
    assert format_value("choice", "xl", options=SIZES) == "Extra large"
    assert format_value("choice", "gone", options=SIZES) == "gone"
    assert format_value("text", "hi") == "hi"
    assert format_value("text", None) == "—"
    # An unknown UI language falls back instead of breaking the summary.
    assert format_value("number", 1234.5, lang="xx-nope") == "1,234.5"


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("text", "hello", "hello"),
        ("number", 12, 12),
        ("number", 12.5, 12.5),
        ("money", Decimal("1234.50"), "1234.50"),
        ("date", date(2026, 12, 25), "2026-12-25"),
        ("datetime", datetime(2026, 12, 25, 14, 30), "2026-12-25T14:30:00"),
        ("bool", True, True),
        ("choice", "xl", "xl"),
        ("date", None, None),
    ],
)
def test_json_round_trip(kind: str, value: Any, stored: Any) -> None:
    raw = to_json(kind, value)
    assert raw == stored
    assert json.loads(json.dumps(raw)) == stored
    assert from_json(kind, raw) == value


def test_from_json_is_lenient_about_forms() -> None:
    assert from_json("money", 0.1) == Decimal("0.10")
    assert from_json("money", 5) == Decimal("5.00")
    assert from_json("number", "12") == 12
    assert from_json("date", date(2026, 1, 1)) == date(2026, 1, 1)
    assert to_json("money", Decimal("0.5")) == "0.50"
    with pytest.raises(ValueError, match="corrupt"):
        from_json("date", "31.02.2026")
    with pytest.raises(TypeError):
        to_json("date", "2026-12-25")


def test_parse_then_store_every_kind() -> None:
    answers = {
        "text": "Ivan",
        "number": "1 234,5",
        "money": "1234.5 руб",
        "date": "25.12",
        "datetime": "завтра 10:00",
        "bool": "да",
        "choice": "Small",
    }
    for kind, text in answers.items():
        value = parse_text(kind, text, options=SIZES, today=TODAY)
        assert from_json(kind, json.loads(json.dumps(to_json(kind, value)))) == value


# -- sane bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["31.12.9999", "01.01.1899", "9999-12-31", "31.12.2101", "0001-01-01"])
def test_dates_outside_the_business_range_are_refused(text: str) -> None:
    error = invalid("date", text, today=TODAY)
    assert error.params == {"earliest": "01.01.1900", "latest": "31.12.2100"}
    assert invalid("datetime", f"{text} 10:00", today=TODAY).message == error.message


@pytest.mark.parametrize("typed", [".", " . ", "-", "—", "?!", "..."])
def test_punctuation_alone_is_no_text_answer(typed: str) -> None:
    assert invalid("text", typed).message.startswith("Please write it in words")


def test_a_refused_dates_example_is_a_date_the_field_takes() -> None:
    """«Такой даты нет: 31.02.2026 … например 25.12.2026» was said by a field of past dates on 5 December 2026: the
    example is a weekday just before today for a date of the past, just after it for a plan, else today — within the
    field's range."""
    friday = date(2026, 12, 4)
    assert invalid("date", "31.02.2026", today=friday, prefer="past").params["example"] == "03.12.2026"
    assert invalid("date", "32.13", today=friday, prefer="past").params["example"] == "03.12.2026"
    assert invalid("date", "when?", today=friday, prefer="past").params["example"] == "03.12.2026"
    assert invalid("date", "31.11", today=friday, prefer="future").params["example"] == "07.12.2026"  # Monday
    assert invalid("date", "31.11.2026", today=friday).params["example"] == "04.12.2026"
    from_next_year = (date(2027, 1, 1), date(2030, 1, 1))
    assert invalid("date", "31.06.2027", today=friday, date_range=from_next_year).params["example"] == "01.01.2027"


def test_the_date_range_is_configurable() -> None:
    narrow = (date(2020, 1, 1), date(2030, 12, 31))
    assert parse_text("date", "01.01.2020", date_range=narrow) == date(2020, 1, 1)
    assert invalid("date", "31.12.2019", date_range=narrow).params["earliest"] == "01.01.2020"
    assert invalid("date", "today", today=date(2031, 1, 1), date_range=narrow).params["latest"] == "31.12.2030"
    # «tomorrow» of the last day there is does not overflow: it is simply out of range.
    assert "between" in str(invalid("date", "tomorrow", today=date.max))


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("number", "١٢"),  # Arabic-Indic twelve
        ("number", "１２"),  # full-width
        ("money", "٥٠٠ ₽"),
        ("date", "２５.１２.2026"),
        ("datetime", "25.12.2026 １٠:00"),
        ("number", "12²"),
    ],
)
def test_digits_other_than_ascii_are_refused_in_words(kind: str, text: str) -> None:
    assert invalid(kind, text, today=TODAY).message == "Please type the digits 0-9"


def test_money_is_not_negative_unless_the_field_allows_it() -> None:
    assert invalid("money", "-5").message == "An amount cannot be negative here"
    assert invalid("money", "−1 000,50 ₽").message == "An amount cannot be negative here"
    assert parse_text("money", "-5", negative=True) == Decimal("-5.00")
    assert parse_text("money", "-5", minimum=-10) == Decimal("-5.00")  # a negative minimum allows it too
    assert parse_text("money", "0") == Decimal("0.00")


@pytest.mark.parametrize("text", ["inf", "nan", "-Infinity", "1e400", "1" * 21])
def test_numbers_are_finite(text: str) -> None:
    invalid("number", text)
    invalid("money", text)


def test_text_is_limited_in_utf16_units_as_telegram_counts() -> None:
    from flows.values import utf16_length

    assert utf16_length("я😀") == 3  # the emoji is outside the BMP: two code units
    assert parse_text("text", "😀" * 2000) == "😀" * 2000  # 4000 units: the limit exactly
    error = invalid("text", "😀" * 2000 + "x")
    assert error.params == {"length": 4001, "limit": 4000}


def test_an_english_reader_writes_thousands_with_commas() -> None:
    # «125,000» from an English reader is a hundred and twenty-five thousand; from a Russian one, 125 with a
    # decimal comma. Both read «1,250.50» and «1 250,50» alike.
    assert parse_text("money", "125,000", lang="en") == Decimal("125000.00")
    assert parse_text("number", "1,250,000", lang="en") == 1250000
    assert parse_text("money", "125,000") == Decimal("125.00")
    for lang in ("ru", "en"):
        assert parse_text("money", "1,250.50", lang=lang) == Decimal("1250.50")
        assert parse_text("money", "1 250,50", lang=lang) == Decimal("1250.50")


def test_an_amount_refused_gives_examples_in_each_readers_way() -> None:
    with pytest.raises(InvalidAnswer) as refused:
        parse_text("money", "a lot", lang="en")
    assert refused.value.params == {
        "whole": {"ru": "125 000", "en": "125,000"},
        "cents": {"ru": "1 250,50", "en": "1,250.50"},
    }


def test_an_english_readers_slash_date_that_reads_both_ways_is_asked_back() -> None:
    today = date(2026, 12, 5)
    with pytest.raises(InvalidAnswer) as refused:
        parse_text("date", "12/03/2026", today=today, lang="en")
    assert str(refused.value) == (
        "12/03/2026 can be read as Mar 12, 2026 or as Dec 3, 2026: please write the month in words, like 12 March"
    )
    # One that cannot be a month is the day, whichever way round; dots and a Russian reader keep day first.
    assert parse_text("date", "12/25/2026", today=today, lang="en") == date(2026, 12, 25)
    assert parse_text("date", "25/12/2026", today=today, lang="en") == date(2026, 12, 25)
    assert parse_text("date", "3/3/2026", today=today, lang="en") == date(2026, 3, 3)
    assert parse_text("date", "12.03.2026", today=today, lang="en") == date(2026, 3, 12)
    assert parse_text("date", "12/03/2026", today=today) == date(2026, 3, 12)
    assert parse_text("date", "12 March", today=today, lang="en") == date(2026, 3, 12)
