"""What templates and conditions see of a case: its fields as values of their types.

Stored data is JSON (money "125000.00", dates "2026-12-25"); here each field becomes what its type means,
so that `amount > 100000` compares numbers, `ship_date < today` compares dates, and `{{ winner.label }}`
prints the label of a choice or an outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flows import values
from flows.expressions import CANCELLED_ENTRY
from flows.items import item_states
from flows.model import (
    DEFAULT_LANG,
    DirectoryEntry,
    FieldDef,
    LocalText,
    ProcessDef,
    ReportAction,
    TrackDef,
    local,
)
from flows.spec_cache import SpecCache
from flows.templating import LANG_KEY, TemplateError, render

# Field types whose stored JSON becomes another Python type here.
_TYPED = frozenset({"number", "money", "date", "datetime"})


class Choice(str):
    """A choice or a task's outcome: compares and prints as its key (`cfo_approval == 'reject'`), and
    `.label` is its label (`{{ winner.label }}`); `.key` is the key itself."""

    label: str

    def __new__(cls, key: str, label: LocalText | None = None, lang: str = "ru") -> Choice:
        choice = super().__new__(cls, key)
        choice.label = local(label, lang) or key
        return choice

    @property
    def key(self) -> str:
        return str.__str__(self)


class Entry(dict[str, Any]):
    """A directory entry or a company, as templates and conditions see it: `{{ supplier }}` prints its name,
    `{{ supplier.email }}` its e-mail, and `supplier == 'alpha'` compares its key (a company: its id)."""

    def __str__(self) -> str:
        return str(self.get("name", self.get("key", "")))

    def __getattr__(self, name: str) -> Any:
        return self.get(name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str | int) and not isinstance(other, bool):
            return self.get("key", self.get("id")) == other
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None


def case_context(
    spec: ProcessDef,
    data: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    refs: Mapping[str, Any] | None = None,
    lang: str = "ru",
) -> dict[str, Any]:
    """`refs` are records the case points at, loaded by the caller (companies, by their field's name);
    `lang` is the reader's language, for the labels of choices and outcomes."""
    context: dict[str, Any] = dict(data)
    context[LANG_KEY] = lang  # how a number prints (flows.templating)
    outcomes, options, converted, localized = _reading(spec, lang)
    for task_key, choices in outcomes.items():
        outcome = data.get(task_key)
        if isinstance(outcome, str):
            choice = choices.get(outcome)
            context[task_key] = choice if choice is not None else Choice(outcome, None, lang)
    for name, record in (refs or {}).items():
        if isinstance(record, Mapping):
            context[name] = Entry(record)
    for name, fdef in converted:
        value = data.get(name)
        if fdef.type == "company" and isinstance(value, Mapping) and name not in (refs or {}):
            context[name] = Entry(value)
        elif fdef.type == "directory" and fdef.directory and isinstance(value, str):
            entry = spec.directory_entry(fdef.directory, value)
            if entry is not None:
                context[name] = Entry(_entry_fields(entry))
        elif fdef.type == "choice" and fdef.options and isinstance(value, str):
            # Conditions compare keys; templates print labels through `.label` (or the older `<field>_label`).
            choice = options[name].get(value)
            context[name] = choice if choice is not None else Choice(value, None, lang)
            context[f"{name}_label"] = context[name].label
        elif fdef.type in _TYPED:
            context[name] = typed(fdef, value)
        elif fdef.type == "list" and fdef.fields and isinstance(value, list):
            sub_fields = fdef.fields
            context[name] = [
                {k: typed(sub_fields[k], v) if k in sub_fields else v for k, v in item.items()}
                if isinstance(item, Mapping)
                else item
                for item in value
            ]
            if fdef.track is not None:
                _mark_cancelled(fdef.track, context[name], item_states(data, name))
    for name in localized:
        value = data.get(name)
        if isinstance(value, dict) and all(isinstance(text, str) for text in value.values()):
            context[name] = local(value, lang)  # a report's summary, written in every language
    if extra:
        context.update(extra)
    return context


def _mark_cancelled(track: TrackDef, entries: list[Any], states: list[dict[str, Any]]) -> None:
    """The entries whose item is at a cancelled stage, marked so that a total leaves them out."""
    cancelled = {s.key for s in track.stages if s.cancelled}
    for entry, state in zip(entries, states, strict=False):
        if isinstance(entry, dict) and isinstance(state, Mapping) and state.get("stage") in cancelled:
            entry[CANCELLED_ENTRY] = True


# Outcome labels per task, per spec: a context is built for every condition and text, and specs live long.
_OUTCOMES: SpecCache[ProcessDef, None, dict[str, dict[str, LocalText]]] = SpecCache(256)


def _outcome_labels(spec: ProcessDef) -> dict[str, dict[str, LocalText]]:
    hit = _OUTCOMES.get(spec, None)
    if hit is not None:
        return hit
    labels = {
        task.key: {key: odef.label for key, odef in task.outcome_defs().items()}
        for stage in spec.stages
        for task in stage.tasks
    }
    return _OUTCOMES.put(spec, None, labels)


# Every outcome and every option of a choice field as the context gives it (a Choice with its label in the
# reader's language), and the fields whose value the context converts (a text field is taken as stored), per spec
# and language: a context is built several times a step, a finished case has a dozen outcomes, each wrapped again
# for every context, and most of a definition's fields are plain. A Choice is a str that never changes, so one
# may be handed to many contexts.
_CONVERTED_TYPES = _TYPED | {"company", "directory", "choice", "list"}
_ChoiceMap = dict[str, dict[str, Choice]]
_Reading = tuple[_ChoiceMap, _ChoiceMap, list[tuple[str, FieldDef]], tuple[str, ...]]
_READINGS: SpecCache[ProcessDef, str, _Reading] = SpecCache(256)


def _reading(spec: ProcessDef, lang: str) -> _Reading:
    """Per task, its outcomes; per choice field (those the context converts), its options; the fields the context
    converts; the text fields written in every language. One lookup per context."""
    hit = _READINGS.get(spec, lang)
    if hit is not None:
        return hit
    converted = [(name, fdef) for name, fdef in spec.fields.items() if fdef.type in _CONVERTED_TYPES]
    outcomes = {
        task_key: {key: Choice(key, label, lang) for key, label in labels.items()}
        for task_key, labels in _outcome_labels(spec).items()
    }
    options = {
        name: {key: Choice(key, label, lang) for key, label in fdef.options.items()}
        for name, fdef in converted
        if fdef.type == "choice" and fdef.options
    }
    # Text fields a report writes its summary (and what changed since an earlier one) to: the system writes them in
    # every language, a reader reads theirs.
    localized = tuple(
        name
        for stage in spec.stages
        for action in stage.on_enter
        if isinstance(action, ReportAction)
        for name in (action.report.summary, action.report.changes)
        if name is not None
    )
    return _READINGS.put(spec, lang, (outcomes, options, converted, localized))


# A directory entry's fields, per entry (entries are frozen and live with their spec): a context is built
# several times a step, and dumping the model each time cost more than the rest of the context. Kept only when
# every value is a scalar, so the shallow copy each context gets shares nothing a template could change.
_ENTRIES: SpecCache[DirectoryEntry, None, dict[str, Any]] = SpecCache(4096)
_SCALARS = (str, int, float, bool, type(None))


def _entry_fields(entry: DirectoryEntry) -> dict[str, Any]:
    hit = _ENTRIES.get(entry, None)
    if hit is not None:
        return hit
    fields = entry.model_dump()
    if all(isinstance(value, _SCALARS) for value in fields.values()):
        _ENTRIES.put(entry, None, fields)
    return fields


def typed(fdef: FieldDef, value: Any) -> Any:
    """The stored value of a field as a value of its type; a value that does not read as one is left as
    it is (a corrupt row must still show, and the type checker keeps definitions from producing them)."""
    if value is None or value == "" or fdef.type not in _TYPED:
        return value
    if type(value) is str:
        return _typed_text(fdef.type, value)
    try:
        return values.from_json(fdef.type, value)
    except (TypeError, ValueError):
        return value


@lru_cache(maxsize=4096)
def _typed_text(kind: str, value: str) -> Any:
    # Dates and amounts are stored as text and read again for every context of a step; what they read as
    # (a date, a Decimal, a number) never changes. Text only: 1, 1.0 and True are one key to a cache.
    try:
        return values.from_json(kind, value)
    except (TypeError, ValueError):
        return value


def case_label(
    spec: ProcessDef, label: LocalText, data: Mapping[str, Any], refs: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """A label written as a template (`FieldDef.label_template`) as this case reads it, in each language it is
    written in: «Дата получения замены» once the supplier chose an exchange."""
    texts = {DEFAULT_LANG: label} if isinstance(label, str) else label
    read: dict[str, str] = {}
    for lang, text in texts.items():
        try:
            read[lang] = render(text, case_context(spec, data, refs=refs, lang=lang)).strip()
        except TemplateError:
            read[lang] = text  # the checker refuses one that does not parse; an older version's is shown as written
    return read


def case_labels(
    spec: ProcessDef, fields: Mapping[str, FieldDef], data: Mapping[str, Any], refs: Mapping[str, Any] | None = None
) -> Mapping[str, FieldDef]:
    """`fields` with their labels as this case reads them (`case_label`): what a question, a summary or a card of the
    case names them by. No label a template (nearly every definition): `fields` itself."""
    templated = [name for name, fdef in fields.items() if fdef.label_template is not None]
    if not templated:
        return fields
    read = dict(fields)
    for name in templated:
        fdef = fields[name]
        label = case_label(spec, fdef.label_template or fdef.label, data, refs)
        read[name] = fdef.model_copy(update={"label": label, "label_template": None})
    return read
