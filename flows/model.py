"""Typed model of a process definition (the YAML an admin writes).

Spec and instance are different classes: this module is the spec; `flows.runtime` holds the running case.
Structural checks live here (pydantic); checks that need the whole process (unknown stage, role, field,
unreachable stage) live in `flows.loader`, which also maps every mistake back to a file and line.
"""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from flows.effects import BuildReport, Effect, Notify, NotifyCases, Render, SendEmail, StartCase, UpdateCompany
from flows.i18n import _
from flows.templating import render

LocalText = str | dict[str, str]
"""A text in the bot's languages: a plain string (Russian, the default) or {"ru": …, "en": …}."""

FieldType = Literal[
    "text",
    "number",
    "money",
    "date",
    "datetime",
    "choice",
    "directory",
    "user",
    "photo",
    "document",
    "bool",
    "list",
    "company",
]
FIELD_TYPES: frozenset[str] = frozenset(get_args(FieldType))
FILE_TYPES = frozenset({"photo", "document"})
TaskKind = Literal["form", "approve", "choice", "confirm"]
ContactKind = Literal["phone", "email"]  # what a site form's contact field must hold
# A stage's colour mark, for lists read at a glance (a coloured circle in chat, a coloured row in the panel).
StageColour = Literal["blue", "purple", "yellow", "green", "brown", "orange", "red", "grey"]

# Who a task or a notification goes to: a role key, or one of these people of the case.
PERSON_REFS = frozenset({"initiator", "responsible"})
# A task's assignee `organisation:<role>`: the person the case's organisation names as its own (its card's
# representative) when they may do it, else the role's pool (`services.access.organisations_own`).
ORGANISATION_PREFIX = "organisation:"


def organisation_role(assignee: str) -> str | None:
    """The role of an `organisation:<role>` assignee (None: another kind of assignee)."""
    return assignee.removeprefix(ORGANISATION_PREFIX) if assignee.startswith(ORGANISATION_PREFIX) else None


# The language a text of one language is written in, and the one a text without the reader's language falls back to.
DEFAULT_LANG = "ru"


def title_in(title: str, titles: Mapping[str, str] | None, lang: str | None) -> str:
    """A case's title for a reader of `lang`: `titles` holds it in the languages other than the default one
    (`cases.titles`), `title` in the default language (`cases.title`)."""
    if titles and lang and lang in titles:
        return titles[lang]
    return title


def local(text: LocalText | None, lang: str = "ru") -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("ru") or next(iter(text.values()), "")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ON_CHANGE = ("add", "cancel_removed")


def _on_change_words(value: Any) -> Any:
    # `on_change: add` is the common case; `ignore` is the list of none; a list names several.
    if value == "ignore":
        return []
    return [value] if isinstance(value, str) else value


OnChange = list[Literal["add", "cancel_removed"]]
"""What a running `for_each` (or an item track) does when its list changes, entries matched by position:
`add` — an entry added gets its own task, child case or track; `cancel_removed` — the work of an entry removed is
cancelled, its people told. Not given: the list must not change meanwhile (the checker sees to it); `ignore`: it
may, and the work given stays as it is."""


DATE_RULES: dict[str, str] = {"after": ">", "not_before": ">=", "before": "<", "not_after": "<="}
"""Rules between dates: `after: ship_date` — this date must be later than that field's (or `today`)."""
DATE_RULE_WORDS = frozenset({"today", "next_week"})
"""`next_week`: the first day (Monday) of the week after today's — seed 2's pre-orders are collected in one week for
delivery in the next."""


class DateRules(_Spec):
    """Date rules a date or datetime field keeps: each names another date field (or `today`). A rule whose other
    date is still empty is not checked; it is checked when this field is answered."""

    after: str | None = None
    not_before: str | None = None
    before: str | None = None
    not_after: str | None = None

    def date_rules(self) -> list[tuple[str, str]]:
        """(rule, other field) pairs, in the order of DATE_RULES."""
        return [(rule, other) for rule in DATE_RULES if (other := getattr(self, rule)) is not None]


class BoundDef(_Spec):
    """A number's or an amount's bound that is another value of the case: a field (`at_most: budget`) or one worked
    out of it (`{value: "total(items, 'price', 'quantity')", label: {ru: сумма заказа, en: the order's total}}`: a
    prepayment is no larger than the order). Checked when the field is answered, against the bound as it is then;
    an empty bound is not checked."""

    value: str  # an expression over the case, as a condition reads it
    label: LocalText | None = None  # how the bound is named to the person; not given: the label of the field named

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"value": value} if isinstance(value, str) else value


BOUND_RULES: dict[str, str] = {"at_least": ">=", "at_most": "<="}


def _words(unit: str | list[str]) -> list[str]:
    return [unit] if isinstance(unit, str) else list(unit)


def _is_template(text: Any) -> bool:
    """Whether a text of a definition reads the case (`{{ … }}`, `{% … %}`) rather than saying the same words to all."""
    texts = [text] if isinstance(text, str) else list(text.values()) if isinstance(text, dict) else []
    return any(isinstance(one, str) and ("{{" in one or "{%" in one) for one in texts)


def _label_as_written(value: Any) -> Any:
    """A label written as a template over the case («Дата {% if verdict == 'exchange' %}получения замены{% else %}…»)
    is kept as `label_template`, rendered over each case where one is at hand (`flows.context.case_labels`); `label`
    becomes how it reads where none is (a report's column, a drawing): over no values, its `else`."""
    if not isinstance(value, dict) or not _is_template(value.get("label")):
        return value
    label = value["label"]
    texts = {DEFAULT_LANG: label} if isinstance(label, str) else label
    if not all(isinstance(text, str) for text in texts.values()):
        return value  # not a text in the bot's languages: the label's own type says so
    plain = {lang: render(text, {}).strip() for lang, text in texts.items()}
    return {**value, "label": plain if isinstance(label, dict) else plain[DEFAULT_LANG], "label_template": label}


