"""The rate limit's count where one process answers alone: a token bucket per caller, in the process (ratelimit.py
picks it; shared.py falls back on it while the store fails)."""

from __future__ import annotations

import time
from collections.abc import Callable

_MOST_CALLERS = 10_000
"""Buckets kept at most; past it, the full ones (callers idle for a minute or more) are forgotten."""


class Buckets:
    """A token bucket per caller, in this process; `clock` tells the time in tests."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = float(rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when counted)

    async def take(self, caller: str) -> float:
        return self.take_now(caller)

    def take_now(self, caller: str) -> float:
        """Spend one request of the caller's bucket: 0, or the seconds until one is there again."""
        now = self._clock()
        tokens, then = self._buckets.get(caller, (self._rate, now))
        tokens = min(self._rate, tokens + (now - then) * self._rate / 60)
        if tokens < 1:
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) * 60 / self._rate
        if len(self._buckets) >= _MOST_CALLERS and caller not in self._buckets:
            self._forget_idle(now)
        self._buckets[caller] = (tokens - 1, now)
        return 0.0

    async def aclose(self) -> None:
        return None

    def _forget_idle(self, now: float) -> None:
        idle = [name for name, (_, then) in self._buckets.items() if now - then >= 60]
        for name in idle:
            del self._buckets[name]
