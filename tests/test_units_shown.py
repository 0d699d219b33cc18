"""A number field's unit is read after its value wherever the value is shown («Количество: 2 шт», «Quantity: 2
pcs»), in the reader's language, «1 day» but «3 days», and not at all where the label already names it
(«Отсрочка, дней: 30», never «Отсрочка, дней: 30 дн»)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.loader import load_library
from flows.model import FieldDef, ProcessDef
from services.i18n import Translator
from services.wording import Wording

LIBRARY = load_library(Path(__file__).resolve().parent.parent / "flows" / "library")


@pytest.fixture(scope="module")
def wording(tmp_path_factory: pytest.TempPathFactory) -> Wording:
    return Wording(Translator(tmp_path_factory.mktemp("locales")), ZoneInfo("Europe/Moscow"))


def field(process: str, name: str, entry: str | None = None) -> tuple[ProcessDef, FieldDef]:
    spec = LIBRARY[process].spec
    fdef = spec.fields[name]
    return spec, (fdef.fields or {})[entry] if entry else fdef


def test_the_unit_of_the_readers_language_follows_the_number() -> None:
    quantity = FieldDef(type="number", label={"ru": "Количество", "en": "Quantity"}, unit={"ru": "шт", "en": "pcs"})
    assert quantity.unit_after(2, "ru") == "шт" and quantity.unit_after(2, "en") == "pcs"
    # One word for every language: that word.
    weight = FieldDef(type="number", label="Вес", unit="кг")
    assert weight.unit_after("1500", "ru") == "кг" and weight.unit_after("1500", "en") == "кг"
    assert FieldDef(type="number", label="Вес").unit_after(3, "ru") == ""


def test_one_takes_the_singular_the_definition_gives() -> None:
    term = FieldDef(
        type="number", label={"ru": "Срок", "en": "Term"}, unit={"ru": ["дн", "день"], "en": ["days", "day"]}
    )
    assert [term.unit_after(n, "en") for n in (1, "1", 1.0, 3, 0, 1.5)] == ["day", "day", "day", "days", "days", "days"]
    # Russian keeps its short form for every number («1 дн», «5 дн»): no word of the list is «дн» without an «s».
    assert term.unit_after(1, "ru") == "дн" and term.unit_after(5, "ru") == "дн"
    # A longer word that is not the first without its «s» is no singular: «1 h», not «1 hour».
    hours = FieldDef(
        type="number", label={"ru": "Работа", "en": "Work"}, unit={"ru": ["ч", "час"], "en": ["h", "hour"]}
    )
    assert hours.unit_after(1, "en") == "h"


def test_no_unit_where_the_label_names_it() -> None:
    deferral = FieldDef(
        type="number",
        label={"ru": "Отсрочка, дней", "en": "Deferral, days"},
        unit={"ru": ["дн", "день"], "en": ["days", "day"]},
    )
    assert deferral.unit_after(30, "ru") == "" and deferral.unit_after(30, "en") == ""
    units = FieldDef(
        type="number", label={"ru": "Количество", "en": "Number of units"}, unit={"ru": "ед", "en": "units"}
    )
    assert units.unit_after(5, "en") == "" and units.unit_after(5, "ru") == "ед"


def test_every_view_of_a_library_number_reads_with_its_unit(wording: Wording) -> None:
    spec, quantity = field("medical_order", "items", "quantity")
    assert wording.format_field(quantity, 2, "ru", spec) == "2 шт"
    assert wording.format_field(quantity, 2, "en", spec) == "2 pcs"
    assert wording.format_field(quantity, 1500, "ru", spec) == "1\xa0500 шт"
    assert wording.format_field(quantity, None, "ru", spec) == "—"  # nothing to measure
    order = {"items": [{"name": "УЗИ", "quantity": 2}, {"name": "Монитор", "quantity": 1}]}
    lines = wording.summary(spec, ["items"], order, "ru")
    assert "   Количество: 2 шт" in lines and "   Количество: 1 шт" in lines, lines
    lines = wording.summary(spec, ["items"], order, "en")
    assert "   Quantity: 2 pcs" in lines and "   Quantity: 1 pc" in lines, lines
    spec, deferral = field("medical_order", "deferral_days")
    assert wording.format_field(deferral, 30, "ru", spec) == "30"  # «Отсрочка, дней: 30»
    assert wording.format_field(deferral, 1, "en", spec) == "1"  # «Deferral, days: 1»
    spec, volume = field("meat_deal", "volume_p1")
    assert wording.format_field(volume, 1200, "ru", spec) == "1\xa0200"  # «Объём, производство 1, кг: 1 200»
    spec, hours = field("reclamation", "works", "hours")
    assert (
        wording.format_field(hours, 1.5, "ru", spec) == "1,5 ч" and wording.format_field(hours, 1, "en", spec) == "1 h"
    )
    spec, expected = field("fulfillment_receiving", "expected_units")
    assert wording.format_field(expected, 300, "ru", spec) == "300 шт"  # «Количество единиц: 300 шт»
    assert wording.format_field(expected, 300, "en", spec) == "300"  # «Number of units: 300»
    spec, monthly = field("fulfillment_quote", "monthly_volume")
    assert wording.format_field(monthly, 5000, "ru", spec) == "5\xa0000"  # «Объём, единиц в месяц: 5 000»


def test_a_products_unit_from_1c_reads_one_and_many_in_english_as_a_field_unit_does() -> None:
    """1C's «шт» reads «1 pc» and «35 pcs» to an English dealer, «1 set» and «35 sets» for «компл»; bare, as a
    column's unit, «pcs»; a Russian reader sees 1C's own word whatever the count."""
    from flows.units import unit_text

    assert [unit_text("шт", "en", n) for n in (1, "1,0", 35)] == ["pc", "pc", "pcs"]
    assert [unit_text("компл", "en", n) for n in (1, 35)] == ["set", "sets"]
    assert unit_text("шт", "en") == "pcs" and unit_text("шт", "ru", 1) == "шт" and unit_text("шт.", "en", 2) == "pcs"
