"""Property-based tests (hypothesis): arbitrary answers to every field parser, arbitrary conditions, texts and
deadlines, and arbitrary mutations of the library's definitions to the checker. Whatever comes in, the only
failures are the clear ones (InvalidAnswer, ExpressionError, DeadlineError, DefinitionError); no other
exception escapes, and what is accepted is within bounds."""

from __future__ import annotations

import copy
import math
import os
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from flows import forms, typecheck
from flows.calendar import WorkCalendar
from flows.deadlines import DeadlineError, parse_deadline, parse_offset
from flows.expressions import ExpressionError, evaluate
from flows.loader import DefinitionError, Problem, check_paths, load_file, parse_definition
from flows.model import FieldDef
from flows.values import (
    DATE_RANGE,
    KINDS,
    MAX_TEXT_LENGTH,
    InvalidAnswer,
    format_value,
    from_json,
    parse_text,
    to_json,
    utf16_length,
)
from services.i18n import Translator
from services.wording import Wording

LIBRARY = Path(__file__).resolve().parent.parent / "flows" / "library"
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in sorted(LIBRARY.glob("*.yaml"))}
OPTIONS = {"s": "Small", "m": "Средний", "xl": "Extra large"}
CALENDAR = WorkCalendar()

# On CI the examples are the same every run (a red build must be about the change, not the draw); locally each
# run draws new ones, which is how these tests find bugs.
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)

# Text people might type: anything at all, and things shaped like numbers, money and dates in any script.
digits = st.characters(categories=["Nd", "No"])
typed_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.one_of(digits, st.sampled_from(" .,:-−/+₽рубT'")), max_size=30),
    st.from_regex(r"-?[0-9 ]{0,25}([.,][0-9]{0,4})?( ?(₽|руб\.?|р))?", fullmatch=True),
    st.from_regex(r"[0-9]{1,5}[./-][0-9]{1,5}([./-][0-9]{1,6})?( [0-9]{1,3}:[0-9]{1,3})?", fullmatch=True),
    st.sampled_from(["сегодня", "завтра", "вчера", "inf", "NaN", "1e400", "9" * 30, "31.12.9999", "😀" * 2001]),
)
bounds = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


@PROPERTY
@given(
    kind=st.sampled_from(sorted(KINDS)),
    text=typed_text,
    today=st.dates(),
    minimum=bounds,
    maximum=bounds,
    integer=st.booleans(),
    negative=st.booleans(),
)
@example(kind="number", text="1000000000000000000", today=date(2000, 1, 1), minimum=None, maximum=None,
         integer=False, negative=False)  # shown with ten decimals: more digits than decimal's default precision
def test_every_parser_gives_a_value_in_bounds_or_a_clear_refusal(
    kind: str,
    text: str,
    today: date,
    minimum: float | None,
    maximum: float | None,
    integer: bool,
    negative: bool,
) -> None:
    try:
        value = parse_text(
            kind,
            text,
            options=OPTIONS,
            today=today,
            minimum=minimum,
            maximum=maximum,
            integer=integer,
            negative=negative,
        )
    except InvalidAnswer as refusal:
        assert refusal.message and str(refusal)
        return
    if kind == "text":
        assert 0 < utf16_length(value) <= MAX_TEXT_LENGTH
    elif kind in ("number", "money"):
        assert _finite(value) and not isinstance(value, bool)
        if kind == "money" and not negative and (minimum is None or minimum >= 0):
            assert value >= 0
        if minimum is not None:
            assert Decimal(str(value)) >= Decimal(str(minimum))
        if maximum is not None:
            assert Decimal(str(value)) <= Decimal(str(maximum))
    elif kind in ("date", "datetime"):
        day = value.date() if isinstance(value, datetime) else value
        assert DATE_RANGE[0] <= day <= DATE_RANGE[1]
    elif kind == "choice":
        assert value in OPTIONS
    # Whatever is accepted is stored, read back and shown without trouble.
    stored = to_json(kind, value)
    assert from_json(kind, stored) == value
    assert format_value(kind, stored, options=OPTIONS, lang="ru")


@PROPERTY
@given(text=st.text(max_size=40).map(lambda t: t + "١"))
def test_digits_other_than_ascii_are_never_read_as_numbers(text: str) -> None:
    for kind in ("number", "money", "date"):
        with pytest.raises(InvalidAnswer):
            parse_text(kind, text, today=date(2026, 1, 1))


