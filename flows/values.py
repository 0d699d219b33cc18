"""Turning what a person types in chat into typed values, and back into text and JSON.

Kinds and their Python types:

=========  ======================  ==========================================
kind       parsed value            JSON form
=========  ======================  ==========================================
text       ``str``                 string
number     ``int`` or ``float``    number
money      ``Decimal`` (2 places)  string ``"1234.50"`` (floats lose cents)
date       ``date``                ISO string ``"2026-12-25"``
datetime   naive ``datetime``      ISO string ``"2026-12-25T14:30:00"``
bool       ``bool``                true/false
choice     ``str`` (option key)    string
=========  ======================  ==========================================

A ``datetime`` answer is naive on purpose: it is the wall-clock time the person meant, in the
organisation's timezone; the deadline code attaches the calendar's zone when it uses it.

Numbers: a comma is the decimal separator (Russian habit), spaces group thousands. When both
a comma and a dot appear the rightmost one is the decimal separator ("1,234.50" and
"1.234,50" both mean 1234.5). An English reader's commas before groups of three digits group
thousands ("125,000").

Errors are :class:`InvalidAnswer` with an English msgid in ``message`` and its placeholders in
``params``; the bot layer translates and formats them.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Any

import phonenumbers
from babel import Locale
from babel.core import UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from email_validator import EmailNotValidError, validate_email

from flows.i18n import _
from flows.units import kilograms, same_unit_word

logger = logging.getLogger(__name__)

__all__ = [
    "DATE_RANGE",
    "KINDS",
    "MAX_TEXT_LENGTH",
    "InvalidAnswer",
    "JsonValue",
    "date_text",
    "datetime_text",
    "format_value",
    "from_json",
    "number_sign",
    "parse_text",
    "said_roughly",
    "to_json",
    "utf16_length",
]

KINDS = frozenset({"text", "number", "money", "date", "datetime", "bool", "choice"})
# Counted as Telegram counts (UTF-16 code units, see `utf16_length`), below its 4096 per message so that
# the answer still fits in a message together with its label.
MAX_TEXT_LENGTH = 4000
# Dates a business means: a form answer outside this range is a typo (31.12.9999, 01.01.0001), and such a
# date would make deadline arithmetic overflow later. Callers may pass their own range.
DATE_RANGE: tuple[date, date] = (date(1900, 1, 1), date(2100, 12, 31))
# Longer digit strings are certainly a paste accident, and would overflow floats.
_MAX_DIGITS = 20
_CENT = Decimal("0.01")

JsonValue = str | int | float | bool | None


class InvalidAnswer(Exception):
    """What the person typed is not a valid answer; ``message`` is a msgid, ``params`` fill it."""

    def __init__(self, message: str, **params: Any) -> None:
        self.message = message
        self.params: dict[str, Any] = params
        super().__init__(message % params if params else message)


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    # Encoded, not counted character by character: the C codec is ~50× faster on a card's few kilobytes.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# Python's \d and int() accept every script's digits ("١٢", "１２"); a person who typed them most likely
# did not mean the number we would read, so they are refused with a word rather than silently converted.
_FOREIGN_DIGIT_RE = re.compile(r"[^\x00-\x7f]")


def _refuse_foreign_digits(text: str) -> None:
    if any(ch.isdigit() or ch.isnumeric() for ch in _FOREIGN_DIGIT_RE.findall(text)):
        raise InvalidAnswer(_("Please type the digits 0-9"))


# -- numbers --------------------------------------------------------------------------------

# Spaces people and keyboards use to group thousands: plain, no-break, narrow no-break, thin.
_GROUP_SPACES_RE = re.compile(r"[ \u00a0\u202f\u2009'’]")
_NUMBER_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$", re.ASCII)
_MINUS_SIGNS = str.maketrans({"−": "-", "–": "-", "—": "-"})
# Currency marks that may surround a money amount; longest first so "руб." wins over "р".
_CURRENCY_RE = re.compile(
    r"^(?:₽|руб(?:лей|ля|ль)?\.?|р\.?|rub\.?|rur\.?)\s*|\s*(?:₽|руб(?:лей|ля|ль)?\.?|р\.?|rub\.?|rur\.?)$",
    re.IGNORECASE,
)


# «125,000» and «1,250,000» as an English reader writes them: commas that group thousands, not a decimal comma.
_COMMA_GROUPS_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+$", re.ASCII)


def _normalize_number(text: str, lang: str = "ru") -> str | None:
    """Canonical "-1234.5" form of a typed number, or None if it is not one."""
    raw = _GROUP_SPACES_RE.sub("", text.strip().translate(_MINUS_SIGNS))
    if lang == "en" and _COMMA_GROUPS_RE.match(raw):
        raw = raw.replace(",", "")
    if "," in raw and "." in raw:
        # Both separators: the rightmost is the decimal one, the other groups thousands.
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        group_sep = "." if decimal_sep == "," else ","
        raw = raw.replace(group_sep, "")
        if raw.count(decimal_sep) != 1:
            return None
        raw = raw.replace(decimal_sep, ".")
    else:
        raw = raw.replace(",", ".")
    if not _NUMBER_RE.match(raw):
        return None
    if sum(ch.isdigit() for ch in raw) > _MAX_DIGITS:
        return None
    return raw


def typed_amount(text: str, lang: str = "ru") -> Decimal | None:
    """An amount as people type money («150 000», «150 000,00», «150000.00», «150,000.00»), or None if it is none."""
    raw = _normalize_number(text, lang)
    return Decimal(raw) if raw is not None else None


def limit_text(number: float | Decimal, lang: str | None) -> str:
    """A field's bound for a message, as the reader writes numbers: 12 rather than 12.0, «100,000» in English and
    «100 000» in Russian (a person who typed «200,000» reads the limit in the same way)."""
    return format_value("number", number, lang=lang or "ru")


def _check_range(value: float | Decimal, minimum: float | None, maximum: float | None, lang: str) -> None:
    low = Decimal(str(minimum)) if minimum is not None else None
    high = Decimal(str(maximum)) if maximum is not None else None
    exact = Decimal(str(value))
    if (low is not None and exact < low) or (high is not None and exact > high):
        if low is not None and high is not None:
            raise InvalidAnswer(
                _("Enter a number from %(minimum)s to %(maximum)s"),
                minimum=limit_text(minimum or 0, lang),
                maximum=limit_text(maximum or 0, lang),
            )
        if low is not None:
            raise InvalidAnswer(_("The number must be at least %(minimum)s"), minimum=limit_text(minimum or 0, lang))
        raise InvalidAnswer(_("The number must be at most %(maximum)s"), maximum=limit_text(maximum or 0, lang))


def _parse_number(
    text: str,
    *,
    minimum: float | None,
    maximum: float | None,
    integer: bool,
    lang: str = "ru",
    scale: Decimal = Decimal(1),
) -> int | float:
    """`scale`: what the typed number is multiplied by to be in the field's unit (`without_unit`: «1,5 т» in kg)."""
    _refuse_foreign_digits(text)
    raw = _normalize_number(text, lang)
    if raw is None:
        if integer:
            raise InvalidAnswer(_("Enter a whole number, for example 12"))
        raise InvalidAnswer(_("Enter a number, for example 12 or 12.5"))
    exact = Decimal(raw) * scale
    value: int | float
    if exact == exact.to_integral_value():
        # "12.0" is still twelve; keep ints as ints so JSON and summaries show 12, not 12.0.
        value = int(exact)
    elif integer:
        raise InvalidAnswer(_("Enter a whole number, for example 12"))
    else:
        value = float(exact)
    _check_range(exact, minimum, maximum, lang)
    return value


