"""Filling a form one field at a time, as a chat does it.

A draft is plain JSON (kept on the task row, so a half-filled form survives a restart):
    {"outcome": str | None, "values": {...}, "answered": [path, ...], "files": {path: [file, ...]},
     "current": {name: value}}
"current" holds the values the case already has for the form's fields (a returned request, a correction):
the question shows it and offers to keep it (`Step.current`, `keep`), and skipping never erases it. "given" holds
the answers taken back with «back» until they are asked again: shown and offered to keep the same way.
A path is a top-level field ("supplier"), a field of one entry of a list ("units.0.serial"), or the
question whether to add another entry to a list without a fixed count ("units.more.2").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flows import values as field_values
from flows.calendar import WorkCalendar
from flows.expressions import CANCELLED_ENTRY, ExpressionError, evaluate
from flows.i18n import _
from flows.model import BOUND_RULES, DATE_RULE_WORDS, DATE_RULES, FILE_TYPES, BoundDef, FieldDef, local


@dataclass(frozen=True)
class Step:
    path: str
    name: str  # the top-level field
    field: FieldDef | None  # None for «add another entry?»
    index: int | None = None  # entry of a list
    sub: str | None = None  # field of that entry
    # The value the case already has for this question's field (None: nothing yet). For a list it is offered
    # at its first question and stands for the whole list (`whole`); an entry's field corrected alone offers its
    # own. The bot shows it and a «keep as it is» button.
    current: Any = None
    whole: bool = False

    @property
    def can_keep(self) -> bool:
        return self.current is not None

    @property
    def is_more(self) -> bool:
        return self.field is None

    @property
    def is_file(self) -> bool:
        return self.field is not None and self.field.type in FILE_TYPES


def new_draft(
    outcome: str | None = None, values: dict[str, Any] | None = None, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A fresh form. `current`: what the case has now for the form's fields (see `remember_current`)."""
    draft: dict[str, Any] = {"outcome": outcome, "values": dict(values or {}), "answered": [], "files": {}}
    if current:
        draft["current"] = {name: value for name, value in current.items() if not _empty(value)}
    return draft


def remember_current(names: list[str], draft: dict[str, Any], data: Mapping[str, Any]) -> None:
    """Note the values the case already has for these fields: asked again, each question shows its value
    and offers to keep it, and «skip» keeps it rather than erasing it."""
    current = {name: data[name] for name in names if not _empty(data.get(name))}
    if current:
        draft["current"] = current


def _current_of(draft: dict[str, Any], name: str) -> Any:
    """What a question offers to keep: the answer given to it in this form and taken back with «back», else what
    the case has."""
    value = draft.get("given", {}).get(name)
    if _empty(value):
        value = draft.get("current", {}).get(name)
    return None if _empty(value) else value


def _list_count(fdef: FieldDef, values: dict[str, Any]) -> int | None:
    if fdef.count is None:
        return None
    raw = values.get(fdef.count)
    try:
        return max(0, min(int(raw), fdef.max_items)) if raw is not None else None
    except (TypeError, ValueError):
        return None


def asked(
    fields: Mapping[str, FieldDef], names: list[str], values: Mapping[str, Any], data: Mapping[str, Any] | None = None
) -> list[str]:
    """The form's fields to ask now: those without `ask_if`, and those whose condition holds over the case's data
    (`data`) with the form's answers so far over it. Computed again after every answer: a field whose condition
    reads an earlier answer appears once that answer is given, and drops out (with its answer) when it changes."""
    context = {**(data or {}), **values}
    return [name for name in names if name not in fields or condition_holds(fields[name].ask_if, context)]


def condition_holds(source: str | None, context: Mapping[str, Any]) -> bool:
    if source is None:
        return True
    try:
        return bool(evaluate(source, context))
    except ExpressionError:
        # `konveyer check` refuses conditions that cannot work; one that fails on odd data asks rather than hides.
        return True


def track_fields(fdef: FieldDef) -> set[str]:
    """The fields of a list's entries its track's stages require: asked on the item's card when it moves, not when
    the list is filled."""
    return {n for stage in fdef.track.stages for n in stage.requires} if fdef.track is not None else set()


