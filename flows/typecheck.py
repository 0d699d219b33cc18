"""Type checking of a definition's expressions against the types of its fields, before any case runs.

Every name a condition or a template reads is a field, a task's outcome, a comment or a value the engine
provides (`today`, `now`, …), each with a type derived from the definition. A condition is checked as its
evaluator (`flows.expressions`) will run it: names exist, compared values can be compared (money with numbers,
dates with datetimes, never money with text), an outcome or a choice is compared only with values it can
have, functions get what they take. Templates are checked for unknown names, attributes and filters.
Hand-offs are checked for the types of the fields they carry.

Messages are msgids (English) with parameters; `Problem` (in `flows.loader`) translates them for the admin.
Parameters listed in `TRANSLATED` are words (type names) that are translated too.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from flows.expressions import ExpressionError, compile_expression
from flows.i18n import _
from flows.model import CALL_RESULTS, FILE_TYPES, FieldDef, ProcessDef, StageDef
from flows.templating import environment

Report = Callable[..., None]
"""`report(msgid, **params)`: one problem found at the place being checked."""

# Parameters whose values are msgids themselves (type names), translated along with the message.
TRANSLATED = frozenset({"left", "right", "type", "source_type", "target_type", "meaning", "error"})


@dataclass(frozen=True)
class Type:
    """What a name holds. `values`: the only values it can have (a choice's options, a task's outcomes,
    a directory's keys); `attrs`: its attributes (None: any attribute may exist); `item`: a list's entry."""

    kind: str
    values: frozenset[str] | None = None
    attrs: Mapping[str, Type] | None = field(default=None, hash=False, compare=False)
    item: Type | None = field(default=None, hash=False, compare=False)

    @property
    def word(self) -> str:
        return _KIND_WORDS.get(self.kind, _("a value"))


_KIND_WORDS = {
    "text": _("a text"),
    "number": _("a number"),
    "money": _("an amount of money"),
    "date": _("a date"),
    "datetime": _("a date and time"),
    "bool": _("a yes/no value"),
    "choice": _("a choice"),
    "outcome": _("a task's answer"),
    "entry": _("a directory entry"),
    "company": _("a company"),
    "user": _("a person"),
    "file": _("a file"),
    "list": _("a list"),
    "none": _("an empty value"),
}

ANY = Type("any")
TEXT = Type("text")
NUMBER = Type("number")
BOOL = Type("bool")
DATE = Type("date")
DATETIME = Type("datetime")
NONE = Type("none")
_LABELLED_ATTRS: Mapping[str, Type] = {"label": TEXT, "key": TEXT}
_DATE_ATTRS: Mapping[str, Type] = {"year": NUMBER, "month": NUMBER, "day": NUMBER}
_DATETIME_ATTRS: Mapping[str, Type] = {**_DATE_ATTRS, "hour": NUMBER, "minute": NUMBER}

# Kinds that are the same kind of thing for the evaluator (it compares and adds them together).
_NUMERIC = frozenset({"number", "money"})
_MOMENTS = frozenset({"date", "datetime"})
# Kinds that compare with a text (their key) or a number (an id).
_KEYED_BY_TEXT = frozenset({"text", "choice", "outcome", "entry", "company"})
_KEYED_BY_NUMBER = frozenset({"number", "money", "user", "company"})


def field_type(spec: ProcessDef, fdef: FieldDef) -> Type:
    kind = fdef.type
    if kind == "choice":
        return Type("choice", frozenset(fdef.options or {}), _LABELLED_ATTRS)
    if kind == "directory":
        entries = spec.directories.get(fdef.directory or "", [])
        attrs: dict[str, Type] = {"key": TEXT, "name": TEXT}
        for entry in entries:
            for name in entry.model_dump():
                attrs.setdefault(name, ANY)
        return Type("entry", frozenset(e.key for e in entries), attrs)
    if kind == "company":
        return Type("company")  # attributes come from the company record, whatever it holds
    if kind == "list":
        record = {name: field_type(spec, sub) for name, sub in (fdef.fields or {}).items()}
        return Type("list", item=Type("record", attrs=record))
    if kind in FILE_TYPES:
        return Type("file")
    if kind == "date":
        return Type("date", attrs=_DATE_ATTRS)
    if kind == "datetime":
        return Type("datetime", attrs=_DATETIME_ATTRS)
    return Type(kind, attrs={})


def environment_of(spec: ProcessDef) -> dict[str, Type]:
    """Every name conditions and templates of this process may read, with its type."""
    env: dict[str, Type] = {
        "today": Type("date", attrs=_DATE_ATTRS),
        "now": Type("datetime", attrs=_DATETIME_ATTRS),
        "started_on": Type("date", attrs=_DATE_ATTRS),
        "case": ANY,  # {id, title}, given by the bot for texts
        # The catalogue's stock now by 1C's product id, given to a task's card when its reader opens it («Мои
        # задачи»; services/portal.stock_now); absent elsewhere, so a text reads it as `stock is defined and …`.
        "stock": ANY,
        "initiator": ANY,
        "responsible": ANY,
    }
    for stage in spec.stages:
        if stage.call is not None:
            # A called stage's key holds how its child ended (`qualification == 'success'`).
            env[stage.key] = Type("outcome", frozenset(CALL_RESULTS), _LABELLED_ATTRS)
        for task in stage.tasks:
            env[task.key] = Type("outcome", frozenset(task.outcome_defs()), _LABELLED_ATTRS)
            env[f"{task.key}_comment"] = TEXT
    for name, fdef in spec.fields.items():
        env[name] = field_type(spec, fdef)
        if fdef.type == "choice":
            env[f"{name}_label"] = TEXT
    return env


def _suggest(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def _unknown_name(report: Report, name: str, source: str, env: Mapping[str, Type]) -> None:
    suggestion = _suggest(name, env)
    if suggestion:
        report(
            _("'%(source)s': this process has no field or task '%(name)s'; did you mean '%(suggestion)s'?"),
            source=source,
            name=name,
            suggestion=suggestion,
        )
    else:
        report(_("'%(source)s': this process has no field or task '%(name)s'"), source=source, name=name)


# --- conditions -------------------------------------------------------------------------------------------


def check_condition(source: str, env: Mapping[str, Type], report: Report) -> None:
    """Problems of one condition (`when:`): syntax, names, and the types of what it compares."""
    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        report(_("cannot read the condition '%(source)s': %(error)s"), source=source, error=str(exc))
        return
    _Infer(source, env, report).infer(expression.tree.body)


def value_type(source: str, env: Mapping[str, Type], report: Report) -> Type | None:
    """What one expression that gives a value (a bound: `total(items, 'price', 'quantity')`) holds, its problems
    reported as a condition's; None when it cannot be read."""
    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        report(_("cannot read the expression '%(source)s': %(error)s"), source=source, error=str(exc))
        return None
    return _Infer(source, env, report).infer(expression.tree.body)


@dataclass
class _Infer:
    source: str
    env: Mapping[str, Type]
    report: Report

    def infer(self, node: ast.expr) -> Type:
        method = getattr(self, f"_{type(node).__name__}", None)
        return method(node) if method is not None else ANY

    def _Constant(self, node: ast.Constant) -> Type:
        value = node.value
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, int | float):
            return NUMBER
        if isinstance(value, str):
            return Type("text", frozenset({value}))
        return NONE

    def _Name(self, node: ast.Name) -> Type:
        if node.id in ("True", "False"):
            return BOOL
        if node.id == "None":
            return NONE
        found = self.env.get(node.id)
        if found is None:
            _unknown_name(self.report, node.id, self.source, self.env)
            return ANY
        return found

    def _Attribute(self, node: ast.Attribute) -> Type:
        owner = self.infer(node.value)
        return _attribute(owner, node.attr, self.source, self.report, _describe(node.value))

    def _Subscript(self, node: ast.Subscript) -> Type:
        owner = self.infer(node.value)
        self.infer(node.slice)
        if owner.kind == "list" and owner.item is not None:
            return owner.item
        return ANY

    def _List(self, node: ast.List | ast.Tuple) -> Type:
        items = [self.infer(element) for element in node.elts]
        values: set[str] = set()
        for item in items:
            values |= item.values or set()
        kinds = {item.kind for item in items}
        item = Type(kinds.pop(), frozenset(values) or None) if len(kinds) == 1 else ANY
        return Type("list", item=item)

    _Tuple = _List

    def _BoolOp(self, node: ast.BoolOp) -> Type:
        for value in node.values:
            self.infer(value)
        return ANY  # `a or b` is a or b: either operand

    def _UnaryOp(self, node: ast.UnaryOp) -> Type:
        operand = self.infer(node.operand)
        if isinstance(node.op, ast.Not):
            return BOOL
        if operand.kind not in _NUMERIC | {"any"}:
            self.report(_("'%(source)s': %(left)s cannot be negative"), source=self.source, left=operand.word)
            return ANY
        return operand

    def _IfExp(self, node: ast.IfExp) -> Type:
        self.infer(node.test)
        body, orelse = self.infer(node.body), self.infer(node.orelse)
        return body if body.kind == orelse.kind else ANY

    def _Call(self, node: ast.Call) -> Type:
        assert isinstance(node.func, ast.Name)  # the evaluator's parser allows only calls of names
        args = [self.infer(arg) for arg in node.args]
        name = node.func.id
        if name == "len":
            for arg in args:
                if arg.kind not in ("text", "list", "file", "any"):
                    self._cannot_take(name, arg)
            return NUMBER
        if name == "sum":
            for arg in args:
                if arg.kind == "list" and arg.item is not None and arg.item.kind not in _NUMERIC | {"any"}:
                    self._cannot_take(name, arg.item)
                elif arg.kind not in ("list", "any"):
                    self._cannot_take(name, arg)
            item = args[0].item if args and args[0].item is not None else NUMBER
            return item if item.kind in _NUMERIC else NUMBER
        if name == "each":
            return self._each(node, args)
        if name == "total":
            return self._total(node, args)
        return BOOL  # any, all, bool

    def _total(self, node: ast.Call, args: list[Type]) -> Type:
        """`total(items, 'price', 'quantity')`: the sum over the entries of the product of their named fields."""
        names = node.args[1:]
        if not names or not all(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in names):
            self.report(_("'%(source)s': total() takes a list and the names of its entries' number fields in quotes"),
                        source=self.source)  # fmt: skip
            return ANY
        if args[0].kind not in ("list", "any"):
            self._cannot_take("total", args[0])
            return ANY
        entry = args[0].item
        if entry is None or entry.attrs is None:
            return NUMBER
        kinds = set()
        for name_node in names:
            field_name = str(name_node.value) if isinstance(name_node, ast.Constant) else ""
            found = entry.attrs.get(field_name)
            if found is None:
                self.report(
                    _("'%(source)s': the entries have no field '%(name)s' (they have: %(attrs)s)"),
                    source=self.source, name=field_name, attrs=", ".join(sorted(entry.attrs)),
                )  # fmt: skip
                return ANY
            if found.kind not in _NUMERIC | {"any"}:
                self._cannot_take("total", found)
                return ANY
            kinds.add(found.kind)
        return Type("money", attrs={}) if "money" in kinds else NUMBER

    def _each(self, node: ast.Call, args: list[Type]) -> Type:
        """`each(items, 'payment_method')`: a list of the entries' field, typed as the field is."""
        field_node = node.args[1] if len(node.args) == 2 else None
        if field_node is None or not (isinstance(field_node, ast.Constant) and isinstance(field_node.value, str)):
            self.report(_("'%(source)s': each() takes a list and the name of its entries' field in quotes"),
                        source=self.source)  # fmt: skip
            return ANY
        if args[0].kind not in ("list", "any"):
            self._cannot_take("each", args[0])
            return ANY
        entry = args[0].item
        if entry is None or entry.attrs is None:
            return Type("list", item=ANY)
        found = entry.attrs.get(field_node.value)
        if found is None:
            self.report(
                _("'%(source)s': the entries have no field '%(name)s' (they have: %(attrs)s)"),
                source=self.source, name=field_node.value, attrs=", ".join(sorted(entry.attrs)),
            )  # fmt: skip
            return ANY
        return Type("list", item=found)

    def _cannot_take(self, function: str, arg: Type) -> None:
        self.report(
            _("'%(source)s': %(function)s() cannot take %(type)s"), source=self.source, function=function, type=arg.word
        )

    def _BinOp(self, node: ast.BinOp) -> Type:
        left, right = self.infer(node.left), self.infer(node.right)
        op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}.get(type(node.op), "?")
        if "any" in (left.kind, right.kind):
            return ANY
        if left.kind in _NUMERIC and right.kind in _NUMERIC:
            return Type("money", attrs={}) if "money" in (left.kind, right.kind) and op != "/" else NUMBER
        if op == "+" and left.kind == right.kind and left.kind in ("text", "list"):
            return left
        # No `text * number`: a number here may be a fraction (money / money), and repeating texts is no business
        # rule; refusing it at check time is what keeps «passes the check» meaning «runs».
        self.report(
            _("'%(source)s': %(left)s and %(right)s cannot be combined with '%(op)s'"),
            source=self.source,
            left=left.word,
            right=right.word,
            op=op,
        )
        return ANY

    def _Compare(self, node: ast.Compare) -> Type:
        left_node: ast.expr = node.left
        left = self.infer(left_node)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.infer(right_node)
            if isinstance(op, ast.Eq | ast.NotEq):
                self._equality(left, left_node, right, right_node)
            elif isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                self._ordering(left, right)
            elif isinstance(op, ast.In | ast.NotIn):
                self._membership(left, left_node, right, right_node)
            left, left_node = right, right_node
        return BOOL

    def _equality(self, left: Type, left_node: ast.expr, right: Type, right_node: ast.expr) -> None:
        if not _comparable(left, right):
            self.report(
                _("'%(source)s' compares %(left)s with %(right)s: they are never equal"),
                source=self.source,
                left=left.word,
                right=right.word,
            )
            return
        self._possible(left, left_node, right)
        self._possible(right, right_node, left)

    def _possible(self, holder: Type, holder_node: ast.expr, other: Type) -> None:
        """`cfo_approval == 'rejected'` where the outcomes are approve/reject is always false: say so."""
        if holder.kind not in ("choice", "outcome", "entry") or not holder.values or other.kind != "text":
            return
        for value in sorted((other.values or set()) - holder.values):
            self.report(
                _("'%(source)s': %(name)s is never '%(value)s' (it is one of: %(values)s)"),
                source=self.source,
                name=_describe(holder_node),
                value=value,
                values=", ".join(sorted(holder.values)),
            )

    def _ordering(self, left: Type, right: Type) -> None:
        if "any" in (left.kind, right.kind) or "none" in (left.kind, right.kind):
            return
        same_kind = (
            (left.kind in _NUMERIC and right.kind in _NUMERIC)
            or (left.kind in _MOMENTS and right.kind in _MOMENTS)
            or (left.kind == right.kind == "text")
        )
        if not same_kind:
            self.report(
                _("'%(source)s': %(left)s cannot be compared with %(right)s by size"),
                source=self.source,
                left=left.word,
                right=right.word,
            )

    def _membership(self, item: Type, item_node: ast.expr, container: Type, container_node: ast.expr) -> None:
        if container.kind in ("any", "none"):
            return
        if container.kind == "text":
            if item.kind not in ("text", "choice", "outcome", "any"):
                self._cannot_contain(item, container)
            return
        if container.kind != "list":
            self._cannot_contain(item, container)
            return
        element = container.item or ANY
        if not _comparable(item, element):
            self._cannot_contain(item, container)
            return
        self._possible(item, item_node, element)
        if container_node is not None and isinstance(container_node, ast.Call):
            # `'prepay' in each(items, 'payment_method')`: the entries' choice is never 'prepay'.
            self._possible(element, container_node, item)

    def _cannot_contain(self, item: Type, container: Type) -> None:
        self.report(
            _("'%(source)s' looks for %(left)s in %(right)s, where it can never be"),
            source=self.source,
            left=item.word,
            right=container.word,
        )


