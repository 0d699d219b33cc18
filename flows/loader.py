"""Load process definitions from YAML and check them, pointing every mistake to a file and line.

Two passes: pydantic checks the shape of each piece; then whole-process checks (unknown stage, role,
field, unreachable stage, deadlines and conditions that cannot be read). Both report `file:line: message`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from flows import typecheck
from flows.deadlines import Deadline, DeadlineError, parse_deadline, parse_offset
from flows.expressions import ExpressionError, compile_expression
from flows.forms import alternatives
from flows.i18n import _
from flows.model import (
    ACTION_TAG,
    CANCEL_REASON,
    DATE_RULE_WORDS,
    DEFAULT_LANG,
    FIELD_TYPES,
    FILE_TYPES,
    ITEM_WORKERS,
    PERSON_REFS,
    CallDef,
    DateRules,
    EmailDef,
    FieldDef,
    FieldRef,
    LocalText,
    OutcomeDef,
    ProcessDef,
    ReportAction,
    StageDef,
    TaskDef,
    organisation_role,
    ref_names,
)
from flows.runtime import ITEM_PREFIX
from flows.typecheck import TRANSLATED

log = logging.getLogger(__name__)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One mistake: where, and what (in English in `message`; `msgid` and `params` to translate it)."""

    file: str
    line: int
    message: str
    msgid: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    warning: bool = False  # said, but the definition is sound and loads (`language_gaps`)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {'warning: ' if self.warning else ''}{self.message}"

    def translated(self, gettext: Callable[[str], str]) -> str:
        """`file:line: message` in the admin's language; `gettext` translates one msgid (the bot's catalog)."""
        prefix = f"{gettext('warning')}: " if self.warning else ""
        return f"{self.file}:{self.line}: {prefix}{self.said(gettext)}"

    def said(self, gettext: Callable[[str], str]) -> str:
        """The message alone in the admin's language, for a page that shows its line and kind its own way."""
        if not self.msgid:
            return self.message
        params = {k: gettext(v) if k in TRANSLATED and isinstance(v, str) else v for k, v in self.params.items()}
        try:
            return gettext(self.msgid) % params if params else gettext(self.msgid)
        except (KeyError, ValueError, TypeError):  # a translation with broken placeholders: say it in English
            return self.message


def problem(file: str, line: int, msgid: str, /, **params: Any) -> Problem:
    return Problem(file, line, msgid % params if params else msgid, msgid, params)


class DefinitionError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class LoadedDefinition:
    spec: ProcessDef
    source: str
    digest: str
    path: str

    @property
    def key(self) -> str:
        return self.spec.process


@dataclass
class _Checker:
    file: str
    root: yaml.Node | None
    problems: list[Problem] = field(default_factory=list)
    env: dict[str, typecheck.Type] = field(default_factory=dict)  # names expressions may read, with types

    def node_at(self, path: Path_, start: yaml.Node | None = None) -> yaml.Node | None:
        node = self.root if start is None else start
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return None
        return node

    def place_of(self, path: Path_) -> str:
        """`path` as someone reading the YAML names it: keys as written, a list's entry by its `key` (a stage, a
        task) or else its number from 1 — `stages → approval → editable`, not `stages.0.editable`."""
        node, names = self.root, []
        for part in path:
            if isinstance(part, int):
                entry = node.value[part] if isinstance(node, yaml.SequenceNode) and part < len(node.value) else None
                key = next((v.value for k, v in entry.value if k.value == "key"), None) if isinstance(
                    entry, yaml.MappingNode) else None  # fmt: skip
                names.append(str(key) if isinstance(key, str) and key else f"#{part + 1}")
                node = entry
            else:
                names.append(str(part))
                node = self.node_at((part,), node) if node is not None else None
        return " → ".join(names)

    def line_of(self, path: Path_) -> int:
        node = self.root
        best = node.start_mark.line + 1 if node is not None else 1
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == part:
                        child = value_node
                        best = key_node.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
                best = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return best

    def add(self, path: Path_, message: str, /, **params: Any) -> None:
        """A problem at `path`; `message` is a msgid, `params` fill it."""
        self.problems.append(problem(self.file, self.line_of(path), message, **params))

    def reporter(self, path: Path_) -> Callable[..., None]:
        def report(message: str, /, **params: Any) -> None:  # positional: a parameter may be called `line`
            self.add(path, message, **params)

        return report


@dataclass
class _ActionChecker:
    """One action's view of the checker (`flows.model.ActionCheck` and `ProcessCheck`): paths relative to it."""

    checker: _Checker
    base: Path_
    spec: ProcessDef
    names: tuple[str, ...] = ()  # what the moment adds to its texts (`cancel_reason` in `on_cancel`)

    @property
    def fields(self) -> dict[str, FieldDef]:
        return self.spec.fields

    def add(self, path: Path_, message: str, /, **params: Any) -> None:
        self.checker.add((*self.base, *path), message, **params)

    def template(self, path: Path_, text: LocalText | None, extra: tuple[str, ...] = ()) -> None:
        _check_template(self.checker, (*self.base, *path), text, (*extra, *self.names))

    def person(self, path: Path_, who: str) -> None:
        _check_person(self.checker, (*self.base, *path), who, set(self.spec.roles), _user_field_of(self.fields))

    def field_list(self, path: Path_, names: list[str]) -> None:
        _check_field_list(self.checker, (*self.base, *path), names, self.spec.fields)

    def files(self, path: Path_, names: list[str]) -> None:
        for index, name in enumerate(names):
            fdef = self.spec.fields.get(name)
            if fdef is None or fdef.type not in FILE_TYPES:
                self.add((*path, index), _("'%(name)s' is not a photo or document field"), name=name)

    def field_of_type(self, path: Path_, name: str, types: frozenset[str]) -> None:
        fdef = self.spec.fields.get(name)
        if fdef is None or fdef.type not in types:
            self.add(path, _("'%(name)s' is not a %(types)s field"), name=name, types=" or ".join(sorted(types)))

    def hand_off(self, path: Path_, target: ProcessDef, values: dict[str, str]) -> None:
        for name, source in values.items():
            found = typecheck.hand_off_problem(self.spec, source, target, name)
            if found is not None:
                where = ("map", name) if name in self._mapped(path) else ()
                self.add((*path, *where), found[0], **found[1])

    def _mapped(self, path: Path_) -> set[str]:
        """Fields the action at `path` names in its `map` (to point at that line rather than the action)."""
        node = self.checker.node_at((*self.base, *path, "map"))
        return {k.value for k, _v in node.value} if isinstance(node, yaml.MappingNode) else set()


def _duplicate_keys(node: yaml.Node | None, checker: _Checker) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                checker.problems.append(
                    problem(
                        checker.file,
                        key_node.start_mark.line + 1,
                        _("the key '%(key)s' appears twice"),
                        key=key_node.value,
                    )
                )
            seen.add(key_node.value)
            _duplicate_keys(value_node, checker)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicate_keys(item, checker)


_UNION_BRANCHES = ("str", "dict[str,str]", "list[str]")


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """pydantic names the branches of a union (`label.str`, `label.dict[str,str].x`); people need the key."""
    loc = tuple(part for part in loc if not str(part).startswith(ACTION_TAG))  # `action:notify`: the kind's tag
    for index, part in enumerate(loc):
        if str(part) in _UNION_BRANCHES or str(part).startswith(("function-", "literal[")):
            return tuple(loc[:index])
    return tuple(loc)


def _pydantic_message(error: Any, checker: _Checker) -> tuple[str, dict[str, Any]]:
    """The msgid and parameters of a pydantic error, as an admin reads it: the place named as the YAML names it
    (`stages → approval → editable`, not pydantic's `stages.0.editable`), pydantic's own English said in our words."""
    full = tuple(p for p in error["loc"] if not str(p).startswith(ACTION_TAG))
    place = _clean_loc(tuple(error["loc"]))
    where = checker.place_of(place)
    if place != full:
        return _("%(where)s: must be a text, or a text per language like {ru: …, en: …} (quote texts with commas)"), {
            "where": where
        }
    kind = error["type"]
    if kind == "extra_forbidden":
        return _("unknown key '%(key)s'"), {"key": error["loc"][-1]}
    if kind == "missing":
        return _("'%(key)s' is required here"), {"key": error["loc"][-1]}
    said = _PYDANTIC_SAYS.get(kind)
    if said is not None:
        msgid, limit = said
        context = error.get("ctx") or {}
        params: dict[str, Any] = {"where": where}
        if limit == "expected":  # pydantic's «'a', 'b' or 'c'»: the keys one may write, listed without its English
            params["expected"] = ", ".join(re.findall(r"'([^']*)'", str(context.get("expected", "")))) or "—"
        elif limit:
            params["limit"] = context.get(limit, "")
        return msgid, params
    message = str(error["msg"]).removeprefix("Value error, ")  # our validators' msgids: `error` is translated
    if where:
        return "%(where)s: %(error)s", {"where": where, "error": message}
    return "%(error)s", {"error": message}


