"""Load process definitions from YAML and check them, pointing every mistake to a file and line.

Two passes: pydantic checks the shape of each piece; then whole-process checks (unknown stage, role,
field, unreachable stage, deadlines and conditions that cannot be read). Both report `file:line: message`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flows.deadlines import DeadlineError, parse_deadline, parse_offset
from flows.expressions import ExpressionError, compile_expression
from flows.model import (
    ACTION_TAG,
    FILE_TYPES,
    PERSON_REFS,
    FieldDef,
    LocalText,
    ProcessDef,
    StageDef,
    TaskDef,
)
from flows.templating import TemplateError, check_syntax

log = logging.getLogger(__name__)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


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

    def add(self, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.file, self.line_of(path), message))


@dataclass
class _ActionChecker:
    """One action's view of the checker (`flows.model.ActionCheck` and `ProcessCheck`): paths relative to it."""

    checker: _Checker
    base: Path_
    spec: ProcessDef

    @property
    def fields(self) -> dict[str, FieldDef]:
        return self.spec.fields

    def add(self, path: Path_, message: str, **params: Any) -> None:
        self.checker.add((*self.base, *path), message % params if params else message)

    def template(self, path: Path_, text: LocalText | None) -> None:
        _check_template(self.checker, (*self.base, *path), text)

    def person(self, path: Path_, who: str) -> None:
        _check_person(self.checker, (*self.base, *path), who, set(self.spec.roles), self.spec.fields)

    def field_list(self, path: Path_, names: list[str]) -> None:
        _check_field_list(self.checker, (*self.base, *path), names, self.spec.fields)

    def files(self, path: Path_, names: list[str]) -> None:
        for index, name in enumerate(names):
            fdef = self.spec.fields.get(name)
            if fdef is None or fdef.type not in FILE_TYPES:
                self.add((*path, index), "'%(name)s' is not a photo or document field", name=name)

    def field_of_type(self, path: Path_, name: str, types: frozenset[str]) -> None:
        fdef = self.spec.fields.get(name)
        if fdef is None or fdef.type not in types:
            self.add(path, "'%(name)s' is not a %(types)s field", name=name, types=" or ".join(sorted(types)))

    def hand_off(self, path: Path_, target: ProcessDef, values: dict[str, str]) -> None:
        """Types of carried fields are compared by the type checker (later); here nothing more to check."""