_NUMBER_THEN_UNIT = re.compile(r"^\s*([-+]?\d[\d\s.,]*?)\s*([^\W\d_][^\d]*?)\.?\s*$")


def without_unit(text: str, units: Sequence[str]) -> tuple[str, Decimal]:
    """The number of «1 500 кг», «12 шт.», «10 штук» or «5 000 шт/мес» typed where the unit is the field's own (any of
    `units`, the reader's first), and what it is multiplied by to be in that unit: people write quantities with their
    unit, and refusing «12 шт» for «Количество, шт» only teaches them the bot is fussy. The typed unit may be the
    unit, a longer word for it («штук» for «шт»), a short form of it («шт» for «шт/мес») or a word unit in another
    form («коробок» for «коробка»). Where the field's unit is
    a weight, another weight is taken in it: «1,5 т» in kilograms is 1.5 × 1000 (`flows.units.kilograms`), and what
    is no weight («1,5 м») is refused saying so. Another unit is refused naming the field's: «10 кг» taken as pieces
    would be the wrong amount. Without `units`, or without a word after the number, the text is left as typed."""
    said = _NUMBER_THEN_UNIT.match(text)
    if said is None or not units:
        return text, Decimal(1)
    typed = said.group(2).strip().casefold()
    for unit in units:
        own = unit.strip().rstrip(".").casefold()
        longer = len(own) >= 2 and typed.startswith(own)  # «штук» for «шт» (not «человека» for «ч»)
        shorter = len(typed) >= 2 and own.startswith(typed)  # «шт» for «шт/мес»
        if own and (typed == own or longer or shorter):  # the unit itself, one letter too: «1,5 ч», «10 м»
            return said.group(1).strip(), Decimal(1)
        if same_unit_word(typed, own):  # a whole word in the form the number asks: «500 коробок» for «коробка»
            return said.group(1).strip(), Decimal(1)
    field_weight = next((weight for unit in units if (weight := kilograms(unit)) is not None), None)
    if field_weight is not None:
        typed_weight = kilograms(typed)
        if typed_weight is None:
            raise InvalidAnswer(
                _("“%(typed)s” is not a unit of weight: enter the weight in %(unit)s, for example 12"),
                typed=said.group(2).strip(),
                unit=units[0],
            )
        return said.group(1).strip(), typed_weight / field_weight
    # Which unit is asked, and that the one typed is not it: «(единица: шт)» alone read as a rule about the format.
    raise InvalidAnswer(
        _("The unit here is %(unit)s, not “%(typed)s”: enter the number in %(unit)s, for example 12"),
        unit=units[0],
        typed=said.group(2).strip(),
    )


# «125 тыс», «125к», «1,5 млн», «2.5m»: how people say amounts in chat, and in a shop a purchase of «125 тыс» is
# not something to refuse. The word after the number multiplies it; the confirmation shows the amount in full, so
# a slip is seen before it is saved. No bare «м» (metres, months) and no «т» alone in English.
_AMOUNT_SCALE_RE = re.compile(
    r"^(?P<number>.*\d)\s*(?P<scale>тыс(?:яч[аи]?)?\.?|т\.?|к|k|thousands?|млн\.?|миллион(?:а|ов)?|mln|mn|m|millions?)$",
    re.IGNORECASE,
)
_THOUSAND = ("т", "к", "k", "thousand")
_TOO_MUCH = Decimal(10) ** _MAX_DIGITS