@PROPERTY
@given(source=st.text(max_size=200), data=st.dictionaries(st.text(max_size=5), st.none() | st.integers() | st.text()))
def test_any_condition_is_evaluated_or_refused_in_words(source: str, data: dict[str, Any]) -> None:
    try:
        evaluate(source, data)
    except ExpressionError as refusal:
        assert str(refusal)


names = st.sampled_from(["amount", "needed_by", "item", "urgency", "head_approval", "today", "now", "x", "len"])
literals = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.text(alphabet="abcxyz' ", max_size=6).map(repr),
    st.sampled_from(["True", "None", "[1, 'a']", "0.5"]),
)
operators = st.sampled_from(["==", "!=", "<", ">=", "in", "not in", "+", "*", "/", "and", "or"])
conditions = st.lists(st.one_of(names, literals), min_size=1, max_size=5).flatmap(
    lambda atoms: st.lists(operators, min_size=len(atoms) - 1, max_size=len(atoms) - 1).map(
        lambda ops: " ".join(a for pair in zip(atoms, [*ops, ""], strict=True) for a in pair).strip()
    )
)
PURCHASE_ENV = {
    "amount": typecheck.Type("money", attrs={}),
    "needed_by": typecheck.DATE,
    "item": typecheck.TEXT,
    "urgency": typecheck.Type("choice", frozenset({"low", "high"}), {"label": typecheck.TEXT}),
    "head_approval": typecheck.Type("outcome", frozenset({"approve", "reject"}), {"label": typecheck.TEXT}),
    "today": typecheck.DATE,
    "now": typecheck.DATETIME,
}
SAMPLE_DATA = {
    "amount": Decimal("150000.00"),
    "needed_by": date(2026, 12, 25),
    "item": "стол",
    "urgency": "low",
    "head_approval": "approve",
    "today": date(2026, 12, 21),
    "now": datetime(2026, 12, 21, 10, 0),
}


@PROPERTY
@given(source=st.one_of(conditions, st.text(max_size=80)))
@example(source="amount == amount * 0 / 0")  # money's 0 / 0: decimal's InvalidOperation, not ZeroDivisionError
@example(source="amount % (amount - amount) == 0")
def test_a_condition_the_checker_passes_does_not_fail_on_values_of_its_types(source: str) -> None:
    found: list[str] = []
    typecheck.check_condition(source, PURCHASE_ENV, lambda message, **params: found.append(message % params))
    if found:
        return
    # «Passes the check» must mean «runs»: only arithmetic on the values themselves may still refuse.
    try:
        evaluate(source, SAMPLE_DATA)
    except ExpressionError as refusal:
        assert "divides by zero" in str(refusal) or "longer than" in str(refusal), (source, str(refusal))


@PROPERTY
@given(source=st.text(max_size=120) | st.sampled_from(["{{ x|nosuch }}", "{% for a in b %}{{ a.c }}", "{{ (((("]))
def test_any_template_is_checked_without_an_escaping_exception(source: str) -> None:
    found: list[str] = []
    typecheck.check_template(source, PURCHASE_ENV, lambda message, **params: found.append(message % params))
    assert all(found)


@PROPERTY
@given(text=st.text(max_size=60), anchor=st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)))
def test_deadlines_are_read_or_refused_and_never_overflow(text: str, anchor: date) -> None:
    base = datetime(2026, 12, 18, 12, 0, tzinfo=UTC)
    for candidate in (text, f"5 working days from arrival {text}".strip(), "5 working days from arrival"):
        try:
            deadline = parse_deadline(candidate)
        except DeadlineError as refusal:
            assert refusal.message
            continue
        moment = deadline.resolve(base, {"arrival": anchor.isoformat()}, CALENDAR)
        assert moment is None or moment.tzinfo is not None
    try:
        offset = parse_offset(text)
    except DeadlineError:
        return
    offset.apply(datetime.combine(anchor, time(12, 0), tzinfo=UTC), CALENDAR)