class FieldDef(DateRules):
    type: FieldType
    # A template over the case when its words depend on it (`label_template` keeps it as written; see
    # `_label_as_written`): the day the goods came back is «Дата получения замены» after an exchange.
    label: LocalText
    label_template: LocalText | None = None
    hint: LocalText | None = None
    required: bool = True
    options: dict[str, LocalText] | None = None  # choice: key -> label
    # directory: which directory of the process; company: the directory of companies it offers and adds to, shared
    # by the processes of one business that name it (`services.companies.directory_of`; default: the process's own)
    directory: str | None = None
    role: str | None = None  # user: pick among people with this role
    multiple: bool = False  # photo/document: several files in one answer
    accept: list[str] | None = None  # document: allowed extensions, e.g. ["pdf"]
    min: float | None = None
    max: float | None = None
    integer: bool = False
    # number, money: bounds that are other values of the case (see BoundDef), beside the fixed `min` and `max`
    at_least: BoundDef | None = None
    at_most: BoundDef | None = None
    # number: its unit as people type it after the number ({ru: кг, en: kg}; several words a language writes it with
    # as a list, {ru: [дн, день], en: [days, day]}): «1 500 кг» is taken as 1500, another unit refused naming the
    # first (`flows.values.without_unit`). Shown after the value on every card, summary and list (`unit_after`): the
    # reader's language's first word («2 шт», «2 pcs»); for exactly 1, a word of the list that is the first without
    # its final «s» when there is one («1 day», «3 days»; «1 h» for [h, hour]); none when the label names the unit —
    # its last part after a comma («Отсрочка, дней», «Volume, production 1, kg») or a word of it being one of the
    # unit's words («Number of units») — or «Отсрочка, дней: 30 дн» would say it twice.
    unit: str | list[str] | dict[str, str | list[str]] | None = None
    # number in a list's entry: the entry's text field that holds the entry's own unit (an order position's
    # product, sold by 1C «компл» or «кг»): shown after the value in place of `unit` when the entry has one, in the
    # reader's language (`flows.units.unit_text`); `unit` for an entry without it.
    unit_from: str | None = None
    negative: bool = False  # money: may be below zero (a refund, a correction); refused otherwise
    # text: it must reach someone — a phone number or an e-mail address, checked wherever it is answered (chat, a
    # site's form) and kept in one form (`flows.values.parse_contact`).
    contact: ContactKind | None = None
    # text: a person's full name — a surname and a first name at least (`flows.values.parse_full_name`): «Иван»
    # alone names nobody on a supplier's letter. Checked wherever it is answered, the engine included.
    full_name: bool = False
    fields: dict[str, FieldDef] | None = None  # list: the fields of one entry
    count: str | None = None  # list: a number field that says how many entries
    min_items: int = 1  # an optional list (`required: false`) without its own `min_items` may be empty (`fewest`)
    max_items: int = 50
    track: TrackDef | None = None  # list: each entry moves along its own stages (an order's items)
    # list: what one entry is called — «Позиция» for «Позиции»: «Позиция №2: Цена», «Добавить «Позиция №4»?»
    # (the list's label, a plural, names the whole list). None: the label.
    entry: LocalText | None = None
    # list: a line under its entries on summaries and the case's card, a template over the case — what an order
    # comes to (`total: "Итого: {{ items|total('price', 'quantity')|money }} ₽"`), seen where it is confirmed.
    total: LocalText | None = None
    # list: how one entry reads on a summary and the case's card, a template over `item` (and the case) — one
    # numbered line per entry («1. Combi 48 × 2 по 31 500,00 ₽ = 63 000,00 ₽») instead of a block of its fields:
    # an order of eighteen positions is read on a phone.
    line: LocalText | None = None
    # A condition over the other fields: the field is asked (and required) only when it holds — the prepayment's
    # fields depend on the payment type. Not holding, the field is neither asked nor shown on the summary.
    ask_if: str | None = None
    # Kept for other systems, never shown to a person (no card, summary or entry's line): 1C's id of a product.
    hidden: bool = False
    # date: a day people work (the production calendar): a weekend or a holiday is refused, naming the next working
    # day — a warehouse's «завтра» said on a Friday is not a Saturday's task.
    working_day: bool = False
    # A fact of one round of a loop (a shipment's date, its waybill): a task that asks it again asks it anew,
    # not offering the last round's value to keep; the replaced value stays on the card and in the history.
    fresh: bool = False
    # text: what a task asking it offers to keep when the case has no value for it yet (or it is `fresh`), a
    # template over the case — the chosen supplier's address (`"{{ supplier.address }}"`).
    default: LocalText | None = None
    # text: a value offered as a button that one press answers with — `own_name`: the full name of the person asked,
    # from their profile, where the question is about themselves (the employee filing a return), not a customer.
    # Offered only where it would be taken (a `full_name` field: a surname and a first name).
    offer: Literal["own_name"] | None = None

    _label_template = model_validator(mode="before")(_label_as_written)

    @property
    def fewest(self) -> int:
        """How few entries a list may have: an optional one none (its first question is whether to add one)."""
        return self.min_items if self.required or "min_items" in self.model_fields_set else 0

    @model_validator(mode="after")
    def _shape(self) -> FieldDef:
        for limit in (self.min, self.max):
            if limit is not None and not math.isfinite(limit):
                raise ValueError(_("'min' and 'max' must be numbers (not .inf or .nan)"))
        if (self.at_least is not None or self.at_most is not None) and self.type not in ("number", "money"):
            raise ValueError(_("'at_least' and 'at_most' belong to a number or money field"))
        if self.date_rules() and self.type not in ("date", "datetime"):
            raise ValueError(_("'after', 'not_before', 'before' and 'not_after' belong to a date or datetime field"))
        if self.type == "choice" and not self.options:
            raise ValueError(_("a choice field needs 'options'"))
        if self.type == "directory" and not self.directory:
            raise ValueError(_("a directory field needs 'directory' (the name of a directory of this process)"))
        if self.type == "list":
            if not self.fields:
                raise ValueError(_("a list field needs 'fields' (the fields of one entry)"))
            if any(sub.type == "list" for sub in self.fields.values()):
                raise ValueError(_("a list cannot contain another list"))
            for sub in self.fields.values():
                named = self.fields.get(sub.unit_from) if sub.unit_from else None
                if sub.unit_from and (named is None or named.type != "text"):
                    raise ValueError(_("'unit_from' names a text field of the same entry"))
        elif self.fields:
            raise ValueError(_("only a list field may have 'fields'"))
        if self.track is not None and self.type != "list":
            raise ValueError(_("only a list field may have a 'track'"))
        if self.entry is not None and self.type != "list":
            raise ValueError(_("only a list field may have an 'entry'"))
        if self.total is not None and self.type != "list":
            raise ValueError(_("only a list field may have a 'total'"))
        if self.line is not None and self.type != "list":
            raise ValueError(_("only a list field may have a 'line'"))
        if self.working_day and self.type not in ("date", "datetime"):
            raise ValueError(_("'working_day' belongs to a date or datetime field"))
        if self.contact is not None and self.type != "text":
            raise ValueError(_("only a text field may have a 'contact'"))
        if self.full_name and (self.type != "text" or self.contact is not None):
            raise ValueError(_("only a text field without a 'contact' may be a 'full_name'"))
        if self.default is not None and self.type != "text":
            raise ValueError(_("only a text field may have a 'default'"))
        if self.offer is not None and (self.type != "text" or self.contact is not None):
            raise ValueError(_("only a text field without a 'contact' may have an 'offer'"))
        if (self.unit is not None or self.unit_from is not None) and self.type != "number":
            raise ValueError(_("only a number field may have a 'unit'"))
        return self

    def unit_fields(self) -> set[str]:
        """list: its entry's text fields that other fields take their unit from (`unit_from`): 1C's word for a
        product's unit («компл»), read in the reader's language wherever it is shown (`flows.units.unit_text`)."""
        return {sub.unit_from for sub in (self.fields or {}).values() if sub.unit_from}

    def bounds(self) -> list[tuple[str, BoundDef]]:
        """(rule, bound) pairs, in the order of BOUND_RULES."""
        return [(rule, bound) for rule in BOUND_RULES if (bound := getattr(self, rule)) is not None]

    def units(self, lang: str | None) -> tuple[str, ...]:
        """The unit as each language writes it, `lang`'s first (`flows.values.without_unit`)."""
        if self.unit is None:
            return ()
        if not isinstance(self.unit, dict):
            return tuple(_words(self.unit))
        first = _words(self.unit.get(lang or DEFAULT_LANG) or [])
        return tuple(dict.fromkeys([*first, *(word for words in self.unit.values() for word in _words(words))]))

    def unit_after(self, value: Any, lang: str | None) -> str:
        """The unit a shown number takes after it in `lang` («шт», «pcs», «day» for 1, «days»), "" for none (see
        `unit`): the one rule every view of a number field goes through (`services.wording.Wording.format_field`)."""
        if self.unit is None or self._label_names_unit(lang):
            return ""
        own = _words(self.unit.get(lang or DEFAULT_LANG) or []) if isinstance(self.unit, dict) else _words(self.unit)
        own = own or list(self.units(lang)[:1])  # a language the definition gives no unit in: its first one
        if not own:
            return ""
        try:
            one = Decimal(str(value)) == 1
        except (ArithmeticError, ValueError):
            one = False
        singular = own[0][:-1] if len(own[0]) > 1 and own[0].endswith("s") else None
        return singular if one and singular in own[1:] else own[0]

    def _label_names_unit(self, lang: str | None) -> bool:
        label = local(self.label, lang or DEFAULT_LANG).casefold()
        if "," in label:
            return True
        words = {word.strip(".").casefold() for word in self.units(lang)}
        return any(word in words for word in re.findall(r"[\w/]+", label))


