"""Statuses of cases, tasks, timers and outbox rows: string enums with their allowed moves declared.

Each status set is a `StrEnum` whose values are the strings stored in the database (the columns are
constrained to them) and compared in SQL, so `TaskStatus.OPEN == "open"`. Every move between statuses is
declared in `TRANSITIONS`; `transition(current, new)` returns `new` when the move is declared and raises
`TransitionNotAllowed` otherwise — in the style of viewflow's workflow statuses (string choices) and its
fsm (transitions declared, anything else refused). A change of status in Python goes through it; a bulk
UPDATE names its source status in WHERE and its target through it:

    update(Timer).where(Timer.status == TimerStatus.PENDING)
                 .values(status=transition(TimerStatus.PENDING, TimerStatus.CANCELLED))

The outbox's statuses live here too, beside the engine's: the table that stores them (`db/models/delivery.py`) and
the sender that moves them both need them, and this module is pure Python that either may import.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar


class CaseStatus(StrEnum):
    DRAFT = "draft"  # the initiator is filling the start form
    ACTIVE = "active"
    DONE = "done"  # reached a final stage
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    FAILED = "failed"  # firing raised; the error is in the log, the row stays for the record
    CANCELLED = "cancelled"  # its task closed or its wait was reset before it came due


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting to go out (again, after a 429 or a connection error)
    SENDING = "sending"  # claimed by a sender; its request may be in flight
    SENT = "sent"
    FAILED = "failed"  # refused, or out of attempts
    UNCERTAIN = "uncertain"  # may or may not have been delivered: never sent again


# Closed cases take no more commands.
class InboxStatus(StrEnum):
    PENDING = "pending"  # stored, waiting for its turn (or for a retry after a passing fault)
    DONE = "done"  # handled, in the same transaction as its effects
    FAILED = "failed"  # kept failing: parked with its error until an admin retries it


CASE_CLOSED: frozenset[CaseStatus] = frozenset({CaseStatus.DONE, CaseStatus.CANCELLED})

_S = TypeVar("_S", CaseStatus, TaskStatus, TimerStatus, OutboxStatus, InboxStatus)

# Every allowed move, per status set: source -> targets. A status with no entry is final.
TRANSITIONS: Mapping[type[StrEnum], Mapping[str, frozenset[StrEnum]]] = {
    CaseStatus: {
        CaseStatus.DRAFT: frozenset({CaseStatus.ACTIVE, CaseStatus.CANCELLED}),
        CaseStatus.ACTIVE: frozenset({CaseStatus.DONE, CaseStatus.CANCELLED}),
    },
    TaskStatus: {
        TaskStatus.OPEN: frozenset({TaskStatus.DONE, TaskStatus.CANCELLED}),
    },
    TimerStatus: {
        TimerStatus.PENDING: frozenset({TimerStatus.FIRED, TimerStatus.FAILED, TimerStatus.CANCELLED}),
        TimerStatus.FAILED: frozenset({TimerStatus.PENDING}),  # an admin retries the step
    },
    OutboxStatus: {
        OutboxStatus.PENDING: frozenset({OutboxStatus.SENDING}),
        OutboxStatus.SENDING: frozenset(
            {OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.UNCERTAIN}
        ),
    },
    InboxStatus: {
        InboxStatus.PENDING: frozenset({InboxStatus.DONE, InboxStatus.FAILED}),
        InboxStatus.FAILED: frozenset({InboxStatus.PENDING}),  # an admin retries the step
    },
}


class TransitionNotAllowed(ValueError):
    """A status change that is not declared in `TRANSITIONS` (or a value that is no status of that kind)."""

    def __init__(self, kind: type[StrEnum], current: str, new: str) -> None:
        if isinstance(current, StrEnum) and type(current) is not kind:
            reason = f"{type(current).__name__}.{current.name} is not in {kind.__name__}"
        elif current not in kind._value2member_map_:
            reason = f"{str(current)!r} is not in {kind.__name__}"
        else:
            targets = ", ".join(sorted(TRANSITIONS[kind].get(current, frozenset())))
            reason = f"declared from it: {targets or 'none, it is final'}"
        super().__init__(f"{kind.__name__}: {str(current)!r} -> {str(new)!r} is not a declared transition ({reason})")
        self.kind = kind
        self.current = current
        self.new = new


def allowed(current: _S) -> frozenset[_S]:
    """The statuses `current` may move to (empty for a final status)."""
    return TRANSITIONS[type(current)].get(current, frozenset())  # type: ignore[return-value]


def transition(current: str, new: _S) -> _S:
    """`new`, when moving from `current` to it is declared; `TransitionNotAllowed` otherwise.

    `current` may be the plain string a row holds; it is read as a status of `new`'s kind.
    """
    kind = type(new)
    same_kind = not isinstance(current, StrEnum) or type(current) is kind
    if same_kind and new in TRANSITIONS[kind].get(current, frozenset()):
        return new
    raise TransitionNotAllowed(kind, current, new)