# --- the checker against mutated library definitions ---------------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(tree: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = tree
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return tree


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "amount > 100000",
            "{{ nosuch|rubles }}",
            "cfo == 'x'",
            "5 working days from brand",
            "stage_that_is_not",
            "field:nobody",
            "0 25 * * thu",
            "{% for %}",
            "x" * 200,
        ]
    ),
)
values_to_put = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _assert_clear(problems: list[Problem], lines: int) -> None:
    for problem in problems:
        assert isinstance(problem, Problem)
        assert 1 <= problem.line <= max(lines, 1) + 1, str(problem)
        assert problem.message.strip(), problem
        assert problem.translated(lambda message: message) == str(problem)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(SOURCES)))
def test_structural_mutations_of_the_library_give_only_clear_problems(data: st.DataObject, name: str) -> None:
    tree = yaml.safe_load(SOURCES[name])
    for _round in range(data.draw(st.integers(1, 3))):
        paths = _paths(tree)
        path = data.draw(st.sampled_from(paths[1:]))
        delete = data.draw(st.booleans())
        tree = _replace(copy.deepcopy(tree), path, data.draw(values_to_put), delete)
    try:
        source = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError):
        assume(False)
        return
    try:
        parse_definition(source, name)
    except DefinitionError as problems:
        assert problems.problems
        _assert_clear(problems.problems, source.count("\n") + 1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(SOURCES)))
def test_textual_mutations_of_the_library_give_only_clear_problems(data: st.DataObject, name: str) -> None:
    lines = SOURCES[name].splitlines(keepends=True)
    for _round in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "insert", "indent", "truncate"]))
        if action == "delete" and len(lines) > 1:
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "insert":
            line = lines[index]
            at = data.draw(st.integers(0, len(line)))
            lines[index] = line[:at] + data.draw(st.text(max_size=8)) + line[at:]
        elif action == "indent":
            lines[index] = data.draw(st.sampled_from([" ", "\t", "  - "])) + lines[index]
        else:
            lines[index] = lines[index][: data.draw(st.integers(0, len(lines[index])))]
    source = "".join(lines)
    try:
        parse_definition(source, name)
    except DefinitionError as problems:
        assert problems.problems
        _assert_clear(problems.problems, source.count("\n") + 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SOURCES)), junk=st.text(max_size=50))
def test_a_library_folder_with_a_broken_file_is_checked_whole(tmp_path_factory: Any, name: str, junk: str) -> None:
    folder = tmp_path_factory.mktemp("library")
    for other, source in SOURCES.items():
        (folder / other).write_text(source if other != name else junk + source, encoding="utf-8")
    problems = check_paths([folder], known={"loaded_elsewhere": None})
    _assert_clear(problems, max(s.count("\n") for s in SOURCES.values()) + 2)


@PROPERTY
@given(value=values_to_put, kind=st.sampled_from(["text", "money", "date", "photo", "list", "company", "choice"]))
def test_describing_any_stored_value_never_fails(value: Any, kind: str) -> None:
    fields = {
        "f": FieldDef(
            type=kind,  # type: ignore[arg-type]
            label="F",
            options={"a": "A"} if kind == "choice" else None,
            fields={"x": FieldDef(type="text", label="X")} if kind == "list" else None,
        )
    }
    draft = forms.new_draft("submit", current={"f": value})
    step = forms.next_step(fields, ["f"], draft)
    assert step is not None
    assert isinstance(forms.describe_current(step, "ru"), str)


@pytest.fixture(scope="module")
def wording(tmp_path_factory: pytest.TempPathFactory) -> Wording:
    return Wording(Translator(tmp_path_factory.mktemp("locales")), ZoneInfo("Europe/Moscow"))


MEDICAL_ORDER = load_file(LIBRARY / "medical_order.yaml").spec


@PROPERTY
@given(entry=st.dictionaries(st.sampled_from(sorted(MEDICAL_ORDER.fields["items"].fields or {})), values_to_put))
@example(entry={"cancel_reason": {"": None}})  # a text field holding a mapping that is no text in any language
@example(entry={"cancel_reason": {"ru": "Клиент передумал", "en": "The client changed their mind"}})
def test_wording_any_stored_entry_of_a_list_never_fails(wording: Wording, entry: dict[str, Any]) -> None:
    """An entry as a list asked again shows it, whatever a stored entry came to hold (seed 5's items)."""
    for lang in ("ru", "en"):
        assert isinstance(wording.entry_words(MEDICAL_ORDER.fields["items"], entry, lang, MEDICAL_ORDER), str)
