"""Statuses: declared moves pass, anything else is refused; the stored values are the old strings."""

from __future__ import annotations

from enum import StrEnum

import pytest

from flows.status import (
    CASE_CLOSED,
    TRANSITIONS,
    CaseStatus,
    InboxStatus,
    OutboxStatus,
    TaskStatus,
    TimerStatus,
    TransitionNotAllowed,
    allowed,
    transition,
)

DECLARED = [
    (CaseStatus.DRAFT, CaseStatus.ACTIVE),
    (CaseStatus.DRAFT, CaseStatus.CANCELLED),
    (CaseStatus.ACTIVE, CaseStatus.DONE),
    (CaseStatus.ACTIVE, CaseStatus.CANCELLED),
    (TaskStatus.OPEN, TaskStatus.DONE),
    (TaskStatus.OPEN, TaskStatus.CANCELLED),
    (TimerStatus.PENDING, TimerStatus.FIRED),
    (TimerStatus.PENDING, TimerStatus.FAILED),
    (TimerStatus.PENDING, TimerStatus.CANCELLED),
    (TimerStatus.FAILED, TimerStatus.PENDING),  # an admin retries the failed step
    (OutboxStatus.PENDING, OutboxStatus.SENDING),
    (OutboxStatus.SENDING, OutboxStatus.SENT),
    (OutboxStatus.SENDING, OutboxStatus.PENDING),
    (OutboxStatus.SENDING, OutboxStatus.FAILED),
    (OutboxStatus.SENDING, OutboxStatus.UNCERTAIN),
    (InboxStatus.PENDING, InboxStatus.DONE),
    (InboxStatus.PENDING, InboxStatus.FAILED),
    (InboxStatus.FAILED, InboxStatus.PENDING),
]

KINDS: list[type[StrEnum]] = [CaseStatus, TaskStatus, TimerStatus, OutboxStatus, InboxStatus]


def test_values_are_the_stored_strings() -> None:
    assert [s.value for s in CaseStatus] == ["draft", "active", "done", "cancelled"]
    assert [s.value for s in TaskStatus] == ["open", "done", "cancelled"]
    assert [s.value for s in TimerStatus] == ["pending", "fired", "failed", "cancelled"]
    assert [s.value for s in OutboxStatus] == ["pending", "sending", "sent", "failed", "uncertain"]
    assert TaskStatus.OPEN == "open" and f"{OutboxStatus.UNCERTAIN}" == "uncertain"
    assert CASE_CLOSED == {"done", "cancelled"}


@pytest.mark.parametrize(("current", "new"), DECLARED)
def test_a_declared_move_passes(current: StrEnum, new: StrEnum) -> None:
    assert transition(current, new) is new
    assert transition(current.value, new) is new  # as a row holds it


def test_exactly_the_declared_moves_are_allowed() -> None:
    # Keyed by kind: members of different kinds with the same value compare equal as strings.
    declared = {(type(current), current.value, new.value) for current, new in DECLARED}
    for kind in KINDS:
        for current in kind:
            for new in kind:
                if (kind, current.value, new.value) in declared:
                    assert new in allowed(current)
                    continue
                with pytest.raises(TransitionNotAllowed, match="is not a declared transition"):
                    transition(current, new)
    in_table = {(kind, s.value, t.value) for kind in KINDS for s, targets in TRANSITIONS[kind].items() for t in targets}
    assert in_table == declared


@pytest.mark.parametrize(
    ("current", "new", "reason"),
    [
        (TaskStatus.DONE, TaskStatus.OPEN, "'done' -> 'open' is not a declared transition (declared from it: none"),
        (CaseStatus.DONE, CaseStatus.ACTIVE, "'done' -> 'active'"),
        (CaseStatus.CANCELLED, CaseStatus.DONE, "none, it is final"),
        (TimerStatus.FIRED, TimerStatus.PENDING, "TimerStatus: 'fired' -> 'pending'"),
        (OutboxStatus.PENDING, OutboxStatus.SENT, "declared from it: sending"),
        (OutboxStatus.SENT, OutboxStatus.SENDING, "OutboxStatus"),
        (OutboxStatus.UNCERTAIN, OutboxStatus.PENDING, "OutboxStatus: 'uncertain' -> 'pending'"),
        ("bogus", TaskStatus.DONE, "'bogus' is not in TaskStatus"),
        (TimerStatus.PENDING, OutboxStatus.SENDING, "TimerStatus.PENDING is not in OutboxStatus"),
        (TaskStatus.OPEN, TaskStatus.OPEN, "'open' -> 'open'"),
    ],
)
def test_an_undeclared_move_raises(current: str, new: StrEnum, reason: str) -> None:
    with pytest.raises(TransitionNotAllowed, match="is not a declared transition") as caught:
        transition(current, new)
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.current == current and caught.value.new == new
