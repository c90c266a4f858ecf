"""Waiting for a task (polling.wait_for): when the relay is asked again, how a failed query is retried, what is
reported while waiting, and how the wait ends. Time is a FakeClock unless the real clock itself is the subject."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import anyio
import pytest

from aigc_image_mcp.backends.base import Failed, OutputFile, Running, Succeeded, TaskDetail, TaskState
from aigc_image_mcp.core.polling import Clock, Outcome, RealClock, wait_for
from aigc_image_mcp.errors import (
    TencentApiError,
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamUnavailableError,
)

from ..conftest import FakeClock

pytestmark = pytest.mark.anyio

DONE = Succeeded((OutputFile("https://vod.example/fox.png"),))


class Relay:
    """A query that gives its answers in turn (an exception is raised), and counts how often it was asked."""

    def __init__(self, answers: Iterable[TaskState | UpstreamError]) -> None:
        self.answers = deque(answers)
        self.asked = 0

    async def __call__(self) -> TaskDetail:
        self.asked += 1
        answer = self.answers.popleft()
        if isinstance(answer, UpstreamError):
            raise answer
        return TaskDetail(answer)


class Reports:
    def __init__(self) -> None:
        self.seen: list[tuple[Running, float]] = []

    async def __call__(self, state: Running, waited: float) -> None:
        self.seen.append((state, waited))


async def wait(relay: Relay, clock: Clock, *, wait: float = 45, longest: float = 10) -> Outcome:
    return await wait_for(relay, wait=wait, longest=longest, clock=clock, report=Reports())


async def test_the_pauses_start_at_a_second_and_grow_by_half_up_to_the_longest(clock: FakeClock) -> None:
    relay = Relay([*[Running()] * 7, DONE])

    outcome = await wait(relay, clock, longest=5)

    assert outcome == Outcome(TaskDetail(DONE))
    assert clock.sleeps == [1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0]


async def test_once_progress_shows_a_pace_the_pause_aims_at_the_expected_end_then_steps_by_a_second(
    clock: FakeClock,
) -> None:
    relay = Relay([Running(10), Running(20), Running(95), DONE])

    await wait(relay, clock)

    assert clock.sleeps == [1.0, 8.0, 1.0]  # 80 % left at 10 %/s; then 5 % left is under a second away


async def test_progress_that_stands_still_or_goes_back_keeps_the_growing_pauses(clock: FakeClock) -> None:
    relay = Relay([Running(40), Running(40), Running(30), DONE])

    await wait(relay, clock)

    assert clock.sleeps == [1.0, 1.5, 2.25]


async def test_every_pause_is_followed_by_a_report_of_the_last_state_and_the_seconds_waited(clock: FakeClock) -> None:
    reports = Reports()

    await wait_for(Relay([Running(10), Running(20), DONE]), wait=45, longest=10, clock=clock, report=reports)

    assert reports.seen == [(Running(10), 1.0), (Running(20), 9.0)]


async def test_a_task_still_running_when_the_wait_ends_comes_back_as_its_last_answer(clock: FakeClock) -> None:
    relay = Relay([Running(10)] * 10)

    outcome = await wait(relay, clock, wait=3)

    assert outcome == Outcome(TaskDetail(Running(10)))
    assert clock.sleeps == [1.0, 1.5, 0.5]  # the last pause is cut to the end of the wait, then asked once more
    assert relay.asked == 4


async def test_a_wait_of_zero_asks_once(clock: FakeClock) -> None:
    relay = Relay([Running(10)])

    assert await wait(relay, clock, wait=0) == Outcome(TaskDetail(Running(10)))
    assert (relay.asked, clock.sleeps) == (1, [])


async def test_a_finished_task_ends_the_wait_whatever_its_outcome(clock: FakeClock) -> None:
    failed = Failed("InvalidParameter.VoilationContent", "unsafe")

    assert await wait(Relay([Running(), failed]), clock) == Outcome(TaskDetail(failed))


@pytest.mark.parametrize(
    "fault",
    [
        UpstreamUnavailableError("502", status_code=502),
        UpstreamConnectionError("reset", request_sent=True),
        TencentApiError("busy", code="RequestLimitExceeded"),
        TencentApiError("busy", code="InternalError.Timeout"),
    ],
    ids=["5xx", "connection", "RequestLimitExceeded", "InternalError"],
)
async def test_a_query_that_may_succeed_later_is_retried_after_1_2_and_4_seconds(
    clock: FakeClock, fault: UpstreamError
) -> None:
    relay = Relay([fault, fault, fault, DONE])

    assert await wait(relay, clock) == Outcome(TaskDetail(DONE))
    assert clock.sleeps == [1.0, 2.0, 4.0]


async def test_a_query_failing_four_times_ends_the_wait_with_the_last_answer_and_the_fault(clock: FakeClock) -> None:
    fault = UpstreamUnavailableError("502", status_code=502)
    relay = Relay([Running(30), *[fault] * 4])

    outcome = await wait(relay, clock)

    assert outcome == Outcome(TaskDetail(Running(30)), fault)
    assert relay.asked == 5


async def test_the_relays_retry_after_sets_the_pause_before_the_retry(clock: FakeClock) -> None:
    relay = Relay([UpstreamRateLimitError("429", status_code=429, retry_after=3.0), DONE])

    await wait(relay, clock)

    assert clock.sleeps == [3.0]


async def test_a_retry_that_could_not_end_before_the_wait_does_is_not_made(clock: FakeClock) -> None:
    fault = UpstreamRateLimitError("429", status_code=429, retry_after=30.0)
    relay = Relay([fault, DONE])

    assert await wait(relay, clock, wait=10) == Outcome(None, fault)
    assert (relay.asked, clock.sleeps) == (1, [])


@pytest.mark.parametrize(
    "fault",
    [UpstreamAuthError("401", status_code=401), TencentApiError("unknown", code="ResourceNotFound")],
    ids=["key refused", "unknown task"],
)
async def test_a_query_that_would_fail_again_is_not_retried(clock: FakeClock, fault: UpstreamError) -> None:
    relay = Relay([fault, DONE])

    assert await wait(relay, clock) == Outcome(None, fault)
    assert relay.asked == 1


async def test_a_query_still_on_the_wire_past_the_wait_and_its_grace_is_abandoned(clock: FakeClock) -> None:
    answers = [Running(50)]

    async def query() -> TaskDetail:
        if not answers:
            await anyio.sleep_forever()
        return TaskDetail(answers.pop())

    outcome = await wait_for(query, wait=1, longest=10, clock=clock, report=Reports(), grace=0.01)

    assert outcome == Outcome(TaskDetail(Running(50)))


async def test_a_first_query_that_never_answers_ends_the_wait_with_no_answer(clock: FakeClock) -> None:
    async def query() -> TaskDetail:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    assert await wait_for(query, wait=0, longest=10, clock=clock, report=Reports(), grace=0.01) == Outcome(None)


async def test_the_real_clock_waits_in_the_event_loops_time() -> None:
    clock = RealClock()
    relay = Relay([Running(10)] * 100)
    started = clock.now()

    outcome = await wait(relay, clock, wait=0.05)

    assert outcome == Outcome(TaskDetail(Running(10)))
    assert clock.now() - started >= 0.05
    assert relay.asked >= 2