# pydantic's error types a hand-written definition meets, in an admin's words: (msgid, the context value it names).
_PYDANTIC_SAYS: dict[str, tuple[str, str]] = {
    "list_type": (_("%(where)s: must be a list, like [a, b]"), ""),
    "tuple_type": (_("%(where)s: must be a list, like [a, b]"), ""),
    "set_type": (_("%(where)s: must be a list, like [a, b]"), ""),
    "dict_type": (_("%(where)s: must be a mapping of 'key: value' lines"), ""),
    "model_type": (_("%(where)s: must be a mapping of 'key: value' lines"), ""),
    "model_attributes_type": (_("%(where)s: must be a mapping of 'key: value' lines"), ""),
    "string_type": (_("%(where)s: must be a text"), ""),
    "string_too_short": (_("%(where)s: must not be empty"), ""),
    "int_type": (_("%(where)s: must be a whole number"), ""),
    "int_parsing": (_("%(where)s: must be a whole number"), ""),
    "int_from_float": (_("%(where)s: must be a whole number"), ""),
    "float_type": (_("%(where)s: must be a number"), ""),
    "float_parsing": (_("%(where)s: must be a number"), ""),
    "decimal_type": (_("%(where)s: must be a number"), ""),
    "decimal_parsing": (_("%(where)s: must be a number"), ""),
    "bool_type": (_("%(where)s: must be true or false"), ""),
    "bool_parsing": (_("%(where)s: must be true or false"), ""),
    "date_type": (_("%(where)s: must be a date like 2026-12-31"), ""),
    "date_parsing": (_("%(where)s: must be a date like 2026-12-31"), ""),
    "date_from_datetime_parsing": (_("%(where)s: must be a date like 2026-12-31"), ""),
    "time_type": (_("%(where)s: must be a time like 09:00"), ""),
    "time_parsing": (_("%(where)s: must be a time like 09:00"), ""),
    "literal_error": (_("%(where)s: must be one of: %(expected)s"), "expected"),
    "enum": (_("%(where)s: must be one of: %(expected)s"), "expected"),
    "union_tag_invalid": (_("%(where)s: must be one of: %(expected)s"), "expected_tags"),
    "greater_than_equal": (_("%(where)s: must be at least %(limit)s"), "ge"),
    "greater_than": (_("%(where)s: must be more than %(limit)s"), "gt"),
    "less_than_equal": (_("%(where)s: must be at most %(limit)s"), "le"),
    "less_than": (_("%(where)s: must be less than %(limit)s"), "lt"),
    "too_short": (_("%(where)s: needs at least %(limit)s entries"), "min_length"),
    "too_long": (_("%(where)s: takes at most %(limit)s entries"), "max_length"),
}


# What PyYAML says, and what it means for someone writing a definition by hand.
_YAML_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("mapping values are not allowed", _("a ':' where it cannot be; put texts that contain ': ' in quotes")),
    ("could not find expected ':'", _("a line here is not 'key: value'; check the ':' and the indentation")),
    ("cannot start any token", _("tabs or a special character (@, `, %) begin a value; use spaces, quote the text")),
    ("expected <block end>", _("the indentation does not line up with the lines above")),
    ("did not find expected key", _("the indentation does not line up with the lines above")),
    ("did not find expected '-'", _("the indentation of this list does not line up")),
    (
        "expected ',' or '}', but got ':'",
        _("inside { … } a ',' or '}' was expected: close every '{', and put texts that contain ': ' in quotes"),
    ),
    ("expected ',' or ']'", _("a list in [ … ] is not closed, or a comma is missing")),
    ("expected ',' or '}'", _("a mapping in { … } is not closed, or a comma is missing")),
    ("found unexpected end of stream", _("a quote or a bracket is opened and never closed")),
    ("unknown escape character", _("a backslash in a text in double quotes; use single quotes")),
    ("found undefined alias", _("'*' begins a value; put the text in quotes")),
    ("found duplicate anchor", _("'&' begins a value; put the text in quotes")),
    ("expected alphabetic or numeric character", _("'*' or '&' begins a value; put the text in quotes")),
    ("found unexpected ':'", _("a ':' where it cannot be; put texts that contain ': ' in quotes")),
)


_OPENED_THERE = (
    "scanning a simple key", "scanning a quoted scalar", "parsing a flow sequence", "parsing a flow mapping",
)


# A line that reads like the definition's own («stages:», «  - key: review», «title: …»), not like a text's.
_STRUCTURE = re.compile(r"\s*(- |[A-Za-z_][\w.-]*:(\s|$))")


def _unclosed_quote(source: str, line: int) -> int | None:
    """The line (0-based) where a quote was opened and never closed, when that is why the parser gave up at `line`:
    YAML lets a quoted text run over lines, so an unclosed «"Заявка» takes the lines after it, keys and all, as its
    text, until the next quote in the file closes it — and the parser complains there, right after it."""
    try:
        for token in yaml.scan(source):
            start, end = token.start_mark, token.end_mark
            if start.line > line:
                break
            quoted = isinstance(token, yaml.ScalarToken) and token.style in ('"', "'")
            if quoted and end.line == line and start.line < line:
                swallowed = source[start.index : end.index].split("\n")[1:]
                if any(_STRUCTURE.match(text) for text in swallowed):
                    return int(start.line)
    except yaml.YAMLError:
        pass
    return None


