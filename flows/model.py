"""Typed model of a process definition (the YAML an admin writes).

Spec and instance are different classes: this module is the spec; `flows.runtime` holds the running case.
Structural checks live here (pydantic); checks that need the whole process (unknown stage, role, field,
unreachable stage) live in `flows.loader`, which also maps every mistake back to a file and line.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
FILE_TYPES = frozenset({"photo", "document"})
TaskKind = Literal["form", "approve", "choice", "confirm"]

# Who a task or a notification goes to: a role key, or one of these people of the case.
PERSON_REFS = frozenset({"initiator", "responsible"})


def local(text: LocalText | None, lang: str = "ru") -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("ru") or next(iter(text.values()), "")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldDef(_Spec):
    type: FieldType
    label: LocalText
    hint: LocalText | None = None
    required: bool = True
    options: dict[str, LocalText] | None = None  # choice: key -> label
    directory: str | None = None  # directory: which directory of the process
    role: str | None = None  # user: pick among people with this role
    multiple: bool = False  # photo/document: several files in one answer
    accept: list[str] | None = None  # document: allowed extensions, e.g. ["pdf"]
    min: float | None = None
    max: float | None = None
    integer: bool = False
    fields: dict[str, FieldDef] | None = None  # list: the fields of one entry
    count: str | None = None  # list: a number field that says how many entries
    min_items: int = 1
    max_items: int = 50

    @model_validator(mode="after")
    def _shape(self) -> FieldDef:
        if self.type == "choice" and not self.options:
            raise ValueError("a choice field needs 'options'")
        if self.type == "directory" and not self.directory:
            raise ValueError("a directory field needs 'directory' (the name of a directory of this process)")
        if self.type == "list":
            if not self.fields:
                raise ValueError("a list field needs 'fields' (the fields of one entry)")
            if any(sub.type == "list" for sub in self.fields.values()):
                raise ValueError("a list cannot contain another list")
        elif self.fields:
            raise ValueError("only a list field may have 'fields'")
        return self


class OutcomeDef(_Spec):
    label: LocalText
    fields: list[str] = Field(default_factory=list)  # asked after the button is pressed
    comment: Literal["required", "optional"] | None = None


class TaskDef(_Spec):
    key: str
    kind: TaskKind = "form"
    title: LocalText
    text: LocalText | None = None  # jinja template shown on the task card
    assignee: str  # role key, "initiator", "responsible", or "field:<user field>"
    fields: list[str] = Field(default_factory=list)
    attach: list[str] = Field(default_factory=list)  # files of the case sent along with the task card
    outcomes: dict[str, OutcomeDef] | None = None
    due: str | None = None
    remind: list[str] = Field(default_factory=list)
    escalate_to: list[str] = Field(default_factory=list)
    when: str | None = None  # create the task only if this condition holds
    timing: bool = False  # the worker starts, pauses and resumes a timer; time spent is kept per person

    @model_validator(mode="after")
    def _outcomes(self) -> TaskDef:
        if self.kind == "choice" and not self.outcomes:
            raise ValueError("a choice task needs 'outcomes'")
        if self.kind in ("form", "confirm") and self.outcomes:
            raise ValueError(f"a {self.kind} task has one outcome; remove 'outcomes' or use kind: choice")
        return self

    def outcome_defs(self) -> dict[str, OutcomeDef]:
        if self.outcomes:
            if self.kind == "approve":
                merged = dict(DEFAULT_OUTCOMES["approve"])
                merged.update(self.outcomes)
                return merged
            return dict(self.outcomes)
        return dict(DEFAULT_OUTCOMES[self.kind])


DEFAULT_OUTCOMES: dict[str, dict[str, OutcomeDef]] = {
    "form": {"submit": OutcomeDef(label={"ru": "Отправить", "en": "Submit"})},
    "confirm": {"done": OutcomeDef(label={"ru": "Готово", "en": "Done"})},
    "approve": {
        "approve": OutcomeDef(label={"ru": "Согласовать", "en": "Approve"}),
        "reject": OutcomeDef(label={"ru": "Отклонить", "en": "Reject"}, comment="required"),
    },
    "choice": {},
}


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
    field: str  # a field of the cases reported on, or: id, title, stage, responsible
    label: LocalText


class ReportDef(_Spec):
    """A report over other cases, made when the stage is entered: an Excel file and a text summary."""

    process: str
    stage: str | None = None  # only cases at this stage (any stage if not given)
    columns: list[ReportColumn]
    totals: list[str] = Field(default_factory=list)  # number/money fields summed in the summary
    to: str  # document field of this case the Excel file goes to
    summary: str | None = None  # text field of this case the summary goes to
    title: LocalText


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


ACTION_KINDS = ("notify", "render", "set", "start", "company", "report", "notify_cases", "email")


class ActionDef(_Spec):
    """One thing done when a stage is entered. Exactly one of notify / render / set / start / company."""

    notify: list[str] | None = None
    text: LocalText | None = None
    attach: list[str] = Field(default_factory=list)
    render: RenderDef | None = None
    set: dict[str, Any] | None = None
    start: StartCaseDef | None = None
    company: CompanyUpdateDef | None = None
    report: ReportDef | None = None
    notify_cases: NotifyCasesDef | None = None
    email: EmailDef | None = None
    when: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ActionDef:
        chosen = [name for name in ACTION_KINDS if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(f"an action is exactly one of {', '.join(ACTION_KINDS)}")
        if self.notify is not None and self.text is None:
            raise ValueError("'notify' needs 'text'")
        return self


class TransitionDef(_Spec):
    to: str
    when: str | None = None


class MoveDef(_Spec):
    """A stage a person may move the case to by hand (a pipeline's «move to stage» button)."""

    to: str
    roles: list[str] = Field(default_factory=list)  # who may; empty: the case's responsible (and admins)
    label: LocalText | None = None


class StageDef(_Spec):
    key: str
    title: LocalText
    on_enter: list[ActionDef] = Field(default_factory=list)
    tasks: list[TaskDef] = Field(default_factory=list)
    next: list[TransitionDef] = Field(default_factory=list)
    moves: list[MoveDef] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)  # fields that must be filled before the case enters
    editable: list[str] = Field(default_factory=list)  # fields the responsible may change at this stage
    # Deadline expression: the stage holds until then; then its tasks are given (or, without tasks, it
    # follows `next`). Changing a field it reads (see `editable`) moves the wait; a past date does not wait.
    wait: str | None = None
    final: bool = False
    result: Literal["success", "failure"] | None = None

    @field_validator("next", mode="before")
    @classmethod
    def _next_shorthand(cls, value: Any) -> Any:
        # `next: stage_key` is the common case; spell it out as one unconditional transition.
        if isinstance(value, str):
            return [{"to": value}]
        return value

    @model_validator(mode="after")
    def _shape(self) -> StageDef:
        if self.final and (self.tasks or self.next or self.wait or self.moves):
            raise ValueError("a final stage has no tasks, 'next', 'moves' or 'wait'")
        if not self.final and not self.next and not self.moves:
            raise ValueError("a stage that is not final needs 'next' or 'moves'")
        if self.tasks and not self.next:
            raise ValueError("a stage with tasks needs 'next' (where to go when they are done)")
        return self


class DirectoryEntry(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    key: str
    name: str


class StartDef(_Spec):
    roles: list[str]
    form: list[str] = Field(default_factory=list)
    title: LocalText | None = None  # jinja: the case's title, e.g. "{{ brand }} от {{ supplier.name }}"


class ScheduleDef(_Spec):
    cron: str  # five fields, in the company's time zone: "0 9 * * thu" — Thursdays at 9:00
    initiator: str  # a role: its first member starts the case


class ProcessDef(_Spec):
    process: str
    title: LocalText
    description: LocalText | None = None
    roles: list[str]
    start: StartDef
    fields: dict[str, FieldDef] = Field(default_factory=dict)
    directories: dict[str, list[DirectoryEntry]] = Field(default_factory=dict)
    schedule: list[ScheduleDef] = Field(default_factory=list)
    stages: list[StageDef]

    @field_validator("stages")
    @classmethod
    def _some_stages(cls, value: list[StageDef]) -> list[StageDef]:
        if not value:
            raise ValueError("a process needs at least one stage")
        return value

    def stage(self, key: str) -> StageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

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
