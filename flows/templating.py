"""Jinja for texts in definitions (notifications, task cards, case titles, document names).

Sandboxed, because definitions are data an admin uploads, not code we trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from flows.expressions import list_total
from flows.units import unit_text
from flows.values import amount_text, date_text, format_value

# The context's key for the reader's language (`flows.context.case_context` sets it): how a number prints.
LANG_KEY = "__lang__"


def shown(value: Any) -> Any:
    """What `{{ x }}` prints: a choice or an outcome (a str that carries a `.label`, flows.context.Choice)
    by its label — «Решение поставщика: Ремонт», never the key «repair», which only conditions compare."""
    if isinstance(value, str) and type(value) is not str:
        label = getattr(value, "label", None)
        if isinstance(label, str):
            return label
    return value


@pass_context
def printed(context: Context, value: Any) -> Any:
    """What `{{ x }}` prints for a reader: `shown`, and a fraction in the reader's language's way («1,5» in
    Russian, «1.5» in English; the language is the context's `LANG_KEY`, Russian when it has none). A whole
    number prints as it is."""
    value = shown(value)
    if type(value) is float:
        return format_value("number", value, lang=context.get(LANG_KEY) or "ru")
    return value


_env = SandboxedEnvironment(
    autoescape=False, undefined=Undefined, trim_blocks=True, lstrip_blocks=True, finalize=printed
)
_strict_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, finalize=printed)


@pass_context
def _money(context: Context, value: Any) -> str:
    if isinstance(value, Undefined):
        return ""  # a field not filled yet prints as nothing, not as an error in someone's message
    try:
        return amount_text(float(value) if isinstance(value, bool) else value, context.get(LANG_KEY) or "ru")
    except (TypeError, ValueError, ArithmeticError):
        return "" if value is None else str(value)


@pass_context
def _number(context: Context, value: Any) -> str:
    """A quantity in the reader's way, whole or not («1 500», «1 500,5»): `{{ x }}` prints a whole number bare
    («1500»), which sits badly beside the grouped figures of cards and summaries."""
    if isinstance(value, Undefined) or value is None or value == "":
        return ""
    try:
        return format_value("number", value, lang=context.get(LANG_KEY) or "ru")
    except (TypeError, ValueError, ArithmeticError):
        return str(value)


@pass_context
def _date(context: Context, value: Any) -> str:
    if isinstance(value, Undefined) or value is None:
        return ""
    day = value.date() if isinstance(value, datetime) else value
    if isinstance(day, str) and len(day) >= 10 and day[4] == "-":
        try:
            day = date.fromisoformat(day[:10])
        except ValueError:
            return value
    if isinstance(day, date):
        return date_text(day, context.get(LANG_KEY) or "ru")
    return str(value)


@pass_context
def _unit(context: Context, value: Any, count: Any = None) -> str:
    """A product's unit as 1C gives it (an order's position keeps it) in the reader's language, after `count` of
    it: «компл» is «sets» in English (`p.unit|unit(left)`); nothing for a position that keeps none."""
    if isinstance(value, Undefined) or not isinstance(value, str):
        return ""
    return unit_text(value, context.get(LANG_KEY) or "ru", None if isinstance(count, Undefined) else count)


def _total(entries: Any, *names: str) -> Decimal:
    """`items|total('price', 'quantity')`: what the order comes to (`flows.expressions.list_total`)."""
    return Decimal(0) if isinstance(entries, Undefined) else list_total(entries, *names)


for _environment in (_env, _strict_env):
    _environment.filters["total"] = _total
    _environment.filters["money"] = _money
    _environment.filters["date"] = _date
    _environment.filters["number"] = _number
    _environment.filters["unit"] = _unit


def environment() -> SandboxedEnvironment:
    """The environment texts are rendered in (its filters, tests and globals are what a text may use)."""
    return _env


class TemplateError(ValueError):
    pass


def check_syntax(source: str) -> None:
    try:
        _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message} (line {exc.lineno} of the text)") from None


@lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    template = _env.from_string(source)
    # A template's globals are a ChainMap over the environment's, which every render copies key by key (twice,
    # in Python) into the render's context: a plain dict of the same names copies in C. The environment's
    # globals are set once, at import, so the copy taken here is all they will ever be.
    template.globals = dict(template.globals)
    return template


def render(source: str, context: Mapping[str, Any]) -> str:
    try:
        # The context as one argument: Template.render copies it into its own dict anyway (`**context` copied it
        # twice).
        return str(_compiled(source).render(context))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message}") from None


@lru_cache(maxsize=2048)
def names_read(source: str) -> frozenset[str] | None:
    """The context's names a text reads (every value it prints starts from one of them), or None when it does not
    parse. A text is a function of these names' values alone: the environment has no globals that change."""
    try:
        return frozenset(meta.find_undeclared_variables(_env.parse(source)))
    except TemplateSyntaxError:
        return None