def entry_asks(fdef: FieldDef, entry: Mapping[str, Any]) -> list[str]:
    """The fields one entry of a list is asked while the list is filled, and so the ones a correction of it offers:
    not those its track's stages require, nor those its own `ask_if` does not ask of it."""
    later = track_fields(fdef)
    return [k for k, sub in (fdef.fields or {}).items() if k not in later and condition_holds(sub.ask_if, entry)]


def next_step(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any]) -> Step | None:
    """The first question not answered yet, or None when the form is complete."""
    values: dict[str, Any] = draft["values"]
    answered = set(draft["answered"])
    for name in names:
        fdef = fields[name]
        if fdef.type != "list":
            if name not in answered:
                return Step(path=name, name=name, field=fdef, current=_current_of(draft, name))
            continue
        assert fdef.fields is not None
        items: list[dict[str, Any]] = values.setdefault(name, [])
        count = _list_count(fdef, values)
        if count is not None and len(items) > count:
            # Fewer units now: forget those entries entirely, or raising the count again would
            # bring them back as «answered» but empty.
            del items[count:]
            draft["answered"] = [p for p in draft["answered"] if not _entry_index_at_least(p, name, count)]
            answered = set(draft["answered"])
        later = track_fields(fdef)
        index = 0
        while True:
            if index < len(items) or (count is not None and index < count):
                if index >= len(items):
                    items.append({})
                for sub_name, sub in fdef.fields.items():
                    path = f"{name}.{index}.{sub_name}"
                    if sub_name in later:
                        continue
                    if not condition_holds(sub.ask_if, items[index]):
                        # An entry's `ask_if` reads the entry's own fields: a supplier only for an item to order.
                        items[index].pop(sub_name, None)
                        continue
                    if path not in answered:
                        # Before any of the list is answered, the list the case has may be kept as a whole.
                        first = not any(p.split(".")[0] == name for p in answered)
                        whole = _current_of(draft, name) if first else None
                        if whole is not None:
                            return Step(path, name, sub, index, sub_name, current=whole, whole=True)
                        # One entry's field corrected alone: the value it had.
                        return Step(path, name, sub, index, sub_name, current=_current_of(draft, path))
                index += 1
                continue
            if count is None and index < fdef.max_items:
                more = f"{name}.more.{index}"
                if index < fdef.fewest:
                    items.append({})
                    continue
                if more not in answered:
                    return Step(path=more, name=name, field=None, index=index)
                if draft.get("more", {}).get(more):
                    items.append({})
                    continue
            break
    return None


def _entry_index_at_least(path: str, name: str, index: int) -> bool:
    parts = path.split(".")
    return len(parts) == 3 and parts[0] == name and parts[1].isdigit() and int(parts[1]) >= index


def answer(draft: dict[str, Any], step: Step, value: Any) -> None:
    """Record the answer to `step`. An empty answer (skip, no files) to a question whose field already has a
    value keeps that value: skipping never erases what the case has."""
    values: dict[str, Any] = draft["values"]
    if _empty(value) and not step.whole:
        # What the case has, not an answer taken back in this form: skipping that one leaves the field empty.
        kept = draft.get("current", {}).get(step.path)
        value = value if _empty(kept) else kept
    draft.get("given", {}).pop(step.path, None)
    if step.is_more:
        draft.setdefault("more", {})[step.path] = bool(value)
    elif step.index is not None and step.sub is not None:
        values[step.name][step.index][step.sub] = value
    else:
        values[step.name] = value
    draft["files"].pop(step.path, None)
    if step.path not in draft["answered"]:
        draft["answered"].append(step.path)


def keep(fields: Mapping[str, FieldDef], draft: dict[str, Any], step: Step) -> bool:
    """«Keep as it is»: the question's field keeps the value the case has. False if it has none."""
    if step.current is None:
        return False
    if step.whole:
        prefill(fields, [step.name], draft, {step.name: step.current})
    else:
        answer(draft, step, step.current)
    return True


