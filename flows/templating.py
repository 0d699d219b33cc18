"""Jinja for texts in definitions (notifications, task cards, case titles, document names).

Sandboxed, because definitions are data an admin uploads, not code we trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.sandbox import SandboxedEnvironment

_env = SandboxedEnvironment(autoescape=False, undefined=Undefined, trim_blocks=True, lstrip_blocks=True)
_strict_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def _money(value: Any) -> str:
    if isinstance(value, Undefined):
        return ""  # a field not filled yet prints as nothing, not as an error in someone's message
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return f"{number:,.2f}".replace(",", " ").replace(".", ",")


def _date(value: Any) -> str:
    if isinstance(value, Undefined):
        return ""
    if hasattr(value, "strftime"):
        return str(value.strftime("%d.%m.%Y"))
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        return f"{value[8:10]}.{value[5:7]}.{value[0:4]}"
    return "" if value is None else str(value)


for _environment in (_env, _strict_env):
    _environment.filters["money"] = _money
    _environment.filters["date"] = _date


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
    return _env.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    try:
        return str(_compiled(source).render(**context))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message}") from None
