"""Time sources for the engine.

The engine never calls ``datetime.now()`` directly: it asks a :class:`Clock`, so tests can
freeze and move time deterministically instead of sleeping.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

logger = logging.getLogger(__name__)

__all__ = ["Clock", "FrozenClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current moment."""

    def now(self) -> datetime:
        """Return the current moment as a timezone-aware datetime in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


def _require_aware(moment: datetime, what: str) -> datetime:
    # A naive datetime has no fixed position on the timeline; guessing a zone here would
    # silently shift every deadline computed from it.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


class FrozenClock:
    """A clock that only moves when a test tells it to; it never sleeps."""

    def __init__(self, start: datetime) -> None:
        self._now = _require_aware(start, "FrozenClock start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (may go backwards: tests sometimes need to replay a period)."""
        self._now = _require_aware(moment, "FrozenClock.set moment")
        logger.debug("frozen clock set to %s", self._now.isoformat())

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)`` (``advance(hours=2)``).

        Returns the new current moment. Moving backwards is refused because code under test
        usually assumes monotonic time; use :meth:`set` to rewind on purpose.
        """
        if delta is not None and kwargs:
            raise TypeError("pass either a timedelta or keyword arguments, not both")
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError(f"FrozenClock.advance cannot go backwards ({step}); use set()")
        self._now += step
        logger.debug("frozen clock advanced by %s to %s", step, self._now.isoformat())
        return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"
