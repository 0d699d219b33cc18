"""Answers a form's question offers as buttons beside its options, each a value the field takes now: a date's
«Сегодня» and «Завтра» (only where its rules take that day: `services.wording.hints`), the person's own full name
(`offer: own_name`), the working day a day off's refusal names. Typing still answers the question. A pressed offer
is worked out again (`offered_value`), so a day gone by is not taken for today, nor a name since changed for the
person's; a pressed day is checked as a typed one."""

from __future__ import annotations

from datetime import date
from typing import Any

from db.models import User
from flows import forms
from flows import values as field_values
from flows.model import FieldDef
from services.wording.hints import Around
from tgbot.render import Renderer

# The key of the button offering the person's own full name (`FieldDef.offer`): the name is read again when pressed.
OWN_NAME = "own_name"


def offers(r: Renderer, user: User, lang: str | None, step: forms.Step, around: Around | None) -> list[tuple[str, str]]:
    """The offers of `step`'s question as (key, label). `around`: the other fields a date's rules may name and their
    values now (`FormBase._around`), given for a date."""
    fdef = step.field
    if fdef is None or step.is_more:
        return []
    if fdef.type == "date":
        assert around is not None, "a date's offers are the days its rules take, which `around` names"
        return [(day.isoformat(), label) for day, label in r.date_offers(fdef, lang, around)]
    if fdef.offer == OWN_NAME:
        name = _own_name(user, fdef)
        return [(OWN_NAME, name)] if name else []
    return []


def suggested_day(r: Renderer, day: date, lang: str | None) -> str:
    """The button of a day a refusal suggests instead of the one typed (the working day after a day off)."""
    return "📅 " + field_values.format_value("date", day, lang=r.tr.lang(lang))


def pressed_day(fdef: FieldDef, key: str) -> date | None:
    """The day a date question's button names (`suggested_day`'s, or an offer's gone by); None for another key."""
    if fdef.type != "date":
        return None
    try:
        return date.fromisoformat(key)
    except ValueError:
        return None


def offered_value(user: User, fdef: FieldDef, key: str) -> Any:
    """The value of an answer `offers` gave as a button, as the case stores it."""
    if fdef.type == "date":
        return field_values.to_json("date", date.fromisoformat(key))
    return _own_name(user, fdef)


def _own_name(user: User, fdef: FieldDef) -> str | None:
    """The person's name from their profile, where the field would take it: a first name alone is no full name."""
    name = " ".join((user.name or "").split())
    if not name:
        return None
    if fdef.full_name:
        try:
            return field_values.parse_full_name(name)
        except field_values.InvalidAnswer:
            return None
    return name
