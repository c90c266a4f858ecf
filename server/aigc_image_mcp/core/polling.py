"""Waiting for a task: ask the relay at once, then after pauses that start at 1 s and grow to `longest`, until the task
finishes or the caller's wait runs out. Once Tencent's progress shows a pace, the pause aims at the expected end and
then steps by 1 s, so a finish is noticed within about a second without asking often over a long task. A failed
query is retried (tenacity; Retry-After honoured) only while time is left. No MCP here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio

from ..backends.base import Running, TaskDetail, is_transient
from ..errors import UpstreamError, UpstreamRateLimitError

if TYPE_CHECKING:
    from tenacity import RetryCallState

FIRST_PAUSE = 1.0
GROWTH = 1.5
CLOSE_PAUSE = 1.0
"""Seconds between queries once the expected end is near."""
ATTEMPTS = 4
"""Tries of one query: the first and three retries, each only if it can end before the deadline."""
GRACE = 5.0
"""Seconds a query already on the wire may run past the deadline before it is abandoned."""

Query = Callable[[], Awaitable[TaskDetail]]
Report = Callable[[Running, float], Awaitable[None]]
"""Told the last answer and the seconds waited so far, after each pause."""


class Clock(Protocol):
    """Time as the poller sees it; tests pass one whose sleep returns at once."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The event loop's clock."""

    def now(self) -> float:
        return anyio.current_time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@dataclass(frozen=True)
class Outcome:
    """How waiting ended: the last answer (None if none came), and the fault that stopped the asking, if any."""

    detail: TaskDetail | None
    problem: UpstreamError | None = None


@dataclass(frozen=True)
class ProgressPoint:
    """The progress Tencent reported, in percent, and when: two of them give a task's pace."""

    time: float
    progress: int


def next_pause(step: int, first: ProgressPoint | None, latest: ProgressPoint | None, longest: float) -> float:
    """Seconds until the next query: 1 s growing by half each time up to `longest`; once two progress readings show
    a pace, the time to the expected end (at least 1 s, at most `longest`)."""
    pause = min(longest, FIRST_PAUSE * GROWTH**step)
    if first is None or latest is None or latest.progress <= first.progress or latest.time <= first.time:
        return pause
    pace = (latest.progress - first.progress) / (latest.time - first.time)
    return min(longest, max(min(CLOSE_PAUSE, longest), (100 - latest.progress) / pace))


async def wait_for(
    query: Query, *, wait: float, longest: float, clock: Clock, report: Report, grace: float = GRACE
) -> Outcome:
    """Query at once, then after growing or progress-aimed pauses, until the task is no longer running or `wait` s
    have passed; a query still on the wire `grace` s past that is abandoned."""
    start = clock.now()
    deadline = start + wait
    last: TaskDetail | None = None
    first: ProgressPoint | None = None
    step = 0
    while True:
        with anyio.move_on_after(max(deadline - clock.now(), 0) + grace):
            try:
                detail = await _ask(query, deadline, clock)
            except UpstreamError as exc:
                return Outcome(last, exc)
            if not isinstance(detail.state, Running) or clock.now() >= deadline:
                return Outcome(detail)
            last = detail
            latest = None if detail.state.progress is None else ProgressPoint(clock.now(), detail.state.progress)
            first = first or latest
            pause = next_pause(step, first, latest, longest)
            step += 1
            await clock.sleep(min(pause, max(deadline - clock.now(), 0)))
            await report(detail.state, clock.now() - start)  # a heartbeat before each query after the first
            continue
        return Outcome(last)  # a query on the wire outlived the deadline


async def _ask(query: Query, deadline: float, clock: Clock) -> TaskDetail:
    # tenacity is imported here, on the first query, to keep it off the stdio cold start.
    from tenacity import AsyncRetrying, retry_if_exception

    def enough(state: RetryCallState) -> bool:
        return state.attempt_number >= ATTEMPTS or clock.now() + state.upcoming_sleep > deadline

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=enough,
        wait=_backoff,
        sleep=clock.sleep,
        reraise=True,
    )
    return await retrying(query)


def _backoff(state: RetryCallState) -> float:
    """The relay's Retry-After when it gave one; otherwise 1, 2, 4 s."""
    failure = state.outcome.exception() if state.outcome is not None else None
    if isinstance(failure, UpstreamRateLimitError) and failure.retry_after is not None:
        return failure.retry_after
    return float(2 ** (state.attempt_number - 1))