def _scaled(text: str) -> tuple[str, int]:
    """The number of an amount typed with «тыс», «к», «млн» or «m» after it, and what it is multiplied by."""
    said = _AMOUNT_SCALE_RE.match(text)
    if said is None:
        return text, 1
    scale = said.group("scale").casefold()
    return said.group("number").strip(), 1000 if scale.startswith(_THOUSAND) else 1_000_000


# The amounts a money question is asked and refused with, each as its reader writes amounts: the translator gives a
# parameter written per language in the reader's one (`services.i18n.Translator.t`).
AMOUNT_EXAMPLES: dict[str, dict[str, str]] = {
    "whole": {"ru": "125 000", "en": "125,000"},
    "cents": {"ru": "1 250,50", "en": "1,250.50"},
}


# «около 12 млн», «~12 млн», «about 12m»: a sales manager's estimate of a client's budget. The amount to record is the
# number said; the form tells the person what it recorded (`said_roughly`), and the summary shows it in full.
_ROUGHLY_RE = re.compile(
    r"^(?:(?:около|примерно|приблизительно|ориентировочно|порядка|в\s+районе|где[\s-]то|about|around|approx\.?"
    r"|approximately|roughly|circa|ca\.)\s+|[~≈]\s*)(?P<amount>.*\d.*)$",
    re.IGNORECASE,
)
# «до 12 млн», «от 10 млн», «up to 12m»: a bound says what the amount may not pass, not what it is. Taking the
# bound as the amount would record a guess of the bot's (a budget «до 12 млн» may be 8), so it is refused, naming
# the amount the person may mean and how an estimate is written.
_BOUND_RE = re.compile(
    r"^(?:до|от|не\s+более|не\s+больше|не\s+выше|не\s+менее|не\s+меньше|не\s+ниже|максимум|минимум|свыше|более"
    r"|больше|менее|меньше|в\s+пределах|up\s+to|at\s+most|at\s+least|under|below|less\s+than|more\s+than|over"
    r"|above|from|max\.?|min\.?)\s+(?P<amount>.*\d.*)$",
    re.IGNORECASE,
)
_ROUGHLY_WORD = {"ru": "около", "en": "about"}


def said_roughly(text: str) -> bool:
    """An amount typed as an estimate («около 12 млн»): taken as its number, which the person is then told."""
    return _ROUGHLY_RE.match(text.strip()) is not None


def _parse_money(
    text: str, *, minimum: float | None, maximum: float | None, negative: bool, lang: str = "ru"
) -> Decimal:
    _refuse_foreign_digits(text)
    stripped = text.strip()
    bound = _BOUND_RE.match(stripped)
    if bound is not None:
        said = bound.group("amount").strip()
        try:  # «до 12 млн»: the 12 000 000 it names; «от 10 до 12 млн» names none, so the usual example
            amount = limit_text(_parse_money(said, minimum=None, maximum=None, negative=True, lang=lang), lang)
        except InvalidAnswer:
            said = amount = AMOUNT_EXAMPLES["whole"].get(lang, AMOUNT_EXAMPLES["whole"]["ru"])
        raise InvalidAnswer(
            _("“%(typed)s” is a limit, not an amount: enter the amount itself, for example %(amount)s, or an "
              "estimate: “%(estimate)s”"),
            typed=stripped, amount=amount, estimate=f"{_ROUGHLY_WORD.get(lang, _ROUGHLY_WORD['ru'])} {said}",
        )  # fmt: skip
    roughly = _ROUGHLY_RE.match(stripped)
    if roughly is not None:
        stripped = roughly.group("amount").strip()
    # Strip a currency mark on either side, at most one of each.
    for _round in range(2):
        stripped = _CURRENCY_RE.sub("", stripped).strip()
    stripped, scale = _scaled(stripped)
    raw = _normalize_number(stripped, lang) if stripped else None
    if raw is None:
        raise InvalidAnswer(_("Enter an amount, for example %(whole)s or %(cents)s"), **AMOUNT_EXAMPLES)
    exact = Decimal(raw) * scale
    if abs(exact) >= _TOO_MUCH:  # «99…9 млн»: more digits than an amount is stored with
        raise InvalidAnswer(_("Enter an amount, for example %(whole)s or %(cents)s"), **AMOUNT_EXAMPLES)
    if exact != exact.quantize(_CENT, rounding=ROUND_HALF_UP):
        raise InvalidAnswer(
            _("An amount has at most 2 digits after the decimal point, for example %(cents)s"),
            cents=AMOUNT_EXAMPLES["cents"],
        )
    _check_range(exact, minimum, maximum, lang)
    # A negative `min` says as much as `negative: true`: the field allows amounts below zero.
    if exact < 0 and not negative and (minimum is None or minimum >= 0):
        raise InvalidAnswer(_("An amount cannot be negative here"))
    return exact.quantize(_CENT)


# -- dates ----------------------------------------------------------------------------------

_RELATIVE_DAYS: dict[str, int] = {
    **dict.fromkeys(("сегодня", "today"), 0),
    **dict.fromkeys(("вчера", "yesterday"), -1),
    **dict.fromkeys(("завтра", "tomorrow"), 1),
    "позавчера": -2,
    "послезавтра": 2,
}
_DMY_RE = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{2}|\d{4}))?$", re.ASCII)
_ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$", re.ASCII)
_ISO_T_RE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})T", re.ASCII)
_DATE_EXAMPLE = "25.12.2026"  # where no day is known (a date and time); a date's own example is `_date_example`