def _describe(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - a tree the parser built unparses
        return "?"


def _comparable(a: Type, b: Type) -> bool:
    kinds = {a.kind, b.kind}
    if kinds & {"any", "none"} or a.kind == b.kind:
        return True
    if kinds <= _NUMERIC or kinds <= _MOMENTS:
        return True
    if kinds <= _KEYED_BY_TEXT and "text" in kinds:
        return True
    if kinds <= _KEYED_BY_NUMBER and kinds & {"number"}:
        return True
    return kinds == {"choice", "outcome"}


def _attribute(owner: Type, attr: str, source: str, report: Report, what: str) -> Type:
    if owner.kind in ("any", "company"):
        return ANY
    if owner.attrs is None:
        return ANY
    found = owner.attrs.get(attr)
    if found is None:
        if owner.attrs:
            report(
                _("'%(source)s': %(name)s has no '%(attr)s' (it has: %(attrs)s)"),
                source=source,
                name=what,
                attr=attr,
                attrs=", ".join(sorted(owner.attrs)),
            )
        else:
            report(_("'%(source)s': %(name)s has no '%(attr)s'"), source=source, name=what, attr=attr)
        return ANY
    return found


# --- templates --------------------------------------------------------------------------------------------


# Jinja's words for a broken text, as the author of a definition reads them (Jinja's own English otherwise).
_TEMPLATE_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("looking for the following tags: 'endfor'", _("a {% for %} is not closed with {% endfor %}")),
    ("looking for the following tags: 'elif' or 'else' or 'endif'", _("an {% if %} is not closed with {% endif %}")),
    ("unexpected end of template", _("a {{ or {% is not closed: }} or %} is missing")),
    ("Unexpected end of template", _("a {{ or {% is not closed: }} or %} is missing")),
    ("expected token 'end of print statement'", _("inside {{ … }} there is more than one name: join them with a "
                                                  "filter or write each in its own {{ … }}")),
    ("unexpected '}'", _("a '}' where '}}' closes the value")),
    ("Encountered unknown tag", _("an unknown {% … %}: the texts use {% if %}, {% for %} and their end tags")),
    ("Expected an expression", _("an empty {{ }}: put a field's name inside")),
)