# --- item tracks: a list entry's own stages ----------------------------------------------------------------


class ItemMoveDef(_Spec):
    """A stage an item may be moved to from where it stands, by a button on the item's card."""

    to: str
    label: LocalText | None = None  # the button's text (the target stage's title if not given)
    # A condition over the case and `item`: the move is offered only when it holds (an item in stock goes from
    # ordering straight to the warehouse; one made to order is sent first).
    when: str | None = None
    # A role whose approval the move waits for (`approval: director`): the item stays where it is until one of
    # them approves; a rejection, with its reason, leaves it there.
    approval: str | None = None


class ItemCheckDef(_Spec):
    """A condition over the case and the `item` that must hold for the item to enter the stage."""

    rule: str
    message: LocalText  # what the person is told when the rule does not hold


# Who an item stage's notice may name besides the case's people: whoever moved the item or decided on one of its
# moves before (the logistician who sent it, the director who approved its order) — they worked on it.
ITEM_WORKERS = "item_workers"

# What a process's `on_cancel` texts read besides the case's fields: why the case was cancelled, as the person
# cancelling it said (empty when nobody said).
CANCEL_REASON = "cancel_reason"


class ItemNoticeDef(_Spec):
    """An item stage's `on_enter`: `{notify: [responsible, item_workers], text: …}` — people told, in the
    definition's words over the case and `item`, when an item enters the stage (one item cancelled is news to the
    deal's manager, though the deal goes on)."""

    notify: list[str]  # roles, initiator, responsible, field:<user>, item_workers
    text: LocalText