# Dates as people type them: «1 декабря», «1 дек 2026», «December 1», «пн», «в пятницу», «last friday».
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("январь", "января", "янв", "january", "jan"),
        ("февраль", "февраля", "фев", "february", "feb"),
        ("март", "марта", "мар", "march", "mar"),
        ("апрель", "апреля", "апр", "april", "apr"),
        ("май", "мая", "may"),
        ("июнь", "июня", "июн", "june", "jun"),
        ("июль", "июля", "июл", "july", "jul"),
        ("август", "августа", "авг", "august", "aug"),
        ("сентябрь", "сентября", "сен", "сент", "september", "sep", "sept"),
        ("октябрь", "октября", "окт", "october", "oct"),
        ("ноябрь", "ноября", "ноя", "нояб", "november", "nov"),
        ("декабрь", "декабря", "дек", "december", "dec"),
    ),
    start=1,
):
    _MONTHS.update(dict.fromkeys(_names, _number))
_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("пн", "пон", "понедельник", "mon", "monday"),
        ("вт", "вторник", "tue", "tuesday"),
        ("ср", "среда", "среду", "wed", "wednesday"),
        ("чт", "четверг", "thu", "thursday"),
        ("пт", "пятница", "пятницу", "fri", "friday"),
        ("сб", "суббота", "субботу", "sat", "saturday"),
        ("вс", "воскресенье", "sun", "sunday"),
    )
):
    _WEEKDAYS.update(dict.fromkeys(_names, _number))
# «1-го», «1-е», «1st»: the day's ending is read past; «2026 г.», «2026 года»: so is the year's word.
_DAY = r"([0-9]{1,2})(?:-?(?:го|е|ое|st|nd|rd|th))?"
_YEAR_WORD = r"(?:\s*(?:г|года|год))?"
_DAY_MONTH_RE = re.compile(rf"^{_DAY}\s+([a-zа-яё]+)\.?(?:\s+([0-9]{{4}}){_YEAR_WORD})?$")
_MONTH_DAY_RE = re.compile(rf"^([a-zа-яё]+)\.?\s+{_DAY}(?:,?\s+([0-9]{{4}}){_YEAR_WORD})?$")
# «через 3 дня», «2 дня назад», «in 3 days», «2 days ago».
_DAYS_FROM_NOW_RE = re.compile(r"^(?:через|in)\s+([0-9]{1,3})\s+(?:дн(?:я|ей)|день|days?)$")
_DAYS_AGO_RE = re.compile(r"^([0-9]{1,3})\s+(?:дн(?:я|ей)|день|days?)\s+(?:назад|ago)$")
_WEEKDAY_RE = re.compile(
    r"^(?:(?:во?|on)\s+)?(?:(прошл(?:ый|ая|ое|ую)|last|next|следующ(?:ий|ая|ее|ую))\s+)?([a-zа-яё]+)$"
)


def _natural_date(raw: str, base: date, prefer: str | None = None, anchor: date | None = None) -> date | None:
    """A date in words, or None if the text is not one. A weekday is the coming one (today counts) — the
    way «сдать в пятницу» is meant; «прошлый пн» / «last monday» is the one before today. `prefer="past"`
    (a date that cannot be in the future: an arrival) makes a bare weekday the last one, today counting; a lean
    from another answer's day (`anchor`) does not: «пт» is still said from today."""
    match = _DAY_MONTH_RE.match(raw)
    if match and match[2] in _MONTHS:
        return _in_year(match[3], _MONTHS[match[2]], int(match[1]), raw, base, prefer, anchor=anchor)
    match = _MONTH_DAY_RE.match(raw)
    if match and match[1] in _MONTHS:
        return _in_year(match[3], _MONTHS[match[1]], int(match[2]), raw, base, prefer, anchor=anchor)
    match = _DAYS_FROM_NOW_RE.match(raw)
    if match:
        return base + timedelta(days=int(match[1]))
    match = _DAYS_AGO_RE.match(raw)
    if match:
        return base - timedelta(days=int(match[1]))
    match = _WEEKDAY_RE.match(raw)
    if match and match[2] in _WEEKDAYS:
        ahead = (_WEEKDAYS[match[2]] - base.weekday()) % 7
        word = match[1] or ""
        if word == "last" or word.startswith("прошл"):
            return base - timedelta(days=(7 - ahead) if ahead else 7)
        if word == "next" or word.startswith("следующ"):
            return base + timedelta(days=ahead or 7)
        if prefer == "past" and anchor is None:
            return base - timedelta(days=(7 - ahead) % 7)
        return base + timedelta(days=ahead)
    return None


def _date_example(base: date, date_range: tuple[date, date], prefer: str | None) -> str:
    """A date to show as an example that the field itself would take (a fixed «25.12.2026» was refused by a field of
    past dates in December 2026): a weekday just before today for a date of the past (`prefer`), just after it for a
    plan, else today — within the field's range."""
    step = {"past": -1, "future": 1}.get(prefer or "", 0)
    example = base + timedelta(days=step)
    while step and example.weekday() >= 5:  # a plan's date may have to be a working day: no weekend as the example
        example += timedelta(days=step)
    earliest, latest = date_range
    return min(max(example, earliest), latest).strftime("%d.%m.%Y")


