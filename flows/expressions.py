"""Conditions in definitions (`when: "confirm_defect == 'reject'"`): a small, safe subset of Python.

Only names of case fields, literals, comparisons, `and/or/not`, `in`, attribute/index access on case data
and a few pure functions are allowed, so a definition cannot run arbitrary code.

Bounded in size and so in time: there are no loops, calls are to a few pure functions, the source and its
tree are limited (`MAX_SOURCE`, `MAX_NODES`), and `+`/`*` refuse to build texts or lists longer than
`MAX_SEQUENCE`, so one evaluation does a bounded amount of work. Values behave as their types: money
(Decimal) compares and adds with numbers, a date compares with a datetime (as its midnight).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, DivisionUndefined, InvalidOperation
from functools import lru_cache
from typing import Any

from flows.i18n import _

MAX_SOURCE = 1000  # characters of one condition
MAX_NODES = 300  # nodes of its syntax tree
MAX_SEQUENCE = 10_000  # items (characters) of a text or list an expression may build


class ExpressionError(ValueError):
    """A condition that cannot be worked out. `str()` is the analyst's English (the checker prints it); `message`,
    where set, is a msgid with `params` that the admins read in their language when a step fails on it."""

    def __init__(self, text: str, message: str | None = None, **params: Any) -> None:
        super().__init__(text)
        self.message = message
        self.params = params


def _together(a: Any, b: Any) -> tuple[Any, Any]:
    """Two operands made comparable where their types mean the same kind of thing."""
    if isinstance(a, Decimal) and isinstance(b, float) and not isinstance(b, bool):
        return a, Decimal(repr(b))
    if isinstance(b, Decimal) and isinstance(a, float) and not isinstance(a, bool):
        return Decimal(repr(a)), b
    if isinstance(a, datetime) != isinstance(b, datetime) and isinstance(a, date) and isinstance(b, date):
        # A date is its midnight when set against a moment of that day.
        a = a if isinstance(a, datetime) else datetime.combine(a, time())
        b = b if isinstance(b, datetime) else datetime.combine(b, time())
    if isinstance(a, datetime) and isinstance(b, datetime) and (a.tzinfo is None) != (b.tzinfo is None):
        # Naive values are the company's wall-clock time; compare the aware one as wall-clock time too.
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return a, b


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False  # an empty field is neither more nor less than anything
        a, b = _together(a, b)
        try:
            return op(a, b)
        except TypeError:
            raise ExpressionError(
                f"cannot compare {_kind(a)} {_show(a)} with {_kind(b)} {_show(b)}",
                _("a condition compares %(a)s with %(b)s, which cannot be compared"), a=_show(a), b=_show(b),
            ) from None

    return compare


def _cannot_combine(a: Any, b: Any) -> ExpressionError:
    return ExpressionError(
        f"cannot combine {_kind(a)} {_show(a)} with {_kind(b)} {_show(b)}",
        _("a condition cannot combine %(a)s with %(b)s"), a=_show(a), b=_show(b),
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, Decimal):
        return "money"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _bounded(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_SEQUENCE:
        raise ExpressionError(f"the condition builds a value longer than {MAX_SEQUENCE}")
    return value


def _arithmetic(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        a, b = _together(a, b)
        # Check the size before building: `'x' * 10**9` must not be computed to be refused.
        for seq, times in ((a, b), (b, a)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and op is _MUL:
                if len(seq) * max(times, 0) > MAX_SEQUENCE:
                    raise ExpressionError(f"the condition builds a value longer than {MAX_SEQUENCE}")
        try:
            return _bounded(op(a, b))
        except ZeroDivisionError:
            raise ExpressionError("the condition divides by zero", _("a condition divides by zero")) from None
        except InvalidOperation as error:
            # Money's 0 / 0 (and 0 % 0) is not a ZeroDivisionError: decimal raises InvalidOperation naming
            # DivisionUndefined among its conditions.
            conditions = error.args[0] if error.args and isinstance(error.args[0], list) else []
            if DivisionUndefined in conditions:
                raise ExpressionError("the condition divides by zero", _("a condition divides by zero")) from None
            raise _cannot_combine(a, b) from None
        except (TypeError, OverflowError):
            raise _cannot_combine(a, b) from None

    return apply


def _MUL(a: Any, b: Any) -> Any:  # named like the operator: `_arithmetic` checks sizes for it
    return a * b


def _each(entries: Any, name: Any) -> list[Any]:
    """One field of every entry of a list, `each(items, 'payment_method')`: what an order's items say between them
    (`'prepayment' in each(items, 'payment_method')`). An entry without it gives an empty value."""
    if not isinstance(name, str) or not isinstance(entries, list | tuple):
        raise TypeError(name)
    return [entry.get(name) if isinstance(entry, Mapping) else None for entry in entries]


# Set (by flows.context, and by flows.forms for a bound) on an entry of a tracked list whose item is cancelled: it
# no longer counts in a total.
CANCELLED_ENTRY = "__cancelled__"


def list_total(entries: Any, *names: Any) -> Decimal:
    """A list's total: the sum over its entries of the product of the named fields (`total(items, 'price',
    'quantity')`: what the order comes to), one name its plain sum. An entry lacking one of them adds nothing, nor
    does a cancelled item (the accountant does not chase the client for what was never delivered)."""
    total = Decimal(0)
    if not isinstance(entries, list | tuple):
        return total
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get(CANCELLED_ENTRY):
            continue
        product = Decimal(1)
        for name in names:
            value = entry.get(name)
            if value is None or value == "" or isinstance(value, bool):
                product = Decimal(0)
                break
            try:
                product *= value if isinstance(value, Decimal) else Decimal(str(value))
            except (ArithmeticError, ValueError):
                product = Decimal(0)
                break
        total += product
    return total


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "any": any, "all": all, "sum": sum, "bool": bool, "each": _each, "total": list_total,
}  # fmt: skip
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.List,
    ast.Tuple,
    ast.Call,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.IfExp,
)


class Expression:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = _parse(source)
        # A function's name where it is called (`total(items, …)`), not a field a process may call so too (`total`).
        called = {id(node.func) for node in ast.walk(self.tree) if isinstance(node, ast.Call)}
        self.names = frozenset(
            node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name) and id(node) not in called
        ) - {"True", "False", "None"}

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        return _eval(self.tree.body, data)


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Expression:
    return Expression(source)


def evaluate(source: str, data: Mapping[str, Any]) -> Any:
    return compile_expression(source).evaluate(data)


_CONSTANT_TYPES = (str, int, float, bool, type(None))


def _parse(source: str) -> ast.Expression:
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"the condition is longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot read the condition {source!r}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        # Nesting too deep for the parser, or a NUL character: not a condition anyone meant.
        raise ExpressionError(f"cannot read the condition {source!r}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"the condition {source!r} is too complex; split it")
    for node in nodes:
        if isinstance(node, ast.Constant) and not isinstance(node.value, _CONSTANT_TYPES):
            raise ExpressionError(f"the condition {source!r} has a value of a kind conditions do not use")
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"the condition {source!r} uses {type(node).__name__}, which is not allowed")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"the condition {source!r} reads a private attribute")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise ExpressionError(f"the condition {source!r} calls a function other than {sorted(_FUNCTIONS)}")
    return tree


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: _ordered(lambda a, b: a < b),
    ast.LtE: _ordered(lambda a, b: a <= b),
    ast.Gt: _ordered(lambda a, b: a > b),
    ast.GtE: _ordered(lambda a, b: a >= b),
    ast.In: lambda a, b: _contains(b, a),
    ast.NotIn: lambda a, b: not _contains(b, a),
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _arithmetic(lambda a, b: a + b),
    ast.Sub: _arithmetic(lambda a, b: a - b),
    ast.Mult: _arithmetic(_MUL),
    ast.Div: _arithmetic(lambda a, b: a / b),
}


def _contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str) and not isinstance(item, str):
        return False  # `5 in 'abc'` would raise; it is simply not there
    try:
        return item in container
    except TypeError:
        raise ExpressionError(f"cannot look for {_kind(item)} {_show(item)} in {_kind(container)}") from None


def _call(name: str, args: list[Any]) -> Any:
    try:
        return _bounded(_FUNCTIONS[name](*args))
    except (TypeError, ValueError, InvalidOperation):
        raise ExpressionError(f"{name}() cannot take {', '.join(_kind(a) for a in args) or 'nothing'}") from None


def _eval(node: ast.expr, data: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        # A field not filled yet reads as None rather than failing: conditions are about the data there is.
        return data.get(node.id)
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _eval(value, data)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = _eval(value, data)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, data)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(operand, bool) or not isinstance(operand, int | float | Decimal):
            raise ExpressionError(f"cannot negate {_kind(operand)} {_show(operand)}")
        return -operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, data)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, data)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Attribute):
        owner = _eval(node.value, data)
        return owner.get(node.attr) if isinstance(owner, Mapping) else getattr(owner, node.attr, None)
    if isinstance(node, ast.Subscript):
        owner = _eval(node.value, data)
        key = _eval(node.slice, data)
        try:
            return owner[key]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(item, data) for item in node.elts]
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        if node.keywords:
            raise ExpressionError(f"{node.func.id}() takes no named arguments")
        return _call(node.func.id, [_eval(arg, data) for arg in node.args])
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, data), _eval(node.right, data))
    if isinstance(node, ast.IfExp):
        return _eval(node.body, data) if _eval(node.test, data) else _eval(node.orelse, data)
    raise ExpressionError(f"unsupported expression node {type(node).__name__}")
