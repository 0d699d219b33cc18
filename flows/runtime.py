"""The process engine: commands in, state changes and effects out.

The engine works on an in-memory `CaseState` (loaded by the caller from wherever it lives), changes it,
and returns `Effects`: notifications to send, documents to render, timers to set, tasks created and closed.
It runs automatic steps (notifications, renders, stages without human work) until it reaches a human step,
as SpiffWorkflow's `run_all(halt_on_manual=True)` does. It knows nothing of Telegram or of the database.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, TypeVar

from flows.calendar import WorkCalendar
from flows.clock import Clock
from flows.context import case_context, case_label, case_labels
from flows.deadlines import parse_deadline, parse_offset
from flows.effects import (  # re-exported: the bot imports the effects from here
    BuildReport,
    CallProcess,
    CancelCalls,
    CancelWait,
    CaseClosed,
    CaseStatus,
    DeadlineMoved,
    Effect,
    FieldCorrected,
    ItemApproval,
    ItemMoved,
    ItemReminder,
    Notify,
    NotifyCases,
    Render,
    SendEmail,
    SetTimer,
    StageEntered,
    StartCase,
    TaskClosed,
    TaskCreated,
    TaskState,
    TaskStatus,
    UpdateCompany,
)
from flows.expressions import evaluate
from flows.forms import asked, form_rule_problem
from flows.i18n import _
from flows.items import (
    ITEMS,
    approved_moves,
    approver_of,
    correctable,
    counted_floor,
    entry_fields,
    entry_of,
    is_item_work,
    item_approval_key,
    item_approval_title,
    item_edit_key,
    item_edit_title,
    item_of_form,
    item_state,
    item_states,
    item_task_key,
    item_task_title,
    move_approval,
    parse_item_approval,
    parse_item_edit,
    parse_item_task,
    track_of,
)
from flows.model import (
    CANCEL_REASON,
    DEFAULT_LANG,
    FILE_TYPES,
    ITEM_WORKERS,
    PERSON_REFS,
    Action,
    CallDef,
    FieldDef,
    FieldRef,
    ItemMoveDef,
    ItemStageDef,
    LocalText,
    ProcessDef,
    StageDef,
    TaskDef,
    local,
    organisation_role,
    title_in,
)
from flows.status import CASE_CLOSED, transition
from flows.templating import names_read, render
from flows.values import convert

log = logging.getLogger(__name__)

__all__ = [  # the effects and task state live in flows.effects; callers keep importing them from here
    "BuildReport",
    "CallProcess",
    "CancelCalls",
    "CancelWait",
    "CaseClosed",
    "CaseStatus",
    "DeadlineMoved",
    "Effect",
    "FieldCorrected",
    "ItemApproval",
    "ItemMoved",
    "ItemReminder",
    "Notify",
    "NotifyCases",
    "Render",
    "SendEmail",
    "SetTimer",
    "StageEntered",
    "StartCase",
    "TaskClosed",
    "TaskCreated",
    "TaskState",
    "TaskStatus",
    "UpdateCompany",
]

START_TASK = "__start__"
MOVE_TASK = "__move__"  # «fill the fields this stage requires», given to whoever moves the case there
EDIT_PREFIX = "__edit__:"  # «change this field», given to whoever asked to change it


# A called child's data names its parent ({case, stage, visit}); the parent's names its child per stage.
CALLED_BY = "__called_by__"
# A case nobody started in chat: {"lead": form} from a site's form, {"schedule": cron} by the clock. Its initiator
# is still a person of the role the definition names (notices to the initiator reach them); its card says where
# it came from instead of naming them as if they had started it.
STARTED_BY = "__started_by__"
CALLS = "__calls__"
# A case another one's step handed its work on to (`start:`, not a call): the visit its first step stopped at. The
# cards of that visit's tasks, the first it gave anyone, say which case it continues (to whoever may open that one).
CONTINUED_AT = "__continued_at__"
# A call `for_each` entry, per calling stage: {visit, joined, children: {"<entry>": {case, stage, result}}} — which
# children it waits for, where each stands and how each ended (the join and the stages that follow them read it).
FANOUT = "__fanout__"
# How many tasks of a `for_each` task are done this time round, per task: {"<task>": [visit, count]} (`at_least`).
EACH_DONE = "__each_done__"
# Values a later answer replaced, per field: [{value, at, task, as}] — the history the card shows («ранее: …»).
EARLIER = "__earlier__"
ITEM_PREFIX = "item:"  # a for_each task's assignee named by its entry (`item:head`)
ENTRY_SEP = "#"  # a for_each task's key is `<task>#<entry index>`: which entry it is for, without a column


def entry_stage(spec: ProcessDef, data: Mapping[str, Any]) -> StageDef:
    """The stage a new case enters first, by what started it (its `STARTED_BY`; `ProcessDef.beginnings`): a lead its
    form's stage, the clock's case the first stage, a person's `start.stage`. A form since removed: the first stage."""
    started = data.get(STARTED_BY)
    way = "start"
    if isinstance(started, Mapping):
        way = f"lead:{started['lead']}" if "lead" in started else "schedule"
    return spec.stage(dict(spec.beginnings()).get(way) or spec.stages[0].key)


def base_key(key: str) -> str:
    """The definition's task key of a task (a for_each task's key without its entry index)."""
    return key.partition(ENTRY_SEP)[0]


def entry_index(key: str) -> int | None:
    _head, sep, tail = key.partition(ENTRY_SEP)
    return int(tail) if sep and tail.isdigit() else None


def comment_file_key(key: str) -> str:
    """Where a decision's comment keeps the photo (or file) it was given as: the director photographs the offer he
    marked up by hand instead of typing his remarks. Beside `<task>_comment`, which then holds the photo's caption
    (or «(фото)»); read by the cards whose text quotes that comment, which bring the photo along."""
    return f"{key}{COMMENT_FILE_SUFFIX}"


COMMENT_FILE_SUFFIX = "_comment_file"


def is_service_task(key: str) -> bool:
    """Tasks the engine makes for itself (start form, move form, edit form), not the definition's."""
    return key.startswith("__")


def is_correction(key: str) -> bool:
    """A form that corrects one field someone asked to change: of the case (`editable` of its stage) or of an
    item (`editable` of the item's stage)."""
    return key.startswith(EDIT_PREFIX) or parse_item_edit(key) is not None


MAX_AUTOMATIC_STEPS = 100


class EngineError(Exception):
    """A command the engine refuses; `message` is a msgid the bot translates for the person."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def made_title(text: str, context: Mapping[str, Any]) -> str:
    """A case's title as `start.title` makes it: one line, no longer than the title column holds (300 characters:
    a long answer must not make a case impossible to save)."""
    return " ".join(render(text, context).split())[:300]


def title_for(
    title: str,
    titles: Mapping[str, str] | None,
    lang: str | None,
    *,
    spec: ProcessDef,
    data: Mapping[str, Any],
    refs: Mapping[str, Any] | None = None,
    template: LocalText | None = None,
) -> str:
    """A case's title for a reader of `lang`: the one stored in that language; for a case stored without it — one
    started before titles were kept per language (migration 0029), or whose `titles` were lost — the one the
    per-language title `template` (default: its version's `start.title`) gives its data now, as its step would have
    stored it; else the stored title in the default language. Made when read, not written back: the row stays what
    its steps wrote, and a template of another version that reads names this case's version never had is not used
    (it would print blanks)."""
    if not lang or lang == DEFAULT_LANG or (titles and lang in titles) or not title:
        # Untitled (a request still being filled: its answers are on its task, not in its data) reads untitled in
        # every language — the lists name it by its process — not as a template over blanks («, shipping»).
        return title_in(title, titles, lang)
    own = template is None or template == spec.start.title
    template = spec.start.title if template is None else template
    text = template.get(lang) if isinstance(template, Mapping) else None
    read = names_read(text) if text else None
    if text is None or read is None:
        return title_in(title, titles, lang)
    context = case_context(spec, data, refs=refs, lang=lang)
    if not own and read - context.keys() - spec.fields.keys():
        return title_in(title, titles, lang)
    try:
        return made_title(text, context) or title_in(title, titles, lang)
    except (ValueError, TypeError, ArithmeticError, LookupError):  # data no step would have rendered it over
        return title_in(title, titles, lang)


@dataclass
class CaseState:
    spec: ProcessDef
    initiator_id: int
    stage: str
    status: CaseStatus = CaseStatus.DRAFT
    data: dict[str, Any] = field(default_factory=dict)
    responsible_id: int | None = None
    visit: int = 0
    result: str | None = None
    title: str = ""  # in the default language
    id: int | None = None
    tasks: list[TaskState] = field(default_factory=list)  # the open tasks (and any the engine just closed)
    refs: dict[str, Any] = field(default_factory=dict)  # records the case points at (companies), by field
    titles: dict[str, str] | None = None  # the title in the other languages of `start.title`, by language
    # Not stored: the per-language title a case stored without its title in a language is named by (`title_for`);
    # None: its version's `start.title`. The loader gives the process's current one to a case whose version has one
    # title (`Registry.title_template`).
    title_template: LocalText | None = None

    def context(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        return case_context(self.spec, self.data, refs=self.refs, lang=lang)

    def title_in(self, lang: str | None) -> str:
        """The case's title as a reader of this language sees it (the default language's when it has none)."""
        return title_for(self.title, self.titles, lang, spec=self.spec, data=self.data, refs=self.refs,
                         template=self.title_template)  # fmt: skip

    def open_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks if t.status == TaskStatus.OPEN]

    def task(self, task_id: int) -> TaskState:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise EngineError(_("This task is no longer active."))


def start_task_def(spec: ProcessDef) -> TaskDef:
    return TaskDef(
        key=START_TASK,
        kind="form",
        title=spec.title,
        assignee="initiator",
        fields=[spec.start.form_rules.get(name) or FieldRef(field=name) for name in spec.start.form],
    )


def move_task_def(spec: ProcessDef, stage: str) -> TaskDef:
    target = spec.stage(stage)
    title: dict[str, str] = {
        # The case is not there yet: the form is what the move waits for.
        lang: pattern.format(local(target.title, lang))
        for lang, pattern in (("ru", "Переход на этап «{}»"), ("en", "Move to “{}”"))
    }
    return TaskDef(
        key=MOVE_TASK,
        kind="form",
        title=title,
        assignee="responsible",
        fields=[FieldRef(field=name) for name in target.requires],
    )


def task_def(spec: ProcessDef, stage: str, key: str) -> TaskDef:
    if key == START_TASK:
        return start_task_def(spec)
    if key.startswith(EDIT_PREFIX):
        name = key.removeprefix(EDIT_PREFIX)
        label = spec.fields[name].label
        title = {lang: f"{prefix}: {local(label, lang)}" for lang, prefix in (("ru", "Изменить"), ("en", "Change"))}
        # Asked with the rules the stage gives the field, if it gives any (a pre-order's date within the weeks planned).
        ask = spec.stage(stage).edit_rules.get(name) or FieldRef(field=name)
        return TaskDef(key=key, kind="form", title=title, assignee="responsible", fields=[ask])
    if key == MOVE_TASK:
        return move_task_def(spec, stage)
    item = parse_item_task(key)
    if item is not None:
        name, index, to = item
        fields = [FieldRef(field=f) for f in track_of(spec, name).stage(to).requires]
        title = item_task_title(spec, name, index, to)
        return TaskDef(key=key, kind="form", title=title, assignee="responsible", fields=fields)
    approval = parse_item_approval(key)
    if approval is not None:
        name, index, to = approval
        return TaskDef(
            key=key, kind="approve", title=item_approval_title(spec, name, index, to),
            assignee=approver_of(track_of(spec, name), to) or "",
        )
    edit = parse_item_edit(key)
    if edit is not None:
        title = item_edit_title(spec, *edit)
        return TaskDef(key=key, kind="form", title=title, assignee="responsible", fields=[FieldRef(field=edit[2])])
    return spec.task(stage, base_key(key))


def form_fields(spec: ProcessDef, task: TaskState, outcome: str | None = None) -> dict[str, FieldDef]:
    """The fields a task's form asks by name: an item's form (a move's or a correction's) asks its entry's fields,
    any other the case's, as this task asks them (a loop's own wording of a field, its date rules)."""
    item = item_of_form(task.key)
    if item is not None:
        return entry_fields(spec, item[0])
    return {**spec.fields, **task_field_defs(spec, task, outcome)}


def form_data(data: dict[str, Any], task: TaskState) -> dict[str, Any]:
    """What a task's form already has: an item's form, its entry; any other, the case's data."""
    item = item_of_form(task.key)
    if item is None:
        return data
    return entry_of(data, item[0], item[1]) or {}