# How far against a field's lean a date of its bound's own year is still read in that year: «7 декабря» typed on
# 5 December for a date that may not be after today is a slip to be told of; «1 июня» typed then means last June.
_AGAINST_THE_LEAN = timedelta(days=31)
# How near today a day of the year before or after must be to be meant by a date without its year, for a field that
# leans neither way: «15.01» typed on 20 December is the coming January, «28.12» typed on 3 January the December
# just gone; «25.12» typed in May is this December, not last year's.
_ACROSS_NEW_YEAR = timedelta(days=92)


def _in_year(
    year: str | None,
    month: int,
    day: int,
    text: str,
    base: date,
    prefer: str | None,
    example: str = _DATE_EXAMPLE,
    anchor: date | None = None,
) -> date:
    """A day and month, in the year given — or, without one, the year a person means. For a field that must come
    after (`prefer="future"`) or before (`"past"`) a day — today, or another answer's (`anchor`) — the year that puts
    it nearest that day on the right side: «15.01» typed on 20 December for a plan is next January, for an arrival
    this one, and a return «20.01» after watches lent on 15.01.2027 is in 2027. A day of the bound's own year that
    misses it by at most a month is a slip, read in that year and refused like the full date would be («7 декабря»
    typed on 5 December for an arrival), not taken silently for a day a year away. For a field leaning neither way,
    this year's — or the year's before or after, where that is within a quarter of today (`_ACROSS_NEW_YEAR`)."""
    if year:
        return _real_date(int(year), month, day, text, example)
    found = _real_date(base.year, month, day, text, example)
    bound = anchor or base
    candidates = [found]
    for neighbour in range(min(base.year, bound.year) - 1, max(base.year, bound.year) + 2):
        try:
            candidates.append(date(neighbour, month, day))
        except ValueError:
            continue  # 29 February in a year without one
    if prefer not in ("past", "future"):
        nearest = min(candidates, key=lambda one: abs(one - base))
        return nearest if abs(nearest - base) <= _ACROSS_NEW_YEAR else found
    own = next((one for one in candidates if one.year == bound.year), None)
    if own is not None and abs(own - bound) <= _AGAINST_THE_LEAN:
        return own
    leaning = [one for one in candidates if (one <= bound if prefer == "past" else one >= bound)]
    return min(leaning or candidates, key=lambda one: abs(one - bound))


def _real_date(year: int, month: int, day: int, text: str, example: str = _DATE_EXAMPLE) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidAnswer(
            _("There is no such date: %(text)s. Enter a real date, for example %(example)s"),
            text=text,
            example=example,
        ) from None


def _parse_date(
    text: str,
    today: date | None,
    date_range: tuple[date, date] = DATE_RANGE,
    prefer: str | None = None,
    lang: str = "ru",
    anchor: date | None = None,
) -> date:
    _refuse_foreign_digits(text)
    raw = text.strip().casefold().rstrip(".")
    base = today or date.today()
    if raw in _RELATIVE_DAYS:
        try:
            relative = base + timedelta(days=_RELATIVE_DAYS[raw])
        except OverflowError:
            relative = date.max  # «tomorrow» of the last day there is: out of any range, refused below
        return _in_range(relative, date_range)
    try:
        natural = _natural_date(" ".join(raw.split()), base, prefer, anchor)
    except OverflowError:
        natural = date.max  # a weekday past the last day there is: out of any range, refused below
    if natural is not None:
        return _in_range(natural, date_range)
    match = _ISO_RE.match(raw)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = _DMY_RE.match(raw)
        if not match:
            raise InvalidAnswer(
                _("Enter a date, for example %(example)s, 25.12, 1 December, Friday or today"),
                example=_date_example(base, date_range, prefer),
            )
        day, month = int(match[1]), int(match[2])
        if lang == "en" and "/" in raw:
            day, month = _slash_day_month(day, month, match[3], text.strip(), base)
        year_text = match[3]
        if year_text is None:
            example = _date_example(base, date_range, prefer)
            found = _in_year(None, month, day, text.strip(), base, prefer, example, anchor)
            return _in_range(found, date_range)
        elif len(year_text) == 2:
            # Two-digit years in chat are this century; nobody schedules work for 1926.
            year = 2000 + int(year_text)
        else:
            year = int(year_text)
    try:
        result = date(year, month, day)
    except ValueError:
        raise InvalidAnswer(
            _("There is no such date: %(text)s. Enter a real date, for example %(example)s"),
            text=text.strip(),
            example=_date_example(base, date_range, prefer),
        ) from None
    return _in_range(result, date_range)


def _slash_day_month(first: int, second: int, year: str | None, text: str, base: date) -> tuple[int, int]:
    """An English reader's «12/03»: in Britain the 12th of March, in the United States December 3. Either way round
    when both numbers could be a month (asked back, naming both, rather than guessed); the one that cannot be a
    month is the day («25/12», «12/25»). Dots stay day first, as everywhere."""
    if first <= 12 and second <= 12 and first != second:
        number = int(year) if year else base.year
        number += 2000 if year and len(year) == 2 else 0
        one, other = (_real_date(number, month, day, text) for day, month in ((first, second), (second, first)))
        raise InvalidAnswer(
            _("%(text)s can be read as %(one)s or as %(other)s: please write the month in words, like %(example)s"),
            text=text,
            one=date_text(one, "en"),
            other=date_text(other, "en"),
            example=f"{one.day} {format_date(one, 'MMMM', locale=_babel_locale('en'))}",
        )
    if first <= 12 < second:
        return second, first
    return first, second