def _yaml_problem(exc: yaml.YAMLError, file: str, source: str = "") -> Problem:
    """A YAML syntax error in plain words, at the line of the mistake."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    context = str(getattr(exc, "context", "") or "")
    opened = getattr(exc, "context_mark", None) if "scanning a quoted scalar" in context else None
    if opened is not None:  # the quote runs to the end of the file
        return problem(file, opened.line + 1, _("not valid YAML: the quote opened on this line is never closed"))
    quoted = _unclosed_quote(source, mark.line) if mark is not None and source else None
    if quoted is not None and mark is not None:
        message = _("not valid YAML: the quote opened on this line is never closed (its text ran on to line %(end)s)")
        return problem(file, quoted + 1, message, end=mark.line + 1)
    if getattr(exc, "context_mark", None) is not None and any(what in context for what in _OPENED_THERE):
        # A quote or bracket left open, a key without its colon: the parser notices lines later, where the text
        # stops making sense; the mistake is where the thing began.
        mark = exc.context_mark  # type: ignore[attr-defined]
    line = mark.line + 1 if mark is not None else 1
    said = str(getattr(exc, "problem", "") or exc)
    for clue, meaning in _YAML_PROBLEMS:
        if clue in said:
            return problem(file, line, _("not valid YAML: %(meaning)s"), meaning=meaning)
    return problem(file, line, _("not valid YAML: %(meaning)s"), meaning=said)


@functools.lru_cache(maxsize=128)
def _parsed(source: str) -> tuple[yaml.Node | None, Any]:
    """A definition's text parsed once per process: its YAML tree (with the line of every piece) and the plain
    data. The bot, the panel and every test load and check the same library again and again, and the parser
    (pure Python) is the slow part. Errors are not remembered: a broken text raises on every call."""
    return yaml.compose(source), yaml.safe_load(source)


def _compose(source: str) -> yaml.Node | None:
    """The tree is only ever read, so one copy serves every caller."""
    return _parsed(source)[0]


def _parse(source: str) -> tuple[yaml.Node | None, Any]:
    root, raw = _parsed(source)
    return root, copy.deepcopy(raw)  # the data is the caller's own to change


def parse_definition(
    source: str, file: str = "<string>", known: Mapping[str, ProcessDef | None] | None = None
) -> LoadedDefinition:
    """Parse and check one definition; raise DefinitionError with every problem found.

    `known`: the other processes there are (by key; a ProcessDef to check hand-offs against its fields, or None
    when only the name is known). Given, a hand-off, report or notice naming any other process is a mistake.
    """
    checker = _Checker(file=file, root=None)
    try:
        checker.root, raw = _parse(source)
    except yaml.YAMLError as exc:
        raise DefinitionError([_yaml_problem(exc, file, source)]) from None
    except (RecursionError, ValueError) as exc:  # nesting deeper than the parser goes; a NUL in the text
        raise DefinitionError([problem(file, 1, _("not valid YAML: %(meaning)s"), meaning=str(exc)[:200])]) from None
    if not isinstance(raw, dict):
        raise DefinitionError([problem(file, 1, _("a definition is a mapping with 'process', 'roles', 'stages', …"))])
    _duplicate_keys(checker.root, checker)
    try:
        spec = ProcessDef.model_validate(raw)
    except ValidationError as exc:
        seen: set[tuple[int, str]] = set()
        for error in exc.errors():
            path = _clean_loc(tuple(error["loc"]))
            msgid, params = _pydantic_message(error, checker)
            key = (checker.line_of(path), msgid % params)
            if key not in seen:
                seen.add(key)
                checker.add(path, msgid, **params)
        # The shape failed somewhere: what can still be read is checked too, so an admin sees every mistake in
        # one round instead of the next one only after fixing the first.
        _check_readable(raw, checker)
        raise DefinitionError(sorted(checker.problems, key=lambda p: p.line)) from None
    _check_process(spec, checker)
    if checker.problems:
        raise DefinitionError(checker.problems)
    digest = hashlib.sha256(source.encode()).hexdigest()
    loaded = LoadedDefinition(spec=spec, source=source, digest=digest, path=file)
    if known is not None:
        problems = cross_check({loaded.key: loaded}, known=known)
        if problems:
            raise DefinitionError(problems)
    return loaded


def load_file(path: str | Path) -> LoadedDefinition:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([problem(str(path), 1, _("cannot read the file: %(error)s"), error=str(exc))]) from None
    return parse_definition(source, str(path))


def check_paths(paths: Iterable[str | Path], known: Mapping[str, ProcessDef | None] | None = None) -> list[Problem]:
    """Every problem in the given files and folders (folders: their *.yaml files). `known`: other processes
    there are (already loaded), as for `parse_definition`; given, the files are checked as a complete set."""
    return _check(paths, known)[0]


def check_and_warn(paths: Iterable[str | Path]) -> tuple[list[Problem], list[Problem]]:
    """`check_paths`, and the warnings of the definitions that loaded (`language_gaps`): what `konveyer check`
    says. A warning does not stop a definition from loading."""
    problems, good = _check(paths)
    return problems, [gap for loaded in good.values() for gap in language_gaps(loaded)]


def _check(
    paths: Iterable[str | Path], known: Mapping[str, ProcessDef | None] | None = None
) -> tuple[list[Problem], dict[str, LoadedDefinition]]:
    """`check_paths`, also giving the definitions that loaded (by key, in file order)."""
    paths = list(paths)
    problems: list[Problem] = []
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.y*ml") if p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            problems.append(problem(str(path), 1, _("no such file or folder")))
    seen: dict[str, str] = {}
    good: dict[str, LoadedDefinition] = {}
    for file in files:
        try:
            loaded = load_file(file)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if loaded.key in seen:
            problems.append(
                problem(
                    str(file),
                    1,
                    _("process '%(process)s' is also defined in %(other)s"),
                    process=loaded.key,
                    other=seen[loaded.key],
                )
            )
        seen[loaded.key] = str(file)
        good[loaded.key] = loaded
    complete = bool(files) and all(Path(p).is_dir() for p in paths)
    problems.extend(cross_check(good, complete=complete, known=known))
    return problems, good


def cross_check(
    library: dict[str, LoadedDefinition],
    *,
    complete: bool = True,
    known: Mapping[str, ProcessDef | None] | None = None,
) -> list[Problem]:
    """Checks between processes: a hand-off, report or notice must name a process that exists, and its
    stages and fields. `complete`: the library is all there is, so a name not in it is a mistake. `known`:
    other processes there are (None for one known by name only); given, the check is complete too."""
    problems: list[Problem] = []
    others: dict[str, ProcessDef | None] = dict(known or {})
    others.update({key: loaded.spec for key, loaded in library.items()})
    complete = complete or known is not None
    for loaded in library.values():
        checker = _Checker(file=loaded.path, root=_compose(loaded.source))
        for index, stage in enumerate(loaded.spec.stages):
            if stage.call is not None:
                _cross_check_call(checker, loaded.spec, index, stage.call, others, complete)
            for a_index, action in enumerate(stage.on_enter):
                name = action.other_process()
                if name is None:
                    continue
                apath: Path_ = ("stages", index, "on_enter", a_index)
                if name not in others:
                    if complete:
                        checker.add(
                            (*apath, action.kind, "process"),
                            _("unknown process '%(process)s' (processes: %(known)s)"),
                            process=name,
                            known=", ".join(sorted(others)),
                        )
                    continue
                target = others[name]
                if target is not None:
                    action.check_other(_ActionChecker(checker, apath, loaded.spec), target)
        problems.extend(checker.problems)
    return problems


def _cross_check_call(
    checker: _Checker,
    spec: ProcessDef,
    index: int,
    call: CallDef,
    others: Mapping[str, ProcessDef | None],
    complete: bool,
) -> None:
    base: Path_ = ("stages", index)
    if call.process not in others:
        if complete:
            checker.add(
                (*base, "call", "process"),
                _("unknown process '%(process)s' (processes: %(known)s)"),
                process=call.process,
                known=", ".join(sorted(others)),
            )
        return
    target = others[call.process]
    if target is None:
        return  # known by name only (a file sent to the bot): its fields are not known here
    for child_field in call.map:
        if child_field not in target.fields:
            checker.add(
                (*base, "call", "map", child_field),
                _("process '%(process)s' has no field '%(name)s'"),
                process=target.process,
                name=child_field,
            )
    mine_spec = spec.model_copy(update={"fields": call_fields(spec, call)})  # `item.<name>` with its type
    _ActionChecker(checker, base, mine_spec).hand_off(("call",), target, dict(call.map))
    for child_field, mine in call.map.items():
        given, wanted = mine_spec.fields.get(mine), target.fields.get(child_field)
        if (
            given is not None and wanted is not None and not given.required and wanted.required
            and wanted.ask_if is None and child_field in target.start.form
        ):  # fmt: skip
            # A case that left it empty would have it asked again by the child's start form, as a required field.
            checker.add(
                (*base, "call", "map", child_field),
                _("'%(mine)s' is optional here but '%(name)s' is required by process '%(process)s': a case "
                  "without it would be asked it again; make both optional or both required"),
                mine=mine,
                name=child_field,
                process=target.process,
            )  # fmt: skip
    for mine, child_field in call.back.items():
        if child_field not in target.fields:
            checker.add(
                (*base, "call", "back", mine),
                _("process '%(process)s' has no field '%(name)s'"),
                process=target.process,
                name=child_field,
            )
            continue
        found = typecheck.hand_off_problem(target, child_field, mine_spec, mine)
        if found is not None:
            checker.add((*base, "call", "back", mine), found[0], **found[1])
    child_stages = [s.key for s in target.stages]
    for f_index, follower in enumerate(spec.stages):
        if follower.follows is None or follower.follows.calls != spec.stages[index].key:
            continue
        if follower.follows.at_least not in child_stages:
            checker.add(
                ("stages", f_index, "follows", "at_least"),
                _("process '%(process)s' has no stage '%(stage)s' (its stages: %(stages)s)"),
                process=target.process,
                stage=follower.follows.at_least,
                stages=", ".join(child_stages),
            )


# --- texts a person reads in one language only ------------------------------------------------------------

# Texts people read that are not the bot's words for them: a field's `default` is a value the case keeps, so are
# a directory's entries (a supplier's name); an e-mail goes to someone outside the company, in its language.
_NOT_WORDED_PER_READER = frozenset({"default", "directories", "label_template"})  # a template: its `label` says it
_NOT_READ_BY_STAFF: tuple[type, ...] = (EmailDef,)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def language_gaps(loaded: LoadedDefinition) -> list[Problem]:
    """Warnings: texts people read (titles, questions, labels, options, buttons, notices, units…) that have Russian
    words but no `en:`, in a definition that gives English somewhere — one meant to be read in both languages,
    where an English reader would get those in Russian. A definition with no English at all is a company's that
    works in Russian only: nothing to warn of there."""
    texts: list[tuple[Path_, LocalText | list[str]]] = []
    _collect_texts(loaded.spec, (), texts)
    if not any(isinstance(text, dict) and "en" in text for _path, text in texts):
        return []
    checker = _Checker(file=loaded.path, root=_compose(loaded.source))
    for path, text in texts:
        worded = text if isinstance(text, dict) else {DEFAULT_LANG: text}
        if "en" in worded:
            continue
        russian = " ".join(" ".join(v) if isinstance(v, list) else str(v) for v in worded.values())
        if _CYRILLIC.search(_JINJA.sub("", russian)):
            checker.add(
                path,
                _("%(place)s is in Russian only: a person reading English gets it in Russian; add 'en:' "
                  "({ru: …, en: …})"),
                place=checker.place_of(path),
            )  # fmt: skip
    return sorted((dataclasses.replace(gap, warning=True) for gap in checker.problems), key=lambda gap: gap.line)


def _collect_texts(value: Any, path: Path_, into: list[tuple[Path_, LocalText | list[str]]]) -> None:
    """Every text of `value` (a part of a definition) that is worded per language, with its path in the YAML;
    only what the author wrote (`model_fields_set`), not a default the model fills in."""
    if isinstance(value, _NOT_READ_BY_STAFF):
        return
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:  # in the model's order: the same output every run
            if name in _NOT_WORDED_PER_READER or name not in value.model_fields_set:
                continue
            child = getattr(value, name)
            annotation = str(type(value).model_fields[name].annotation)
            if annotation.startswith("dict[str, str | dict[str, str]]") and isinstance(child, dict):
                for key, text in child.items():  # a choice's options: key -> label
                    into.append(((*path, name, key), text))
            elif ("str | dict[str, str]" in annotation or name == "unit") and isinstance(child, str | dict | list):
                if child:
                    into.append(((*path, name), child))
            else:
                _collect_texts(child, (*path, name), into)
    elif isinstance(value, dict):
        for key, child in value.items():
            _collect_texts(child, (*path, key), into)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _collect_texts(child, (*path, index), into)


def load_library(folder: str | Path) -> dict[str, LoadedDefinition]:
    """All definitions in a folder; raises DefinitionError if any is wrong (a broken library must not start)."""
    folder = Path(folder)
    problems, loaded = _check([folder])  # checked as a whole, each file read and parsed once
    if problems:
        raise DefinitionError(problems)
    return loaded


# --- whole-process checks -------------------------------------------------------------------------------


def cron_problem(cron: str) -> str | None:
    """Why a cron line cannot drive a schedule, or None. Checked for real: «0 25 * * thu» has five fields
    but no hour 25, and «0 9 30 2 *» never comes."""
    found = _cron_problem(cron)
    return found[0] % found[1] if found else None


def _cron_problem(cron: str) -> tuple[str, dict[str, Any]] | None:
    if len(cron.split()) != 5:
        return _("'%(cron)s' is not a cron line of five fields (minute hour day month weekday), e.g. '0 9 * * thu'"), {
            "cron": cron
        }
    try:
        from apscheduler.triggers.cron import CronTrigger  # only the check needs it; the engine does not

        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            return _("'%(cron)s' never comes"), {"cron": cron}
    except (ValueError, OverflowError) as exc:
        return _("'%(cron)s' is not a valid cron line: %(error)s"), {"cron": cron, "error": str(exc)}
    return None


# Keys travel in Telegram button data (64 bytes in all, ids and prefixes included).
MAX_KEY = 32
MAX_CALLBACK = 64  # Telegram's limit on a button's data
MAX_ITEMS = 999  # the widest entry number a move button may carry


def _check_key_lengths(spec: ProcessDef, c: _Checker) -> None:
    def check(path: Path_, key: str) -> None:
        if len(key.encode()) > MAX_KEY:
            c.add(
                path,
                _("'%(key)s' is too long for a button (%(max)s bytes at most); use a shorter key"),
                key=key,
                max=MAX_KEY,
            )

    check(("process",), spec.process)
    for name, fdef in spec.fields.items():
        check(("fields", name), name)
        for option in fdef.options or {}:
            check(("fields", name, "options", option), option)
    for directory, entries in spec.directories.items():
        for index, entry in enumerate(entries):
            check(("directories", directory, index, "key"), entry.key)
    for index, stage in enumerate(spec.stages):
        check(("stages", index, "key"), stage.key)
        for t_index, task in enumerate(stage.tasks):
            for outcome in task.outcomes or {}:
                check(("stages", index, "tasks", t_index, "outcomes", outcome), outcome)


def _check_process(spec: ProcessDef, c: _Checker) -> None:
    _check_key_lengths(spec, c)
    roles = set(spec.roles)
    fields = spec.fields
    stage_keys: dict[str, int] = {}
    task_keys: dict[str, str] = {}
    followed: dict[tuple[str, str], str] = {}  # (list, item stage) -> the case's stage that follows it
    for index, stage in enumerate(spec.stages):
        if stage.key in stage_keys:
            c.add(("stages", index, "key"), _("stage '%(stage)s' is defined twice"), stage=stage.key)
        stage_keys[stage.key] = index
        for t_index, task in enumerate(stage.tasks):
            if task.key in task_keys:
                c.add(
                    ("stages", index, "tasks", t_index, "key"),
                    _("task '%(task)s' is also defined in stage '%(stage)s'; task keys must be unique"),
                    task=task.key,
                    stage=task_keys[task.key],
                )
            if task.key in fields:
                c.add(
                    ("stages", index, "tasks", t_index, "key"),
                    _("task '%(task)s' has the name of a field; the task's outcome is stored under its key"),
                    task=task.key,
                )
            task_keys[task.key] = stage.key
    c.env = typecheck.environment_of(spec)

    for name, fdef in fields.items():
        _check_field(spec, c, ("fields", name), fdef, name)
        _check_ask_if(c, ("fields", name, "ask_if"), name, fdef, fields)
        if fdef.track is not None:
            _check_track(spec, c, ("fields", name, "track"), name, fdef, stage_keys)
    for role in spec.start.roles:
        if role not in roles:
            c.add(
                ("start", "roles"),
                _("unknown role '%(role)s' (roles of this process: %(roles)s)"),
                role=role,
                roles=", ".join(spec.roles),
            )
    _check_field_list(c, ("start", "form"), spec.start.form, fields)
    _check_entry_rules(c, ("start", "form"), spec.start.form, spec.start.form_rules, fields)
    _check_field_list(c, ("start", "shows"), spec.start.shows, fields)
    for s_index, schedule in enumerate(spec.schedule):
        if schedule.initiator not in roles:
            c.add(("schedule", s_index, "initiator"), _("unknown role '%(role)s'"), role=schedule.initiator)
        cron = _cron_problem(schedule.cron)
        if cron:
            c.add(("schedule", s_index, "cron"), cron[0], **cron[1])
    _check_template(c, ("start", "title"), spec.start.title)
    if spec.amount is not None:
        worth = fields.get(spec.amount)
        if worth is None or worth.type != "money":
            c.add(
                ("amount",),
                _("'%(name)s' is not a money field of process '%(process)s'"),
                name=spec.amount,
                process=spec.process,
            )
    for l_index, lead in enumerate(spec.leads):
        if lead.initiator not in roles:
            c.add(("leads", l_index, "initiator"), _("unknown role '%(role)s'"), role=lead.initiator)
        for field_name in lead.map:
            mapped = fields.get(field_name)
            if mapped is None or mapped.type not in ("text", "number", "money", "date", "choice", "bool"):
                # A form posts texts: they become values of fields that read from text, nothing else.
                c.add(
                    ("leads", l_index, "map", field_name),
                    _("'%(name)s' is not a text, number, money, date, choice or yes/no field"),
                    name=field_name,
                )
        for field_name in lead.contacts:
            contact = fields.get(field_name)
            if field_name not in lead.map or contact is None or contact.type != "text":
                c.add(
                    ("leads", l_index, "contacts", field_name),
                    _("'%(name)s' is not a text field the form fills (in 'map')"),
                    name=field_name,
                )
        for field_name in spec.start.form:
            needed = fields.get(field_name)
            if needed is not None and needed.required and needed.ask_if is None and field_name not in lead.map:
                # Its leads would wait for someone to type it in chat instead of reaching the first stage.
                c.add(
                    ("leads", l_index, "map"),
                    _("the start form's required field '%(name)s' is not filled by the form"),
                    name=field_name,
                )

    entries: list[tuple[Path_, str | None]] = [(("start", "stage"), spec.start.stage)]
    entries += [(("leads", l_index, "stage"), lead.stage) for l_index, lead in enumerate(spec.leads)]
    for path, key in entries:
        _check_entry(spec, c, path, key, stage_keys)

    for a_index, notice in enumerate(spec.on_cancel):  # told as the case is cancelled: a stage's `notify`
        notice.check(_ActionChecker(c, ("on_cancel", a_index), spec, (CANCEL_REASON,)))
        _check_condition(c, ("on_cancel", a_index, "when"), notice.when)
    if spec.on_cancel and CANCEL_REASON in spec.fields:
        # The texts would read the cancel's reason where the author meant the field, or the other way round.
        c.add(("fields", CANCEL_REASON), _("'%(name)s' is the reason a cancelled case's on_cancel texts read: "
                                          "give the field another name"), name=CANCEL_REASON)  # fmt: skip

    for index, stage in enumerate(spec.stages):
        base: Path_ = ("stages", index)
        _check_template(c, (*base, "title"), stage.title)
        for a_index, action in enumerate(stage.on_enter):
            apath: Path_ = (*base, "on_enter", a_index)
            action.check(_ActionChecker(c, apath, spec))
            _check_condition(c, (*apath, "when"), action.when)
        for t_index, task in enumerate(stage.tasks):
            if task.for_each is None:
                _check_task(c, (*base, "tasks", t_index), task, roles, spec)
            else:
                _check_for_each(c, spec, stage, (*base, "tasks", t_index), task, roles)
        if stage.call is not None:
            _check_call(c, spec, stage, base, set(task_keys))
        if stage.join is not None and stage.join.any is not None:
            _check_condition(c, (*base, "join", "any"), stage.join.any)
        for n_index, transition in enumerate(stage.next):
            if transition.to not in stage_keys:
                c.add(
                    (*base, "next", n_index, "to"),
                    _("unknown stage '%(stage)s' (stages: %(stages)s)"),
                    stage=transition.to,
                    stages=", ".join(stage_keys),
                )
            _check_condition(c, (*base, "next", n_index, "when"), transition.when)
        for m_index, move in enumerate(stage.moves):
            if move.to not in stage_keys:
                c.add(
                    (*base, "moves", m_index, "to"),
                    _("unknown stage '%(stage)s' (stages: %(stages)s)"),
                    stage=move.to,
                    stages=", ".join(stage_keys),
                )
            for who in move.roles:
                _check_person(c, (*base, "moves", m_index, "roles"), who, roles, _user_field_of(fields))
        for who in stage.cancel.by if stage.cancel is not None else ():
            if who not in roles:  # a role's people are the ones asked; a person field would ask nobody at times
                unknown = _("unknown role '%(role)s' (roles of this process: %(roles)s)")
                c.add((*base, "cancel", "by"), unknown, role=who, roles=", ".join(sorted(roles)))
        _check_field_list(c, (*base, "requires"), stage.requires, fields)
        _check_field_list(c, (*base, "editable"), stage.editable, fields)
        _check_entry_rules(c, (*base, "editable"), stage.editable, stage.edit_rules, fields)
        if stage.follows is not None:
            _check_follows(spec, c, base, stage, followed)
        _check_tracked_lists_stay(spec, c, base, stage)
        if stage.wait is not None:
            _check_deadline(c, (*base, "wait"), stage.wait, fields)
        if stage.next and stage.next[-1].when is not None:
            # Without a fallback a case could stop at a stage with nowhere to go.
            c.add((*base, "next"), _("the last transition must have no 'when' (it is the fallback)"))
    _check_compared_reports(spec, c)

    known = {s.key for s in spec.stages}
    if any(to not in known for stage in spec.stages for to in typecheck.ways_on(spec, stage)):
        # A way to a stage that does not exist is already said, at its line: what it cuts off (stages it made
        # unreachable, stages with no way to an end) follows from it and would only bury it under more lines.
        return
    begins = entry_stages(spec)
    if any(key not in known for key in begins):
        return  # an unknown stage to begin at is said at its line, as an unknown way is
    reachable = _reachable(spec, *begins)
    for index, stage in enumerate(spec.stages):
        if stage.key not in reachable and len(begins) == 1:
            c.add(
                ("stages", index, "key"),
                _("stage '%(stage)s' cannot be reached from '%(first)s'"),
                stage=stage.key,
                first=begins[0],
            )
        elif stage.key not in reachable:
            c.add(
                ("stages", index, "key"),
                _("stage '%(stage)s' cannot be reached from the stages cases begin at: %(stages)s"),
                stage=stage.key,
                stages=", ".join(begins),
            )
    _check_items_begin(spec, c)
    if not any(s.final for s in spec.stages):
        c.add(("stages",), _("the process has no final stage, so no case could ever end"))
    else:
        for stage in typecheck.stuck_stages(spec):
            if stage.key in reachable:
                c.add(
                    ("stages", stage_keys.get(stage.key, 0), "key"),
                    _("from stage '%(stage)s' no way leads to a final stage, so a case there could never end"),
                    stage=stage.key,
                )


def _check_compared_reports(spec: ProcessDef, c: _Checker) -> None:
    """A report compares itself (`changes_since`) with the document field another report of the case wrote: a
    field no report writes has no rows kept to compare with, and its `changes` would stay empty for good."""
    written = {r.to for r in spec.reports()}
    for index, stage in enumerate(spec.stages):
        for a_index, action in enumerate(stage.on_enter):
            since = action.report.changes_since if isinstance(action, ReportAction) else None
            if since is not None and since in spec.fields and since not in written:
                c.add(
                    ("stages", index, "on_enter", a_index, "report", "changes_since"),
                    _("no report of this process writes '%(name)s', so there is nothing to compare with "
                      "(reports write: %(written)s)"),
                    name=since,
                    written=", ".join(sorted(written)),
                )  # fmt: skip


def _names(value: Any) -> list[str] | None:
    """`value` as a list of names, or None when it is not one (its shape error is said elsewhere)."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _entries(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of a list with their indices; anything else (a shape error said elsewhere) has none."""
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)] if isinstance(value, list) else []


