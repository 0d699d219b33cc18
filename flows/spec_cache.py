"""A small cache of what is worked out from a definition (or anything that lives as long, such as one of its
directory entries), keyed by the object's identity.

Definitions are parsed once and kept by the registry, so `id(spec)` is a cheap key; but once a definition is gone
its id may name a newer one. Each entry therefore keeps the object it was made from, and a hit counts only when
it is that very object. The cache is emptied when it reaches its size, which keeps memory bounded without the
bookkeeping of an LRU (a full cache means many definitions or keys, and refilling it is cheap).
"""

from __future__ import annotations

from typing import Generic, TypeVar

Owner = TypeVar("Owner")
Part = TypeVar("Part")
Value = TypeVar("Value")


class SpecCache(Generic[Owner, Part, Value]):
    """Values by (`owner`'s identity, `part`): `part` is the rest of the key (a language, a task's key…; `None`
    when the owner alone decides). A value is never None (`get` says «not kept» so); values are shared between
    callers: keep them unchanged or copy them."""

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int) -> None:
        self._entries: dict[tuple[int, Part], tuple[Owner, Value]] = {}
        self._size = size

    def get(self, owner: Owner, part: Part) -> Value | None:
        hit = self._entries.get((id(owner), part))
        if hit is not None and hit[0] is owner:
            return hit[1]
        return None

    def put(self, owner: Owner, part: Part, value: Value) -> Value:
        """Keep `value` and return it."""
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[(id(owner), part)] = (owner, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