def _in_range(day: date, date_range: tuple[date, date]) -> date:
    earliest, latest = date_range
    if not earliest <= day <= latest:
        raise InvalidAnswer(
            _("Enter a date between %(earliest)s and %(latest)s"),
            earliest=earliest.strftime("%d.%m.%Y"),
            latest=latest.strftime("%d.%m.%Y"),
        )
    return day


def _parse_time(text: str) -> time:
    _refuse_foreign_digits(text)
    match = _TIME_RE.match(text.strip())
    if not match:
        raise InvalidAnswer(_("Enter a time as HH:MM, for example 14:30"))
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise InvalidAnswer(_("There is no such time: %(text)s. Enter a time like 14:30"), text=text.strip())
    return time(hour, minute)


def _parse_datetime(
    text: str,
    today: date | None,
    date_range: tuple[date, date] = DATE_RANGE,
    prefer: str | None = None,
    lang: str = "ru",
    anchor: date | None = None,
) -> datetime:
    # ISO "2026-12-25T14:30" (what to_json writes) is accepted as well as "2026-12-25 14:30".
    raw = _ISO_T_RE.sub(r"\1 ", " ".join(text.split()))
    date_part, sep, time_part = raw.rpartition(" ")
    if not sep:
        raise InvalidAnswer(
            _("Enter a date and time, for example %(example)s 14:30 or tomorrow 10:00"), example=_DATE_EXAMPLE
        )
    return datetime.combine(_parse_date(date_part, today, date_range, prefer, lang, anchor), _parse_time(time_part))


# -- bool and choice ------------------------------------------------------------------------

_YES = frozenset({"да", "д", "yes", "y", "+", "true", "ага", "ок", "ok", "1"})
_NO = frozenset({"нет", "н", "no", "n", "-", "false", "0"})


# Typed instead of «⏭ Пропустить» at a question that may be left empty: «нет» to «Дебиторская задолженность клиента»
# says there is none to record, not a malformed amount. Only where the answer failed to read as one (a yes-or-no or a
# choice named «Нет» keeps it as its answer) and only at an optional question (`means_nothing`).
_NOTHING = frozenset({
    "нет", "нету", "-", "—", "–", "пропустить", "пропуск", "не знаю", "неизвестно", "никакой", "никаких",
    "no", "none", "skip", "n/a", "unknown",
})  # fmt: skip


def means_nothing(text: str) -> bool:
    """The words a person types for «nothing to record here» (`_NOTHING`)."""
    return _fold(text).rstrip(".!") in _NOTHING


def _parse_bool(text: str) -> bool:
    raw = text.strip().casefold().rstrip(".!")
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    raise InvalidAnswer(_("Answer yes or no"))


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold().replace("ё", "е")


def _parse_choice(text: str, options: Mapping[str, str] | None) -> str:
    if not options:
        raise ValueError("a choice question needs options")
    wanted = _fold(text)
    for key, label in options.items():
        if wanted in (_fold(key), _fold(label)):
            return key
    # A supplier as people call it: «Альфа» for «ООО «Альфа Тайм»», «helvetia» for «Helvetia Watch Service».
    typed = _WORD_RE.findall(wanted)
    if typed and max(map(len, typed)) >= _WORD_MIN:
        named = [key for key, label in options.items() if _begins_words(typed, _WORD_RE.findall(_fold(label)))]
        if len(named) == 1:
            return named[0]
    raise InvalidAnswer(_("Choose one of: %(options)s"), options=", ".join(options.values()))


_WORD_RE = re.compile(r"\w+")
_WORD_MIN = 3  # «Ал» or «2» names no option; a word of three letters may


def _begins_words(typed: Sequence[str], words: Sequence[str]) -> bool:
    """Each typed word begins a word of the name of its own: «альфа тайм» names «ООО «Альфа Тайм»»."""
    left = list(words)
    for word in typed:
        match = next((candidate for candidate in left if candidate.startswith(word)), None)
        if match is None:
            return False
        left.remove(match)
    return True


# -- public API -----------------------------------------------------------------------------