def _check_readable(raw: dict[str, Any], c: _Checker) -> None:
    """The checks of names that need no valid model — roles, stages, fields a definition refers to — read on the
    raw mapping of a definition whose shape failed elsewhere. Every step looks before it reads: a part that is not
    what it should be is skipped (its own shape error says so), and a list of names that cannot be read whole
    (a stage without a readable key) checks nothing against it, rather than calling a good name unknown."""
    roles = _names(raw.get("roles"))
    fields = raw.get("fields") if isinstance(raw.get("fields"), dict) else None
    stages = _entries(raw.get("stages"))
    stage_keys: list[str] | None = [s["key"] for _i, s in stages if isinstance(s.get("key"), str)]
    if not isinstance(raw.get("stages"), list) or len(stage_keys or []) != len(raw["stages"]):
        stage_keys = None

    def role(path: Path_, name: Any, label: str) -> None:
        if roles is not None and isinstance(name, str) and name not in roles:
            c.add(path, label, role=name, roles=", ".join(roles))

    def user_field(name: str) -> bool:
        """Only a field read as another type is not one: unreadable fields, or one without a known type, are
        given the benefit of the doubt (their own shape errors say what is wrong)."""
        if fields is None:
            return True
        fdef = fields.get(name)
        return fdef is not None and not (isinstance(fdef, dict) and fdef.get("type") in FIELD_TYPES - {"user"})

    def person(path: Path_, who: Any) -> None:
        if roles is not None and isinstance(who, str):
            _check_person(c, path, who, roles, user_field)

    def field_list(path: Path_, names: Any) -> None:
        if fields is None:
            return
        for index, name in enumerate(_names(names) or []):
            if name not in fields:
                c.add(
                    (*path, index),
                    _("unknown field '%(name)s' (fields: %(fields)s)"),
                    name=name,
                    fields=", ".join(fields),
                )

    def stage(path: Path_, name: Any) -> None:
        if stage_keys is not None and isinstance(name, str) and name not in stage_keys:
            c.add(path, _("unknown stage '%(stage)s' (stages: %(stages)s)"), stage=name, stages=", ".join(stage_keys))

    start: dict[str, Any] = raw["start"] if isinstance(raw.get("start"), dict) else {}
    for name in _names(start.get("roles")) or []:
        role(("start", "roles"), name, _("unknown role '%(role)s' (roles of this process: %(roles)s)"))
    field_list(("start", "form"), start.get("form"))
    field_list(("start", "shows"), start.get("shows"))
    stage(("start", "stage"), start.get("stage"))
    for part in ("schedule", "leads"):
        for index, entry in _entries(raw.get(part)):
            role((part, index, "initiator"), entry.get("initiator"), _("unknown role '%(role)s'"))
            if part == "leads":
                stage((part, index, "stage"), entry.get("stage"))
    for index, entry in stages:
        base: Path_ = ("stages", index)
        for t_index, task in _entries(entry.get("tasks")):
            if "for_each" in task:  # its people may be the entry's own (item_workers): the model's check says
                continue
            assignee = task.get("assignee")
            if roles is not None and isinstance(assignee, str):
                _check_assignee(c, (*base, "tasks", t_index, "assignee"), assignee, roles, user_field)
            for who in _names(task.get("escalate_to")) or []:
                person((*base, "tasks", t_index, "escalate_to"), who)
        ways = entry.get("next")
        if isinstance(ways, str):
            stage((*base, "next"), ways)
        for n_index, way in _entries(ways):
            stage((*base, "next", n_index, "to"), way.get("to"))
        for m_index, move in _entries(entry.get("moves")):
            stage((*base, "moves", m_index, "to"), move.get("to"))
            for who in _names(move.get("roles")) or []:
                person((*base, "moves", m_index, "roles"), who)
        field_list((*base, "requires"), entry.get("requires"))
        field_list((*base, "editable"), entry.get("editable"))