def _duplicate_keys(node: yaml.Node | None, checker: _Checker) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                checker.problems.append(
                    Problem(checker.file, key_node.start_mark.line + 1, f"the key '{key_node.value}' appears twice")
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


def _pydantic_message(error: Any) -> str:
    if _clean_loc(tuple(error["loc"])) != tuple(p for p in error["loc"] if not str(p).startswith(ACTION_TAG)):
        name = ".".join(str(p) for p in _clean_loc(tuple(error["loc"])))
        return f"{name}: must be a text, or a text per language like {{ru: …, en: …}} (quote texts with commas)"
    loc = ".".join(str(part) for part in _clean_loc(tuple(error["loc"])) if not str(part).startswith("function-"))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown key '{error['loc'][-1]}'"
    if error["type"] == "missing":
        return f"'{error['loc'][-1]}' is required here"
    if error["type"] == "literal_error":
        return f"{loc}: {message}"
    return f"{loc}: {message}" if loc else message


def parse_definition(source: str, file: str = "<string>") -> LoadedDefinition:
    """Parse and check one definition; raise DefinitionError with every problem found."""
    checker = _Checker(file=file, root=None)
    try:
        checker.root = yaml.compose(source)
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise DefinitionError([Problem(file, line, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(raw, dict):
        raise DefinitionError([Problem(file, 1, "a definition is a mapping with 'process', 'roles', 'stages', …")])
    _duplicate_keys(checker.root, checker)
    try:
        spec = ProcessDef.model_validate(raw)
    except ValidationError as exc:
        seen: set[tuple[int, str]] = set()
        for error in exc.errors():
            path = _clean_loc(tuple(error["loc"]))
            message = _pydantic_message(error)
            key = (checker.line_of(path), message)
            if key not in seen:
                seen.add(key)
                checker.add(path, message)
        raise DefinitionError(checker.problems) from None
    _check_process(spec, checker)
    if checker.problems:
        raise DefinitionError(checker.problems)
    digest = hashlib.sha256(source.encode()).hexdigest()
    return LoadedDefinition(spec=spec, source=source, digest=digest, path=file)


def load_file(path: str | Path) -> LoadedDefinition:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from None
    return parse_definition(source, str(path))


def check_paths(paths: Iterable[str | Path]) -> list[Problem]:
    """Every problem in the given files and folders (folders: their *.yaml files)."""
    problems: list[Problem] = []
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.y*ml") if p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            problems.append(Problem(str(path), 1, "no such file or folder"))
    seen: dict[str, str] = {}
    good: dict[str, LoadedDefinition] = {}
    for file in files:
        try:
            loaded = load_file(file)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if loaded.key in seen:
            problems.append(Problem(str(file), 1, f"process '{loaded.key}' is also defined in {seen[loaded.key]}"))
        seen[loaded.key] = str(file)
        good[loaded.key] = loaded
    problems.extend(cross_check(good, complete=bool(files) and all(Path(p).is_dir() for p in paths)))
    return problems


def cross_check(library: dict[str, LoadedDefinition], *, complete: bool = True) -> list[Problem]:
    """Checks between processes: a hand-off, report or notice must name a process that exists, and its
    stages and fields. `complete`: the library is all there is, so a name not in it is a mistake."""
    problems: list[Problem] = []
    for loaded in library.values():
        checker = _Checker(file=loaded.path, root=yaml.compose(loaded.source))
        for index, stage in enumerate(loaded.spec.stages):
            for a_index, action in enumerate(stage.on_enter):
                name = action.other_process()
                if name is None:
                    continue
                apath: Path_ = ("stages", index, "on_enter", a_index)
                target = library.get(name)
                if target is None:
                    if complete:
                        checker.add((*apath, action.kind, "process"), f"unknown process '{name}'")
                    continue
                action.check_other(_ActionChecker(checker, apath, loaded.spec), target.spec)
        problems.extend(checker.problems)
    return problems


def load_library(folder: str | Path) -> dict[str, LoadedDefinition]:
    """All definitions in a folder; raises DefinitionError if any is wrong (a broken library must not start)."""
    folder = Path(folder)
    problems = check_paths([folder])
    if problems:
        raise DefinitionError(problems)
    loaded = [load_file(p) for p in sorted(folder.glob("*.y*ml"))]
    return {d.key: d for d in loaded}


# --- whole-process checks -------------------------------------------------------------------------------

_CONTEXT_NAMES = frozenset({"case", "now", "today", "initiator", "responsible", "started_on"})


def cron_problem(cron: str) -> str | None:
    """Why a cron line cannot drive a schedule, or None. Checked for real: «0 25 * * thu» has five fields
    but no hour 25, and «0 9 30 2 *» never comes."""
    if len(cron.split()) != 5:
        return f"'{cron}' is not a cron line of five fields (minute hour day month weekday), e.g. '0 9 * * thu'"
    try:
        from apscheduler.triggers.cron import CronTrigger  # only the check needs it; the engine does not

        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            return f"'{cron}' never comes"
    except ValueError as exc:
        return f"'{cron}' is not a valid cron line: {exc}"
    return None


# Keys travel in Telegram button data (64 bytes in all, ids and prefixes included).
MAX_KEY = 32


def _check_key_lengths(spec: ProcessDef, c: _Checker) -> None:
    def check(path: Path_, key: str) -> None:
        if len(key.encode()) > MAX_KEY:
            c.add(path, f"'{key}' is too long for a button ({MAX_KEY} bytes at most); use a shorter key")

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
    for index, stage in enumerate(spec.stages):
        if stage.key in stage_keys:
            c.add(("stages", index, "key"), f"stage '{stage.key}' is defined twice")
        stage_keys[stage.key] = index
        for t_index, task in enumerate(stage.tasks):
            if task.key in task_keys:
                c.add(
                    ("stages", index, "tasks", t_index, "key"),
                    f"task '{task.key}' is also defined in stage '{task_keys[task.key]}'; task keys must be unique",
                )
            if task.key in fields:
                c.add(
                    ("stages", index, "tasks", t_index, "key"),
                    f"task '{task.key}' has the name of a field; the task's outcome is stored under its key",
                )
            task_keys[task.key] = stage.key
    names = set(fields) | set(task_keys) | {f"{k}_comment" for k in task_keys} | _CONTEXT_NAMES

    for name, fdef in fields.items():
        _check_field(spec, c, ("fields", name), fdef)
    for role in spec.start.roles:
        if role not in roles:
            c.add(("start", "roles"), f"unknown role '{role}' (roles of this process: {', '.join(spec.roles)})")
    _check_field_list(c, ("start", "form"), spec.start.form, fields)
    for s_index, schedule in enumerate(spec.schedule):
        if schedule.initiator not in roles:
            c.add(("schedule", s_index, "initiator"), f"unknown role '{schedule.initiator}'")
        problem = cron_problem(schedule.cron)
        if problem:
            c.add(("schedule", s_index, "cron"), problem)
    _check_template(c, ("start", "title"), spec.start.title)

    for index, stage in enumerate(spec.stages):
        base: Path_ = ("stages", index)
        _check_template(c, (*base, "title"), stage.title)
        for a_index, action in enumerate(stage.on_enter):
            apath: Path_ = (*base, "on_enter", a_index)
            action.check(_ActionChecker(c, apath, spec))
            _check_condition(c, (*apath, "when"), action.when, names)
        for t_index, task in enumerate(stage.tasks):
            _check_task(spec, c, (*base, "tasks", t_index), task, roles, fields, names)
        for n_index, transition in enumerate(stage.next):
            if transition.to not in stage_keys:
                c.add(
                    (*base, "next", n_index, "to"), f"unknown stage '{transition.to}' (stages: {', '.join(stage_keys)})"
                )
            _check_condition(c, (*base, "next", n_index, "when"), transition.when, names)
        for m_index, move in enumerate(stage.moves):
            if move.to not in stage_keys:
                c.add((*base, "moves", m_index, "to"), f"unknown stage '{move.to}' (stages: {', '.join(stage_keys)})")
            for who in move.roles:
                _check_person(c, (*base, "moves", m_index, "roles"), who, roles, fields)
        _check_field_list(c, (*base, "requires"), stage.requires, fields)
        _check_field_list(c, (*base, "editable"), stage.editable, fields)
        if stage.wait is not None:
            _check_deadline(c, (*base, "wait"), stage.wait, fields)
        if stage.next and stage.next[-1].when is not None:
            # Without a fallback a case could stop at a stage with nowhere to go.
            c.add((*base, "next"), "the last transition must have no 'when' (it is the fallback)")

    reachable = _reachable(spec)
    for index, stage in enumerate(spec.stages):
        if stage.key not in reachable:
            c.add(("stages", index, "key"), f"stage '{stage.key}' cannot be reached from '{spec.stages[0].key}'")
    if not any(s.final for s in spec.stages):
        c.add(("stages",), "the process has no final stage, so no case could ever end")


def _reachable(spec: ProcessDef) -> set[str]:
    by_key: dict[str, StageDef] = {s.key: s for s in spec.stages}
    seen: set[str] = set()
    todo = [spec.stages[0].key]
    while todo:
        key = todo.pop()
        if key in seen or key not in by_key:
            continue
        seen.add(key)
        todo.extend(t.to for t in by_key[key].next)
        todo.extend(m.to for m in by_key[key].moves)
    return seen


def _check_field(spec: ProcessDef, c: _Checker, path: Path_, fdef: FieldDef) -> None:
    if fdef.type == "directory" and fdef.directory not in spec.directories:
        c.add((*path, "directory"), f"unknown directory '{fdef.directory}'")
    if fdef.type == "user" and fdef.role is not None and fdef.role not in spec.roles:
        c.add((*path, "role"), f"unknown role '{fdef.role}'")
    if fdef.type == "list" and fdef.fields:
        if fdef.count is not None:
            counter = spec.fields.get(fdef.count)
            if counter is None or counter.type != "number":
                c.add((*path, "count"), f"'{fdef.count}' is not a number field")
        for sub_name, sub in fdef.fields.items():
            _check_field(spec, c, (*path, "fields", sub_name), sub)


def _check_field_list(c: _Checker, path: Path_, names: list[str], fields: dict[str, FieldDef]) -> None:
    for index, name in enumerate(names):
        if name not in fields:
            c.add((*path, index), f"unknown field '{name}' (fields: {', '.join(fields)})")


def _check_person(c: _Checker, path: Path_, who: str, roles: set[str], fields: dict[str, FieldDef]) -> None:
    if who in roles or who in PERSON_REFS:
        return
    if who.startswith("field:"):
        fdef = fields.get(who.removeprefix("field:"))
        if fdef is None or fdef.type != "user":
            c.add(path, f"'{who}' does not name a person field")
        return
    c.add(path, f"unknown role '{who}' (roles: {', '.join(sorted(roles))}; or initiator, responsible, field:<name>)")


def _check_task(
    spec: ProcessDef,
    c: _Checker,
    path: Path_,
    task: TaskDef,
    roles: set[str],
    fields: dict[str, FieldDef],
    names: set[str],
) -> None:
    _check_person(c, (*path, "assignee"), task.assignee, roles, fields)
    _check_field_list(c, (*path, "fields"), task.fields, fields)
    for index, attached in enumerate(task.attach):
        if attached not in fields or fields[attached].type not in FILE_TYPES:
            c.add((*path, "attach", index), f"'{attached}' is not a photo or document field")
    for key, outcome in task.outcome_defs().items():
        _check_field_list(c, (*path, "outcomes", key, "fields"), outcome.fields, fields)
    if task.kind == "confirm" and not task.fields:
        log.debug("confirm task %s has no required attachments", task.key)
    for who in task.escalate_to:
        _check_person(c, (*path, "escalate_to"), who, roles, fields)
    if task.due is not None:
        _check_deadline(c, (*path, "due"), task.due, fields)
    elif task.remind or task.escalate_to:
        c.add((*path, "due"), "'remind' and 'escalate_to' need a 'due'")
    for r_index, reminder in enumerate(task.remind):
        try:
            parse_offset(reminder)
        except DeadlineError as exc:
            c.add((*path, "remind", r_index), str(exc))
    _check_condition(c, (*path, "when"), task.when, names)
    _check_template(c, (*path, "title"), task.title)
    _check_template(c, (*path, "text"), task.text)


def _check_deadline(c: _Checker, path: Path_, text: str, fields: dict[str, FieldDef]) -> None:
    try:
        deadline = parse_deadline(text)
    except DeadlineError as exc:
        c.add(path, str(exc))
        return
    for name in deadline.field_refs:
        fdef = fields.get(name)
        if fdef is None or fdef.type not in ("date", "datetime"):
            c.add(path, f"the deadline '{text}' refers to '{name}', which is not a date field")


def _check_condition(c: _Checker, path: Path_, source: str | None, names: set[str]) -> None:
    if source is None:
        return
    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        c.add(path, str(exc))
        return
    unknown = sorted(expression.names - names)
    if unknown:
        c.add(path, f"the condition '{source}' uses unknown name(s): {', '.join(unknown)}")


def _check_template(c: _Checker, path: Path_, text: LocalText | None) -> None:
    if text is None:
        return
    for value in [text] if isinstance(text, str) else list(text.values()):
        try:
            check_syntax(value)
        except TemplateError as exc:
            c.add(path, str(exc))
