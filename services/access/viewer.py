"""A person as the rules see them (`Viewer`), the refusal they are told in words, and what an admin alone may do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from db.models import User
from flows.runtime import EngineError


class AccessDenied(EngineError):
    """A refusal the person is told about in words."""


@dataclass(frozen=True)
class Viewer:
    """A person as the rules see them: the user row and their current roles."""

    user: User
    roles: frozenset[str]

    @classmethod
    def of(cls, user: User, roles: Iterable[str]) -> Viewer:
        return cls(user, frozenset(roles))

    @property
    def is_admin(self) -> bool:
        return bool(self.user.is_admin)


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise AccessDenied(message)


def is_active(user: User | None) -> bool:
    return user is not None and bool(user.active)


def may_open_mini_app(user: User | None) -> bool:
    """The Mini App acts as the person its signed initData names: only someone we know, active and approved (a
    newcomer by a dealer link waiting for an admin sees nothing there either)."""
    return is_active(user) and user is not None and not user.awaiting_approval


def can_export(viewer: Viewer) -> bool:
    """Whole-process exports hold every case's data: admins only, for now."""
    return is_active(viewer.user) and viewer.is_admin


def can_manage(user: User | None) -> bool:
    """The admin's own actions on any case (find, reassign a task, cancel with a reason, retry, see who is
    unreachable): in chat and in the panel alike."""
    return is_active(user) and bool(user is not None and user.is_admin)


def can_retry(viewer: Viewer) -> bool:
    """Retrying a failed step re-runs it as its author: admins only."""
    return is_active(viewer.user) and viewer.is_admin