def describe_current(step: Step, lang: str, options: Mapping[str, str] | None = None) -> str:
    """The current value of a question's field, as the question shows it («now: …»). `options`: labels of
    choice, directory and person keys (the ones the question offers as buttons). A list kept as a whole is the
    bot's to word, entry by entry, in its fields' own words (`services.wording.Wording.entry_words`): "" here."""
    value = step.current
    if value is None or step.field is None or step.whole:
        return ""
    kind = step.field.type
    if kind in FILE_TYPES:
        files = value if isinstance(value, list) else [value]
        return ", ".join(str(f.get("name", "📎")) if isinstance(f, Mapping) else "📎" for f in files)
    if isinstance(value, Mapping):  # a company: its name
        return str(value.get("name", ""))
    if options and str(value) in options:
        return options[str(value)]
    if kind in field_values.KINDS:
        try:
            return field_values.format_value(kind, value, options=options, lang=lang)
        except (TypeError, ValueError):
            return str(value)  # a stored value of another shape still shows as it is
    return str(value)


def back(fields: Mapping[str, FieldDef], draft: dict[str, Any]) -> bool:
    """Take the last answer back so it is asked again, showing what was given and offering to keep it — unless
    its field is a fact of one round (`fresh`), asked anew. False when nothing was answered yet."""
    if draft["files"]:
        draft["files"] = {}
        return True
    if not draft["answered"]:
        return False
    path: str = draft["answered"].pop()
    parts = path.split(".")
    values: dict[str, Any] = draft["values"]
    given: Any = None
    fdef: FieldDef | None = None
    if len(parts) == 1:
        given = values.pop(path, None)
        fdef = fields.get(path)
    elif parts[1] == "more":
        draft.get("more", {}).pop(path, None)
        # A «no» closed the list; a «yes» opened an empty entry that must go too.
        items = values.get(parts[0]) or []
        while items and not items[-1] and len(items) > int(parts[2]):
            items.pop()
    else:
        items = values.get(parts[0]) or []
        index = int(parts[1])
        if index < len(items):
            given = items[index].pop(parts[2], None)
            if not items[index] and index == len(items) - 1:
                items.pop()
        fdef = (fields[parts[0]].fields or {}).get(parts[2]) if parts[0] in fields else None
    if not _empty(given) and fdef is not None and not fdef.fresh:
        draft.setdefault("given", {})[path] = given
    return True


def reset_field(draft: dict[str, Any], name: str) -> None:
    """Ask a top-level field (and, for a list, all its entries) again, e.g. when corrected from the summary."""
    draft["answered"] = [p for p in draft["answered"] if p.split(".")[0] != name]
    draft["values"].pop(name, None)
    more: dict[str, bool] = draft.get("more", {})
    for key in [k for k in more if k.startswith(f"{name}.")]:
        del more[key]
    draft["files"] = {}


# --- one entry of a list corrected, added or removed from the summary -----------------------------------


def reset_entry(fields: Mapping[str, FieldDef], draft: dict[str, Any], name: str, index: int, sub: str | None) -> None:
    """Ask one field of one entry again (or, `sub` None, all the fields it is asked), each showing the value it
    had and offering to keep it: the other entries stay as they are."""
    fdef = fields[name]
    items = draft["values"].get(name) or []
    if fdef.fields is None or not 0 <= index < len(items):
        raise field_values.InvalidAnswer(_("That option is no longer available."))
    subs = entry_asks(fdef, items[index])
    if sub is not None:
        if sub not in subs:  # a later stage's field, or one not asked of this entry: nothing would ask it
            raise field_values.InvalidAnswer(_("That option is no longer available."))
        subs = [sub]
    current: dict[str, Any] = draft.setdefault("current", {})
    for key in subs:
        path = f"{name}.{index}.{key}"
        value = items[index].pop(key, None)
        if not _empty(value):
            current[path] = value
        if path in draft["answered"]:
            draft["answered"].remove(path)
    draft["files"] = {}


def entry_limits(fields: Mapping[str, FieldDef], names: list[str], name: str) -> tuple[int, int] | None:
    """How few and how many entries a list may have in this form, or None when its length cannot change here:
    a counted list whose count the form does not ask (the two would disagree)."""
    fdef = fields[name]
    least, most = fdef.fewest, fdef.max_items
    if fdef.count is not None:
        if fdef.count not in names:
            return None
        counter = fields[fdef.count]
        if counter.min is not None and counter.min > least:
            least = math.ceil(counter.min)
        if counter.max is not None and counter.max < most:
            most = math.floor(counter.max)
    return least, most


