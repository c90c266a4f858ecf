"""The rate limit's count kept in the history store, for several workers or replicas (ratelimit.py picks it).

Each caller has a window of one minute (aligned on the wall clock, which replicas share through NTP): one statement
per request counts it in the store, atomically, and answers whether it fitted (history/schema.py's COUNT_REQUEST). A
refused request is not counted; its Retry-After is the time left in the window. A fixed window rather than a
sliding one: one row and one statement per request; a caller may pass `rate` on each side of a window's edge, as
the bucket lets a full burst follow a refill. Each process prunes the rows of past
minutes once a minute, on its first request of the minute.

A store that fails does not turn requests away: the process falls back to its own token buckets (the rate per
process, as with no shared store), logs a warning once, asks the store again after _RETRY_AFTER seconds, and says
so when it answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..errors import HistoryError
from ..history.base import HistoryStore
from .buckets import Buckets

logger = logging.getLogger(__name__)

_WINDOW = 60
_RETRY_AFTER = 10.0
"""Seconds the process counts alone after the store failed, before asking it again."""


class SharedCount:
    """`rate` requests per caller per minute, counted in `store`; `clock` tells the wall-clock time in tests."""

    def __init__(self, store: HistoryStore, rate: int, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._rate = rate
        self._clock = clock
        self._alone = Buckets(rate, clock)
        self._pruned = 0
        """The window this process last pruned before."""
        self._failed_until: float | None = None
        """While the store is failing: when to ask it again."""

    async def take(self, caller: str) -> float:
        now = self._clock()
        if self._failed_until is not None and now < self._failed_until:
            return self._alone.take_now(caller)
        window = int(now // _WINDOW) * _WINDOW
        try:
            if window > self._pruned:
                await self._store.forget_requests(window - _WINDOW)
                self._pruned = window
            counted = await self._store.count_request(caller, window, self._rate)
        except HistoryError as exc:
            if self._failed_until is None:
                logger.warning(
                    "The rate limit cannot be counted in the task history (%s): each process counts its own "
                    "requests until it answers again.",
                    exc,
                )
            self._failed_until = now + _RETRY_AFTER
            return self._alone.take_now(caller)
        if self._failed_until is not None:
            self._failed_until = None
            logger.warning("The rate limit is counted in the task history again, across every process.")
        return 0.0 if counted is not None else window + _WINDOW - now

    async def aclose(self) -> None:
        await self._store.aclose()