class ItemStageDef(_Spec):
    key: str
    title: LocalText
    moves: list[ItemMoveDef] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)  # fields of the entry filled before the item enters
    # Fields of the entry the item's people may correct while it stands here, one at a time from its card (a
    # mistyped tracking number): as a case stage's `editable`, the old value kept in the item's history.
    editable: list[str] = Field(default_factory=list)
    checks: list[ItemCheckDef] = Field(default_factory=list)
    remind: list[str] = Field(default_factory=list)  # e.g. "3 рабочих дня": the item's people are reminded then
    cancelled: bool = False  # an item here no longer counts for the case's stage (`follows`)
    approval: str | None = None  # a role that approves every move into this stage (as a move's `approval`)
    on_enter: list[ItemNoticeDef] = Field(default_factory=list)

    @field_validator("moves", mode="before")
    @classmethod
    def _moves_shorthand(cls, value: Any) -> Any:
        # `moves: [sent, cancelled]` is the common case: a stage key per move.
        if isinstance(value, list):
            return [{"to": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("remind", mode="before")
    @classmethod
    def _remind_shorthand(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class TrackDef(_Spec):
    """The stages each entry of a list goes through, moved by hand on the entry's own card."""

    title: LocalText | None = None  # jinja over `item` (and the case): how an item is named on its card
    role: str | None = None  # who moves the items; not given: the case's responsible
    start: str | None = None  # the case's stage at which items begin (default: the first that follows them)
    # The case's stage once no item counts any more (every one cancelled): the case following them goes there,
    # else it would wait at its stage for items that will never move, with nobody told.
    all_cancelled: str | None = None
    stages: list[ItemStageDef]
    on_change: OnChange | None = None  # the list changed after the items began (see OnChange)

    _on_change = field_validator("on_change", mode="before")(_on_change_words)

    @field_validator("stages")
    @classmethod
    def _some_stages(cls, value: list[ItemStageDef]) -> list[ItemStageDef]:
        if not value:
            raise ValueError(_("a track needs at least one stage"))
        return value

    def stage(self, key: str) -> ItemStageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def rank(self, key: str) -> int:
        """How far along the track a stage is (its place in the declared order)."""
        return [s.key for s in self.stages].index(key)


FieldDef.model_rebuild()  # its `track` is declared above it


class FieldRef(DateRules):
    """One field a task asks for: its name, or `{field: name, label: …, hint: …, after: …}` — how it is asked
    this time. A field asked again in a loop says what it means there («Дата возврата из ремонта» for the
    arrival date) and may add date rules; the field, its value and its history stay the same."""

    field: str
    label: LocalText | None = None  # a template over the case, as a field's (see FieldDef.label)
    label_template: LocalText | None = None
    hint: LocalText | None = None
    fresh: bool | None = None  # asked anew here (see FieldDef.fresh), whatever the field says
    default: LocalText | None = None  # offered here (see FieldDef.default): the supplier's address for its office

    @model_validator(mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return _label_as_written({"field": value} if isinstance(value, str) else value)

    def apply(self, fdef: FieldDef) -> FieldDef:
        """The field as this reference asks it: its own wording, its rules added to the field's."""
        update: dict[str, Any] = {rule: other for rule, other in self.date_rules()}
        if self.label is not None:
            update["label"], update["label_template"] = self.label, self.label_template
        if self.hint is not None:
            update["hint"] = self.hint
        if self.fresh is not None:
            update["fresh"] = self.fresh
        if self.default is not None:
            update["default"] = self.default
        return fdef.model_copy(update=update) if update else fdef


def ref_names(refs: list[FieldRef]) -> list[str]:
    return [ref.field for ref in refs]


class OutcomeDef(_Spec):
    label: LocalText
    fields: list[FieldRef] = Field(default_factory=list)  # asked after the button is pressed
    comment: Literal["required", "optional"] | None = None
    # The question the comment is asked by, and its name wherever it is shown («Причина отказа» for a rejection).
    # None: «Комментарий». Its own option, not guessed from the button's label (a definition's «Отклонить» may
    # want a plain comment, a «Вернуть с замечаниями» its «Что исправить»).
    comment_label: LocalText | None = None
    # How the decision reads once made, on the task's card and in the panel: the button says what to do
    # («Отклонить»), this what was done («Отклонено»). None: the label, which a choice usually words as a result.
    done: LocalText | None = None


class JoinDef(_Spec):
    """When the tasks of a `for_each` are enough: the first entry whose answer meets `any`, or `at_least` done.
    On a stage: when its parallel tasks are enough — the first answer after which `any` holds."""

    any: str | None = None  # a condition over the case and the entry's answer (`check == 'reject'`)
    at_least: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one(self) -> JoinDef:
        if (self.any is None) == (self.at_least is None):
            raise ValueError(_("a join is 'all', or exactly one of 'any' and 'at_least'"))
        return self


class _ForEach(_Spec):
    """What a task and a call share when they run once per entry of a list."""

    for_each: str | None = None  # a list field: one task / child case per entry, in parallel (seen as `item`)
    join: JoinDef | None = None  # when the entries' work is enough to move on (None: all of it)
    on_change: OnChange | None = None  # the list changed while the work runs (see OnChange)

    @field_validator("join", mode="before")
    @classmethod
    def _join_all(cls, value: Any) -> Any:
        # `join: all` is the default spelled out; a mapping is a completion rule.
        return None if value == "all" else value

    _on_change = field_validator("on_change", mode="before")(_on_change_words)

    @model_validator(mode="after")
    def _each(self) -> _ForEach:
        if (self.join is not None or self.on_change is not None) and self.for_each is None:
            raise ValueError(self._needs_for_each())
        return self

    @abstractmethod
    def _needs_for_each(self) -> str:
        """Why `join` or `on_change` is refused without `for_each`: each kind names itself in the message."""


class TaskDef(_ForEach):
    key: str
    kind: TaskKind = "form"
    title: LocalText
    text: LocalText | None = None  # jinja template shown on the task card
    assignee: str  # role key, "initiator", "responsible", "field:<user field>" or "organisation:<role>"
    fields: list[FieldRef] = Field(default_factory=list)  # names, or {field: name, label: …} (see FieldRef)
    attach: list[str] = Field(default_factory=list)  # files of the case sent along with the task card
    outcomes: dict[str, OutcomeDef] | None = None
    due: str | None = None
    remind: list[str] = Field(default_factory=list)
    escalate_to: list[str] = Field(default_factory=list)
    when: str | None = None  # create the task only if this condition holds
    timing: bool = False  # the worker starts, pauses and resumes a timer; time spent is kept per person
    # Whoever does this task becomes the case's responsible: a lead from the site lands in the sales managers'
    # pool, and the one who takes it leads the deal from then on.
    takes_case: bool = False
    # Taking it is the work: a lead taken from the pool is a lead in work, so «✋ Take» finishes it (a confirm task
    # that asks nothing). Given to one person without a pool, its button says the same («✋ Take it»).
    done_when_taken: bool = False
    # Told when the task is answered (not when it is withdrawn or its case cancelled): a stage's `notify` actions,
    # each `when` read over the case as the answer left it. The director's approval while the client's answer is
    # still to come is news to the manager then, not only with his next task.
    on_done: list[NotifyAction] = Field(default_factory=list)

    def _needs_for_each(self) -> str:
        return _("'join' and 'on_change' belong to a task with 'for_each'")

    @model_validator(mode="after")
    def _outcomes(self) -> TaskDef:
        if self.kind == "choice" and not self.outcomes:
            raise ValueError(_("a choice task needs 'outcomes'"))
        if self.kind in ("form", "confirm") and self.outcomes:
            raise ValueError(_("a form or confirm task has one outcome; remove 'outcomes' or use kind: choice"))
        if self.done_when_taken and (self.kind != "confirm" or self.fields):
            raise ValueError(_("'done_when_taken' belongs to a confirm task that asks nothing (no 'fields')"))
        return self

    def outcome_defs(self) -> dict[str, OutcomeDef]:
        if self.done_when_taken:
            return dict(TAKEN_OUTCOMES)
        if self.outcomes:
            if self.kind == "approve":
                merged = dict(DEFAULT_OUTCOMES["approve"])
                merged.update(self.outcomes)
                return merged
            return dict(self.outcomes)
        if self.kind == "form" and not self.fields:
            return dict(NOTHING_TO_FILL_IN)
        return dict(DEFAULT_OUTCOMES[self.kind])

    def names_its_outcome(self) -> bool:
        """Whether a done task is told by its outcome («Отклонено», «✋ Взято в работу», «💰 Оплачено») rather than as
        simply done: there was a choice, taking it was the work, or the process named its one way to finish itself
        (a choice of one, «Оплачено», is not «Выполнено»)."""
        return len(self.outcome_defs()) > 1 or self.done_when_taken or bool(self.outcomes)


# A task done by being taken (`done_when_taken`): its one outcome as its button and its card read it.
TAKEN_OUTCOMES = {"done": OutcomeDef(label={"ru": "✋ Взять в работу", "en": "✋ Take it"},
                                     done={"ru": "✋ Взято в работу", "en": "✋ Taken"})}  # fmt: skip

DEFAULT_OUTCOMES: dict[str, dict[str, OutcomeDef]] = {
    # The button opens the form: its questions are asked, and the answers saved once confirmed. «Отправить» read as
    # sending something on at once — a corrected offer to the client.
    "form": {"submit": OutcomeDef(label={"ru": "📝 Заполнить", "en": "📝 Fill in"})},
    "confirm": {"done": OutcomeDef(label={"ru": "Готово", "en": "Done"})},
    "approve": {
        "approve": OutcomeDef(
            label={"ru": "Согласовать", "en": "Approve"}, done={"ru": "Согласовано", "en": "Approved"}
        ),
        "reject": OutcomeDef(
            label={"ru": "Отклонить", "en": "Reject"},
            done={"ru": "Отклонено", "en": "Rejected"},
            comment="required",
            comment_label={"ru": "Причина отказа", "en": "Reason for rejection"},
        ),
    },
    "choice": {},
}


# A form task that asks nothing: pressed, it is done at once — «Заполнить» would promise questions.
NOTHING_TO_FILL_IN = {"submit": OutcomeDef(label={"ru": "Готово", "en": "Done"})}


class ActionContext(Protocol):
    """What an action sees of the case whose stage it runs in (the engine builds it)."""

    @property
    def data(self) -> dict[str, Any]:
        """The case's fields, live: an action that sets fields changes them here."""
        ...

    @property
    def refs(self) -> dict[str, Any]:
        """Records the case points at (companies), by field."""
        ...

    @property
    def starter_id(self) -> int:
        """Who starts a hand-off: the case's responsible, else its initiator."""
        ...

    def template_context(self) -> dict[str, Any]:
        """What templates see now (fields, resolved directory entries, labels)."""
        ...

    def people(self, refs: list[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Roles and user ids meant by `refs` (role keys, initiator, responsible, field:<user>)."""
        ...


class ActionCheck(Protocol):
    """The loader's side of checking one action; paths are relative to the action, messages are msgids."""

    @property
    def fields(self) -> dict[str, FieldDef]: ...

    def add(self, path: tuple[str | int, ...], message: str, /, **params: Any) -> None: ...

    def template(self, path: tuple[str | int, ...], text: LocalText | None, extra: tuple[str, ...] = ()) -> None:
        """Check a Jinja text; `extra`: names this place adds to the case's (e.g. `cases`)."""
        ...

    def person(self, path: tuple[str | int, ...], who: str) -> None: ...

    def field_list(self, path: tuple[str | int, ...], names: list[str]) -> None: ...

    def files(self, path: tuple[str | int, ...], names: list[str]) -> None:
        """Each name is a photo or document field."""
        ...

    def field_of_type(self, path: tuple[str | int, ...], name: str, types: frozenset[str]) -> None: ...


class ProcessCheck(Protocol):
    """Checking what an action says about another process of the library (already known to exist)."""

    def add(self, path: tuple[str | int, ...], message: str, /, **params: Any) -> None: ...

    def hand_off(self, path: tuple[str | int, ...], target: ProcessDef, values: dict[str, str]) -> None:
        """`values` maps fields of `target` to fields of this process whose values it receives."""
        ...


class RenderDef(_Spec):
    template: str  # jinja expression giving the template file name, e.g. "{{ supplier.template }}"
    to: str  # document field the result is stored in
    name: LocalText | None = None  # jinja: the file name shown to people


class StartCaseDef(_Spec):
    """Hand the work on to another process: a new case, linked back to this one, with fields carried over."""

    process: str
    carry: Literal["all"] | list[str] = "all"
    map: dict[str, str] = Field(default_factory=dict)  # field of the new case -> field of this one


class CompanyUpdateDef(_Spec):
    field: str  # the company field of this case
    set: dict[str, Any]


class ReportColumn(_Spec):
    field: str  # a field of the cases reported on, or: id, title, stage, responsible, status, created, closed
    label: LocalText


REPORT_BUILTINS = frozenset({"id", "title", "stage", "responsible", "status", "created", "closed"})


class ReportDef(_Spec):
    """A report over other cases, made when the stage is entered: an Excel file and a text summary."""

    process: str
    stage: str | None = None  # only cases at this stage (any stage if not given)
    columns: list[ReportColumn]
    totals: list[str] = Field(default_factory=list)  # number/money fields summed in the summary
    # A sum kept in a number field of this case (field of the cases reported on -> field of this one), for a card to
    # say: a production head reads the kilos his production is asked for, not a file to open.
    totals_to: dict[str, str] = Field(default_factory=dict)
    to: str  # document field of this case the Excel file goes to
    summary: str | None = None  # text field of this case the summary goes to
    # Number field of this case the number of cases reported goes to: `next` may read it (no pre-orders this week:
    # nothing for the productions to confirm).
    count: str | None = None
    title: LocalText
    # What moved since an earlier report of this case (the document field it went to): each line whose figures
    # changed, old → new, the cases new in it and those gone, written to a text field — the people confirming
    # updated plans read what the corrections changed, not two sets of totals to compare by eye. Both or neither.
    changes_since: str | None = None
    changes: str | None = None


class NotifyCasesDef(_Spec):
    """Tell each responsible of the cases at a stage which of their cases need them, in one message."""

    process: str
    stage: str | None = None
    text: LocalText  # jinja; sees `cases`: [{id, title, stage}]


class EmailDef(_Spec):
    """An e-mail to someone outside Telegram (a supplier's contact), sent through the outbox."""

    to: str  # jinja, e.g. "{{ supplier.email }}"
    subject: LocalText
    text: LocalText
    attach: list[str] = Field(default_factory=list)


# --- actions: one thing done when a stage is entered --------------------------------------------------------
# Each kind is its own class, recognised in YAML by the one key that names it (`notify:`, `render:`, …), and
# knows its own effects and its own checks. A new kind is a new class added to `Action` below.


class _Action(_Spec):
    kind: ClassVar[str]
    when: str | None = None  # do it only if this condition holds

    @abstractmethod
    def effects(self, ctx: ActionContext) -> list[Effect]:
        """What doing this action asks of the world (messages, documents, cases started)."""

    def check(self, ck: ActionCheck) -> None:
        """Checks within this process (fields, people, templates); `when` is checked by the loader."""

    def other_process(self) -> str | None:
        """The process this action names, which must exist in the library."""
        return None

    def check_other(self, ck: ProcessCheck, other: ProcessDef) -> None:
        """Checks against the named process, once it is known to exist."""


def _check_stage_of(ck: ProcessCheck, key: str, other: ProcessDef, stage: str | None) -> None:
    if stage is not None and stage not in {s.key for s in other.stages}:
        ck.add((key, "stage"), _("process '%(process)s' has no stage '%(stage)s'"), process=other.process, stage=stage)


class NotifyAction(_Action):
    kind: ClassVar[str] = "notify"
    notify: list[str]  # roles, initiator, responsible, field:<user>
    text: LocalText
    attach: list[str] = Field(default_factory=list)

    def effects(self, ctx: ActionContext) -> list[Effect]:
        roles, users = ctx.people(self.notify)
        return [Notify(kind="text", roles=roles, user_ids=users, text=self.text, attach=tuple(self.attach))]

    def check(self, ck: ActionCheck) -> None:
        for who in self.notify:
            ck.person(("notify",), who)
        ck.template(("text",), self.text)
        ck.files(("attach",), self.attach)


TaskDef.model_rebuild()  # `on_done` names NotifyAction, defined after it


class RenderAction(_Action):
    kind: ClassVar[str] = "render"
    render: RenderDef

    def effects(self, ctx: ActionContext) -> list[Effect]:
        context = ctx.template_context()
        template = render(self.render.template, context).strip()
        name = render(local(self.render.name), context).strip() if self.render.name else template
        return [Render(template=template, to=self.render.to, name=name)]

    def check(self, ck: ActionCheck) -> None:
        ck.template(("render", "template"), self.render.template)
        ck.template(("render", "name"), self.render.name)
        ck.field_of_type(("render", "to"), self.render.to, frozenset({"document"}))


class SetAction(_Action):
    kind: ClassVar[str] = "set"
    set: dict[str, Any]

    def effects(self, ctx: ActionContext) -> list[Effect]:
        ctx.data.update(self.set)
        return []

    def check(self, ck: ActionCheck) -> None:
        for key in self.set:
            if key not in ck.fields:
                ck.add(("set", key), _("unknown field '%(name)s'"), name=key)


class StartAction(_Action):
    kind: ClassVar[str] = "start"
    start: StartCaseDef

    def effects(self, ctx: ActionContext) -> list[Effect]:
        data = ctx.data
        carried = (
            {k: v for k, v in data.items() if k != "started_on"}  # the new case has its own
            if self.start.carry == "all"
            else {k: data[k] for k in self.start.carry if k in data}
        )
        for new_name, old_name in self.start.map.items():
            carried[new_name] = data.get(old_name)
        return [StartCase(self.start.process, carried, ctx.starter_id)]

    def check(self, ck: ActionCheck) -> None:
        if isinstance(self.start.carry, list):
            ck.field_list(("start", "carry"), self.start.carry)
        for new_name, source in self.start.map.items():
            if source not in ck.fields:
                ck.add(("start", "map", new_name), _("unknown field '%(name)s'"), name=source)

    def other_process(self) -> str | None:
        return self.start.process

    def check_other(self, ck: ProcessCheck, other: ProcessDef) -> None:
        for new_name in self.start.map:
            if new_name not in other.fields:
                ck.add(
                    ("start", "map", new_name),
                    _("process '%(process)s' has no field '%(name)s'"),
                    process=other.process,
                    name=new_name,
                )
        values = dict(self.start.map)
        carried = [n for n in other.fields] if self.start.carry == "all" else list(self.start.carry)
        for name in carried:
            values.setdefault(name, name)
        ck.hand_off(("start",), other, {k: v for k, v in values.items() if k in other.fields})


class CompanyAction(_Action):
    kind: ClassVar[str] = "company"
    company: CompanyUpdateDef

    def effects(self, ctx: ActionContext) -> list[Effect]:
        value = ctx.data.get(self.company.field)
        company_id = value.get("id") if isinstance(value, dict) else value
        if not isinstance(company_id, int):
            return []  # no company chosen yet: nothing to update
        record = ctx.refs.get(self.company.field)
        if isinstance(record, dict):
            record.update(self.company.set)  # later actions and templates of this step see the new values
        return [UpdateCompany(company_id, dict(self.company.set))]

    def check(self, ck: ActionCheck) -> None:
        ck.field_of_type(("company", "field"), self.company.field, frozenset({"company"}))


class ReportAction(_Action):
    kind: ClassVar[str] = "report"
    report: ReportDef

    def effects(self, ctx: ActionContext) -> list[Effect]:
        return [BuildReport(self.report)]

    def check(self, ck: ActionCheck) -> None:
        ck.field_of_type(("report", "to"), self.report.to, frozenset({"document"}))
        if self.report.summary is not None and self.report.summary not in ck.fields:
            ck.add(("report", "summary"), _("unknown field '%(name)s'"), name=self.report.summary)
        if self.report.count is not None:
            ck.field_of_type(("report", "count"), self.report.count, frozenset({"number"}))
        for name, target in self.report.totals_to.items():
            ck.field_of_type(("report", "totals_to", name), target, frozenset({"number", "money"}))
        if self.report.changes_since is not None:
            ck.field_of_type(("report", "changes_since"), self.report.changes_since, frozenset({"document"}))
        if self.report.changes is not None:
            ck.field_of_type(("report", "changes"), self.report.changes, frozenset({"text"}))
        ck.template(("report", "title"), self.report.title)

    def other_process(self) -> str | None:
        return self.report.process

    def check_other(self, ck: ProcessCheck, other: ProcessDef) -> None:
        _check_stage_of(ck, "report", other, self.report.stage)
        known = set(other.fields) | REPORT_BUILTINS
        for index, column in enumerate(self.report.columns):
            if column.field not in known:
                ck.add(
                    ("report", "columns", index, "field"),
                    _("process '%(process)s' has no field '%(name)s'"),
                    process=other.process,
                    name=column.field,
                )
        summed: list[tuple[tuple[str | int, ...], str]] = [
            (("report", "totals", index), total) for index, total in enumerate(self.report.totals)
        ]
        summed += [(("report", "totals_to", total), total) for total in self.report.totals_to]
        for where, total in summed:
            fdef = other.fields.get(total)
            if fdef is None or fdef.type not in ("number", "money"):
                ck.add(
                    where,
                    _("'%(name)s' is not a number or money field of process '%(process)s'"),
                    process=other.process,
                    name=total,
                )


class NotifyCasesAction(_Action):
    kind: ClassVar[str] = "notify_cases"
    notify_cases: NotifyCasesDef

    def effects(self, ctx: ActionContext) -> list[Effect]:
        return [NotifyCases(self.notify_cases)]

    def check(self, ck: ActionCheck) -> None:
        ck.template(("notify_cases", "text"), self.notify_cases.text, ("cases",))

    def other_process(self) -> str | None:
        return self.notify_cases.process

    def check_other(self, ck: ProcessCheck, other: ProcessDef) -> None:
        _check_stage_of(ck, "notify_cases", other, self.notify_cases.stage)


class EmailAction(_Action):
    kind: ClassVar[str] = "email"
    email: EmailDef

    def effects(self, ctx: ActionContext) -> list[Effect]:
        context = ctx.template_context()
        # People outside Telegram read the company's language (Russian by default).
        return [
            SendEmail(
                to=render(self.email.to, context).strip(),
                subject=" ".join(render(local(self.email.subject), context).split())[:200],
                body=render(local(self.email.text), context),
                attach=tuple(self.email.attach),
            )
        ]

    def check(self, ck: ActionCheck) -> None:
        for key in ("to", "subject", "text"):
            ck.template(("email", key), getattr(self.email, key))
        ck.files(("email", "attach"), self.email.attach)


ACTION_CLASSES: tuple[type[_Action], ...] = (
    NotifyAction,
    RenderAction,
    SetAction,
    StartAction,
    CompanyAction,
    ReportAction,
    NotifyCasesAction,
    EmailAction,
)
ACTION_KINDS = tuple(cls.kind for cls in ACTION_CLASSES)
ACTION_TAG = "action:"  # pydantic puts the tag in error locations; the loader strips it


def _action_kind(value: Any) -> str | None:
    """The tag of an action: its class's, or in YAML the one key naming a kind (None: zero or several)."""
    if isinstance(value, _Action):
        return ACTION_TAG + value.kind
    if isinstance(value, dict):
        present = [kind for kind in ACTION_KINDS if kind in value]
        if len(present) == 1:
            return ACTION_TAG + present[0]
    return None


Action = Annotated[
    Annotated[NotifyAction, Tag(ACTION_TAG + "notify")]
    | Annotated[RenderAction, Tag(ACTION_TAG + "render")]
    | Annotated[SetAction, Tag(ACTION_TAG + "set")]
    | Annotated[StartAction, Tag(ACTION_TAG + "start")]
    | Annotated[CompanyAction, Tag(ACTION_TAG + "company")]
    | Annotated[ReportAction, Tag(ACTION_TAG + "report")]
    | Annotated[NotifyCasesAction, Tag(ACTION_TAG + "notify_cases")]
    | Annotated[EmailAction, Tag(ACTION_TAG + "email")],
    Discriminator(
        _action_kind,
        custom_error_type="action_kind",
        custom_error_message=f"an action is exactly one of {', '.join(ACTION_KINDS)}",
    ),
]
"""One action of `on_enter`, e.g. `{notify: [director], text: …}` or `{start: {process: …}}`."""


class TransitionDef(_Spec):
    to: str
    when: str | None = None


class MoveDef(_Spec):
    """A stage a person may move the case to by hand (a pipeline's «move to stage» button)."""

    to: str
    roles: list[str] = Field(default_factory=list)  # who may; empty: the case's responsible (and admins)
    label: LocalText | None = None


class CancelDef(_Spec):
    """Who cancels the case outright at this stage (an order 1C has: the office, which cancels it in 1C too). Anyone
    else who may cancel it (its initiator, whoever leads it) asks them instead: «Отменить дело» becomes a request."""

    by: list[str]
    # Only once an outside system has taken the case (1C's exchange sent it in a query); before, as any stage.
    once_sent: bool = False


CALL_RESULTS = ("success", "failure", "cancelled")
"""What a called stage's key holds once its child case has ended (its final stage's `result`, or cancelled)."""


class CallDef(_ForEach):
    """Run another process as a sub-process and wait for it: the stage holds until the child case ends."""

    process: str
    # field of the child -> field of this case (given to it); with `for_each`, `item.<field>` is the entry's
    map: dict[str, str] = Field(default_factory=dict)
    # field of this case -> field of the child (taken back); with `for_each`, `item.<field>` goes into the entry
    back: dict[str, str] = Field(default_factory=dict)

    def _needs_for_each(self) -> str:
        return _("'join' and 'on_change' belong to a call with 'for_each'")


class FollowDef(_Spec):
    """The case is at this stage while every item of `list` that counts is at least at item stage `at_least`;
    or, with `calls` (a stage that calls a process `for_each` entry), while every child case not cancelled is at
    least at the child process's stage `at_least` (stages ranked in the order the child declares them)."""

    list: str | None = None
    calls: str | None = None
    at_least: str

    @model_validator(mode="after")
    def _one(self) -> FollowDef:
        if (self.list is None) == (self.calls is None):
            raise ValueError(_("'follows' names exactly one of 'list' (items) and 'calls' (child cases)"))
        return self


def _asked_entries(value: Any, names: str, rules: str) -> Any:
    """A list of fields a stage may change or a start form asks, each a name or `{field: name, not_before: …}` —
    asked there with date rules added to the field's own (`FieldRef`): the names stay a list of names, the rules go
    to `rules` by name."""
    if not isinstance(value, dict) or not isinstance(value.get(names), list):
        return value
    entries = value[names]
    if not any(isinstance(entry, dict) for entry in entries):
        return value
    return {
        **value,
        names: [entry.get("field") if isinstance(entry, dict) else entry for entry in entries],
        rules: {entry.get("field"): entry for entry in entries if isinstance(entry, dict)},
    }


class StageDef(_Spec):
    key: str
    title: LocalText
    on_enter: list[Action] = Field(default_factory=list)
    tasks: list[TaskDef] = Field(default_factory=list)
    next: list[TransitionDef] = Field(default_factory=list)
    moves: list[MoveDef] = Field(default_factory=list)
    cancel: CancelDef | None = None  # who cancels the case here; not given: its initiator, its responsible, admins
    requires: list[str] = Field(default_factory=list)  # fields that must be filled before the case enters
    editable: list[str] = Field(default_factory=list)  # fields the responsible may change at this stage
    # How an editable field is asked at this stage, where an entry says more than its name (`{field:
    # planned_ship_date, not_before: next_week}`: a pre-order's date is moved within the weeks the cycle plans for).
    edit_rules: dict[str, FieldRef] = Field(default_factory=dict)
    # Deadline expression: the stage holds until then; then its tasks are given (or, without tasks, it
    # follows `next`). Changing a field it reads (see `editable`) moves the wait; a past date does not wait.
    wait: str | None = None
    call: CallDef | None = None  # the stage waits for a child case; its key then holds the child's result
    # When one answer decides the stage before the others are given (`join: {any: "<condition>"}`): checked after
    # each answer of the stage's tasks; once it holds, the tasks still open are withdrawn and `next` is followed.
    # The client's refusal ends a contract's approval whatever the director would say. None: all tasks answered.
    join: JoinDef | None = None
    follows: FollowDef | None = None  # the case's stage is derived from its items' stages
    final: bool = False
    result: Literal["success", "failure"] | None = None
    colour: StageColour | None = None
    # Whether the case entering it is news to its initiator (a line «📍 … now …»): false for a stage of the
    # company's own work (papers, packing) — sixteen such lines on one case drown what matters. Whoever follows
    # the case by choice hears every stage; a task of the stage comes to its people as a card either way.
    news: bool = True
    # Whether a case standing here, moved only by its responsible's hand, is work for them in «my tasks» (a quote
    # to send on). False where the moves wait for something outside the case: seed 2's pre-orders are moved once the
    # week is confirmed, and listed as «waiting for you to move them» they would invite moving them before it.
    to_do: bool = True

    @field_validator("next", mode="before")
    @classmethod
    def _next_shorthand(cls, value: Any) -> Any:
        # `next: stage_key` is the common case; spell it out as one unconditional transition.
        if isinstance(value, str):
            return [{"to": value}]
        return value

    @field_validator("join", mode="before")
    @classmethod
    def _join_all(cls, value: Any) -> Any:
        return None if value == "all" else value  # the default spelled out

    @model_validator(mode="before")
    @classmethod
    def _edit_entries(cls, value: Any) -> Any:
        return _asked_entries(value, "editable", "edit_rules")

    @model_validator(mode="after")
    def _shape(self) -> StageDef:
        if self.join is not None and (len(self.tasks) < 2 or self.join.any is None):
            # Counting answers of different tasks says nothing of what they decided: a condition does.
            raise ValueError(_("a stage's 'join' is 'all' or {any: <condition>}, and needs two tasks or more"))
        if self.final and (self.tasks or self.next or self.wait or self.moves):
            raise ValueError(_("a final stage has no tasks, 'next', 'moves' or 'wait'"))
        if not self.final and not self.next and not self.moves and self.follows is None:
            raise ValueError(_("a stage that is not final needs 'next', 'moves' or 'follows'"))
        if self.tasks and not self.next:
            raise ValueError(_("a stage with tasks needs 'next' (where to go when they are done)"))
        if self.call is not None and (self.tasks or self.wait or self.moves or not self.next):
            # One thing to wait for at a time: the child's end is what moves the stage on.
            raise ValueError(_("a stage with 'call' has 'next' and no tasks, 'moves' or 'wait'"))
        if self.follows is not None and (self.call is not None or self.wait is not None):
            raise ValueError(_("a stage that follows its items has no 'call' or 'wait'"))
        if self.follows is not None and self.follows.calls is not None and (self.tasks or self.next or self.moves):
            # The children move it, and the call's join moves the case on from there.
            raise ValueError(_("a stage that follows child cases has no tasks, 'next' or 'moves'"))
        return self


class DirectoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    key: str
    name: str


class StartDef(_Spec):
    roles: list[str]
    form: list[str] = Field(default_factory=list)
    form_rules: dict[str, FieldRef] = Field(default_factory=dict)  # a form entry's own rules, as `edit_rules`

    @model_validator(mode="before")
    @classmethod
    def _form_entries(cls, value: Any) -> Any:
        return _asked_entries(value, "form", "form_rules")

    # false: not offered in «Начать процесс» (a dealer's order request starts from the cart, so its positions
    # come from the catalogue); a hand-off, a lead or a service still starts it.
    menu: bool = True
    title: LocalText | None = None  # jinja: the case's title, e.g. "{{ brand }} от {{ supplier.name }}"
    # Fields the case starts with (not asked) shown above the answers on the start form's summary, so what is
    # confirmed is seen: an order request's positions and total, which come from the cart.
    shows: list[str] = Field(default_factory=list)
    # The stage a case a person starts (from the menu, a hand-off, a call) enters first; not given: the first stage.
    # A deal a sales manager starts by hand is hers already: it skips «Новая», where site leads wait to be taken.
    stage: str | None = None


class ScheduleDef(_Spec):
    cron: str  # five fields, in the company's time zone: "0 9 * * thu" — Thursdays at 9:00
    initiator: str  # a role: its first member starts the case


class LeadFormDef(_Spec):
    """A form on a web site that starts a case of this process (POST /leads/<form>, with the form's token)."""

    form: str  # the form's key: in its URL, and in the settings that hold its token
    initiator: str  # a role: the case is started in the name of its first active person (nobody in chat starts it)
    map: dict[str, str]  # field of the case: name of the form's parameter
    # Fields that hold how to reach the visitor (field of the case: phone | email): a value that is not a phone
    # number or not an e-mail address is refused, so a sales manager never gets a lead nobody can call back.
    contacts: dict[str, ContactKind] = Field(default_factory=dict)
    stage: str | None = None  # the stage its cases enter first; not given: the first stage


class ProcessDef(_Spec):
    process: str
    title: LocalText
    description: LocalText | None = None
    roles: list[str]
    start: StartDef
    fields: dict[str, FieldDef] = Field(default_factory=dict)
    directories: dict[str, list[DirectoryEntry]] = Field(default_factory=dict)
    schedule: list[ScheduleDef] = Field(default_factory=list)
    leads: list[LeadFormDef] = Field(default_factory=list)  # web forms that start cases
    # The money field that is what a case is worth: a director's digest adds it up per process.
    amount: str | None = None
    stages: list[StageDef]
    # Told when the case is cancelled (the case's «Отменить дело», with a reason), wherever it stands: the
    # accountant to return a prepayment the client made for a deal called off. Each a `notify` of `on_enter`,
    # with its `when`, read as the case is at the cancel.
    on_cancel: list[NotifyAction] = Field(default_factory=list)

    @field_validator("stages")
    @classmethod
    def _some_stages(cls, value: list[StageDef]) -> list[StageDef]:
        if not value:
            raise ValueError(_("a process needs at least one stage"))
        return value

    def beginnings(self) -> list[tuple[str, str]]:
        """How its cases begin, each with the stage they enter first (a stage not given: the first): «start», a case a
        person starts (the menu, a hand-off, a call); «lead:<form>» per lead form; «schedule» when the clock starts
        some. The engine, `konveyer check` and the drawings all read this."""
        first = self.stages[0].key
        found = [("start", self.start.stage or first)]
        found += [(f"lead:{lead.form}", lead.stage or first) for lead in self.leads]
        if self.schedule:
            found.append(("schedule", first))
        return found

    def tracks(self) -> dict[str, TrackDef]:
        """The list fields whose entries have a stage track, and their tracks."""
        return {name: f.track for name, f in self.fields.items() if f.track is not None}

    def followers(self, list_name: str) -> list[StageDef]:
        """The case's stages that follow the items of `list_name`, from the lowest item stage up."""
        track = self.fields[list_name].track
        assert track is not None
        found = [s for s in self.stages if s.follows is not None and s.follows.list == list_name]
        known = {s.key for s in track.stages}
        return sorted(
            (s for s in found if s.follows is not None and s.follows.at_least in known),
            key=lambda s: track.rank(s.follows.at_least) if s.follows is not None else 0,
        )

    def call_followers(self, call_stage: str, child: ProcessDef) -> list[StageDef]:
        """The stages that follow the children of `call_stage`, from the lowest child stage up."""
        order = [s.key for s in child.stages]
        found = [
            s for s in self.stages
            if s.follows is not None and s.follows.calls == call_stage and s.follows.at_least in order
        ]
        return sorted(found, key=lambda s: order.index(s.follows.at_least) if s.follows is not None else 0)

    def reports(self) -> list[ReportDef]:
        """The reports its stages build, in stage order."""
        return [a.report for s in self.stages for a in s.on_enter if isinstance(a, ReportAction)]

    def compared_reports(self) -> frozenset[str]:
        """The document fields a later report of the case compares itself with (`changes_since`): only those
        reports keep their rows in the case, the others would carry a copy nobody reads."""
        return frozenset(r.changes_since for r in self.reports() if r.changes_since is not None)

    def stage(self, key: str) -> StageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def stage_colour(self, key: str) -> StageColour | None:
        return next((stage.colour for stage in self.stages if stage.key == key), None)

    def task(self, stage_key: str, task_key: str) -> TaskDef:
        for task in self.stage(stage_key).tasks:
            if task.key == task_key:
                return task
        raise KeyError(task_key)

    def directory_entry(self, directory: str, key: str) -> DirectoryEntry | None:
        for entry in self.directories.get(directory, []):
            if entry.key == key:
                return entry
        return None