def can_add_entry(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any], name: str) -> bool:
    limits = entry_limits(fields, names, name)
    return limits is not None and len(draft["values"].get(name) or []) < limits[1]


def can_remove_entry(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any], name: str) -> bool:
    limits = entry_limits(fields, names, name)
    return limits is not None and len(draft["values"].get(name) or []) > limits[0]


def add_entry(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any], name: str) -> None:
    """One more entry at the end, asked next; a counted list's count goes up with it."""
    if not can_add_entry(fields, names, draft, name):
        raise field_values.InvalidAnswer(_("That option is no longer available."))
    fdef = fields[name]
    items = draft["values"].setdefault(name, [])
    if fdef.count is not None:
        draft["values"][fdef.count] = len(items) + 1
        if fdef.count not in draft["answered"]:
            draft["answered"].append(fdef.count)
    else:
        _settle_more(fdef, draft, name, len(items), another=True)


def remove_entry(
    fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any], name: str, index: int
) -> None:
    """Take one entry out; the later ones move up, keeping their answers; a counted list's count goes down."""
    items = draft["values"].get(name) or []
    if not 0 <= index < len(items) or not can_remove_entry(fields, names, draft, name):
        raise field_values.InvalidAnswer(_("That option is no longer available."))
    fdef = fields[name]
    items.pop(index)
    draft["answered"] = [moved for p in draft["answered"] if (moved := _moved_up(p, name, index)) is not None]
    if "current" in draft:
        draft["current"] = {
            moved: value for p, value in draft["current"].items() if (moved := _moved_up(p, name, index)) is not None
        }
    draft["files"] = {}
    if fdef.count is not None:
        draft["values"][fdef.count] = len(items)
    else:
        _settle_more(fdef, draft, name, len(items), another=False)


def _moved_up(path: str, name: str, removed: int) -> str | None:
    """A path after entry `removed` of list `name` is taken out: gone if it was that entry's, one up if later."""
    parts = path.split(".")
    if len(parts) != 3 or parts[0] != name or not parts[1].isdigit():
        return path
    index = int(parts[1])
    if index == removed:
        return None
    return f"{name}.{index - 1 if index > removed else index}.{parts[2]}"


def _settle_more(fdef: FieldDef, draft: dict[str, Any], name: str, length: int, *, another: bool) -> None:
    """The «add one more?» answers of a list without a count, as if it had been filled to `length` entries:
    «yes» for each entry past the minimum, then `another` for the next («no»: the list is complete)."""
    more: dict[str, bool] = draft.setdefault("more", {})
    prefix = f"{name}.more."
    for key in [k for k in more if k.startswith(prefix)]:
        del more[key]
    draft["answered"] = [p for p in draft["answered"] if not p.startswith(prefix)]
    for index in range(fdef.fewest, length + 1):
        if index >= fdef.max_items:
            break
        more[f"{prefix}{index}"] = index < length or another
        draft["answered"].append(f"{prefix}{index}")


def add_file(draft: dict[str, Any], step: Step, file: dict[str, Any]) -> int:
    """Collect one more file for a file field; returns how many are collected for it now."""
    collected: list[dict[str, Any]] = draft["files"].setdefault(step.path, [])
    collected.append(file)
    return len(collected)


def collected_files(draft: dict[str, Any], step: Step) -> list[dict[str, Any]]:
    return list(draft["files"].get(step.path, []))


def step_label(fields: Mapping[str, FieldDef], step: Step, lang: str) -> str:
    if step.field is None:
        return ""
    label = local(step.field.label, lang)
    if step.index is not None:
        parent = local(fields[step.name].entry or fields[step.name].label, lang)  # «Позиция №2: Цена»
        return f"{parent} {field_values.number_sign(lang)}{step.index + 1}: {label}"
    return label


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def prefill(fields: Mapping[str, FieldDef], names: list[str], draft: dict[str, Any], data: Mapping[str, Any]) -> None:
    """Take what the case already knows (a hand-off carried it over) as answered; the summary still shows it."""
    values: dict[str, Any] = draft["values"]
    for name in names:
        value = data.get(name)
        if _empty(value):
            continue
        fdef = fields[name]
        if fdef.type == "list" and fdef.fields and isinstance(value, list):
            items = [dict(item) for item in value if isinstance(item, dict)]
            values[name] = items
            for index, item in enumerate(items):
                draft["answered"] += [f"{name}.{index}.{sub}" for sub in fdef.fields if sub in item]
            if fdef.count is None:
                more = f"{name}.more.{len(items)}"
                draft.setdefault("more", {})[more] = False
                draft["answered"].append(more)
        else:
            values[name] = value
            draft["answered"].append(name)


