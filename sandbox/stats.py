"""Counters of what the bot did against the sandbox, for benchmarks and tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .state import JsonDict


@dataclass
class SandboxStats:
    """Counters for benchmarks; reset with `reset()`."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    messages_per_chat: Counter[int] = field(default_factory=Counter)
    """Bot messages received per chat (sendX calls that succeeded; media groups count each item)."""
    texts_per_chat: dict[int, list[str]] = field(default_factory=dict)
    """Text/caption of each bot message per chat, in order (for duplicate/loss checks)."""
    updates_created: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0
    chat_waits: Counter[int] = field(default_factory=Counter)
    """Per chat: how often a reader of it went to sleep (`Hub.wait_change`), i.e. how often one woke and looked
    again without having what it waits for; for tests. Not in `as_dict`, so `/stats` answers as before."""

    def reset(self) -> None:
        self.requests.clear()
        self.errors.clear()
        self.rate_limited = 0
        self.messages_per_chat.clear()
        self.texts_per_chat.clear()
        self.updates_created = 0
        self.webhook_deliveries = 0
        self.webhook_failures = 0
        self.chat_waits.clear()

    def as_dict(self) -> JsonDict:
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "errors": {str(k): v for k, v in self.errors.items()},
            "rate_limited": self.rate_limited,
            "messages_per_chat": {str(k): v for k, v in self.messages_per_chat.items()},
            "updates_created": self.updates_created,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_failures": self.webhook_failures,
        }