def parse_text(
    kind: str,
    text: str,
    *,
    options: Mapping[str, str] | None = None,
    today: date | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    negative: bool = False,
    date_range: tuple[date, date] = DATE_RANGE,
    prefer: str | None = None,
    anchor: date | None = None,
    lang: str = "ru",
    units: Sequence[str] = (),
) -> Any:
    """Parse an answer typed in chat into the value for ``kind``.

    ``options`` (key -> label) is required for "choice"; the key is returned. ``today`` anchors
    "today"/"yesterday" and day.month without a year; pass the organisation's local date (the
    default, ``date.today()``, is the server's). ``minimum``/``maximum`` bound "number" and
    "money"; ``integer`` makes "number" refuse fractions; ``negative`` lets "money" be below zero (a
    refund, a correction). ``date_range`` bounds "date" and "datetime" (default :data:`DATE_RANGE`).
    ``prefer`` ("past" or "future") says which way a date without a year, or a bare weekday, leans; ``anchor``, from
    which day a date without a year leans, where that is another answer's rather than today (`flows.forms.date_lean`).
    ``lang`` is the
    reader's: an English reader's «125,000» groups thousands, and their «12/03» with a slash may be either way round.
    ``units``: a "number" field's unit as each language writes it, the reader's first («кг», «kg»): «1 500 кг» is
    1500, and in a field of a weight another weight is taken in it, «1,5 т» 1500 (`without_unit`).
    Digits other than ASCII 0-9 are refused; text is limited in UTF-16 code units, as Telegram counts.

    Raises :class:`InvalidAnswer` when the person should try again, ``ValueError`` for an
    unknown ``kind`` or a choice without options (bugs in the definition, not in the answer).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown value kind {kind!r}; expected one of {sorted(KINDS)}")
    if kind == "text":
        value = text.strip()
        if not value:
            raise InvalidAnswer(_("Please type some text"))
        if all(unicodedata.category(char)[0] in "PZ" or char.isspace() for char in value):
            # «.» as a delivery address or « . » as the reason a dealer is sent: nobody can act on it. (An emoji
            # alone is a symbol, not punctuation: «👍» as a comment says something.)
            raise InvalidAnswer(_("Please write it in words: punctuation alone says nothing."))
        if utf16_length(value) > MAX_TEXT_LENGTH:
            raise InvalidAnswer(
                _("That is too long (%(length)s characters). Please keep it under %(limit)s."),
                length=utf16_length(value),
                limit=MAX_TEXT_LENGTH,
            )
        return value
    if kind == "number":
        number, scale = without_unit(text, units)
        return _parse_number(number, minimum=minimum, maximum=maximum, integer=integer, lang=lang, scale=scale)
    if kind == "money":
        return _parse_money(text, minimum=minimum, maximum=maximum, negative=negative, lang=lang)
    if kind == "date":
        return _parse_date(text, today, date_range, prefer, lang, anchor)
    if kind == "datetime":
        return _parse_datetime(text, today, date_range, prefer, lang, anchor)
    if kind == "bool":
        return _parse_bool(text)
    return _parse_choice(text, options)


_BOOL_WORDS: dict[str, tuple[str, str]] = {"ru": ("да", "нет"), "en": ("yes", "no")}
_DATE_PATTERNS: dict[str, str] = {"ru": "dd.MM.yyyy"}
_CURRENCY_SIGN = "\u00a0₽"


@lru_cache(maxsize=32)
def _locale(lang: str) -> str:
    # Babel knows far more locales than the bot translates; fall back rather than crash a summary.
    try:
        format_decimal(0, locale=lang)
    except (UnknownLocaleError, ValueError):
        return "en"
    return lang


@lru_cache(maxsize=32)
def _babel_locale(lang: str) -> Locale:
    """Babel's locale, parsed once: given by name, each number or date formatted would parse it (and look up its
    data) again."""
    return Locale.parse(lang)


def _decimal_text(number: Any, pattern: str, locale: str) -> str:
    """Babel quantizes to the pattern's decimals in the current decimal context: an answer of 20 digits (`_MAX_DIGITS`)
    with ten decimals needs more than the default 28 digits of precision, or showing it would fail."""
    with localcontext() as context:
        context.prec = _MAX_DIGITS + 20
        return format_decimal(number, format=pattern, locale=_babel_locale(locale))


def format_value(kind: str, value: Any, *, options: Mapping[str, str] | None = None, lang: str = "ru") -> str:
    """Human-readable text of a stored value for summaries ("—" for an empty value).

    ``value`` may be the parsed Python value or its JSON form.
    """
    if value is None or value == "":
        return "—"
    if kind not in KINDS:
        raise ValueError(f"unknown value kind {kind!r}; expected one of {sorted(KINDS)}")
    locale = _locale(lang)
    if kind == "text":
        return str(value)
    if kind == "number":
        return _decimal_text(from_json(kind, value), "#,##0.##########", locale)
    if kind == "money":
        return _decimal_text(from_json(kind, value), "#,##0.00", locale) + _CURRENCY_SIGN
    if kind == "date":
        day = from_json(kind, value)
        return _format_date(day, locale)
    if kind == "datetime":
        return datetime_text(from_json(kind, value), lang)
    if kind == "bool":
        yes, no = _BOOL_WORDS.get(locale, _BOOL_WORDS["en"])
        return yes if value else no
    return (options or {}).get(str(value), str(value))


# How a number is marked for the reader: «№2» in Russian, «#2» in English (where «№» is not a sign people use).
_NUMBER_SIGNS = {"ru": "№", "en": "#"}


def number_sign(lang: str | None) -> str:
    return _NUMBER_SIGNS.get(lang or "ru", "№")


def amount_text(number: Any, lang: str = "ru") -> str:
    """An amount with two decimals in the reader's way, no currency sign («1 250,00»; «1,250.00» in English): what a
    definition's `{{ x|money }}` prints, the text itself saying the currency."""
    return _decimal_text(Decimal(str(number)), "#,##0.00", _locale(lang))


def date_text(day: date, lang: str = "ru") -> str:
    """A date in the reader's way («05.12.2026»; «Dec 5, 2026» in English): what `{{ x|date }}` prints."""
    return _format_date(day, _locale(lang))


def datetime_text(moment: datetime, lang: str = "ru") -> str:
    """A moment in the reader's way, as the wall clock shows it («07.12.2026 18:00»; «Dec 7, 2026 18:00» in
    English): a deadline, a digest's time, a datetime field — one way everywhere a person reads one."""
    return f"{_format_date(moment.date(), _locale(lang))} {moment:%H:%M}"


def _format_date(day: date, locale: str) -> str:
    return format_date(day, _DATE_PATTERNS.get(locale, "medium"), locale=_babel_locale(locale))