# --- date rules between fields ---------------------------------------------------------------------------

_RULE_MESSAGES = {
    "after": _("The date must be later than “%(label)s” (%(value)s)."),
    "not_before": _("The date cannot be earlier than “%(label)s” (%(value)s)."),
    "before": _("The date must be earlier than “%(label)s” (%(value)s)."),
    "not_after": _("The date cannot be later than “%(label)s” (%(value)s)."),
}
_TODAY_MESSAGES = {
    "after": _("The date must be later than today (%(value)s)."),
    "not_before": _("The date cannot be earlier than today (%(value)s)."),
    "before": _("The date must be earlier than today (%(value)s)."),
    "not_after": _("The date cannot be later than today (%(value)s)."),
}
# Said at a form's summary (or by the engine), where the question is no longer on screen: the field is named,
# as the form asks it («Дата возврата из ремонта», not the field's usual label).
_NAMED_RULE_MESSAGES = {
    "after": _("“%(field)s”: the date must be later than “%(label)s” (%(value)s)."),
    "not_before": _("“%(field)s”: the date cannot be earlier than “%(label)s” (%(value)s)."),
    "before": _("“%(field)s”: the date must be earlier than “%(label)s” (%(value)s)."),
    "not_after": _("“%(field)s”: the date cannot be later than “%(label)s” (%(value)s)."),
}
_NAMED_TODAY_MESSAGES = {
    "after": _("“%(field)s”: the date must be later than today (%(value)s)."),
    "not_before": _("“%(field)s”: the date cannot be earlier than today (%(value)s)."),
    "before": _("“%(field)s”: the date must be earlier than today (%(value)s)."),
    "not_after": _("“%(field)s”: the date cannot be later than today (%(value)s)."),
}
# `next_week` (its first day): a pre-order is planned for the week after the one it is collected in. The day named is
# the earliest the date may be (the first working day of that week, for a working-day field).
_NEXT_WEEK_MESSAGES = {
    "after": _("The date must be later than the start of next week (%(value)s)."),
    "not_before": _("The date cannot be earlier than next week: the earliest day is %(value)s."),
    "before": _("The date must be earlier than next week (%(value)s)."),
    "not_after": _("The date cannot be later than the start of next week (%(value)s)."),
}
_NAMED_NEXT_WEEK_MESSAGES = {
    "after": _("“%(field)s”: the date must be later than the start of next week (%(value)s)."),
    "not_before": _("“%(field)s”: the date cannot be earlier than next week: the earliest day is %(value)s."),
    "before": _("“%(field)s”: the date must be earlier than next week (%(value)s)."),
    "not_after": _("“%(field)s”: the date cannot be later than the start of next week (%(value)s)."),
}
_DAY_OFF = _("%(value)s is not a working day; the nearest working day is %(next)s.")
_NAMED_DAY_OFF = _("“%(field)s”: %(value)s is not a working day; the nearest working day is %(next)s.")
_HOLDS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def alternatives(rule_value: str) -> list[str]:
    """The fields a date rule names, in order: `back_from_repair_date or arrival_date` → both; a single one alone.
    «или» as well as «or», as a deadline's `from A or B` reads them (`flows.deadlines`)."""
    return [part.strip() for part in _OR_WORD.split(rule_value.strip())]


_OR_WORD = re.compile(r"\s+(?:or|или)\s+", re.IGNORECASE)


def _moment(kind: str, value: Any) -> date | None:
    if kind not in ("date", "datetime") or value is None or value == "":
        return None
    try:
        moment: date | None = field_values.from_json(kind, value)
    except (TypeError, ValueError):
        return None
    return moment