def check_template(source: str, env: Mapping[str, Type], report: Report, extra: Iterable[str] = ()) -> None:
    """Problems of one Jinja text: syntax, unknown names, attributes and filters. `extra`: names the place
    adds (`cases` in a notice about cases)."""
    jinja = environment()
    try:
        tree = jinja.parse(source)
    except TemplateSyntaxError as exc:
        said = str(exc.message or "")
        meaning = next((words for clue, words in _TEMPLATE_PROBLEMS if clue in said), None)
        if meaning is not None:
            report(_("the text cannot be read: %(meaning)s (line %(line)s of the text)"), meaning=meaning,
                   line=exc.lineno)  # fmt: skip
        else:
            report(_("the text cannot be read: %(error)s (line %(line)s of the text)"), error=said, line=exc.lineno)
        return
    except (RecursionError, MemoryError):
        report(_("the text cannot be read: it is nested too deeply"))
        return
    scope: dict[str, Type] = dict(env)
    for name in extra:
        scope[name] = ANY
    for name in jinja.globals:
        scope.setdefault(name, ANY)
    scope.setdefault("loop", ANY)
    # Names the text itself binds ({% for unit in units %}, {% set x = … %}): a loop over a list of the case
    # binds its entries, so `unit.serial` is checked against the list's fields.
    for loop in tree.find_all(nodes.For):
        item = ANY
        if isinstance(loop.iter, nodes.Name):
            owner = scope.get(loop.iter.name)
            if owner is not None and owner.kind == "list" and owner.item is not None:
                item = owner.item
        for target in _stored(loop.target):
            scope[target] = item if isinstance(loop.target, nodes.Name) else ANY
    for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.CallBlock)):
        for target in _stored(node):
            scope.setdefault(target, ANY)
    reported: set[str] = set()
    for name_node in tree.find_all(nodes.Name):
        if name_node.ctx == "load" and name_node.name not in scope and name_node.name not in reported:
            reported.add(name_node.name)
            _unknown_name(report, name_node.name, _short(source), scope)
    for getattr_node in tree.find_all(nodes.Getattr):
        if isinstance(getattr_node.node, nodes.Name) and getattr_node.node.name in scope:
            owner = scope[getattr_node.node.name]
            _attribute(owner, getattr_node.attr, _short(source), report, getattr_node.node.name)
    for filter_node in tree.find_all(nodes.Filter):
        if filter_node.name not in jinja.filters:
            suggestion = _suggest(filter_node.name, jinja.filters)
            report(
                _("unknown filter '%(filter)s' (for example: money, date, upper, default%(hint)s)"),
                filter=filter_node.name,
                hint=f"; {suggestion}?" if suggestion else "",
            )
    for test_node in tree.find_all(nodes.Test):
        if test_node.name not in jinja.tests:
            report(_("unknown test '%(test)s' after 'is'"), test=test_node.name)
    _glued_lines(source, report)


