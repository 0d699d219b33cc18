"""Flood control: token buckets for the whole bot and per chat, answering 429 with `retry_after` as Telegram does."""

from __future__ import annotations

import math
import time

from .errors import ApiError
from .params import Params

# Methods that count against Telegram's flood limits.
LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
LIMIT_EXEMPT = {"sendchataction"}


class TokenBucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = max(rate, 1e-6)
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float) -> float:
        """0 when a token is available (without taking it), else seconds until one is."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


class FloodControl:
    """One bucket for the bot overall and one per chat; a call is allowed only when both have a token."""

    def __init__(self, global_rate: float, per_chat_rate: float, per_chat_burst: float) -> None:
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self._global = TokenBucket(global_rate, max(global_rate, 1.0))
        self._chats: dict[str, TokenBucket] = {}

    def check(self, method: str, params: Params) -> None:
        """Takes a token for a limited `method` (lower-case) or raises 429 with the seconds to wait."""
        if not method.startswith(LIMITED_PREFIXES) or method in LIMIT_EXEMPT:
            return
        now = time.monotonic()
        chat_key = str(params.values.get("chat_id", ""))
        bucket = self._chats.get(chat_key)
        if bucket is None:
            bucket = TokenBucket(self.per_chat_rate, self.per_chat_burst)
            self._chats[chat_key] = bucket
        wait = max(self._global.wait_time(now), bucket.wait_time(now))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        self._global.take()
        bucket.take()