def _other_date(
    rule_value: str, fields: Mapping[str, FieldDef], known: Mapping[str, Any]
) -> tuple[str, FieldDef | None, date | None]:
    """The field a date rule names, its definition and its date now (None while empty). `not_before:
    back_from_repair_date or arrival_date`: the first of them that has a value (the latest event once it happened),
    as a deadline's `from A or B` counts."""
    other = next((one for one in alternatives(rule_value) if known.get(one) not in (None, "")), rule_value)
    odef = fields.get(other)
    return other, odef, _moment(odef.type, known.get(other)) if odef is not None else None


def next_week(today: date) -> date:
    """The first day (Monday) of the week after `today`'s: what a date rule's `next_week` names."""
    return today + timedelta(days=7 - today.weekday())


def date_rule_days(fdef: FieldDef, fields: Mapping[str, FieldDef], known: Mapping[str, Any]) -> list[date]:
    """The days of the other fields the field's date rules name, those answered (`date_rule_problem`'s `fields`
    and `known`): where a date the field takes may lie, when today's neighbourhood has none (a return not before a
    shipping a month ahead)."""
    days = []
    for _rule, other in fdef.date_rules():
        theirs = _other_date(other, fields, known)[2] if other not in DATE_RULE_WORDS else None
        if theirs is not None:
            days.append(theirs.date() if isinstance(theirs, datetime) else theirs)
    return days