def entry_stages(spec: ProcessDef) -> list[str]:
    """The stages cases begin at (`ProcessDef.beginnings`), in the definition's order, each once."""
    found = {key for _way, key in spec.beginnings()}
    order = {s.key: i for i, s in enumerate(spec.stages)}
    return sorted(found, key=lambda key: order.get(key, len(order)))


def _check_entry(spec: ProcessDef, c: _Checker, path: Path_, key: str | None, stage_keys: Mapping[str, int]) -> None:
    """A stage cases begin at: one of the process's, where a case can do something before it ends."""
    if key is None:
        return
    if key not in stage_keys:
        stages = ", ".join(stage_keys)
        c.add(path, _("unknown stage '%(stage)s' (stages: %(stages)s)"), stage=key, stages=stages)
        return
    stage = spec.stage(key)
    if stage.final:
        c.add(path, _("a case cannot begin at the final stage '%(stage)s': it would end as it starts"), stage=key)
    elif stage.follows is not None:
        # Its stage is derived from items or child cases a case just begun has none of.
        c.add(path, _("a case cannot begin at '%(stage)s': that stage follows items or child cases"), stage=key)


def _reachable(spec: ProcessDef, *starts: str) -> set[str]:
    by_key: dict[str, StageDef] = {s.key: s for s in spec.stages}
    seen: set[str] = set()
    todo = list(starts) or [spec.stages[0].key]
    while todo:
        key = todo.pop()
        if key in seen or key not in by_key:
            continue
        seen.add(key)
        todo.extend(typecheck.ways_on(spec, by_key[key]))
    return seen


