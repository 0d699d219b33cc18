"""Units of measure as each reader writes them: 1C gives its products' units by OKEI's short Russian names."""

from __future__ import annotations

import re
from decimal import Decimal

# The units of measure 1C gives its products (OKEI's short names, a product's «БазоваяЕдиница») as an English reader
# writes them: a product's card, the cart, the catalogue's Excel and an order's stock warnings (a text's `unit`
# filter) show them so, and the cart takes a quantity
# typed with either («3 pcs» as «3 шт»). A unit not here is shown as 1C wrote it.
ENGLISH_UNITS = {
    "шт": "pcs",
    "ед": "units",
    "кг": "kg",
    "г": "g",
    "т": "t",
    "л": "l",
    "мл": "ml",
    "м": "m",
    "см": "cm",
    "мм": "mm",
    "км": "km",
    "м2": "m²",
    "м²": "m²",
    "м3": "m³",
    "м³": "m³",
    "упак": "pack",
    "уп": "pack",
    "компл": "set",
    "к-т": "set",
    "набор": "set",
    "пар": "pairs",
    "пара": "pair",
    "рул": "roll",
    "ящ": "box",
    "кор": "box",
    "бут": "bottle",
    "меш": "bag",
    "лист": "sheet",
    "ч": "h",
}


# An English unit that is a word, not an abbreviation, as more than one of it reads («35 sets»; «35 pcs» as it is).
ENGLISH_PLURALS = {
    "pack": "packs",
    "set": "sets",
    "pair": "pairs",
    "roll": "rolls",
    "box": "boxes",
    "bottle": "bottles",
    "bag": "bags",
    "sheet": "sheets",
}


# An English unit that names many, as exactly one of it reads («1 pc», as a number field's «pcs» reads after 1).
ENGLISH_SINGULARS = {"pcs": "pc", "units": "unit", "pairs": "pair"}


def unit_text(unit: str | None, lang: str | None, count: object = None) -> str:
    """A product's unit as `lang` reads it: 1C's own in Russian, its English name in English (1C's if it has none),
    after `count` of it when one is given («1 set», «35 sets», «1 pc», «35 pcs»)."""
    if not unit:
        return ""
    if lang != "en":
        return unit
    english = ENGLISH_UNITS.get(unit.strip().rstrip(".").casefold(), unit)
    if count is None:
        return english
    return ENGLISH_SINGULARS.get(english, english) if _one(count) else ENGLISH_PLURALS.get(english, english)


def _one(count: object) -> bool:
    try:
        return float(str(count).replace(",", ".")) == 1
    except ValueError:
        return False


# OKEI (ОКЕИ), the Russian classifier of units, by which 1C finds an order line's unit: its code, full name and
# international abbreviation for the common short names, for a product whose catalogue (import.xml) gave the name
# without its code. An order to 1C says each line's unit so (services/sales_exchange.py); a name not here goes alone.
OKEI = {
    "шт": ("796", "Штука", "PCE"),
    "компл": ("839", "Комплект", "SET"),
    "к-т": ("839", "Комплект", "SET"),
    "кг": ("166", "Килограмм", "KGM"),
    "л": ("112", "Литр", "LTR"),
    "м": ("006", "Метр", "MTR"),
    "м2": ("055", "Квадратный метр", "MTK"),
    "м²": ("055", "Квадратный метр", "MTK"),
    "набор": ("704", "Набор", "SET"),
    "упак": ("778", "Упаковка", "NMP"),
    "уп": ("778", "Упаковка", "NMP"),
}


def okei(unit: str | None) -> tuple[str, str, str] | None:
    """OKEI's code, full name and international abbreviation of a unit by its short name («компл»: 839), None for a
    name the table lacks."""
    return OKEI.get((unit or "").strip().rstrip(".").casefold())


# Units of weight as people type them after a number, each with how many kilograms one of it is: a field whose unit is
# a weight takes a weight in another («1,5 т» in kilograms is 1500, «500 г» 0.5; «500 кг» in tonnes 0.5), as
# `flows.values.without_unit` reads it. The words people use for them in either language, their endings too.
_WEIGHTS = (
    (re.compile(r"т|тн|тонн(?:а|ы|у|ой)?|t|tn|tons?|tonnes?"), Decimal(1000)),
    (re.compile(r"ц|центнер(?:а|ов)?"), Decimal(100)),
    (re.compile(r"кг|kg|kgs|кило|kilos?|килограмм(?:а|ов)?|kilogram(?:me)?s?"), Decimal(1)),
    (re.compile(r"г|гр|грамм(?:а|ов)?|g|gr|gram(?:me)?s?"), Decimal("0.001")),
)


def kilograms(unit: str | None) -> Decimal | None:
    """How many kilograms one of `unit` is («т»: 1000, «гр.»: 0.001), None for a unit that is not a weight."""
    word = (unit or "").strip().rstrip(".").casefold()
    return next((weight for pattern, weight in _WEIGHTS if pattern.fullmatch(word)), None)


# Russian nouns' case and number endings, longest first: a unit that is a whole word is typed in whichever form the
# number asks for — «1 коробка», «2 коробки», «500 коробок», «3 паллеты», «10 мешков».
_ENDINGS = (
    "ами",
    "ями",
    "ов",
    "ев",
    "ей",
    "ой",
    "ом",
    "ем",
    "ах",
    "ях",
    "а",
    "я",
    "о",
    "е",
    "и",
    "ы",
    "у",
    "ю",
    "ь",
    "й",
)
_VOWELS = set("аеёиоуыэюя")


def _stems(word: str) -> set[str]:
    """The stems a Russian word's forms share: its ending taken off (a stem of three letters at least), and a vowel
    that comes and goes before its last consonant («коробок» → «коробк», «мешок» → «мешк», «день» → «дн»)."""
    stem = word
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            stem = word[: -len(ending)]
            break
    stems = {stem}
    if len(stem) >= 3 and stem[-2] in "оеё" and stem[-1] not in _VOWELS:
        stems.add(stem[:-2] + stem[-1])
    return stems


def same_unit_word(typed: str, unit: str) -> bool:
    """Whether `typed` is `unit` in another grammatical form («коробок», «коробки» for «коробка»): words of letters,
    four at least (a short unit, «шт» or «кг», is matched as written or by its longer words elsewhere)."""
    typed, unit = typed.casefold(), unit.casefold()
    if len(unit) < 4 or not typed.isalpha() or not unit.isalpha():
        return False
    return bool(_stems(typed) & _stems(unit))