def call_links(case: CaseState) -> tuple[int | None, int | None]:
    """The case that called this one, and the child this one waits for now (None, None for neither)."""
    called = case.data.get(CALLED_BY)
    parent = called.get("case") if isinstance(called, dict) else None
    calls = case.data.get(CALLS)
    child = calls.get(case.stage) if isinstance(calls, dict) and case.status == CaseStatus.ACTIVE else None
    return (parent if isinstance(parent, int) else None), (child if isinstance(child, int) else None)


def fanout(case: CaseState, stage: str) -> dict[str, Any] | None:
    record = case.data.get(FANOUT, {}).get(stage) if isinstance(case.data.get(FANOUT), dict) else None
    return record if isinstance(record, dict) else None


def waits_for_a_date(case: CaseState) -> bool:
    """Whether the case stands at a stage that waits for a date of its own (`wait: at planned_ship_date 08:00`): a
    plan worth telling people («ждёт до 29.12»). A wait of a fixed length (`wait: 4 working hours` before someone is
    asked why 1C has not taken an order) is a watchdog: telling a dealer the order «waits until 15:30» would mislead."""
    if case.status != CaseStatus.ACTIVE or case.stage == START_TASK:
        return False
    here = case.spec.stage(case.stage)
    return here.wait is not None and bool(parse_deadline(here.wait).field_refs)


def stage_waits_until(case: CaseState, now: datetime, calendar: WorkCalendar) -> datetime | None:
    """The moment a case that has just entered a stage that waits for a date (`waits_for_a_date`) goes on by
    itself, as the engine set its timer entering it (`now` is that step's): None when the stage waits for no date,
    its work is already given, or the moment is past (the work is given at once)."""
    if not waits_for_a_date(case):
        return None
    here = case.spec.stage(case.stage)
    if here.wait is None or any(t.stage == here.key and not is_service_task(t.key) for t in case.open_tasks()):
        return None
    until = parse_deadline(here.wait).resolve(now, case.data, calendar)
    return until if until is not None and until > now else None


def waiting_call(case: CaseState) -> str | None:
    """The calling stage whose children this case waits for now (at the stage, or at one following them)."""
    if case.status != CaseStatus.ACTIVE or case.stage == START_TASK:
        return None
    here = case.spec.stage(case.stage)
    if here.call is not None:
        return here.key
    if here.follows is not None and here.follows.calls is not None:
        record = fanout(case, here.follows.calls)
        if record is not None and not record.get("joined"):
            return here.follows.calls
    return None


def call_children(case: CaseState) -> dict[int, int]:
    """The child cases a `for_each` call of the current stage started and still waits for: entry -> case id."""
    calling = waiting_call(case)
    record = fanout(case, calling) if calling else None
    children = record.get("children", {}) if record else {}
    return {
        int(k): v["case"] for k, v in children.items() if isinstance(v.get("case"), int) and v.get("result") is None
    }


def task_entry(spec: ProcessDef, data: dict[str, Any], task: TaskState) -> tuple[FieldDef, dict[str, Any]] | None:
    """The list entry a for_each task (or an item's approval) is about (the list's definition and the entry), or
    None."""
    approval = parse_item_approval(task.key)
    if approval is not None:
        entry = entry_of(data, approval[0], approval[1])
        return (spec.fields[approval[0]], entry) if entry is not None else None
    index = entry_index(task.key)
    if index is None or is_service_task(task.key):
        return None
    tdef = task_def(spec, task.stage, task.key)
    fdef = spec.fields.get(tdef.for_each or "")
    entries = data.get(tdef.for_each or "")
    if fdef is None or not isinstance(entries, list) or index >= len(entries) or not isinstance(entries[index], dict):
        return None
    return fdef, entries[index]


def task_fields(spec: ProcessDef, task: TaskState, outcome: str | None) -> list[str]:
    """The fields a person fills to finish `task` with `outcome`, in the order they are asked."""
    return list(task_asks(spec, task, outcome))


def task_asks(spec: ProcessDef, task: TaskState, outcome: str | None) -> dict[str, FieldRef]:
    """The fields a person fills to finish `task` with `outcome`, in order, each with how it is asked there
    (an outcome's wording of a field wins over the task's)."""
    tdef = task_def(spec, task.stage, task.key)
    asks = {ref.field: ref for ref in tdef.fields}
    if outcome is not None:
        odef = tdef.outcome_defs().get(outcome)
        if odef is not None:
            for ref in odef.fields:
                asks[ref.field] = ref
    return asks


def task_field_defs(spec: ProcessDef, task: TaskState, outcome: str | None) -> dict[str, FieldDef]:
    """The case's fields as this task asks them: its wording and date rules on top of the field's."""
    return {name: ref.apply(spec.fields[name]) for name, ref in task_asks(spec, task, outcome).items()}


def open_item_moves(
    case: CaseState, name: str, index: int, stage: str, extra: dict[str, Any] | None = None
) -> list[ItemMoveDef]:
    """The moves of an item's stage whose `when` holds for this item (all of them when none has one); `extra`:
    `today` and `now` for conditions that read them."""
    moves = track_of(case.spec, name).stage(stage).moves
    if all(m.when is None for m in moves):
        return list(moves)
    context = case_context(case.spec, case.data, dict(extra or {}), case.refs)
    entries = context.get(name)
    context["item"] = entries[index] if isinstance(entries, list) and index < len(entries) else {}
    return [m for m in moves if m.when is None or evaluate(m.when, context)]


_Move = TypeVar("_Move", str, ItemMoveDef)


def cancelling_moves(case: CaseState, name: str, moves: Sequence[_Move]) -> list[_Move]:
    """Of an item's moves (stage keys or move definitions), those to a stage that cancels it."""
    track = track_of(case.spec, name)
    return [m for m in moves if track.stage(m if isinstance(m, str) else m.to).cancelled]


def pending_approval(case: CaseState, name: str, index: int) -> TaskState | None:
    """The open approval an item's move waits for, if any."""
    prefix = item_approval_key(name, index, "")
    return next((t for t in case.open_tasks() if t.key.startswith(prefix)), None)