def _check_track(
    spec: ProcessDef, c: _Checker, path: Path_, name: str, fdef: FieldDef, stage_keys: Mapping[str, int]
) -> None:
    """An item track: its moves name its own stages, its required fields are the entry's, its rules read `item`."""
    track = fdef.track
    assert track is not None
    entry_fields = fdef.fields or {}
    keys: list[str] = []
    for index, stage in enumerate(track.stages):
        if stage.key in keys:
            c.add((*path, "stages", index, "key"), _("item stage '%(stage)s' is defined twice"), stage=stage.key)
        keys.append(stage.key)
        # The move button carries the case, the list, the entry and the stage in Telegram's 64 bytes.
        if len(f"i:move:{10**10}:{name}:{MAX_ITEMS}:{stage.key}".encode()) > MAX_CALLBACK:
            c.add(
                (*path, "stages", index, "key"),
                _("'%(key)s' and the list's name '%(name)s' are too long together for a button; use shorter keys"),
                key=stage.key,
                name=name,
            )
    if track.role is not None and track.role not in spec.roles:
        c.add((*path, "role"), _("unknown role '%(role)s'"), role=track.role)
    for index, stage in enumerate(track.stages):
        approvers = [((*path, "stages", index, "approval"), stage.approval)] + [
            ((*path, "stages", index, "moves", m_index, "approval"), move.approval)
            for m_index, move in enumerate(stage.moves)
        ]
        for where, role in approvers:
            if role is not None and role not in spec.roles:
                c.add(where, _("unknown role '%(role)s'"), role=role)
    for key, stage_key in (("start", track.start), ("all_cancelled", track.all_cancelled)):  # the case's stages
        if stage_key is not None and stage_key not in stage_keys:
            c.add(
                (*path, key),
                _("unknown stage '%(stage)s' (stages: %(stages)s)"),
                stage=stage_key,
                stages=", ".join(stage_keys),
            )
    followed = any(s.follows is not None and s.follows.list == name for s in spec.stages)
    # Left with no item that counts — each cancelled, each removed (`cancel_removed`), or an optional list empty.
    emptied = any(s.cancelled for s in track.stages) or "cancel_removed" in (track.on_change or ()) or not fdef.fewest
    if track.all_cancelled is None and followed and emptied:
        c.add(
            path,
            _("the case follows these items and an item can be cancelled: name the stage the case goes to when "
              "every item is cancelled ('all_cancelled: <stage>'), else it waits there with nobody told"),
        )  # fmt: skip
    saved = c.env
    c.env = typecheck.entry_environment(spec, saved, name)
    try:
        _check_template(c, (*path, "title"), track.title)
        for index, stage in enumerate(track.stages):
            base: Path_ = (*path, "stages", index)
            _check_template(c, (*base, "title"), stage.title)
            for m_index, move in enumerate(stage.moves):
                _check_condition(c, (*base, "moves", m_index, "when"), move.when)
                if move.to not in keys:
                    c.add(
                        (*base, "moves", m_index),
                        _("unknown item stage '%(stage)s' (stages of the track: %(stages)s)"),
                        stage=move.to,
                        stages=", ".join(keys),
                    )
            for part in ("requires", "editable"):
                for r_index, field in enumerate(getattr(stage, part)):
                    if field not in entry_fields:
                        c.add(
                            (*base, part, r_index),
                            _("'%(name)s' is not a field of an entry of '%(list)s' (its fields: %(fields)s)"),
                            name=field,
                            list=name,
                            fields=", ".join(entry_fields),
                        )
            for e_index, field in enumerate(stage.editable):
                # Its «✏️» button carries the case, the list, the entry and the field in Telegram's 64 bytes.
                if len(f"i:edit:{10**10}:{name}:{MAX_ITEMS}:{field}".encode()) > MAX_CALLBACK:
                    c.add(
                        (*base, "editable", e_index),
                        _("'%(key)s' and the list's name '%(name)s' are too long together for a button; use shorter "
                          "keys"),
                        key=field,
                        name=name,
                    )  # fmt: skip
            for k_index, check in enumerate(stage.checks):
                _check_condition(c, (*base, "checks", k_index, "rule"), check.rule)
            for r_index, reminder in enumerate(stage.remind):
                _check_deadline(c, (*base, "remind", r_index), reminder, spec.fields)
            for n_index, notice in enumerate(stage.on_enter):
                notice_at: Path_ = (*base, "on_enter", n_index)
                for w_index, who in enumerate(notice.notify):
                    if who in spec.roles or who in PERSON_REFS or who == ITEM_WORKERS:
                        continue
                    if who.startswith("field:"):
                        user_field = _user_field_of(spec.fields)
                        _check_person(c, (*notice_at, "notify", w_index), who, set(spec.roles), user_field)
                        continue
                    c.add(
                        (*notice_at, "notify", w_index),
                        _("unknown role '%(role)s' (roles: %(roles)s; or initiator, responsible, field:<name>, "
                          "item_workers: who worked on the item)"),
                        role=who,
                        roles=", ".join(sorted(spec.roles)),
                    )  # fmt: skip
                _check_template(c, (*notice_at, "text"), notice.text)
    finally:
        c.env = saved


def _track_begins(spec: ProcessDef, name: str) -> str:
    """The case's stage at which the items of `name` begin their track (as the engine decides it)."""
    track = spec.fields[name].track
    assert track is not None
    if track.start is not None:
        return track.start
    followers = spec.followers(name)
    return followers[0].key if followers else spec.stages[0].key


def _check_items_begin(spec: ProcessDef, c: _Checker) -> None:
    """Items begin their track as the case enters the track's stage (`_track_begins`: its `start`, else the first
    stage following them, else the case's first stage). A case that begins past it — a person's `start: {stage: …}`
    beyond the first stage, the track naming no stage and none following it — would hold items with no stage, which
    no button moves and nothing follows."""
    known = {s.key for s in spec.stages}
    for name, track in spec.tracks().items():
        begins = _track_begins(spec, name)
        if begins not in known:
            continue  # an unknown stage is said at its line
        by_default = track.start is None and not spec.followers(name)
        for entry in entry_stages(spec):
            if entry != begins and (by_default or begins not in _reachable(spec, entry)):
                c.add(
                    ("fields", name, "track"),
                    _("the items of '%(name)s' begin at stage '%(stage)s', which a case begun at '%(entry)s' does "
                      "not pass: they would never begin; name the stage they begin at ('start: <stage>' in 'track')"),
                    name=name,
                    stage=begins,
                    entry=entry,
                )  # fmt: skip
                break


def _check_tracked_lists_stay(spec: ProcessDef, c: _Checker, base: Path_, stage: StageDef) -> None:
    """Each item's state is kept beside its entry, by position: once items have begun, their list must not be
    answered anew (an entry removed in the middle would hand its stage to the next one). Before they begin — at a
    stage the case cannot come back to once at the track's start — the list may be filled by a task (a deal's items
    are known when its contract is prepared, not when the lead comes)."""
    tracked = {
        name
        for name, track in spec.tracks().items()
        if track.on_change is None and stage.key in _reachable(spec, _track_begins(spec, name))
    }
    places: list[tuple[Path_, list[str]]] = [((*base, "editable"), stage.editable)]
    for t_index, task in enumerate(stage.tasks):
        places.append(((*base, "tasks", t_index, "fields"), ref_names(task.fields)))
        for key, outcome in (task.outcomes or {}).items():
            places.append(((*base, "tasks", t_index, "outcomes", key, "fields"), ref_names(outcome.fields)))
    for path, names in places:
        for index, name in enumerate(names):
            if name in tracked:
                c.add(
                    (*path, index),
                    _("the items of '%(name)s' move along a track, so the list is filled once, in the start form"),
                    name=name,
                )


def _check_follows(
    spec: ProcessDef, c: _Checker, base: Path_, stage: StageDef, followed: dict[tuple[str, str], str]
) -> None:
    """A stage derived from the items: it names a list with a track, and one of that track's stages."""
    follows = stage.follows
    assert follows is not None
    if follows.calls is not None:
        caller = next((s for s in spec.stages if s.key == follows.calls), None)
        if caller is None or caller.call is None or caller.call.for_each is None:
            c.add(
                (*base, "follows", "calls"),
                _("'%(stage)s' is not a stage that calls a process for each entry of a list"),
                stage=follows.calls,
            )
        elif (follows.calls, follows.at_least) in followed:
            c.add(
                (*base, "follows", "at_least"),
                _("stage '%(stage)s' already follows stage '%(item)s'"),
                stage=followed[(follows.calls, follows.at_least)],
                item=follows.at_least,
            )
        followed[(follows.calls, follows.at_least)] = stage.key
        return  # its `at_least` names a stage of the called process: `cross_check` knows it
    assert follows.list is not None
    fdef = spec.fields.get(follows.list)
    if fdef is None or fdef.track is None:
        c.add(
            (*base, "follows", "list"),
            _("'%(name)s' is not a list field with a 'track'"),
            name=follows.list,
        )
        return
    keys = [s.key for s in fdef.track.stages]
    if follows.at_least not in keys:
        c.add(
            (*base, "follows", "at_least"),
            _("unknown item stage '%(stage)s' (stages of the track: %(stages)s)"),
            stage=follows.at_least,
            stages=", ".join(keys),
        )
        return
    if fdef.track.stage(follows.at_least).cancelled:
        c.add(
            (*base, "follows", "at_least"),
            _("item stage '%(stage)s' is a cancelled one: its items do not count for the case"),
            stage=follows.at_least,
        )
    seen = followed.get((follows.list, follows.at_least))
    if seen is not None:
        c.add(
            (*base, "follows", "at_least"),
            _("stage '%(stage)s' already follows item stage '%(item)s'"),
            stage=seen,
            item=follows.at_least,
        )
    followed[(follows.list, follows.at_least)] = stage.key