def date_rule_problem(
    fdef: FieldDef,
    value: Any,
    fields: Mapping[str, FieldDef],
    known: Mapping[str, Any],
    today: date,
    lang: str = "ru",
    named: bool = False,
    calendar: WorkCalendar | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """Why `value` breaks one of the field's date rules (a msgid and its parameters: the other field's label and
    value, in `lang`), or None. `fields`/`known`: the other fields and their values now (the form's answers over
    the case's; for a list entry, its own fields first). A rule whose other date is empty is not checked.
    `named`: the message names this field too (said away from its question). `calendar`: the production calendar a
    `working_day` field is checked on (without one it is not)."""
    mine = _moment(fdef.type, value)
    if mine is None:
        return None
    for rule, other in fdef.date_rules():
        if other == "today":
            theirs: date | None = today
            message, label = (_NAMED_TODAY_MESSAGES if named else _TODAY_MESSAGES)[rule], ""
            shown = field_values.format_value("date", today, lang=lang)
        elif other == "next_week":
            theirs = next_week(today)
            earliest = theirs
            while rule == "not_before" and fdef.working_day and calendar is not None:
                if calendar.is_working_day(earliest):
                    break
                earliest += timedelta(days=1)
            message, label = (_NAMED_NEXT_WEEK_MESSAGES if named else _NEXT_WEEK_MESSAGES)[rule], ""
            shown = field_values.format_value("date", earliest, lang=lang)
        else:
            other, odef, theirs = _other_date(other, fields, known)
            if odef is None or theirs is None:
                continue
            message, label = (_NAMED_RULE_MESSAGES if named else _RULE_MESSAGES)[rule], local(odef.label, lang)
            shown = field_values.format_value(odef.type, known.get(other), lang=lang)
        a, b = mine, theirs
        if isinstance(a, datetime) != isinstance(b, datetime):
            # A date against a date and time: the days are compared.
            a = a.date() if isinstance(a, datetime) else a
            b = b.date() if isinstance(b, datetime) else b
        if not _HOLDS[DATE_RULES[rule]](a, b):
            params = {"label": label, "value": shown}
            if named:
                params["field"] = local(fdef.label, lang)
            return message, params
    # A day off is checked after the rules: «вчера» said on a Sunday for a date not in the past is refused as past
    # (the reason no other day of the week mends), not as a Saturday.
    following = working_day_after(fdef, value, calendar)
    if following is not None:
        day = mine.date() if isinstance(mine, datetime) else mine
        params = {
            "value": field_values.format_value("date", day, lang=lang),
            "next": field_values.format_value("date", following, lang=lang),
        }
        if named:
            return _NAMED_DAY_OFF, {**params, "field": local(fdef.label, lang)}
        return _DAY_OFF, params
    return None


DAY_OFF_MESSAGES = (_DAY_OFF, _NAMED_DAY_OFF)


def working_day_after(fdef: FieldDef, value: Any, calendar: WorkCalendar | None) -> date | None:
    """The nearest working day after `value` when `value` is a day off and the field takes working days only (the
    day its refusal names, and offers); None otherwise."""
    mine = _moment(fdef.type, value)
    if mine is None or not fdef.working_day or calendar is None:
        return None
    day = mine.date() if isinstance(mine, datetime) else mine
    if calendar.is_working_day(day):
        return None
    following = day + timedelta(days=1)
    while not calendar.is_working_day(following):
        following += timedelta(days=1)
    return following


# --- bounds that are other values of the case ---------------------------------------------------------------

_BOUND_MESSAGES = {
    "at_least": _("“%(field)s” cannot be less than %(label)s: %(value)s."),
    "at_most": _("“%(field)s” cannot be more than %(label)s: %(value)s."),
}
# The bound another field of the case: named by its label, quoted.
_FIELD_BOUND_MESSAGES = {
    "at_least": _("“%(field)s” cannot be less than “%(label)s”: %(value)s."),
    "at_most": _("“%(field)s” cannot be more than “%(label)s”: %(value)s."),
}


def bound_problem(
    fdef: FieldDef, value: Any, fields: Mapping[str, FieldDef], known: Mapping[str, Any], lang: str = "ru"
) -> tuple[str, dict[str, Any]] | None:
    """Why `value` of a number or money field is beyond one of its bounds that are other values of the case (a
    prepayment larger than the order's total), the bound named and shown as it is now, or None. `fields`/`known`:
    as for `date_rule_problem`. A bound that is empty, or cannot be worked out, is not checked."""
    if not fdef.bounds() or value is None or value == "" or isinstance(value, bool):
        return None
    try:
        mine = Decimal(str(value))
    except ArithmeticError:
        return None
    context = _without_cancelled(fields, known)
    for rule, bound in fdef.bounds():
        theirs = _bound_value(bound, context)
        if theirs is None or _HOLDS[BOUND_RULES[rule]](mine, theirs):
            continue
        named = fields.get(bound.value.strip())
        messages = _BOUND_MESSAGES if bound.label is not None or named is None else _FIELD_BOUND_MESSAGES
        label = local(bound.label, lang) if bound.label is not None else local(named.label, lang) if named else ""
        shown = field_values.format_value(fdef.type, theirs, lang=lang) + (
            f"\u00a0{unit}" if (unit := fdef.unit_after(theirs, lang)) else ""
        )
        return messages[rule], {"field": local(fdef.label, lang), "label": label, "value": shown}
    return None


def number_limits(
    fdef: FieldDef, fields: Mapping[str, FieldDef], known: Mapping[str, Any]
) -> tuple[Decimal | None, Decimal | None]:
    """The lowest and the highest value a number or an amount may take now: its fixed `min` and `max` narrowed by
    its bounds that are other values of the case as they are now (`fields`/`known`: as for `bound_problem`); None
    where nothing limits it. What its question says before the answer, as `bound_problem` refuses after one."""
    low = Decimal(str(fdef.min)) if fdef.min is not None else None
    high = Decimal(str(fdef.max)) if fdef.max is not None else None
    if not fdef.bounds():
        return low, high
    context = _without_cancelled(fields, known)
    for rule, bound in fdef.bounds():
        theirs = _bound_value(bound, context)
        if theirs is None:
            continue
        if rule == "at_least":
            low = theirs if low is None else max(low, theirs)
        else:
            high = theirs if high is None else min(high, theirs)
    return low, high


def _bound_value(bound: BoundDef, context: Mapping[str, Any]) -> Decimal | None:
    """A bound's value now; None when it is empty or cannot be worked out (then it is not checked)."""
    try:
        raw = evaluate(bound.value, context)
        return None if raw is None or raw == "" or isinstance(raw, bool) else Decimal(str(raw))
    except (ExpressionError, ArithmeticError, TypeError, ValueError):
        return None


def _without_cancelled(fields: Mapping[str, FieldDef], known: Mapping[str, Any]) -> dict[str, Any]:
    """The case's values as a bound reads them: a tracked list's cancelled items marked, so its total leaves them
    out (as the order's card does)."""
    from flows.items import item_states  # flows.items reads this module

    context = dict(known)
    for name, fdef in fields.items():
        entries = known.get(name)
        if fdef.track is None or not isinstance(entries, list):
            continue
        cancelled = {stage.key for stage in fdef.track.stages if stage.cancelled}
        states = item_states(known, name)
        context[name] = [
            {**entry, CANCELLED_ENTRY: True}
            if isinstance(entry, Mapping) and index < len(states) and _stage_of(states[index]) in cancelled
            else entry
            for index, entry in enumerate(entries)
        ]
    return context


def _stage_of(state: Any) -> Any:
    return state.get("stage") if isinstance(state, Mapping) else None


def form_rule_problem(
    fields: Mapping[str, FieldDef],
    values: Mapping[str, Any],
    data: Mapping[str, Any],
    today: date,
    lang: str = "ru",
    calendar: WorkCalendar | None = None,
) -> tuple[str, dict[str, Any]] | None:
    """The first rule a form's answers break — a date rule, a bound, or a full name that is not one — (the entries of
    its lists included), or None. `fields`: the form's fields as it asks them; `data`: what the case has (the answers
    win over it)."""
    known = {**data, **values}
    for name, value in values.items():
        fdef = fields.get(name)
        if fdef is None:
            continue
        if fdef.type == "list" and fdef.fields and isinstance(value, list):
            for entry in value:
                if not isinstance(entry, Mapping):
                    continue
                for sub_name, sub in fdef.fields.items():
                    found = (
                        full_name_problem(sub, entry.get(sub_name), lang)
                        or date_rule_problem(
                            sub,
                            entry.get(sub_name),
                            {**fields, **fdef.fields},
                            {**known, **entry},
                            today,
                            lang,
                            True,
                            calendar,
                        )
                        or bound_problem(sub, entry.get(sub_name), {**fields, **fdef.fields}, {**known, **entry}, lang)
                    )
                    if found is not None:
                        return found
            continue
        found = (
            full_name_problem(fdef, value, lang)
            or date_rule_problem(fdef, value, fields, known, today, lang, True, calendar)
            or bound_problem(fdef, value, fields, known, lang)
        )
        if found is not None:
            return found
    return None


_NAMED_FULL_NAME = _(
    "“%(field)s”: please write the surname and the first name (and the patronymic, if any), e.g. Ivanova Marina "
    "Sergeevna"
)


def full_name_problem(fdef: FieldDef, value: Any, lang: str = "ru") -> tuple[str, dict[str, Any]] | None:
    """Why a `full_name` field's answer names nobody in full («Иван» alone), the field named (said away from its
    question: by the engine, whichever way the answer came), or None. An empty answer is the required check's."""
    if not fdef.full_name or not isinstance(value, str) or not value.strip():
        return None
    try:
        field_values.parse_full_name(value)
    except field_values.InvalidAnswer:
        return _NAMED_FULL_NAME, {"field": local(fdef.label, lang)}
    return None


def date_preference(fdef: FieldDef) -> str | None:
    """Which way a date in words leans for this field: «пн» for a date that cannot be later than today is the
    last Monday, and «28 декабря» typed in January is last December's; for one that must come later, the next."""
    for rule, other in fdef.date_rules():
        if other in DATE_RULE_WORDS:
            return "past" if rule in ("before", "not_after") else "future"
    return None


def date_lean(
    fdef: FieldDef, fields: Mapping[str, FieldDef], known: Mapping[str, Any]
) -> tuple[str | None, date | None]:
    """Which way a date typed without its year leans for this field and from which day (`flows.values.parse_text`'s
    `prefer` and `anchor`): from today where a rule names today (`date_preference`), else from the first answered day
    another rule names — a return «20.01» not before watches lent on 15.01.2027 is in 2027 — else neither. The day is
    None for today. `fields`/`known`: as for `date_rule_problem`."""
    prefer = date_preference(fdef)
    if prefer is not None:
        return prefer, None
    for rule, other in fdef.date_rules():
        theirs = _other_date(other, fields, known)[2]
        if theirs is not None:
            day = theirs.date() if isinstance(theirs, datetime) else theirs
            return ("past" if rule in ("before", "not_after") else "future"), day
    return None, None
