"""What the engine hands back to its caller: the tasks it keeps, and the effects of a command.

Kept apart from `flows.runtime` so that the action specs of `flows.model` can yield effects themselves
without the model importing the engine.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from flows.status import CaseStatus, TaskStatus

if TYPE_CHECKING:  # the model imports this module; these are for annotations only
    from flows.model import LocalText, NotifyCasesDef, ReportDef



@dataclass
class TaskState:
    key: str
    stage: str
    visit: int
    kind: str
    role: str | None = None  # a pool: anyone with the role may claim
    assignee_id: int | None = None  # a person; for a pool, set by the claim
    status: TaskStatus = TaskStatus.OPEN
    due_at: datetime | None = None
    created_at: datetime | None = None
    outcome: str | None = None
    done_by: int | None = None
    done_at: datetime | None = None
    id: int | None = None
    # Time tracking, for display only (kept by the service): when the running period started, seconds so far.
    work_started_at: datetime | None = None
    worked_seconds: float = 0.0

    @property
    def claimed(self) -> bool:
        return self.assignee_id is not None

    def is_for(self, person_id: int, roles: Collection[str]) -> bool:
        """Whether the task is this person's to do: given to them, or still in the pool of a role they have."""
        return self.assignee_id == person_id or (self.assignee_id is None and self.role in roles)


@dataclass(frozen=True)
class Notify:
    """Tell people something. `kind` selects a built-in text; `text` is the definition's own template."""

    kind: Literal["text", "reminder", "overdue", "escalation", "closed"]
    roles: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()
    text: LocalText | None = None
    attach: tuple[str, ...] = ()
    task: TaskState | None = None
    item: tuple[str, int] | None = None  # the list and entry an item stage's `text` reads as `item`
    # Names the moment adds to what `text` reads, beside the case's fields: `cancel_reason` in a process's
    # `on_cancel` notice (the reason the cancel was given). Pairs, so that the effect stays hashable.
    values: tuple[tuple[str, Any], ...] = ()
    # A task's `on_done` notice: news of an answer, not to whoever gave it.
    answered: bool = False


@dataclass(frozen=True)
class Render:
    template: str  # file name of the template, already rendered from the definition's expression
    to: str
    name: str


@dataclass(frozen=True)
class SetTimer:
    kind: Literal["remind", "overdue", "wait", "item"]
    due_at: datetime
    task: TaskState | None = None
    stage: str | None = None  # a wait: the case's stage; an item's reminder: the item's stage
    visit: int | None = None
    item: tuple[str, int] | None = None  # an item's reminder: its list and index


@dataclass(frozen=True)
class ItemMoved:
    """An item of a list with a track entered a stage (`previous` None: its track has just begun)."""

    list: str
    index: int
    previous: str | None
    stage: str
    by: int | None


@dataclass(frozen=True)
class FieldCorrected:
    """A field was corrected where the case stands — one its stage's `editable` names, or, with `item` (its list
    and index), one of an item its track's stage names — and its value really changed (`before` the value it had,
    `after` the one it has now; a form's ordinary answer is none). Whoever follows the case is told; an item's
    history and cards have it too (a case's history has it from its answer's `before`)."""

    field: str
    before: Any
    after: Any
    by: int
    item: tuple[str, int] | None = None


@dataclass(frozen=True)
class ItemReminder:
    """An item has stayed at its stage as long as the stage's `remind` says: its people are told."""

    list: str
    index: int


@dataclass(frozen=True)
class ItemApproval:
    """An item's move waits for approval (`decision` "asked"), or was approved or rejected (with a reason).
    `mover`: who asked for the move; `by`: who asked, approved or rejected. `form`: approved, but the new stage
    requires fields the entry lacks: the move's form, given to the mover (the item moves when it is filled)."""

    list: str
    index: int
    to: str
    decision: str  # asked | approved | rejected
    by: int | None
    mover: int | None
    reason: str | None = None
    form: TaskState | None = None


@dataclass(frozen=True)
class TaskCreated:
    task: TaskState


@dataclass(frozen=True)
class TaskClosed:
    task: TaskState
    by: int | None


@dataclass(frozen=True)
class StageEntered:
    previous: str | None
    stage: str


@dataclass(frozen=True)
class DeadlineMoved:
    """A task's deadline was moved (`previous` is the one it had): its pending timers go, the new ones follow.
    `field`: the deadline reads it and it was changed (not an escalation's extension): the holder is told so."""

    task: TaskState
    previous: datetime | None
    field: str | None = None


@dataclass(frozen=True)
class CaseClosed:
    status: CaseStatus
    result: str | None


@dataclass(frozen=True)
class StartCase:
    """Start another process with this data; the new case links back to this one."""

    process: str
    data: dict[str, Any]
    initiator_id: int


@dataclass(frozen=True)
class CallProcess:
    """Start a child case of `process` with this data; this case waits at `stage` (visit `visit`) until it
    ends, and then the engine's `child_ended` moves it on."""

    process: str
    data: dict[str, Any]
    initiator_id: int
    stage: str
    visit: int
    entry: int | None = None  # a `for_each` call: which entry of the list this child is for


@dataclass(frozen=True)
class CancelCalls:
    """Cancel child cases this case waits for (their people are told why): all of them when the case is
    cancelled (`reason` "cancelled") or its join is met («joined»: the rest are no longer needed); with
    `entries`, only the children of those entries (entries removed from the list)."""

    reason: Literal["cancelled", "joined", "removed"] = "cancelled"
    entries: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SendEmail:
    to: str
    subject: str
    body: str
    attach: tuple[str, ...] = ()


@dataclass(frozen=True)
class CancelWait:
    """Drop the case's pending wait timer (its date changed)."""


@dataclass(frozen=True)
class BuildReport:
    report: ReportDef


@dataclass(frozen=True)
class NotifyCases:
    notify: NotifyCasesDef


@dataclass(frozen=True)
class UpdateCompany:
    company_id: int
    values: dict[str, Any]


Effect = (
    Notify
    | Render
    | SetTimer
    | TaskCreated
    | TaskClosed
    | DeadlineMoved
    | StageEntered
    | CaseClosed
    | StartCase
    | CallProcess
    | CancelCalls
    | UpdateCompany
    | CancelWait
    | BuildReport
    | NotifyCases
    | SendEmail
    | ItemMoved
    | ItemReminder
    | ItemApproval
    | FieldCorrected
)