_BLOCK_TAG = re.compile(r"{%-?\s*(\w+).*?-?%}", re.S)


def _glued_lines(source: str, report: Report) -> None:
    """A line that says something and ends with a tag (`… {{ remarks }}{% endif %}`) loses its line break when
    rendered (the texts trim a tag's newline so that a tag alone on its line leaves no empty one): the next line
    runs on from it («…20 коробокНажмите «Начать работу»»)."""
    lines = source.split("\n")
    for number, line in enumerate(lines[:-1], start=1):
        stripped = line.rstrip()
        tags = list(_BLOCK_TAG.finditer(stripped))
        if not tags or tags[-1].end() != len(stripped) or not "".join(lines[number:]).strip():
            continue
        if _BLOCK_TAG.sub("", stripped).strip():
            said = _("“%(tag)s” ends line %(line)s, so line %(next)s of the text runs on from it: put the tag on its own line")  # noqa: E501
            report(said, tag=tags[-1].group(0), line=number, next=number + 1)


def _stored(node: nodes.Node) -> list[str]:
    return [n.name for n in node.find_all(nodes.Name) if n.ctx in ("store", "param")] + (
        [node.name] if isinstance(node, nodes.Name) and node.ctx in ("store", "param") else []
    )


def _short(source: str) -> str:
    text = " ".join(source.split())
    return text if len(text) <= 60 else text[:60] + "…"