def _check_field(
    spec: ProcessDef,
    c: _Checker,
    path: Path_,
    fdef: FieldDef,
    name: str,
    siblings: Mapping[str, FieldDef] | None = None,
) -> None:
    _check_date_rules(c, path, name, fdef, {**spec.fields, **(siblings or {})})
    _check_bounds(spec, c, path, name, fdef, siblings or {})
    _check_template(c, (*path, "default"), fdef.default)
    if siblings is None:
        _check_template(c, (*path, "label"), fdef.label_template)  # over the case, as a title
    elif fdef.label_template is not None:
        # An entry's fields are named alike in every entry, on the entry's forms, cards and the panel.
        c.add((*path, "label"), _("the label of a list entry's field cannot read the case: write it as plain words"))
    if fdef.type == "directory" and fdef.directory not in spec.directories:
        c.add((*path, "directory"), _("unknown directory '%(directory)s'"), directory=fdef.directory)
    if fdef.type == "user" and fdef.role is not None and fdef.role not in spec.roles:
        c.add((*path, "role"), _("unknown role '%(role)s'"), role=fdef.role)
    if fdef.type == "list" and fdef.fields:
        _check_template(c, (*path, "total"), fdef.total)  # over the case, as any text of it
        if fdef.count is not None:
            counter = spec.fields.get(fdef.count)
            if counter is None or counter.type != "number":
                c.add((*path, "count"), _("'%(name)s' is not a number field"), name=fdef.count)
        for sub_name, sub in fdef.fields.items():
            _check_field(spec, c, (*path, "fields", sub_name), sub, sub_name, fdef.fields)
        saved = c.env
        c.env = typecheck.entry_environment(spec, saved, name)
        try:
            _check_template(c, (*path, "line"), fdef.line)
        finally:
            c.env = saved
        # An entry's `ask_if` reads the entry's own fields by name (`availability == 'to_order'`).
        c.env = {sub_name: typecheck.field_type(spec, sub) for sub_name, sub in fdef.fields.items()}
        try:
            for sub_name, sub in fdef.fields.items():
                _check_ask_if(c, (*path, "fields", sub_name, "ask_if"), sub_name, sub, fdef.fields)
        finally:
            c.env = saved


def _check_bounds(
    spec: ProcessDef, c: _Checker, path: Path_, name: str, fdef: FieldDef, siblings: Mapping[str, FieldDef]
) -> None:
    """`at_least`/`at_most`: a number or an amount of the case (an entry's own fields by name too), never the field
    itself, named for the person by its `label` when it is not a field's own value."""
    env = {**c.env, **{sub: typecheck.field_type(spec, sdef) for sub, sdef in siblings.items()}}
    for rule, bound in fdef.bounds():
        where = (*path, rule)
        found = typecheck.value_type(bound.value, env, c.reporter(where))
        if found is None:
            continue
        if name in compile_expression(bound.value).names:
            c.add(where, _("'%(rule)s' of '%(name)s' cannot be worked out of the field itself"), rule=rule, name=name)
        elif found.kind not in ("number", "money", "any"):
            c.add(
                where,
                _("'%(rule)s: %(source)s' is %(type)s, not a number or an amount"),
                rule=rule, source=bound.value, type=found.word,
            )  # fmt: skip
        elif bound.label is None and not bound.value.strip().isidentifier():  # a bare name: a field's, or unknown
            c.add(
                where,
                _("'%(rule)s: %(source)s' needs a 'label': how the person is told what the bound is"),
                rule=rule, source=bound.value,
            )  # fmt: skip


def _check_ask_if(c: _Checker, path: Path_, name: str, fdef: FieldDef, fields: dict[str, FieldDef]) -> None:
    """`ask_if` reads other fields (names and types checked as any condition), never the field itself."""
    if fdef.ask_if is None:
        return
    _check_condition(c, path, fdef.ask_if)
    try:
        names = compile_expression(fdef.ask_if).names
    except ExpressionError:
        return  # already reported as a condition that cannot be read
    if name in names:
        c.add(path, _("'%(name)s' cannot be asked on a condition over itself"), name=name)


def _check_refs(c: _Checker, path: Path_, refs: list[FieldRef], fields: dict[str, FieldDef]) -> None:
    """A task's fields: each names a field; one asked in its own words may add date rules to a date field."""
    _check_field_list(c, path, ref_names(refs), fields)
    for index, ref in enumerate(refs):
        fdef = fields.get(ref.field)
        _check_template(c, (*path, index, "label"), ref.label_template)
        if fdef is not None and ref.default is not None:
            if fdef.type != "text":
                c.add((*path, index), _("only a text field may have a 'default'"))
            _check_template(c, (*path, index, "default"), ref.default)
        if fdef is None or not ref.date_rules():
            continue
        if fdef.type not in ("date", "datetime"):
            c.add((*path, index), _("'%(name)s' is not a date field: it cannot have date rules"), name=ref.field)
            continue
        _check_date_rules(c, (*path, index), ref.field, ref, fields)


def _check_entry_rules(
    c: _Checker, path: Path_, names: list[str], rules: Mapping[str, FieldRef], fields: Mapping[str, FieldDef]
) -> None:
    """A start form's or a stage's `editable` entries given as `{field: …, not_before: …}`: their date rules."""
    for index, name in enumerate(names):
        ref, fdef = rules.get(name), fields.get(name)
        if ref is None or fdef is None or not ref.date_rules():
            continue
        if fdef.type not in ("date", "datetime"):
            c.add((*path, index), _("'%(name)s' is not a date field: it cannot have date rules"), name=name)
            continue
        _check_date_rules(c, (*path, index), name, ref, fields)


def _check_date_rules(c: _Checker, path: Path_, name: str, rules: DateRules, fields: Mapping[str, FieldDef]) -> None:
    """Each rule names `today` or another date (or date and time) field: of the process, or of the same entry."""
    for rule, named in rules.date_rules():
        for other in alternatives(named) if named not in DATE_RULE_WORDS else []:
            _check_date_rule(c, path, name, rule, other, fields)


def _check_date_rule(
    c: _Checker, path: Path_, name: str, rule: str, other: str, fields: Mapping[str, FieldDef]
) -> None:
    """One field a date rule names (`today` only alone)."""
    odef = fields.get(other)
    if other == name:
        c.add((*path, rule), _("'%(rule)s: %(name)s' compares the field with itself"), rule=rule, name=other)
    elif odef is None:
        c.add(
            (*path, rule),
            _("'%(rule)s' names an unknown field '%(name)s' (a date field, or today)"),
            rule=rule,
            name=other,
        )
    elif odef.type not in ("date", "datetime"):
        c.add((*path, rule), _("'%(rule)s' names '%(name)s', which is not a date field"), rule=rule, name=other)


def _check_field_list(c: _Checker, path: Path_, names: list[str], fields: dict[str, FieldDef]) -> None:
    for index, name in enumerate(names):
        if name not in fields:
            c.add(
                (*path, index), _("unknown field '%(name)s' (fields: %(fields)s)"), name=name, fields=", ".join(fields)
            )


def _check_person(
    c: _Checker, path: Path_, who: str, roles: Collection[str], user_field: Callable[[str], bool]
) -> None:
    """A person a definition names: one of its roles, initiator or responsible, or `field:<name>` of a user field
    (`user_field`: whether a field of that name is one). The same check for a valid model and for the raw mapping
    of a definition whose shape failed, which reads its fields differently."""
    if who in roles or who in PERSON_REFS:
        return
    if who.startswith("field:"):
        if not user_field(who.removeprefix("field:")):
            c.add(path, _("'%(who)s' does not name a person field"), who=who)
        return
    c.add(
        path,
        _("unknown role '%(role)s' (roles: %(roles)s; or initiator, responsible, field:<name>)"),
        role=who,
        roles=", ".join(sorted(roles)),
    )


def _check_assignee(
    c: _Checker, path: Path_, who: str, roles: Collection[str], user_field: Callable[[str], bool]
) -> None:
    """A task's assignee: a person (`_check_person`), or `organisation:<role>`, one of the process's roles."""
    role = organisation_role(who)
    if role is None:
        _check_person(c, path, who, roles, user_field)
    elif role not in roles:
        c.add(
            path,
            _("'%(who)s' names an unknown role (roles: %(roles)s)"),
            who=who,
            roles=", ".join(sorted(roles)),
        )


def _user_field_of(fields: Mapping[str, FieldDef]) -> Callable[[str], bool]:
    """Whether a field of a valid model is a user field (`_check_person`'s question)."""
    return lambda name: name in fields and fields[name].type == "user"