def to_json(kind: str, value: Any) -> JsonValue:
    """The JSON-storable form of a parsed value (``None`` stays ``None``)."""
    if value is None:
        return None
    if kind in ("text", "choice"):
        return str(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise TypeError(f"a number value must be int or float, got {type(value).__name__}")
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value
    if kind == "money":
        return str(Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP))
    if kind == "date":
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"a date value must be a date, got {type(value).__name__}")
        return value.isoformat()
    if kind == "datetime":
        if not isinstance(value, datetime):
            raise TypeError(f"a datetime value must be a datetime, got {type(value).__name__}")
        return value.isoformat()
    if kind == "bool":
        return bool(value)
    raise ValueError(f"unknown value kind {kind!r}; expected one of {sorted(KINDS)}")


def from_json(kind: str, raw: Any) -> Any:
    """The Python value of a stored JSON value (the inverse of :func:`to_json`).

    Already-converted values pass through, so callers need not know which form they hold.
    """
    if raw is None:
        return None
    try:
        if kind in ("text", "choice"):
            return str(raw)
        if kind == "number":
            if isinstance(raw, bool):
                raise TypeError("a number value cannot be a bool")
            if isinstance(raw, int | float):
                return raw
            exact = Decimal(str(raw))
            return int(exact) if exact == exact.to_integral_value() else float(exact)
        if kind == "money":
            if isinstance(raw, bool):
                raise TypeError("a money value cannot be a bool")
            # Through str so that a float 0.1 becomes 0.10, not 0.1000000000000000055...
            return Decimal(str(raw)).quantize(_CENT, rounding=ROUND_HALF_UP)
        if kind == "date":
            if isinstance(raw, datetime):
                return raw.date()
            if isinstance(raw, date):
                return raw
            return date.fromisoformat(str(raw))
        if kind == "datetime":
            if isinstance(raw, datetime):
                return raw
            return datetime.fromisoformat(str(raw))
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            raise TypeError(f"a bool value must be true or false, got {raw!r}")
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"stored {kind} value {raw!r} is corrupt: {exc}") from exc
    raise ValueError(f"unknown value kind {kind!r}; expected one of {sorted(KINDS)}")


def convert(kind: str, value: Any) -> Any:
    """A stored value of one type as another's stored form, where the checker allows the move (money ↔ number,
    anything → text); a hand-off's `map` copies an amount into a number field this way. Anything else, or a
    value that does not read as its new type, is kept as it was."""
    if value is None or kind not in ("number", "money", "text"):
        return value
    try:
        if kind == "number" and isinstance(value, str):
            return to_json("number", Decimal(value))
        if kind == "money" and isinstance(value, int | float) and not isinstance(value, bool):
            return to_json("money", value)
        if kind == "text" and not isinstance(value, str | dict | list):
            return str(value)
    except (ArithmeticError, ValueError, TypeError):
        return value
    return value


# --- contacts: a text field that must reach someone (`contact: phone | email`) ------------------------------

CONTACT_PROBLEMS: dict[str, str] = {
    "phone": _("That is not a phone number; please write it with its code, e.g. +7 900 123-45-67"),
    "email": _("That is not an e-mail address; please write it as name@example.com"),
}


# An extension as the company's people write it: phonenumbers writes « ext. 12» for Russia, and a Russian card would
# read «+7 843 212-34-56 ext. 12» where «доб. 12» is typed and said.
_EXTENSION_WORDS = {"RU": "доб.", "BY": "доб.", "KZ": "доб."}


def parse_contact(kind: str, text: str, country: str = "RU") -> str:
    """A phone number or an e-mail address as somebody typed it, in the one form it is kept in: a number (one
    without its country code is read as the company's country's) as «+7 916 123-45-67», an address with its domain
    in lower case. Only the form is checked: nobody's answer waits for a call or a mail server.

    Raises :class:`InvalidAnswer` with what to write instead."""
    value = text.strip()
    if kind == "phone":
        try:
            number = phonenumbers.parse(value, country)
        except phonenumbers.NumberParseException:
            raise InvalidAnswer(CONTACT_PROBLEMS["phone"]) from None
        if not phonenumbers.is_valid_number(number):
            raise InvalidAnswer(CONTACT_PROBLEMS["phone"])
        word, extension = _EXTENSION_WORDS.get(country.upper()), number.extension
        if extension and word:
            number.extension = None
        kept = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
        return f"{kept} {word} {extension}" if extension and word else kept
    if kind == "email":
        try:
            return str(validate_email(value, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise InvalidAnswer(CONTACT_PROBLEMS["email"]) from None
    raise ValueError(f"unknown contact kind {kind!r}")


# --- a person's full name (`full_name: true` on a text field) ------------------------------------------------

FULL_NAME_EXPECTED = _(
    "Please write the surname and the first name (and the patronymic, if any), e.g. Ivanova Marina Sergeevna"
)
# A word of a name: letters, and the hyphen, apostrophe or dot of «Салтыков-Щедрин», «O'Neil», «М.»
_NAME_MARKS = frozenset("-'’.")


def parse_full_name(text: str) -> str:
    """A full name as somebody typed it, its spaces tidied: at least two words (a surname and a first name, or an
    initial), each of letters. A first name alone, or a document number, is refused with what to write.

    Raises :class:`InvalidAnswer`."""
    words = text.split()
    if len(words) < 2 or not all(
        any(c.isalpha() for c in word) and all(c.isalpha() or c in _NAME_MARKS for c in word) for word in words
    ):
        raise InvalidAnswer(FULL_NAME_EXPECTED)
    return " ".join(words)
