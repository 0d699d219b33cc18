"""Conditions in definitions (`when: "confirm_defect == 'reject'"`): a small, safe subset of Python.

Only names of case fields, literals, comparisons, `and/or/not`, `in`, attribute/index access on case data
and a few pure functions are allowed, so a definition cannot run arbitrary code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any


class ExpressionError(ValueError):
    pass


_FUNCTIONS: dict[str, Callable[..., Any]] = {"len": len, "any": any, "all": all, "sum": sum, "bool": bool}
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
        self.names = frozenset(
            node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name) and node.id not in _FUNCTIONS
        ) - {"True", "False", "None"}

    def evaluate(self, data: Mapping[str, Any]) -> Any:
        return _eval(self.tree.body, data)


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Expression:
    return Expression(source)


def evaluate(source: str, data: Mapping[str, Any]) -> Any:
    return compile_expression(source).evaluate(data)


def _parse(source: str) -> ast.Expression:
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot read the condition {source!r}: {exc.msg}") from None
    for node in ast.walk(tree):
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
    ast.Lt: lambda a, b: a is not None and b is not None and a < b,
    ast.LtE: lambda a, b: a is not None and b is not None and a <= b,
    ast.Gt: lambda a, b: a is not None and b is not None and a > b,
    ast.GtE: lambda a, b: a is not None and b is not None and a >= b,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
    ast.Is: lambda a, b: a is b,
    ast.IsNot: lambda a, b: a is not b,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


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
        return (not operand) if isinstance(node.op, ast.Not) else -operand
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
        return _FUNCTIONS[node.func.id](*[_eval(arg, data) for arg in node.args])
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, data), _eval(node.right, data))
    if isinstance(node, ast.IfExp):
        return _eval(node.body, data) if _eval(node.test, data) else _eval(node.orelse, data)
    raise ExpressionError(f"unsupported expression node {type(node).__name__}")