def item_lacks(spec: ProcessDef, data: dict[str, Any], name: str, index: int, to: str) -> list[str]:
    """The fields an item's new stage requires that its entry lacks (those its `ask_if` asks of this entry)."""
    entry = entry_of(data, name, index) or {}
    needed = asked(entry_fields(spec, name), track_of(spec, name).stage(to).requires, entry)
    return [n for n in needed if is_empty(entry.get(n))]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def replaced_values(
    fields: Mapping[str, FieldDef], data: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """The values an answer replaces: fields (not lists) that had a value and get another one — of the case
    (`spec.fields` over its data) or of an item (its entry's fields over the entry)."""
    return {
        name: data[name]
        for name, value in values.items()
        if name in fields
        and fields[name].type != "list"
        and not is_empty(value)
        and not is_empty(data.get(name))
        and data[name] != value
    }


@dataclass(frozen=True)
class _ActionView:
    """A case as its stage's actions see it (`flows.model.ActionContext`)."""

    engine: Engine
    case: CaseState

    @property
    def data(self) -> dict[str, Any]:
        return self.case.data

    @property
    def refs(self) -> dict[str, Any]:
        return self.case.refs

    @property
    def starter_id(self) -> int:
        return self.case.responsible_id or self.case.initiator_id

    def template_context(self) -> dict[str, Any]:
        return self.engine.context(self.case)

    def people(self, refs: list[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        return self.engine._resolve_people(self.case, refs)


class Engine:
    def __init__(self, calendar: WorkCalendar, clock: Clock) -> None:
        self.calendar = calendar
        self.clock = clock

    # --- commands -------------------------------------------------------------------------------------

    def start(
        self,
        spec: ProcessDef,
        initiator_id: int,
        data: dict[str, Any] | None = None,
        refs: dict[str, Any] | None = None,
    ) -> tuple[CaseState, list[Effect]]:
        """A new case. With a start form it waits in «draft» for the initiator to fill it."""
        case = CaseState(
            spec=spec,
            initiator_id=initiator_id,
            responsible_id=initiator_id,
            stage=spec.stages[0].key,
            # Handed over from another process: each value in the stored form of this process's field type.
            data={k: convert(spec.fields[k].type, v) if k in spec.fields else v for k, v in (data or {}).items()},
            refs=dict(refs or {}),
        )
        effects: list[Effect] = []
        if self._start_form_wanted(spec, case.data):
            task = TaskState(
                key=START_TASK,
                stage=START_TASK,
                visit=0,
                kind="form",
                assignee_id=initiator_id,
                created_at=self.clock.now(),
            )
            case.stage = START_TASK
            case.tasks.append(task)
            effects.append(TaskCreated(task))
        else:
            self._activate(case, effects)
        return case, effects

    def claim(self, case: CaseState, task: TaskState, user_id: int, user_roles: set[str]) -> list[Effect]:
        self._check_open(case, task)
        if task.claimed:
            raise EngineError(_("This task is already taken."))
        if task.role is None or task.role not in user_roles:
            raise EngineError(_("This task is for another role."))
        task.assignee_id = user_id
        log.info("case %s task %s claimed by %s", case.id, task.id, user_id)
        return []

    def submit(
        self, case: CaseState, task: TaskState, outcome: str, values: dict[str, Any], actor_id: int
    ) -> list[Effect]:
        """Finish a task with an outcome and the answers of its form; move the case on when the stage is done."""
        self._check_open(case, task)
        if task.assignee_id != actor_id:
            raise EngineError(_("This task is assigned to someone else."))
        tdef = task_def(case.spec, task.stage, task.key)
        outcomes = tdef.outcome_defs()
        if outcome not in outcomes:
            raise EngineError(_("Unknown answer to this task."))
        if parse_item_task(task.key) is not None:
            return self._submit_item(case, task, outcome, values, actor_id)
        if parse_item_approval(task.key) is not None:
            return self._decide_item(case, task, outcome, values, actor_id)
        if parse_item_edit(task.key) is not None:
            return self._correct_item(case, task, outcome, values, actor_id)
        # An empty answer never erases what the case has (a skipped question of a returned request keeps its
        # value), and a required field the case already has is not missing. A comment belongs to its answer:
        # an answer without one clears the comment of the previous round.
        comment_key, comment_file = f"{task.key}_comment", comment_file_key(task.key)
        if values.get(comment_file) or case.data.get(comment_file):
            # The photo a comment was given as is the comment's: an answer without one clears the last round's.
            values = {**values, comment_file: values.get(comment_file) or None}
        # The field a correction is for is answered on purpose: emptied (every entry of an optional list taken
        # out), it is empty — a required one is refused below as missing, never silently kept.
        edited = task.key.removeprefix(EDIT_PREFIX) if task.key.startswith(EDIT_PREFIX) else None
        values = {
            k: v
            for k, v in values.items()
            if k in (comment_key, comment_file, edited) or not (is_empty(v) and not is_empty(case.data.get(k)))
        }
        # A field whose `ask_if` does not hold is not asked, so it is neither required nor taken.
        asks = task_asks(case.spec, task, outcome)
        every = list(asks)
        names = asked(case.spec.fields, every, values, case.data)
        values = {k: v for k, v in values.items() if k in names or k not in every}
        # A fact of one round (`fresh`: this shipment's waybill) is this round's to give: the last round's value is
        # no answer, whichever way the answers came (chat, a web form, the API). A start or move form takes what
        # the case has, as the chat's does.
        fresh = (
            {n for n in names if asks[n].apply(case.spec.fields[n]).fresh}
            if task.key not in (START_TASK, MOVE_TASK) else set()
        )  # fmt: skip
        missing = [
            n for n in names
            if self._required(case.spec, n) and is_empty(values.get(n))
            and (n in fresh or (n == edited and n in values) or is_empty(case.data.get(n)))
        ]  # fmt: skip
        # Named as this task asks them («Дата возврата из ремонта»), not by the field's usual label, and as the case
        # reads a label written as a template — read only for a refusal: a step that is taken names no field, and
        # reading a template label over the case on every step of its process would cost each of them.
        asked_as = {**case.spec.fields, **{name: ref.apply(case.spec.fields[name]) for name, ref in asks.items()}}
        if missing:
            named = case_labels(case.spec, {n: asked_as[n] for n in missing}, case.data, case.refs)
            raise EngineError(_("Please fill in: %(fields)s"), fields=", ".join(local(named[n].label) for n in missing))
        if outcomes[outcome].comment == "required" and is_empty(values.get(comment_key)):
            raise EngineError(_("A comment is required for this answer."))
        today = self.clock.now().astimezone(self.calendar.tz).date()
        if form_rule_problem(asked_as, values, case.data, today, calendar=self.calendar) is not None:
            broken = form_rule_problem(
                case_labels(case.spec, asked_as, case.data, case.refs), values, case.data, today, calendar=self.calendar
            )
            if broken is not None:
                raise EngineError(broken[0], **broken[1])
        if task.key.startswith(EDIT_PREFIX) and (
            task.stage != case.stage or task.key.removeprefix(EDIT_PREFIX) not in case.spec.stage(case.stage).editable
        ):
            raise EngineError(_("This field cannot be changed at this stage."))
        self._keep_earlier(case, task, values, asks)
        was = case.data.get(edited) if edited is not None else None
        lengths = {n: len(case.data[n]) if isinstance(case.data.get(n), list) else 0 for n in values}
        case.data.update(values)
        if not is_service_task(task.key):
            # A for_each task's answer is also the task's: the last one given (`next` reads it after the join).
            case.data[base_key(task.key)] = outcome
            if task_def(case.spec, task.stage, task.key).takes_case:
                case.responsible_id = actor_id
            if comment_key in values and entry_index(task.key) is not None:
                # Each entry keeps its own comment; the task's comment is the last one, as its answer is.
                case.data[f"{base_key(task.key)}_comment"] = values[comment_key]
                case.data[comment_file_key(base_key(task.key))] = values.get(comment_file)
        if values and case.status == CaseStatus.ACTIVE and case.title:
            self._retitle(case)
        now = self.clock.now()
        task.status = transition(task.status, TaskStatus.DONE)
        task.outcome, task.done_by, task.done_at = outcome, actor_id, now
        effects: list[Effect] = [TaskClosed(task, actor_id)]
        log.info("case %s task %s done by %s: %s", case.id, task.id, actor_id, outcome)
        if tdef.on_done:
            self._tell_done(case, task, tdef, effects)
        is_now = case.data.get(edited) if edited is not None else None
        if edited is not None and is_now != was and not (is_empty(was) and is_empty(is_now)):
            # A correction that changed the value (the same one confirmed again is none): the followers hear it.
            effects.append(FieldCorrected(edited, was, is_now, actor_id))
            log.info("case %s field %s corrected by %s", case.id, edited, actor_id)
        if case.status == CaseStatus.ACTIVE and case.stage != START_TASK and task.key != START_TASK:
            visit = case.visit
            self._lists_changed(case, lengths, effects, actor_id)
            if case.status != CaseStatus.ACTIVE or case.visit != visit:
                return effects  # a change of a list met a join: the case has moved on
        if task.key == START_TASK:
            self._activate(case, effects)
        elif task.key.startswith(EDIT_PREFIX):
            self._rewait(case, set(values), effects)
            self._redue(case, set(values), effects)
        elif task.key == MOVE_TASK:
            self._close_open_tasks(case, effects, actor_id)
            self._enter(case, case.spec.stage(task.stage), effects, depth=0, mover=actor_id)
            return effects
        if entry_index(task.key) is not None:
            tally = case.data.setdefault(EACH_DONE, {})
            seen = tally.get(tdef.key)
            count = seen[1] if isinstance(seen, list) and seen[0] == task.visit else 0
            tally[tdef.key] = [task.visit, count + 1]
            self._join(case, task, tdef, effects, actor_id)
        if not is_service_task(task.key) and self._stage_join(case, task, effects, actor_id):
            return effects
        gone = any(  # entries removed took the last of the stage's for_each tasks with them
            isinstance(e, TaskClosed) and e.task.stage == case.stage and e.task.visit == case.visit
            and entry_index(e.task.key) is not None
            for e in effects
        )
        if (not is_service_task(task.key) or gone) and not any(
            t.stage == case.stage and t.visit == case.visit and not is_service_task(t.key) for t in case.open_tasks()
        ):
            self._advance(case, effects, depth=0)
        return effects

    def _lists_changed(
        self, case: CaseState, lengths: dict[str, int], effects: list[Effect], actor_id: int | None
    ) -> None:
        """An answer changed the length of lists: the work running per entry follows as the definition says
        (`on_change`). Entries are matched by position: those past the old length are added, those past the
        new one removed."""
        for name, before in lengths.items():
            entries = case.data.get(name)
            after = len(entries) if isinstance(entries, list) else 0
            if after == before or name not in case.spec.fields or case.spec.fields[name].type != "list":
                continue
            added, removed = range(before, after), range(after, before)
            self._tasks_follow_list(case, name, added, removed, effects, actor_id)
            self._calls_follow_list(case, name, added, removed, effects)
            self._items_follow_list(case, name, added, removed, effects, actor_id)

    def _tasks_follow_list(
        self, case: CaseState, name: str, added: range, removed: range, effects: list[Effect], actor_id: int | None
    ) -> None:
        stage = case.spec.stage(case.stage)
        now = self.clock.now()
        for tdef in stage.tasks:
            if tdef.for_each != name or not tdef.on_change:
                continue
            mine = [
                t for t in case.tasks if t.stage == stage.key and t.visit == case.visit and base_key(t.key) == tdef.key
            ]
            running = [t for t in mine if t.status == TaskStatus.OPEN]
            if not running:
                continue  # not given yet, or already joined: nothing runs per entry
            if "cancel_removed" in tdef.on_change:
                for task in running:
                    if entry_index(task.key) in removed:
                        task.status = transition(task.status, TaskStatus.CANCELLED)
                        effects.append(TaskClosed(task, actor_id))
            if "add" in tdef.on_change:
                have = {t.key for t in mine}
                entries = case.data.get(name) or []
                for index in added:
                    key = f"{tdef.key}{ENTRY_SEP}{index}"
                    if key in have:
                        continue  # given before (the list shrank and grew again): not asked twice
                    if not self._entry_wanted(case, tdef, entries[index] if index < len(entries) else None):
                        continue
                    task = self._new_task(case, stage, tdef, now, key)
                    effects.append(TaskCreated(task))
                    effects.extend(self._task_timers(task, tdef, now))

    def _calls_follow_list(
        self, case: CaseState, name: str, added: range, removed: range, effects: list[Effect]
    ) -> None:
        calling = waiting_call(case)
        call = case.spec.stage(calling).call if calling else None
        record = fanout(case, calling) if calling else None
        if calling is None or call is None or call.for_each != name or not call.on_change or record is None:
            return
        if record.get("joined"):
            return
        children = record["children"]
        if "cancel_removed" in call.on_change:
            gone = tuple(i for i in removed if str(i) in children and children[str(i)].get("result") is None)
            for index in gone:
                del children[str(index)]  # no longer one of those the join waits for
            if gone:
                effects.append(CancelCalls(reason="removed", entries=gone))
        if "add" in call.on_change:
            for index in added:
                if str(index) not in children:
                    self._call_entry(case, case.spec.stage(calling), index, effects)
        if children and all(c.get("result") is not None for c in children.values()):
            # The entries still waited for were removed: the ended ones decide.
            verdict = self._call_join(case, calling, call, None, None)
            if verdict is not None:
                record["joined"] = True
                case.data[calling] = verdict
                self._advance(case, effects, depth=0, origin=calling)

    def _items_follow_list(
        self, case: CaseState, name: str, added: range, removed: range, effects: list[Effect], actor_id: int | None
    ) -> None:
        fdef = case.spec.fields[name]
        track = fdef.track
        states = item_states(case.data, name)
        if track is None or not track.on_change or not states:
            return  # no track, or its items have not begun: they begin with the list as it is then
        if "cancel_removed" in track.on_change and removed:
            for task in case.open_tasks():
                item = parse_item_task(task.key)
                if item is not None and item[0] == name and item[1] in removed:
                    task.status = transition(task.status, TaskStatus.CANCELLED)
                    effects.append(TaskClosed(task, actor_id))
            del states[removed.start:]  # the removed items no longer count for the case's stage
        if "add" in track.on_change:
            for index in added:
                if index >= len(states):
                    states.append({"stage": None, "visit": 0, "history": []})
                    self._put_item(case, name, index, track.stages[0], effects, actor_id)
        self._follow(case, name, effects, 0, actor_id)

    def _keep_earlier(
        self, case: CaseState, task: TaskState, values: dict[str, Any], asks: dict[str, FieldRef]
    ) -> None:
        """A new value does not silently replace the old one: the old one is kept under EARLIER, with when,
        by which task, and how the new one was asked (a loop's «Дата возврата из ремонта»)."""
        replaced = replaced_values(case.spec.fields, case.data, values)
        if not replaced:
            return
        earlier = case.data.setdefault(EARLIER, {})
        for name, old in replaced.items():
            note: dict[str, Any] = {"value": old, "at": self.clock.now().isoformat(), "task": task.key}
            ref = asks.get(name)
            if ref is not None and ref.label_template is not None:
                note["as"] = case_label(case.spec, ref.label_template, case.data, case.refs)
            elif ref is not None and ref.label is not None:
                note["as"] = ref.label
            earlier.setdefault(name, []).append(note)
            log.info("case %s field %s replaced by task %s", case.id, name, task.id)

    def _join(self, case: CaseState, task: TaskState, tdef: TaskDef, effects: list[Effect], actor_id: int) -> None:
        """One entry's task is done: if the join's rule is met, the other entries' tasks are no longer needed."""
        if tdef.join is None:
            return  # all: the stage moves on when none is left open
        siblings = [
            t
            for t in case.open_tasks()
            if t.stage == task.stage and t.visit == task.visit and base_key(t.key) == tdef.key
        ]
        if not siblings:
            return
        if tdef.join.any is not None:
            found = task_entry(case.spec, case.data, task)
            context = {**self.context(case), "item": found[1] if found else {}}
            met = bool(evaluate(tdef.join.any, context))
        else:
            # Counted, not taken as entries less those open: the list may change while they run (`on_change`),
            # and the tasks done in earlier steps are not loaded with the case.
            tally = case.data.get(EACH_DONE, {}).get(tdef.key)
            done = tally[1] if isinstance(tally, list) and tally[0] == task.visit else 0
            met = done >= (tdef.join.at_least or 0)
        if met:
            for sibling in siblings:
                sibling.status = transition(sibling.status, TaskStatus.CANCELLED)
                effects.append(TaskClosed(sibling, actor_id))

    def _stage_join(self, case: CaseState, task: TaskState, effects: list[Effect], actor_id: int) -> bool:
        """An answer that decides its stage alone (the stage's `join: {any: …}`: the client refused the contract,
        whatever the director would say): the stage's tasks still open are withdrawn and the case follows `next`.
        Their answers are this round's to give, so a previous round's (the director's «no» to the last contract)
        is read as none — in the join's condition and in `next`. Returns whether the stage ended so."""
        if case.status != CaseStatus.ACTIVE or task.stage != case.stage or task.visit != case.visit:
            return False
        join = case.spec.stage(case.stage).join
        if join is None or join.any is None:
            return False
        still = [
            t for t in case.open_tasks()
            if t.stage == case.stage and t.visit == case.visit and not is_service_task(t.key)
        ]  # fmt: skip
        if not still:
            return False  # every task is answered: the stage moves on as any other
        unanswered = frozenset(base_key(t.key) for t in still)
        if not evaluate(join.any, self._answers_so_far(case, unanswered)):
            return False
        for sibling in still:
            sibling.status = transition(sibling.status, TaskStatus.CANCELLED)
            effects.append(TaskClosed(sibling, actor_id))
        log.info("case %s stage %s decided early by task %s", case.id, case.stage, task.key)
        self._advance(case, effects, depth=0, unanswered=unanswered)
        return True

    def _tell_done(self, case: CaseState, task: TaskState, tdef: TaskDef, effects: list[Effect]) -> None:
        """A task's `on_done` as it is answered (a task withdrawn or cancelled is not): each notice whose `when`
        holds over the case as the answer left it. The answers of its stage's tasks still open are this round's to
        give, so a previous round's reads as none (the client's «agreed» to the contract the director sent back is
        no answer to this one). A for_each task's notices read its entry as `item`."""
        still = frozenset(
            base_key(t.key) for t in case.open_tasks()
            if t.stage == task.stage and t.visit == task.visit and not is_service_task(t.key)
        ) - {tdef.key}  # fmt: skip
        context = self._answers_so_far(case, still)
        index = entry_index(task.key)
        item = (tdef.for_each, index) if tdef.for_each is not None and index is not None else None
        if item is not None:
            found = task_entry(case.spec, case.data, task)
            context["item"] = found[1] if found else {}
        view = _ActionView(self, case)
        for notice in tdef.on_done:
            if notice.when is None or evaluate(notice.when, context):
                effects.extend(
                    replace(e, answered=True, item=item) if isinstance(e, Notify) else e for e in notice.effects(view)
                )
        log.info("case %s task %s: its on_done read", case.id, task.id)

    def _answers_so_far(self, case: CaseState, unanswered: frozenset[str]) -> dict[str, Any]:
        """The case as conditions see it, the answers (and comments) of the tasks in `unanswered` empty."""
        context = self.context(case)
        for key in unanswered:
            context[key] = None
            context[f"{key}_comment"] = None
        return context

    def child_ended(
        self,
        case: CaseState,
        stage: str,
        visit: int,
        result: str,
        child_data: dict[str, Any],
        entry: int | None = None,
        child: tuple[ProcessDef, str] | None = None,
    ) -> list[Effect]:
        """A child case this case called has ended with `result`: take its fields back and move on. A child
        of a stage the case has since left (moved by hand, cancelled) changes nothing. `entry`: the child of a
        `for_each` call, for that entry (`child`: its process and final stage, for the stages following them)."""
        effects: list[Effect] = []
        if entry is not None:
            self._child_of_entry_ended(case, stage, visit, entry, result, child_data, child, effects)
            return effects
        if case.status != CaseStatus.ACTIVE or case.stage != stage or case.visit != visit:
            return effects
        call = case.spec.stage(stage).call
        if call is None:
            return effects
        case.data[stage] = result
        for mine, theirs in call.back.items():
            value = child_data.get(theirs)
            if not is_empty(value) and mine in case.spec.fields:
                case.data[mine] = convert(case.spec.fields[mine].type, value)
        if case.title:
            self._retitle(case)
        log.info("case %s: the child called at %s ended (%s)", case.id, stage, result)
        self._advance(case, effects, depth=0)
        return effects

    # --- a call for each entry ---------------------------------------------------------------------------

    def _fan_out(self, case: CaseState, stage: StageDef, effects: list[Effect], depth: int) -> None:
        """One child case per entry of the list, in parallel; an empty list has nothing to wait for."""
        assert stage.call is not None and stage.call.for_each is not None
        case.data.setdefault(FANOUT, {})[stage.key] = {"visit": case.visit, "joined": False, "children": {}}
        entries = case.data.get(stage.call.for_each)
        count = len(entries) if isinstance(entries, list) else 0
        for index in range(count):
            self._call_entry(case, stage, index, effects)
        if count == 0:
            case.data[stage.key] = "success"
            self._advance(case, effects, depth + 1)

    def _call_entry(self, case: CaseState, stage: StageDef, index: int, effects: list[Effect]) -> None:
        assert stage.call is not None and stage.call.for_each is not None
        record = fanout(case, stage.key)
        assert record is not None
        entry = entry_of(case.data, stage.call.for_each, index) or {}
        data = {
            name: entry.get(source.removeprefix("item.")) if source.startswith("item.") else case.data.get(source)
            for name, source in stage.call.map.items()
        }
        record["children"][str(index)] = {"case": None, "stage": None, "result": None}
        starter = case.responsible_id or case.initiator_id
        effects.append(CallProcess(stage.call.process, data, starter, stage.key, record["visit"], entry=index))

    def _open_fanout(self, case: CaseState, stage: str, visit: int) -> dict[str, Any] | None:
        record = fanout(case, stage)
        if case.status != CaseStatus.ACTIVE or record is None or record.get("visit") != visit or record.get("joined"):
            return None
        return record if waiting_call(case) == stage else None

    def child_started(self, case: CaseState, stage: str, visit: int, entry: int, child_id: int) -> None:
        """The service started the child of an entry: its case number, for the parent's card and the join."""
        record = self._open_fanout(case, stage, visit)
        child = record["children"].get(str(entry)) if record else None
        if child is not None:
            child["case"] = child_id

    def child_moved(
        self, case: CaseState, stage: str, visit: int, entry: int, child_spec: ProcessDef, child_stage: str
    ) -> list[Effect]:
        """A child of a `for_each` call is at a new stage: the parent's stage may follow its children."""
        effects: list[Effect] = []
        record = self._open_fanout(case, stage, visit)
        child = record["children"].get(str(entry)) if record else None
        if child is None or child.get("result") is not None:
            return effects
        child["stage"] = child_stage
        self._follow_children(case, stage, child_spec, effects, 0)
        return effects

    def _child_of_entry_ended(
        self,
        case: CaseState,
        stage: str,
        visit: int,
        entry: int,
        result: str,
        child_data: dict[str, Any],
        child_end: tuple[ProcessDef, str] | None,
        effects: list[Effect],
    ) -> None:
        record = self._open_fanout(case, stage, visit)
        child = record["children"].get(str(entry)) if record else None
        if record is None or child is None or child.get("result") is not None:
            return
        call = case.spec.stage(stage).call
        assert call is not None and call.for_each is not None
        child["result"] = result
        if child_end is not None:
            child["stage"] = child_end[1]
        item = entry_of(case.data, call.for_each, entry)
        for mine, theirs in call.back.items():
            value = child_data.get(theirs)
            if is_empty(value):
                continue
            if mine.startswith("item."):
                sub = (case.spec.fields[call.for_each].fields or {}).get(mine.removeprefix("item."))
                if item is not None and sub is not None:
                    item[mine.removeprefix("item.")] = convert(sub.type, value)
            elif mine in case.spec.fields:
                case.data[mine] = convert(case.spec.fields[mine].type, value)
        log.info("case %s: the child of entry %s called at %s ended (%s)", case.id, entry, stage, result)
        verdict = self._call_join(case, stage, call, entry, result)
        if verdict is None:
            if child_end is not None:
                self._follow_children(case, stage, child_end[0], effects, 0)
            return
        record["joined"] = True
        case.data[stage] = verdict
        if case.title:
            self._retitle(case)
        if any(c.get("result") is None for c in record["children"].values()):
            effects.append(CancelCalls(reason="joined"))
        self._advance(case, effects, depth=0, origin=stage)

    def _call_join(
        self, case: CaseState, stage: str, call: CallDef, entry: int | None, result: str | None
    ) -> str | None:
        """The call's result once its join is met (None: wait on). `all`: success when every child succeeded;
        `any`: the result of the first child whose end meets the condition; `at_least: N`: success once N
        children succeeded. Once every child has ended without the rule being met: failure (or, for `any`, as
        `all`)."""
        children = [c for c in (fanout(case, stage) or {}).get("children", {}).values()]
        ended = [c["result"] for c in children if c.get("result") is not None]
        everyone = len(ended) == len(children)
        succeeded = sum(1 for r in ended if r == "success")
        if call.join is not None and call.join.any is not None:
            if entry is None or result is None:  # no child just ended: only «all ended» can decide
                return None if not everyone else ("success" if succeeded == len(children) else "failure")
            context = self.context(case)
            context[stage] = result
            entries = context.get(call.for_each or "")
            context["item"] = entries[entry] if isinstance(entries, list) and entry < len(entries) else {}
            if evaluate(call.join.any, context):
                return result
        elif call.join is not None and call.join.at_least is not None:
            if succeeded >= call.join.at_least:
                return "success"
            return "failure" if everyone else None
        if not everyone:
            return None
        return "success" if succeeded == len(children) else "failure"

    def _follow_children(
        self, case: CaseState, stage: str, child_spec: ProcessDef, effects: list[Effect], depth: int
    ) -> None:
        """The parent rule for child cases: the case goes to the furthest stage following the children of
        `stage` that every child not cancelled has reached (the lowest child stage decides)."""
        record = fanout(case, stage)
        if record is None or record.get("joined") or waiting_call(case) != stage:
            return
        order = [s.key for s in child_spec.stages]
        ranks = [
            order.index(c["stage"])
            for c in record["children"].values()
            if c.get("result") != "cancelled" and c.get("stage") in order
        ]
        if not ranks:
            return
        floor = min(ranks)
        target = None
        for follower in case.spec.call_followers(stage, child_spec):
            assert follower.follows is not None
            if order.index(follower.follows.at_least) <= floor:
                target = follower
        if target is None or target.key == case.stage:
            return
        log.info("case %s follows its children of %s: %s -> %s", case.id, stage, case.stage, target.key)
        self._enter(case, target, effects, depth + 1)

    def request_edit(self, case: CaseState, name: str, actor_id: int, is_admin: bool = False) -> list[Effect]:
        """Ask the person for a new value of an editable field (the answer comes back through `submit`)."""
        if case.status != CaseStatus.ACTIVE or case.stage == START_TASK:
            raise EngineError(_("This case cannot be changed now."))
        if name not in case.spec.stage(case.stage).editable:
            raise EngineError(_("This field cannot be changed at this stage."))
        if not (is_admin or actor_id in (case.responsible_id, case.initiator_id)):
            raise EngineError(_("Only the case's responsible can change it."))
        task, new = self._form_for(case, EDIT_PREFIX + name, actor_id)
        return [TaskCreated(task)] if new else []

    def _form_for(self, case: CaseState, key: str, assignee: int) -> tuple[TaskState, bool]:
        """The engine's form `key` (a correction, an item's move) for `assignee`: the one already open (abandoned,
        or someone else's), or a new one (True)."""
        for task in case.open_tasks():
            if task.key == key:
                task.assignee_id = assignee
                return task, False
        task = TaskState(
            key=key, stage=case.stage, visit=case.visit, kind="form", assignee_id=assignee, created_at=self.clock.now()
        )
        case.tasks.append(task)
        return task, True

    def _rewait(self, case: CaseState, changed: set[str], effects: list[Effect]) -> None:
        """A field the stage's wait reads has changed: wait for the new moment (or stop waiting)."""
        stage = case.spec.stage(case.stage)
        if stage.wait is None or not (parse_deadline(stage.wait).field_refs & changed):
            return
        if any(t.stage == stage.key and t.visit == case.visit and not is_service_task(t.key) for t in case.tasks):
            return  # the wait is over and its tasks are given
        effects.append(CancelWait())
        now = self.clock.now()
        until = parse_deadline(stage.wait).resolve(now, case.data, self.calendar)
        if until is not None and until > now:
            effects.append(SetTimer("wait", until, stage=stage.key, visit=case.visit))
        else:
            self._give_tasks(case, stage, effects, depth=0)

    def _redue(self, case: CaseState, changed: set[str], effects: list[Effect]) -> None:
        """A field an open task's deadline reads has changed (the warehouse date moved from 11.12 to 14.12): the
        deadline follows, and its reminders and overdue timer with it — else the worker is overdue, and his manager
        escalated, days before the work is planned. `DeadlineMoved` names the field, so its holder is told why."""
        now = self.clock.now()
        for task in case.open_tasks():
            if is_service_task(task.key):
                continue
            tdef = task_def(case.spec, task.stage, task.key)
            if tdef.due is None:
                continue
            read = sorted(parse_deadline(tdef.due).field_refs & changed)
            if not read:
                continue
            due_at = self._due_at(case, tdef, task.created_at or now)
            if due_at == task.due_at:
                continue
            previous, task.due_at = task.due_at, due_at
            log.info("case %s task %s due %s -> %s (%s changed)", case.id, task.id, previous, due_at, read[0])
            effects.append(DeadlineMoved(task, previous, field=read[0]))
            effects.extend(self._task_timers(task, tdef, now))

    def allowed_moves(self, case: CaseState, actor_id: int, actor_roles: set[str], is_admin: bool = False) -> list[str]:
        """Stages this person may move the case to by hand, from where it stands."""
        if case.status != CaseStatus.ACTIVE or case.stage == START_TASK:
            return []
        result: list[str] = []
        for move in case.spec.stage(case.stage).moves:
            if not move.roles:
                allowed = is_admin or actor_id in (case.responsible_id, case.initiator_id)
            else:
                roles, users = self._resolve_people(case, move.roles)
                allowed = is_admin or bool(actor_roles & set(roles)) or actor_id in users
            if allowed:
                result.append(move.to)
        return result

    def move(
        self, case: CaseState, to: str, actor_id: int, actor_roles: set[str], is_admin: bool = False
    ) -> list[Effect]:
        """Move the case by hand. If the stage requires fields still empty, the mover gets a form for them
        and the move completes when it is submitted."""
        if to not in self.allowed_moves(case, actor_id, actor_roles, is_admin):
            raise self._move_refused(case, to)
        effects: list[Effect] = []
        target = case.spec.stage(to)
        if self._missing(case, target):
            self._enter(case, target, effects, depth=0, mover=actor_id)
            return effects
        self._close_open_tasks(case, effects, actor_id)
        self._enter(case, target, effects, depth=0, mover=actor_id)
        return effects

    def withdraw_move(self, case: CaseState, task: TaskState, actor_id: int) -> list[Effect]:
        """Its mover cancels the form of a hand move (the reason for «✖️ Отказ», say) or of an item's move: the move
        is not made and the form goes, rather than sit in «Мои задачи» until the case moves some other way. Only a
        move by hand from where the case stands, and only while the case keeps a way on without it — other open work,
        or a stage that waits for a hand move anyway: that is the case as it was before the button was pressed. The
        form of a stage the process reached by itself stays: without it the case would stand with nobody to move it."""
        moving = task.key == MOVE_TASK or item_of_form(task.key) is not None
        if not moving or task.status != TaskStatus.OPEN or task.assignee_id != actor_id:
            raise EngineError(_("This form is no longer open."))
        if item_of_form(task.key) is not None:
            # An item's move (the reason for «Отменена», say) or a correction of its field: the item stays as it
            # is; its card's button opens the form again (an approval given stands until the item moves).
            task.status = transition(task.status, TaskStatus.CANCELLED)
            return [TaskClosed(task, actor_id)]
        here = case.spec.stage(case.stage) if case.status == CaseStatus.ACTIVE and case.stage != START_TASK else None
        by_hand = here is not None and any(move.to == task.stage for move in here.moves)
        other_work = any(t is not task and not is_service_task(t.key) for t in case.open_tasks())
        if here is None or not by_hand or not (other_work or not here.tasks):
            raise EngineError(_("The case waits for this form: it can be put aside, not withdrawn."))
        task.status = transition(task.status, TaskStatus.CANCELLED)
        return [TaskClosed(task, actor_id)]

    @staticmethod
    def _move_refused(case: CaseState, to: str) -> EngineError:
        """Why a move is refused, in words: a button of an old card is pressed after the case moved on far more often
        than someone presses a move they may not make, and «or not by you» alarmed people who had every right."""
        if case.status != CaseStatus.ACTIVE:
            return EngineError(_("The case is closed: this button is out of date."))
        here = case.spec.stage(case.stage).title if case.stage != START_TASK else None
        if to == case.stage and here is not None:
            return EngineError(_("The case is already at the stage “%(stage)s”."), stage=here)
        if here is not None and not any(move.to == to for move in case.spec.stage(case.stage).moves):
            return EngineError(_("The case has moved on since: it is at the stage “%(stage)s” now, so this button is "
                                 "out of date."), stage=here)
        return EngineError(_("This move is not yours to make: the process gives it to other people."))

    def fire(
        self,
        case: CaseState,
        kind: str,
        task: TaskState | None,
        stage: str | None,
        visit: int | None,
        item: tuple[str, int] | None = None,
    ) -> list[Effect]:
        """A timer came due. Timers of tasks already done or stages already left do nothing."""
        effects: list[Effect] = []
        if case.status != CaseStatus.ACTIVE:
            return effects
        if kind == "item":
            state = item_state(case.data, item[0], item[1]) if item is not None else None
            if item is not None and state is not None and state.get("stage") == stage and state.get("visit") == visit:
                effects.append(ItemReminder(item[0], item[1]))
            return effects
        if kind == "wait":
            if case.stage == stage and case.visit == visit:
                self._give_tasks(case, case.spec.stage(case.stage), effects, depth=0)
            return effects
        if task is None or task.status != TaskStatus.OPEN:
            return effects
        tdef = task_def(case.spec, task.stage, task.key)
        owners = self._task_people(task)
        if kind == "remind":
            effects.append(Notify(kind="reminder", task=task, **owners))
        elif kind == "overdue":
            # Given already late (a case filed after its deadline), its card said so: a second message saying it
            # again a moment later is noise. Those it escalates to still hear.
            born_late = task.created_at is not None and task.due_at is not None and task.created_at >= task.due_at
            if not born_late:
                effects.append(Notify(kind="overdue", task=task, **owners))
            roles, users = self._resolve_people(case, tdef.escalate_to)
            if roles or users:
                effects.append(Notify(kind="escalation", task=task, roles=roles, user_ids=users))
        return effects

    def hand_over(self, case: CaseState, task: TaskState, user_id: int, *, keep_role: bool) -> list[Effect]:
        """An escalated task goes to another person: reassigned to another member of its role, or taken over by
        the person it was escalated to (`keep_role=False` when they lack the role: the task becomes theirs
        personally, since nobody else of the role is to hold it now). The new holder gets its card."""
        self._check_open(case, task)
        if task.assignee_id == user_id:
            raise EngineError(_("The task is already with this person."))
        log.info("case %s task %s handed from %s to %s", case.id, task.id, task.assignee_id, user_id)
        task.assignee_id = user_id
        if not keep_role:
            task.role = None
        return [TaskCreated(task)]

    def extend(self, case: CaseState, task: TaskState, due_at: datetime) -> list[Effect]:
        """Move a task's deadline: its reminders and its overdue timer (and so its escalation) follow."""
        self._check_open(case, task)
        now = self.clock.now()
        if due_at <= now:
            raise EngineError(_("The new deadline must be later than now."))
        previous, task.due_at = task.due_at, due_at
        log.info("case %s task %s due %s -> %s", case.id, task.id, previous, due_at)
        effects: list[Effect] = [DeadlineMoved(task, previous)]
        effects.extend(self._task_timers(task, task_def(case.spec, task.stage, task.key), now))
        return effects

    def migrate(
        self, case: CaseState, spec: ProcessDef, to: str, done: frozenset[str] = frozenset()
    ) -> list[Effect]:
        """Move a running case onto another version of its process, at stage `to` of that version.

        Open tasks the new stage also has (same key and kind) are kept with their holders and deadlines; the
        others are closed and the new stage's other tasks are given, except those already answered at the stage
        the case stands at (`done`: their keys) — work done is not asked again; a stage whose tasks are all
        answered moves on, as it would have. If the new stage requires fields the case
        lacks, every open task is closed and the responsible is asked for them; the stage then starts as after
        any move. The stage's on-enter actions do not run again: the case entered its stage already."""
        if case.status != CaseStatus.ACTIVE:
            raise EngineError(_("Only a case in progress can move to another version."))
        try:
            target = spec.stage(to)
        except KeyError:
            raise EngineError(_("The new version has no such stage.")) from None
        if target.final:
            raise EngineError(_("A case cannot be moved onto a final stage."))
        if target.call is not None:
            raise EngineError(_("A stage that calls a sub-process cannot take a moved case."))
        if call_links(case)[1] is not None or waiting_call(case) is not None:
            raise EngineError(_("The case waits for a sub-process it called; move it when that one ends."))
        effects: list[Effect] = [CancelWait()]
        missing = [n for n in target.requires if is_empty(case.data.get(n))]
        wanted = {t.key: t for t in target.tasks}
        keep: set[str] = set()
        for task in case.open_tasks():
            tdef = wanted.get(base_key(task.key))
            if not missing and tdef is not None and tdef.kind == task.kind and not is_service_task(task.key):
                task.stage = to
                keep.add(tdef.key)
            else:
                task.status = transition(task.status, TaskStatus.CANCELLED)
                effects.append(TaskClosed(task, None))
        log.info("case %s moved onto another version of %s: stage %s -> %s", case.id, spec.process, case.stage, to)
        case.spec, case.stage = spec, to
        now = self.clock.now()
        if missing:
            task = TaskState(
                key=MOVE_TASK,
                stage=to,
                visit=case.visit,
                kind="form",
                assignee_id=case.responsible_id or case.initiator_id,
                created_at=now,
            )
            case.tasks.append(task)
            effects.append(TaskCreated(task))
            return effects
        if target.wait is not None and not keep:
            until = parse_deadline(target.wait).resolve(now, case.data, self.calendar)
            if until is not None and until > now:
                effects.append(SetTimer("wait", until, stage=to, visit=case.visit))
                return effects
        self._give_tasks(case, target, effects, depth=0, keep=frozenset(keep), done=done)
        return effects

    def cancel(self, case: CaseState, actor_id: int | None, reason: LocalText | None = None) -> list[Effect]:
        """Cancel the case wherever it stands. `reason`, as the person cancelling said it (or the system's words
        in each language: a sub-process cancelled with its parent), is what the process's `on_cancel` texts read
        as `cancel_reason`."""
        if case.status in CASE_CLOSED:
            raise EngineError(_("This case is already closed."))
        effects: list[Effect] = []
        calling = waiting_call(case)
        self._close_open_tasks(case, effects, actor_id)
        case.status = transition(case.status, CaseStatus.CANCELLED)
        told: list[Effect] = []
        self._act(case, case.spec.on_cancel, told)  # the process's own notices: a prepayment to return
        why = ((CANCEL_REASON, reason or ""),)
        effects.extend(replace(e, values=why) if isinstance(e, Notify) else e for e in told)
        if calling is not None:
            effects.append(CancelCalls())
        effects.append(CaseClosed(case.status, None))
        log.info("case %s cancelled by %s", case.id, actor_id)
        return effects

    # --- item tracks --------------------------------------------------------------------------------------

    def may_move_items(
        self, case: CaseState, name: str, actor_id: int, actor_roles: set[str], is_admin: bool = False
    ) -> bool:
        """The track's role moves its items; a track without one is moved by the case's responsible."""
        track = track_of(case.spec, name)
        if is_admin:
            return True
        if track.role is not None:
            return track.role in actor_roles
        return actor_id in (case.responsible_id or case.initiator_id, case.initiator_id)

    def item_moves(
        self, case: CaseState, name: str, index: int, actor_id: int, actor_roles: set[str], is_admin: bool = False
    ) -> list[str]:
        """Item stages this person may move the item to from where it stands."""
        state = item_state(case.data, name, index)
        if case.status != CaseStatus.ACTIVE or state is None:
            return []
        if not self.may_move_items(case, name, actor_id, actor_roles, is_admin):
            return []
        moves = self._open_item_moves(case, name, index, str(state.get("stage")))
        if pending_approval(case, name, index) is not None:
            # A move waiting for approval holds the item where it is until it is decided — but an item the client
            # dropped meanwhile is cancelled at once (its approval withdrawn), not left to wait for a refusal.
            return cancelling_moves(case, name, moves)
        return moves

    def _open_item_moves(self, case: CaseState, name: str, index: int, stage: str) -> list[str]:
        local_now = self.clock.now().astimezone(self.calendar.tz).replace(tzinfo=None)
        extra = {"today": local_now.date(), "now": local_now}
        return [m.to for m in open_item_moves(case, name, index, stage, extra)]

    def move_item(
        self,
        case: CaseState,
        name: str,
        index: int,
        to: str,
        actor_id: int,
        actor_roles: set[str],
        is_admin: bool = False,
    ) -> list[Effect]:
        """Move one item by hand. A move that waits for a role's approval asks it first, before anything else: the
        approver decides whether the item goes there at all. Fields its new stage requires that the entry lacks are
        asked next: the mover gets a form for them, and the move completes when it is submitted."""
        if to not in self.item_moves(case, name, index, actor_id, actor_roles, is_admin):
            raise EngineError(_("The item cannot be moved to that stage from here, or not by you."))
        target = track_of(case.spec, name).stage(to)
        effects: list[Effect] = []
        role = self._unapproved(case, name, index, to)
        if role is not None:
            self._ask_approval(case, name, index, target, role, effects, actor_id)
            return effects
        if item_lacks(case.spec, case.data, name, index, to):
            return [TaskCreated(self._item_form(case, name, index, to, actor_id))]
        self._check_item(case, name, index, target)
        self._put_item(case, name, index, target, effects, actor_id)
        self._follow(case, name, effects, 0, actor_id)
        return effects

    def _unapproved(self, case: CaseState, name: str, index: int, to: str) -> str | None:
        """The role whose approval a move of the item still waits for: none if the move needs none, or if it was
        approved since the item last moved (a form abandoned and opened again is not put to the approver twice)."""
        state = item_states(case.data, name)[index]
        role = move_approval(track_of(case.spec, name), str(state.get("stage")), to)
        return None if role is None or to in approved_moves(state) else role

    def _item_form(self, case: CaseState, name: str, index: int, to: str, assignee: int) -> TaskState:
        """The form of an item's move, for `assignee`: the one already open (abandoned, or someone else's), or a
        new one."""
        return self._form_for(case, item_task_key(name, index, to), assignee)[0]

    def _ask_approval(
        self,
        case: CaseState,
        name: str,
        index: int,
        target: ItemStageDef,
        role: str,
        effects: list[Effect],
        mover: int,
    ) -> None:
        """The move waits for `role`, who gets a task to decide; the item stays where it is meanwhile."""
        state = item_states(case.data, name)[index]
        now = self.clock.now()
        task = TaskState(
            key=item_approval_key(name, index, target.key), stage=case.stage, visit=case.visit, kind="approve",
            role=role, created_at=now,
        )
        case.tasks.append(task)
        state.setdefault("history", []).append(
            {"approval": "asked", "for": target.key, "at": now.isoformat(), "by": mover}
        )
        effects.append(TaskCreated(task))
        effects.append(ItemApproval(name, index, target.key, "asked", mover, mover))
        log.info("case %s item %s#%s: -> %s waits for %s", case.id, name, index, target.key, role)

    def _decide_item(
        self, case: CaseState, task: TaskState, outcome: str, values: dict[str, Any], actor_id: int
    ) -> list[Effect]:
        """The approver decided on an item's move: approved, the item moves (if it still can go there), or, when
        its new stage requires fields the entry lacks, the person who asked gets the move's form and the item moves
        once it is filled; rejected, with a reason, it stays, and the person who asked is told why."""
        approval = parse_item_approval(task.key)
        assert approval is not None
        name, index, to = approval
        reason = str(values.get(f"{task.key}_comment") or "").strip()
        if outcome == "reject" and not reason:
            raise EngineError(_("A comment is required for this answer."))
        state = item_state(case.data, name, index)
        if state is None:
            raise EngineError(_("This item does not exist."))
        history = state.setdefault("history", [])
        mover = next((h.get("by") for h in reversed(history) if h.get("approval") == "asked"), None)
        target = track_of(case.spec, name).stage(to)
        effects: list[Effect] = []
        lacking = False
        if outcome == "approve":
            if to not in self._open_item_moves(case, name, index, str(state.get("stage"))):
                raise EngineError(_("The item cannot be moved to that stage from here, or not by you."))
            lacking = bool(item_lacks(case.spec, case.data, name, index, to))
            if not lacking:
                self._check_item(case, name, index, target)  # the item moves now: its new stage's rules hold
        now = self.clock.now()
        task.status = transition(task.status, TaskStatus.DONE)
        task.outcome, task.done_by, task.done_at = outcome, actor_id, now
        effects.append(TaskClosed(task, actor_id))
        decision = "approved" if outcome == "approve" else "rejected"
        step: dict[str, Any] = {"approval": decision, "for": to, "at": now.isoformat(), "by": actor_id}
        if reason:
            step["reason"] = reason
        history.append(step)
        form = None
        if lacking:
            form = self._item_form(case, name, index, to, mover if isinstance(mover, int) else actor_id)
            effects.append(TaskCreated(form))
        effects.append(ItemApproval(name, index, to, decision, actor_id, mover, reason or None, form))
        log.info("case %s item %s#%s: -> %s %s by %s", case.id, name, index, to, decision, actor_id)
        if outcome == "approve" and not lacking:
            self._put_item(case, name, index, target, effects, actor_id)
            self._follow(case, name, effects, 0, actor_id)
        return effects

    def _submit_item(
        self, case: CaseState, task: TaskState, outcome: str, values: dict[str, Any], actor_id: int
    ) -> list[Effect]:
        """The form of an item's move is filled: the answers go into the entry, and the item moves (its approval,
        if the move needs one, was given before the form was)."""
        item = parse_item_task(task.key)
        assert item is not None
        name, index, to = item
        state = item_state(case.data, name, index)
        entry = entry_of(case.data, name, index)
        track = track_of(case.spec, name)
        now = self.clock.now()
        effects: list[Effect] = []
        if state is None or entry is None or to not in self._open_item_moves(case, name, index, str(state["stage"])):
            # Someone else moved the item meanwhile: this form no longer leads anywhere.
            task.status = transition(task.status, TaskStatus.CANCELLED)
            return [TaskClosed(task, actor_id)]
        target = track.stage(to)
        values = self._entry_answers(case, name, entry, target.requires, values)
        entry.update(values)
        # A form given before its move was approved (a case running since the form came first) asks it now.
        role = self._unapproved(case, name, index, to)
        if role is None:
            self._check_item(case, name, index, target)
        task.status = transition(task.status, TaskStatus.DONE)
        task.outcome, task.done_by, task.done_at = outcome, actor_id, now
        effects.append(TaskClosed(task, actor_id))
        if role is not None:
            self._ask_approval(case, name, index, target, role, effects, actor_id)
            return effects
        self._put_item(case, name, index, target, effects, actor_id)
        self._follow(case, name, effects, 0, actor_id)
        return effects

    @staticmethod
    def _entry_answers(
        case: CaseState,
        name: str,
        entry: dict[str, Any],
        names: list[str],
        values: dict[str, Any],
        corrected: str | None = None,
    ) -> dict[str, Any]:
        """The answers of an item's form that go into its entry: of the entry's fields, an empty answer never
        erasing a value (but the field a correction is for, answered on purpose: emptied, it is empty); the fields
        of `names` the entry is asked (its `ask_if` reads the entry itself) left empty are refused by name."""
        fields = entry_fields(case.spec, name)
        values = {
            k: v for k, v in values.items()
            if k in fields and (k == corrected or not (is_empty(v) and not is_empty(entry.get(k))))
        }  # fmt: skip
        needed = asked(fields, names, values, entry)
        missing = [
            n for n in needed
            if is_empty(values.get(n)) and ((n == corrected and n in values) or is_empty(entry.get(n)))
        ]  # fmt: skip
        if missing:
            labels = ", ".join(local(fields[n].label) for n in missing)
            raise EngineError(_("Please fill in: %(fields)s"), fields=labels)
        return values

    def item_corrections(
        self, case: CaseState, name: str, index: int, actor_id: int, actor_roles: set[str], is_admin: bool = False
    ) -> list[str]:
        """The fields of an item this person may correct where it stands (its stage's `editable`): whoever moves
        the items fills their fields, so they correct them."""
        if case.status != CaseStatus.ACTIVE or not self.may_move_items(case, name, actor_id, actor_roles, is_admin):
            return []
        return correctable(case.spec, case.data, name, index)

    def request_item_edit(
        self,
        case: CaseState,
        name: str,
        index: int,
        field: str,
        actor_id: int,
        actor_roles: set[str],
        is_admin: bool = False,
    ) -> list[Effect]:
        """Ask the person for a new value of one field of an item (the answer comes back through `submit`), as
        `request_edit` does for a field of the case."""
        if item_state(case.data, name, index) is None:
            raise EngineError(_("This item does not exist."))
        if field not in self.item_corrections(case, name, index, actor_id, actor_roles, is_admin):
            raise EngineError(_("This field of the item cannot be changed where it stands, or not by you."))
        task, new = self._form_for(case, item_edit_key(name, index, field), actor_id)
        return [TaskCreated(task)] if new else []

    def _correct_item(
        self, case: CaseState, task: TaskState, outcome: str, values: dict[str, Any], actor_id: int
    ) -> list[Effect]:
        """A correction of an item's field is answered: the entry takes the new value where the item stands (its
        stage's rules still hold with it), and the value it replaces stays in the item's history."""
        edit = parse_item_edit(task.key)
        assert edit is not None
        name, index, field = edit
        entry = entry_of(case.data, name, index)
        state = item_state(case.data, name, index)
        if entry is None or state is None or field not in correctable(case.spec, case.data, name, index):
            raise EngineError(_("This field of the item cannot be changed where it stands, or not by you."))
        here = track_of(case.spec, name).stage(str(state["stage"]))
        # A required field, or one its stage requires, is not emptied by a correction: only an optional one is.
        kept = [field] if entry_fields(case.spec, name)[field].required or field in here.requires else []
        answer = {field: values[field]} if field in values else {}
        values = self._entry_answers(case, name, entry, kept, answer, corrected=field)
        before = entry.get(field)
        after = values.get(field, before)
        if after != before:
            entry[field] = after
            try:
                self._check_item(case, name, index, here)  # the stage's rules hold with the new value too
            except EngineError:
                entry[field] = before  # refused: the entry is as it was
                raise
        now = self.clock.now()
        task.status = transition(task.status, TaskStatus.DONE)
        task.outcome, task.done_by, task.done_at = outcome, actor_id, now
        effects: list[Effect] = [TaskClosed(task, actor_id)]
        if after == before:
            return effects  # the same value kept: nothing was corrected
        step: dict[str, Any] = {"corrected": field, "was": before, "now": after, "at": now.isoformat(), "by": actor_id}
        state.setdefault("history", []).append(step)
        effects.append(FieldCorrected(field, before, after, actor_id, item=(name, index)))
        log.info("case %s item %s#%s: %s corrected by %s", case.id, name, index, field, actor_id)
        return effects

    def _check_item(self, case: CaseState, name: str, index: int, target: ItemStageDef) -> None:
        """The target stage's rules over the case and the item: the first that does not hold refuses the move."""
        if not target.checks:
            return
        context = self.context(case)
        entries = context.get(name)
        context["item"] = entries[index] if isinstance(entries, list) and index < len(entries) else {}
        for check in target.checks:
            if not evaluate(check.rule, context):
                raise EngineError(
                    _("The item cannot go to “%(stage)s”: %(reason)s"), stage=target.title, reason=check.message
                )

    def _begin_items(self, case: CaseState, stage: StageDef, effects: list[Effect]) -> None:
        """Items of a list begin their track when the case enters the track's `start` stage (by default the
        first stage that follows them; without such stages, the case's first stage)."""
        for name, track in case.spec.tracks().items():
            begins = track.start
            if begins is None:
                followers = case.spec.followers(name)
                begins = followers[0].key if followers else case.spec.stages[0].key
            if begins != stage.key:
                continue
            states = case.data.setdefault(ITEMS, {}).setdefault(name, [])
            entries = case.data.get(name)
            for index in range(len(states), len(entries) if isinstance(entries, list) else 0):
                states.append({"stage": None, "visit": 0, "history": []})
                self._put_item(case, name, index, track.stages[0], effects, None)

    def _put_item(
        self, case: CaseState, name: str, index: int, target: ItemStageDef, effects: list[Effect], by: int | None
    ) -> None:
        state = item_states(case.data, name)[index]
        now = self.clock.now()
        previous = state.get("stage")
        stale = pending_approval(case, name, index)
        if stale is not None:  # asked for a move from the stage the item is leaving: nothing left to decide
            stale.status = transition(stale.status, TaskStatus.CANCELLED)
            effects.append(TaskClosed(stale, by))
        # Who worked on the item before this move (the mover knows what they did: not told again).
        workers = [h["by"] for h in state.get("history") or [] if isinstance(h.get("by"), int) and h["by"] != by]
        state["stage"], state["visit"], state["since"] = target.key, int(state.get("visit") or 0) + 1, now.isoformat()
        state.setdefault("history", []).append({"from": previous, "to": target.key, "at": now.isoformat(), "by": by})
        # A form someone opened to move the item from where it was (a tracking number for «Отправлен», the item
        # cancelled meanwhile) leads nowhere now: it leaves «Мои задачи» at once rather than be refused when sent.
        still = set(self._open_item_moves(case, name, index, target.key))
        editable = set(target.editable)  # a correction opened where it stood: not where it is now
        for form in case.open_tasks():
            moving, editing = parse_item_task(form.key), parse_item_edit(form.key)
            nowhere = moving is not None and moving[:2] == (name, index) and moving[2] not in still
            if nowhere or (editing is not None and editing[:2] == (name, index) and editing[2] not in editable):
                form.status = transition(form.status, TaskStatus.CANCELLED)
                effects.append(TaskClosed(form, by))
        effects.append(ItemMoved(name, index, previous, target.key, by))
        # An approval withdrawn by this move (the item cancelled while it waited): its approver worked on it too,
        # and hears why the decision he was asked for is no longer needed.
        approvers: tuple[str, ...] = ()
        if stale is not None and stale.assignee_id is None and stale.role:
            approvers = (stale.role,)
        elif stale is not None and stale.assignee_id not in (None, by):
            workers.append(stale.assignee_id)
        for notice in target.on_enter:
            roles, users = self._resolve_people(case, [who for who in notice.notify if who != ITEM_WORKERS])
            if ITEM_WORKERS in notice.notify:
                users = tuple(dict.fromkeys((*users, *workers)))
                roles = tuple(dict.fromkeys((*roles, *approvers)))
            effects.append(Notify(kind="text", roles=roles, user_ids=users, text=notice.text, item=(name, index)))
        log.info("case %s item %s#%s: %s -> %s", case.id, name, index, previous, target.key)
        for reminder in target.remind:
            at = parse_deadline(reminder).resolve(now, case.data, self.calendar)
            if at is not None and at > now:
                effects.append(SetTimer("item", at, stage=target.key, visit=state["visit"], item=(name, index)))

    def _follow(self, case: CaseState, name: str, effects: list[Effect], depth: int, mover: int | None) -> None:
        """The parent rule: at a stage that follows the items of `name`, the case goes to the furthest such stage
        that every item that counts has reached (the lowest item stage decides), with that stage's on-enter."""
        if case.status != CaseStatus.ACTIVE or case.stage == START_TASK:
            return
        here = case.spec.stage(case.stage)
        if here.follows is None or here.follows.list != name:
            return
        track = track_of(case.spec, name)
        states = item_states(case.data, name)
        floor = counted_floor(track, states)
        target = None
        if floor is None:
            # No item counts: every one cancelled or removed (the track's `all_cancelled` stage takes the case on),
            # or the track has not begun (no states kept for the list yet: nothing to follow).
            begun = isinstance((case.data.get(ITEMS) or {}).get(name), list)
            if not begun or track.all_cancelled is None:
                return
            target = case.spec.stage(track.all_cancelled)
        else:
            for stage in case.spec.followers(name):
                assert stage.follows is not None
                if track.rank(stage.follows.at_least) <= floor:
                    target = stage
        if target is None or target.key == case.stage:
            return
        log.info("case %s follows its items of %s: %s -> %s", case.id, name, case.stage, target.key)
        for task in case.open_tasks():
            if not is_item_work(task.key):  # items' forms and approvals stay; the stage's own work goes
                task.status = transition(task.status, TaskStatus.CANCELLED)
                effects.append(TaskClosed(task, mover))
        self._enter(case, target, effects, depth + 1, mover)

    def context(self, case: CaseState) -> dict[str, Any]:
        """What conditions and templates of the case see: its typed fields, and `today`/`now` in company time.
        `now` is naive wall-clock time, as datetime fields are, so that the two compare."""
        local_now = self.clock.now().astimezone(self.calendar.tz).replace(tzinfo=None)
        return case_context(case.spec, case.data, {"today": local_now.date(), "now": local_now}, case.refs)

    # --- internals ------------------------------------------------------------------------------------

    def _check_open(self, case: CaseState, task: TaskState) -> None:
        if case.status in CASE_CLOSED:
            raise EngineError(_("This case is already closed."))
        if task.status != TaskStatus.OPEN:
            raise EngineError(_("This task is already done."))

    @classmethod
    def _start_form_wanted(cls, spec: ProcessDef, data: dict[str, Any]) -> bool:
        """Whether a new case waits for its initiator to fill the start form. Given nothing of the form (a start
        from the menu or the clock), it does; given some of it (a site's lead, a hand-off, a called case), only
        for a required field still empty — an optional one left empty is not missing, as in any other form."""
        if not spec.start.form:
            return False
        if all(is_empty(data.get(n)) for n in spec.start.form):
            return True
        names = asked(spec.fields, spec.start.form, {}, data)
        return any(cls._required(spec, n) and is_empty(data.get(n)) for n in names)

    @staticmethod
    def _required(spec: ProcessDef, name: str) -> bool:
        fdef = spec.fields.get(name)
        return fdef is not None and fdef.required

    def _activate(self, case: CaseState, effects: list[Effect]) -> None:
        case.status = transition(case.status, CaseStatus.ACTIVE)
        # Kept, not recomputed: a weekly cycle is named after the day it started.
        case.data.setdefault("started_on", self.clock.now().astimezone(self.calendar.tz).date().isoformat())
        if case.spec.start.title:
            self._retitle(case)
        self._enter(case, entry_stage(case.spec, case.data), effects, depth=0)

    @staticmethod
    def _with_approved_documents(case: CaseState, left: str | None, effects: list[Effect], since: int) -> None:
        """The words a stage says as the case comes in from an approval («КП согласовано директором — отправьте его
        клиенту») bring the documents that approval was given on (its task's `attach`): what was approved is what
        the reader is to send on, and they may never have had it from the bot. A notice naming files of its own
        brings those."""
        if left is None or left == case.stage or left not in {st.key for st in case.spec.stages}:
            return
        approved = tuple(
            name
            for tdef in case.spec.stage(left).tasks
            if tdef.kind == "approve" and case.data.get(tdef.key) == "approve"
            for name in tdef.attach
            if name in case.spec.fields and case.spec.fields[name].type == "document"
        )
        if not approved:
            return
        for index in range(since, len(effects)):
            effect = effects[index]
            if isinstance(effect, Notify) and effect.kind == "text" and not effect.attach:
                effects[index] = replace(effect, attach=approved)

    @staticmethod
    def _missing(case: CaseState, stage: StageDef) -> list[str]:
        return [n for n in stage.requires if is_empty(case.data.get(n))]

    def _retitle(self, case: CaseState) -> None:
        """The title follows the data it is made of (a moved shipping date shows in the deal's name); a title per
        language gives the case one in each (the default language's in `title`, the others' in `titles`)."""
        template = case.spec.start.title
        if not template:
            return
        case.title = made_title(local(template, DEFAULT_LANG), case.context())
        if isinstance(template, str):
            case.titles = None
            return
        case.titles = {
            lang: made_title(text, case.context(lang))
            for lang, text in template.items()
            if lang != DEFAULT_LANG and text
        } or None

    def _advance(
        self,
        case: CaseState,
        effects: list[Effect],
        depth: int,
        origin: str | None = None,
        unanswered: frozenset[str] = frozenset(),
    ) -> None:
        """Follow the `next` of the case's stage (or of `origin`: a call whose children moved the case on), the
        answers of the tasks in `unanswered` (withdrawn by the stage's join) read as none."""
        stage = case.spec.stage(origin or case.stage)
        context = self._answers_so_far(case, unanswered)
        for way in stage.next:
            if way.when is None or evaluate(way.when, context):
                self._enter(case, case.spec.stage(way.to), effects, depth + 1)
                return
        raise EngineError(_("No way forward from stage %(stage)s."), stage=stage.key)

    def _enter(
        self, case: CaseState, stage: StageDef, effects: list[Effect], depth: int, mover: int | None = None
    ) -> None:
        if depth > MAX_AUTOMATIC_STEPS:
            raise EngineError(_("The process loops without any human step; check the definition."))
        if self._missing(case, stage):
            # Not in yet: whoever moves it (or the responsible, for an automatic step) fills what is missing.
            if not any(t.key == MOVE_TASK and t.stage == stage.key for t in case.open_tasks()):
                task = TaskState(
                    key=MOVE_TASK,
                    stage=stage.key,
                    visit=case.visit,
                    kind="form",
                    assignee_id=mover or case.responsible_id or case.initiator_id,
                    created_at=self.clock.now(),
                )
                case.tasks.append(task)
                effects.append(TaskCreated(task))
            return
        for pending in case.open_tasks():
            if pending.key == MOVE_TASK or pending.key.startswith(EDIT_PREFIX):
                pending.status = transition(pending.status, TaskStatus.CANCELLED)
                effects.append(TaskClosed(pending, mover))
        # A case never entered anywhere yet (visit 0: started without a form, at its first stage's key) has no stage
        # it came from: its first entry is news of a new case, not a move «Новая заявка → Новая заявка».
        previous = case.stage if case.stage != START_TASK and case.visit > 0 else None
        case.stage = stage.key
        case.visit += 1
        effects.append(StageEntered(previous, stage.key))
        log.info("case %s stage %s -> %s (visit %s)", case.id, previous, stage.key, case.visit)
        now = self.clock.now()
        told = len(effects)
        self._act(case, stage.on_enter, effects)
        self._with_approved_documents(case, previous, effects, told)
        self._begin_items(case, stage, effects)
        if stage.follows is not None and stage.follows.list is not None and not stage.final:
            visit = case.visit
            self._follow(case, stage.follows.list, effects, depth, mover)
            if case.visit != visit:
                return  # the items were further on already: the case went with them
        if stage.final:
            self._close_open_tasks(case, effects, None)
            case.status, case.result = transition(case.status, CaseStatus.DONE), stage.result
            effects.append(CaseClosed(case.status, stage.result))
            log.info("case %s closed at %s (%s)", case.id, stage.key, stage.result)
            return
        if stage.wait is not None:
            until = parse_deadline(stage.wait).resolve(now, case.data, self.calendar)
            if until is not None and until > now:
                effects.append(SetTimer("wait", until, stage=stage.key, visit=case.visit))
                return
            # A date already past (or not given) does not hold the case up.
        if stage.call is not None:
            if stage.call.for_each is not None:
                self._fan_out(case, stage, effects, depth)
                return
            data = {name: case.data.get(source) for name, source in stage.call.map.items()}
            starter = case.responsible_id or case.initiator_id
            effects.append(CallProcess(stage.call.process, data, starter, stage.key, case.visit))
            return
        self._give_tasks(case, stage, effects, depth)

    def _give_tasks(
        self,
        case: CaseState,
        stage: StageDef,
        effects: list[Effect],
        depth: int,
        keep: frozenset[str] = frozenset(),
        done: frozenset[str] = frozenset(),
    ) -> None:
        """Create the stage's tasks (except those in `keep`, already open, and in `done`, already answered); a
        stage with no task to give moves on (or holds for a manual move)."""
        now = self.clock.now()
        created = 0
        for tdef in stage.tasks:
            if tdef.key in keep:
                created += 1
                continue
            if tdef.key in done:
                continue
            if tdef.for_each is not None:
                # One task per entry present now that its `when` holds for; an empty list gives none.
                entries = case.data.get(tdef.for_each) or []
                keys = [
                    f"{tdef.key}{ENTRY_SEP}{index}"
                    for index, entry in enumerate(entries)
                    if self._entry_wanted(case, tdef, entry)
                ]
            elif tdef.when is not None and not evaluate(tdef.when, self.context(case)):
                continue
            else:
                keys = [tdef.key]
            for key in keys:
                task = self._new_task(case, stage, tdef, now, key)
                created += 1
                effects.append(TaskCreated(task))
                effects.extend(self._task_timers(task, tdef, now))
        # Every task skipped at a stage that can also be moved by hand: the case holds for that move
        # (a postpaid deal stays at «Проверено СБ» while prepaid ones get the accountant's check).
        holds = bool(stage.moves and stage.tasks)
        if created == 0 and stage.next and not holds:
            self._advance(case, effects, depth + 1)

    def _entry_wanted(self, case: CaseState, tdef: TaskDef, entry: Any) -> bool:
        """Whether a `for_each` task is given for this entry: its `when` is read per entry, with `item`, so an entry
        with nothing to do (a production that makes nothing this week) gets no task rather than one to wave off."""
        if tdef.when is None:
            return True
        return bool(evaluate(tdef.when, {**self.context(case), "item": entry if isinstance(entry, dict) else {}}))

    def _task_timers(self, task: TaskState, tdef: TaskDef, now: datetime) -> list[Effect]:
        """The reminders still ahead of a task's deadline, and the deadline itself (which escalates)."""
        if task.due_at is None:
            return []
        timers: list[Effect] = []
        for reminder in tdef.remind:
            at = parse_offset(reminder).apply(task.due_at, self.calendar)
            if at > now:
                timers.append(SetTimer("remind", at, task=task))
        timers.append(SetTimer("overdue", task.due_at, task=task))
        return timers

    def _due_at(self, case: CaseState, tdef: TaskDef, now: datetime) -> datetime | None:
        """A task's deadline, given at `now`, as the case's data has it."""
        if tdef.due is None:
            return None
        deadline = parse_deadline(tdef.due)
        base = now
        if deadline.kind == "weekly" and case.spec.schedule and case.data.get("started_on"):
            # In a scheduled (weekly) process «Thursday 18:00» is the Thursday of the cycle's own week, even
            # when the step before was late: then the task is simply overdue, not due a week later.
            started = date.fromisoformat(str(case.data["started_on"]))
            base = self.calendar.local_moment(started, time(0, 0))
        return deadline.resolve(base, case.data, self.calendar)

    def _new_task(self, case: CaseState, stage: StageDef, tdef: TaskDef, now: datetime, key: str) -> TaskState:
        due_at = self._due_at(case, tdef, now)
        task = TaskState(key=key, stage=stage.key, visit=case.visit, kind=tdef.kind, due_at=due_at, created_at=now)
        assignee = tdef.assignee
        if assignee.startswith(ITEM_PREFIX):
            # A for_each task for whoever the entry names: a role (a choice of role keys) or a person.
            found = task_entry(case.spec, case.data, task)
            value = found[1].get(assignee.removeprefix(ITEM_PREFIX)) if found else None
            roles: tuple[str, ...] = (value,) if isinstance(value, str) else ()
            users: tuple[int, ...] = (value,) if isinstance(value, int) else ()
        elif (own := organisation_role(assignee)) is not None:
            # The role's pool; the organisation's own person, read by the service, takes it over when there is one.
            roles, users = (own,), ()
        else:
            roles, users = self._resolve_people(case, [assignee])
        if users:
            task.assignee_id = users[0]
        elif roles:
            task.role = roles[0]
        else:
            raise EngineError(_("Nobody to give the task %(task)s to."), task=tdef.key)
        case.tasks.append(task)
        return task

    def _resolve_people(self, case: CaseState, refs: list[str]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        roles: list[str] = []
        users: list[int] = []
        for ref in refs:
            person: Any = None
            if ref in PERSON_REFS:
                person = case.initiator_id if ref == "initiator" else (case.responsible_id or case.initiator_id)
            elif ref.startswith("field:"):
                person = case.data.get(ref.removeprefix("field:"))
            else:
                roles.append(ref)
                continue
            if isinstance(person, int) and person not in users:
                users.append(person)
        return tuple(roles), tuple(users)

    @staticmethod
    def _task_people(task: TaskState) -> dict[str, Any]:
        if task.assignee_id is not None:
            return {"user_ids": (task.assignee_id,)}
        return {"roles": (task.role,) if task.role else ()}

    def _act(self, case: CaseState, actions: Sequence[Action], effects: list[Effect]) -> None:
        """A stage's `on_enter` as it is entered, or the process's `on_cancel` as the case is cancelled: each
        action whose `when` holds, in order."""
        view = _ActionView(self, case)
        for action in actions:
            if action.when is None or evaluate(action.when, self.context(case)):
                effects.extend(action.effects(view))

    def _close_open_tasks(self, case: CaseState, effects: list[Effect], actor_id: int | None) -> None:
        for task in case.open_tasks():
            task.status = transition(task.status, TaskStatus.CANCELLED)
            effects.append(TaskClosed(task, actor_id))


def file_fields(spec: ProcessDef) -> set[str]:
    return {name for name, f in spec.fields.items() if f.type in FILE_TYPES}