# --- hand-offs --------------------------------------------------------------------------------------------


def hand_off_problem(spec: ProcessDef, source: str, target: ProcessDef, name: str) -> tuple[str, dict[str, Any]] | None:
    """Why the value of field `source` of `spec` cannot become field `name` of `target`, or None."""
    src, dst = spec.fields.get(source), target.fields.get(name)
    if src is None or dst is None:
        return None  # an unknown field is reported by the loader
    if not _assignable(spec, src, target, dst):
        return (
            _("'%(source)s' (%(source_type)s) cannot become '%(target)s' of process '%(process)s' (%(target_type)s)"),
            {
                "source": source,
                "source_type": field_type(spec, src).word,
                "target": name,
                "process": target.process,
                "target_type": field_type(target, dst).word,
            },
        )
    extra = _extra_values(spec, src, target, dst)
    if extra:
        return (
            _("'%(source)s' may be %(values)s, which '%(target)s' of process '%(process)s' does not have"),
            {"source": source, "values": ", ".join(sorted(extra)), "target": name, "process": target.process},
        )
    return None


# What a stored value of one type still reads as in another (see `flows.values.from_json`).
_ASSIGNABLE = {
    ("money", "number"),  # "1234.50" reads as the number 1234.5
    ("number", "money"),
    ("date", "datetime"),  # a date is its midnight
    ("choice", "text"),  # the option's key
    ("directory", "text"),
    ("photo", "document"),
    ("text", "choice"),
}