def _check_call(c: _Checker, spec: ProcessDef, stage: StageDef, base: Path_, task_keys: set[str]) -> None:
    """This side of a `call`; the called process and the types of what passes between are `cross_check`'s."""
    assert stage.call is not None
    if stage.key in spec.fields or stage.key in task_keys:
        c.add(
            (*base, "key"),
            _("stage '%(stage)s' calls a process: its key holds the child's result, so it cannot be a field or task"),
            stage=stage.key,
        )
    call = stage.call
    listed = spec.fields.get(call.for_each) if call.for_each is not None else None
    if call.for_each is not None and (listed is None or listed.type != "list"):
        c.add((*base, "call", "for_each"), _("'%(name)s' is not a list field"), name=call.for_each)
    known = call_fields(spec, call)
    for child_field, mine in call.map.items():
        if mine not in known:
            c.add((*base, "call", "map", child_field), _("unknown field '%(name)s'"), name=mine)
    for mine in call.back:
        if mine not in known:
            c.add((*base, "call", "back", mine), _("unknown field '%(name)s'"), name=mine)
    if call.for_each is None:
        return
    if call.on_change is None:
        followers = [s for s in spec.stages if s.follows is not None and s.follows.calls == stage.key]
        if any(call.for_each in s.editable for s in [stage, *followers]):
            c.add(
                (*base, "call", "for_each"),
                _("'%(name)s' can be changed while a case is called for each of its entries; say what then "
                  "happens with 'on_change'"),
                name=call.for_each,
            )
    if call.join is not None and call.join.any is not None:
        saved = c.env
        c.env = typecheck.entry_environment(spec, saved, call.for_each)
        try:
            _check_condition(c, (*base, "call", "join", "any"), call.join.any)
        finally:
            c.env = saved


def call_fields(spec: ProcessDef, call: CallDef) -> dict[str, FieldDef]:
    """The fields a call's `map` and `back` may name: the case's, and with `for_each` the entry's as `item.<name>`."""
    fields = dict(spec.fields)
    listed = spec.fields.get(call.for_each) if call.for_each is not None else None
    if listed is not None and listed.fields:
        fields.update({f"item.{name}": sub for name, sub in listed.fields.items()})
    return fields


def _check_for_each(
    c: _Checker, spec: ProcessDef, stage: StageDef, path: Path_, task: TaskDef, roles: set[str]
) -> None:
    """A task run once per entry of a list: its texts and join see `item`; the list stays as it is meanwhile."""
    assert task.for_each is not None
    fdef_name = task.for_each
    fdef = spec.fields.get(fdef_name)
    if fdef is None or fdef.type != "list":
        c.add((*path, "for_each"), _("'%(name)s' is not a list field"), name=task.for_each)
    if task.fields or any(o.fields for o in task.outcome_defs().values()):
        # Parallel answers into the case's own fields would overwrite each other.
        c.add((*path, "fields"), _("a task with 'for_each' is answered with its outcome and comment only"))
    changers = {ref.field for t in stage.tasks for ref in t.fields} | set(stage.editable)
    if task.for_each in changers and task.on_change is None:
        # One task per entry present when the stage is entered: the list must not change under them.
        c.add(
            (*path, "for_each"),
            _(
                "'%(name)s' can be changed at stage '%(stage)s', where a task runs for each of its entries; say what "
                "then happens with 'on_change'"
            ),
            name=task.for_each,
            stage=stage.key,
        )
    if task.assignee.startswith(ITEM_PREFIX):
        name = task.assignee.removeprefix(ITEM_PREFIX)
        sub = (fdef.fields or {}).get(name) if fdef is not None else None
        if sub is None or not (sub.type == "user" or (sub.type == "choice" and set(sub.options or {}) <= roles)):
            c.add(
                (*path, "assignee"),
                _("'%(who)s': the entry's '%(name)s' must be a person field or a choice of this process's roles"),
                who=task.assignee,
                name=name,
            )
        task = task.model_copy(update={"assignee": "initiator"})  # checked above; the rest as any task
    saved = c.env
    c.env = typecheck.entry_environment(spec, saved, fdef_name)
    try:
        _check_task(c, path, task, roles, spec)
        if task.join is not None and task.join.any is not None:
            _check_condition(c, (*path, "join", "any"), task.join.any)
    finally:
        c.env = saved


def _check_task(c: _Checker, path: Path_, task: TaskDef, roles: set[str], spec: ProcessDef) -> None:
    fields = spec.fields
    _check_assignee(c, (*path, "assignee"), task.assignee, roles, _user_field_of(fields))
    _check_refs(c, (*path, "fields"), task.fields, fields)
    for index, attached in enumerate(task.attach):
        if attached not in fields or fields[attached].type not in FILE_TYPES:
            c.add((*path, "attach", index), _("'%(name)s' is not a photo or document field"), name=attached)
    for key, outcome in task.outcome_defs().items():
        _check_refs(c, (*path, "outcomes", key, "fields"), outcome.fields, fields)
        _check_done(c, (*path, "outcomes", key, "done"), outcome)
        _check_comment_label(c, (*path, "outcomes", key, "comment_label"), outcome)
    if task.kind == "confirm" and not task.fields:
        log.debug("confirm task %s has no required attachments", task.key)
    for who in task.escalate_to:
        _check_person(c, (*path, "escalate_to"), who, roles, _user_field_of(fields))
    if task.due is not None:
        _check_deadline(c, (*path, "due"), task.due, fields)
    elif task.remind or task.escalate_to:
        c.add((*path, "due"), _("'remind' and 'escalate_to' need a 'due'"))
    for r_index, reminder in enumerate(task.remind):
        try:
            parse_offset(reminder)
        except DeadlineError as exc:
            c.add((*path, "remind", r_index), exc.message, **exc.params)
    _check_condition(c, (*path, "when"), task.when)
    _check_template(c, (*path, "title"), task.title)
    _check_template(c, (*path, "text"), task.text)
    for n_index, notice in enumerate(task.on_done):  # told as the task is answered: a stage's `notify`
        notice.check(_ActionChecker(c, (*path, "on_done", n_index), spec))
        _check_condition(c, (*path, "on_done", n_index, "when"), notice.when)


def _check_done(c: _Checker, path: Path_, outcome: OutcomeDef) -> None:
    """An outcome's `done` says the decision in every language its button does: an English reader must not read
    a decision in Russian under a button they read in English."""
    if outcome.done is None:
        return
    done = {"ru": outcome.done} if isinstance(outcome.done, str) else outcome.done
    label = {"ru": outcome.label} if isinstance(outcome.label, str) else outcome.label
    if not all(text.strip() for text in done.values()):
        c.add(path, _("'done' is empty: say how the decision reads once made, or leave it out"))
    missing = sorted(set(label) - set(done))
    if missing:
        c.add(path, _("'done' lacks the languages its label has: %(langs)s"), langs=", ".join(missing))


def _check_comment_label(c: _Checker, path: Path_, outcome: OutcomeDef) -> None:
    """An outcome's `comment_label` names the comment it asks for: one that asks none has nothing to name, and
    the question is read in every language the outcome's button is."""
    if outcome.comment_label is None:
        return
    if outcome.comment is None:
        c.add(path, _("'comment_label' names the comment an outcome asks for: add 'comment: required' (or "
                      "'optional'), or leave 'comment_label' out"))  # fmt: skip
        return
    said = {"ru": outcome.comment_label} if isinstance(outcome.comment_label, str) else outcome.comment_label
    label = {"ru": outcome.label} if isinstance(outcome.label, str) else outcome.label
    if not all(text.strip() for text in said.values()):
        c.add(path, _("'comment_label' is empty: say what the comment is asked as, or leave it out"))
        return
    missing = sorted(set(label) - set(said))
    if missing:
        c.add(path, _("'comment_label' lacks the languages its outcome's label has: %(langs)s"),
              langs=", ".join(missing))  # fmt: skip


def _check_deadline(c: _Checker, path: Path_, text: str, fields: dict[str, FieldDef]) -> None:
    try:
        deadline = parse_deadline(text)
    except DeadlineError as exc:
        c.add(path, exc.message, **exc.params)
        return
    for name in sorted(deadline.field_refs - deadline.number_refs):
        fdef = fields.get(name)
        if fdef is None or fdef.type not in ("date", "datetime"):
            c.add(
                path, _("the deadline '%(text)s' refers to '%(name)s', which is not a date field"), text=text, name=name
            )
    for name in sorted(deadline.number_refs):
        fdef = fields.get(name)
        if fdef is None or fdef.type != "number":
            c.add(
                path,
                _("the deadline '%(text)s' counts the number in '%(name)s', which is not a number field"),
                text=text,
                name=name,
            )
        elif not fdef.integer and not _counts_hours(deadline, name):
            c.add(
                path,
                _("the deadline '%(text)s' counts days in '%(name)s', which may hold a fraction "
                  "(give the field 'integer: true')"),
                text=text,
                name=name,
            )


def _counts_hours(deadline: Deadline, name: str) -> bool:
    """Whether the deadline reads `name` as a number of minutes or hours (which may be a fraction)."""
    if deadline.amount_field == name and deadline.span is not None:
        return deadline.span.unit in ("minutes", "hours")
    return deadline.otherwise is not None and _counts_hours(deadline.otherwise, name)


def _check_condition(c: _Checker, path: Path_, source: str | None) -> None:
    if source is not None:
        typecheck.check_condition(source, c.env, c.reporter(path))


def _check_template(c: _Checker, path: Path_, text: LocalText | None, extra: Iterable[str] = ()) -> None:
    if text is None:
        return
    for value in [text] if isinstance(text, str) else list(text.values()):
        typecheck.check_template(value, c.env, c.reporter(path), extra)