def _assignable(spec: ProcessDef, src: FieldDef, target: ProcessDef, dst: FieldDef) -> bool:
    if src.type == dst.type:
        if src.type == "list":
            return all(
                _assignable(spec, sub, target, (dst.fields or {})[key])
                for key, sub in (src.fields or {}).items()
                if key in (dst.fields or {})
            )
        return True
    return (src.type, dst.type) in _ASSIGNABLE


def _extra_values(spec: ProcessDef, src: FieldDef, target: ProcessDef, dst: FieldDef) -> set[str]:
    """Keys the source may hold that the target's options or directory do not know."""

    def keys(process: ProcessDef, fdef: FieldDef) -> set[str] | None:
        if fdef.type == "choice":
            return set(fdef.options or {})
        if fdef.type == "directory":
            return {e.key for e in process.directories.get(fdef.directory or "", [])}
        return None

    src_keys, dst_keys = keys(spec, src), keys(target, dst)
    if src_keys is None or dst_keys is None:
        return set()
    return src_keys - dst_keys


# --- stages -----------------------------------------------------------------------------------------------


def ways_on(spec: ProcessDef, stage: StageDef) -> list[str]:
    """The stages a case can go to from `stage`: its `next` and `moves`, and, for a stage that follows its
    items, the other stages following the same items (the items move the case between them)."""
    ways = [t.to for t in stage.next] + [m.to for m in stage.moves]
    if stage.follows is not None and stage.follows.list is not None:
        name = stage.follows.list
        ways += [s.key for s in spec.stages if s.follows is not None and s.follows.list == name and s is not stage]
        listed = spec.fields.get(name)
        track = listed.track if listed is not None else None
        if track is not None and track.all_cancelled is not None:  # every item cancelled
            ways.append(track.all_cancelled)
    # A call for each entry: its children move the case among the stages that follow them, and the join moves
    # it on from any of those by the call's own `next`.
    calling = stage.follows.calls if stage.follows is not None and stage.follows.calls is not None else stage.key
    followers = [s.key for s in spec.stages if s.follows is not None and s.follows.calls == calling]
    if followers:
        ways += [k for k in followers if k != stage.key]
        caller = next((s for s in spec.stages if s.key == calling), None)
        if caller is not None and caller is not stage:
            ways += [t.to for t in caller.next]
    return ways


def stuck_stages(spec: ProcessDef) -> list[StageDef]:
    """Stages from which no way (`next` or `moves`) leads to a final stage: a case there never ends."""
    leads_to: dict[str, set[str]] = {s.key: set() for s in spec.stages}
    for stage in spec.stages:
        for target in ways_on(spec, stage):
            if target in leads_to:
                leads_to[target].add(stage.key)
    ending = {s.key for s in spec.stages if s.final}
    todo = list(ending)
    while todo:
        for before in leads_to[todo.pop()]:
            if before not in ending:
                ending.add(before)
                todo.append(before)
    return [s for s in spec.stages if s.key not in ending]


def entry_environment(spec: ProcessDef, env: Mapping[str, Type], list_field: str) -> dict[str, Type]:
    """What a for_each task's texts and join condition see: the case's names and `item`, one entry of the list."""
    scoped = dict(env)
    listed = env.get(list_field)
    scoped["item"] = listed.item if listed is not None and listed.item is not None else ANY
    return scoped
