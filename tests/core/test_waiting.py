"""generate_image past the submit: the bounded wait, progress, Tencent's verdict, and query faults. The TaskId always
comes back; the submit is never repeated."""

from __future__ import annotations

from collections import deque
from typing import Any

import httpx2
import pytest
from mcp.types import CallToolResult

from ..conftest import Connect, FakeClock
from ..support.fake_relay import FakeRelay, accepted, rejected, running, task_detail
from ..support.helpers import TASK, structured, text_of

pytestmark = pytest.mark.anyio

ARGUMENTS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


Progress = list[tuple[float, float | None, str | None]]


async def generate(connect: Connect, seen: Progress | None = None, **arguments: Any) -> CallToolResult:
    async def record(progress: float, total: float | None, message: str | None) -> None:
        if seen is not None:
            seen.append((progress, total, message))

    async with connect() as client:
        return await client.call_tool("generate_image", ARGUMENTS | arguments, progress_callback=record)


def answers(relay: FakeRelay, *responses: httpx2.Response | Exception) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque(responses)


async def test_a_task_still_running_when_the_wait_ends_comes_back_running_with_its_task_id(
    connect: Connect, relay: FakeRelay, clock: FakeClock
) -> None:
    answers(relay, running(TASK, progress=40))
    progress: Progress = []

    result = await generate(connect, progress, wait_seconds=10)

    assert not result.is_error
    assert structured(result) == {
        "task_id": TASK,
        "request_id": "req-1",
        "model": "GEM-3.0",
        "status": "RUNNING",
        "progress": 40,
        "images": [],
        "notes": [],
        "cost": {"images": 1, "amount": None, "currency": None},
    }
    assert f'call get_image_task with task_id "{TASK}"' in text_of(result)
    assert "do not call generate_image again" in text_of(result)
    assert clock.sleeps == [1, 1.5, 2.25, 3.375, 1.875], "pauses grow from 1 s, and end at wait_seconds"
    assert relay.queried == [TASK] * 6, "at 0, 1, 2.5, 4.75, 8.125 and 10 s"
    assert len(relay.submits) == 1


async def test_progress_names_the_task_at_once_and_then_grows_with_each_check(
    connect: Connect, relay: FakeRelay
) -> None:
    answers(relay, running(TASK, 10), running(TASK, 60), task_detail(TASK, urls=("https://relay.test/files/a.png",)))
    progress: Progress = []

    result = await generate(connect, progress, wait_seconds=30)

    assert structured(result)["status"] == "SUCCEEDED"
    assert [(value, total) for value, total, _ in progress] == [(0, 100), (10, 100), (60, 100)]
    assert all(TASK in (message or "") for _, _, message in progress)
    assert "RUNNING (60% done)" in (progress[-1][2] or "")


async def test_progress_rises_with_every_notification_even_when_tencent_reports_the_same(
    connect: Connect, relay: FakeRelay
) -> None:
    answers(relay, running(TASK, 40), running(TASK, 40), running(TASK, 40), task_detail(TASK, urls=()))
    progress: Progress = []

    await generate(connect, progress, wait_seconds=30)

    values = [value for value, _, _ in progress]
    assert values == sorted(set(values)), "MCP requires each progress value to be higher than the last"
    assert values[1] == 40


async def test_a_long_task_is_noticed_within_a_second_of_finishing_with_at_most_one_query_per_2_s(
    connect: Connect, relay: FakeRelay, clock: FakeClock
) -> None:
    relay.script.append(accepted(TASK))
    started, length = clock.time, 50.0

    def linear(request: httpx2.Request) -> httpx2.Response:
        elapsed = clock.time - started
        if elapsed >= length:
            return task_detail(TASK, urls=("https://relay.test/files/done.png",))
        return running(TASK, progress=int(100 * elapsed / length))

    relay.routes[("GET", f"/tencent-vod/v1/query/{TASK}")] = linear
    result = await generate(connect, wait_seconds=55)

    assert structured(result)["status"] == "SUCCEEDED"
    assert clock.time - started - length <= 1.0, "noticed within a second of the finish"
    assert len(relay.queried) <= length / 2, "no more than one query per 2 s on average"


async def test_wait_seconds_0_hands_back_the_task_id_without_asking_about_it(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))

    result = await generate(connect, wait_seconds=0)

    assert structured(result)["status"] == "SUBMITTED"
    assert relay.queried == []
    assert TASK in text_of(result)
    assert "get_image_task" in text_of(result)


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        (rejected(TASK), "InvalidParameter.VoilationContent", "unsafe"),
        (task_detail(TASK, message="model overloaded"), "NoOutput", "model overloaded"),
        (task_detail(TASK, status="ABORTED", message="stopped by operator"), "ABORTED", "stopped by operator"),
        (task_detail(TASK, status="FAIL", err_code=10, urls=("https://x.test/a.png",)), "10", "Tencent finished"),
    ],
)
async def test_a_task_tencent_finished_without_an_image_is_an_error_with_the_task_id_and_the_reason(
    connect: Connect, relay: FakeRelay, answer: httpx2.Response, code: str, message: str
) -> None:
    answers(relay, answer)

    result = await generate(connect)

    assert result.is_error
    content = structured(result)
    assert (content["task_id"], content["status"], content["error_code"]) == (TASK, "FAILED", code)
    assert message in content["message"]
    assert f"Task {TASK} on GEM-3.0 failed: {code}" in text_of(result)


async def test_a_relay_that_keeps_failing_the_query_is_asked_four_times_and_the_task_id_still_comes_back(
    connect: Connect, relay: FakeRelay, clock: FakeClock
) -> None:
    answers(relay, httpx2.Response(502, text="bad gateway"))

    result = await generate(connect)

    assert not result.is_error
    assert structured(result)["status"] == "SUBMITTED"
    assert TASK in text_of(result)
    assert "Could not check on the task: The relay failed to answer about task" in text_of(result)
    assert "call get_image_task with this task_id later" in text_of(result)
    assert relay.queried == [TASK] * 4
    assert clock.sleeps == [1, 2, 4], "exponential backoff between the tries"
    assert len(relay.submits) == 1, "the submit is never repeated"


async def test_a_connection_fault_on_the_query_is_retried_and_the_wait_goes_on(
    connect: Connect, relay: FakeRelay, clock: FakeClock
) -> None:
    finished = task_detail(TASK, urls=("https://relay.test/files/ok.png",))
    answers(relay, httpx2.ReadTimeout("slow"), httpx2.ConnectError("reset"), running(TASK), finished)

    result = await generate(connect)

    assert structured(result)["status"] == "SUCCEEDED"
    assert relay.queried == [TASK] * 4
    assert clock.sleeps == [1, 2, 1], "two retries (1 s, 2 s), then the first pause"


async def test_the_relays_retry_after_is_honoured_between_queries(
    connect: Connect, relay: FakeRelay, clock: FakeClock
) -> None:
    answers(
        relay,
        httpx2.Response(429, headers={"Retry-After": "7"}),
        task_detail(TASK, urls=("https://relay.test/files/late.png",)),
    )

    result = await generate(connect)

    assert structured(result)["status"] == "SUCCEEDED"
    assert clock.sleeps == [7]


async def test_a_retry_after_longer_than_the_wait_left_ends_the_wait_instead(
    connect: Connect, relay: FakeRelay, clock: FakeClock
) -> None:
    answers(relay, httpx2.Response(429, headers={"Retry-After": "120"}))

    result = await generate(connect, wait_seconds=20)

    assert structured(result)["status"] == "SUBMITTED"
    assert "rate-limiting queries" in text_of(result)
    assert clock.sleeps == []
    assert relay.queried == [TASK]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx2.Response(404, json={"error": {"message": "no route"}}), "set AIGC_IMAGE_QUERY_PATH"),
        (httpx2.Response(401, json={"message": "bad key"}), "refused the API key when asked about task"),
        (httpx2.Response(200, text="<html>hi</html>", headers={"content-type": "text/html"}), "instead of JSON"),
        (
            httpx2.Response(
                200, json={"Response": {"Error": {"Code": "InvalidParameterValue.TaskId", "Message": "x"}}}
            ),
            "more than 3 days old",
        ),
    ],
)
async def test_a_query_the_relay_refuses_is_not_retried_and_the_task_id_comes_back_with_the_reason(
    connect: Connect, relay: FakeRelay, answer: httpx2.Response, expected: str
) -> None:
    answers(relay, answer)

    result = await generate(connect)

    assert not result.is_error
    assert structured(result)["task_id"] == TASK
    assert expected in text_of(result)
    assert relay.queried == [TASK]


async def test_the_query_route_is_configurable(connect: Connect, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))
    relay.routes[("GET", f"/v2/tasks/{TASK}/detail")] = lambda request: task_detail(
        TASK, urls=(relay.file_url(request, "x.png"),)
    )

    async with connect(query_path="/v2/tasks/{task_id}/detail") as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    assert structured(result)["status"] == "SUCCEEDED"
    assert [r.url.path for r in relay.requests][1] == f"/v2/tasks/{TASK}/detail"


async def test_a_bug_after_the_submit_still_hands_back_the_task_id(
    connect: Connect, relay: FakeRelay, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("aigc_image_mcp.core.tracker.Tracker.follow", broken)
    relay.script.append(accepted(TASK))

    result = await generate(connect)

    assert not result.is_error
    assert structured(result)["status"] == "SUBMITTED"
    assert "call get_image_task with this task_id" in text_of(result)
    assert "a bug" in caplog.text, "the bug itself goes to the log"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (56, "wait_seconds: 56 is out of range; use 0 to 55"),
        (-1, "wait_seconds: -1 is out of range; use 0 to 55"),
        ("soon", 'wait_seconds: must be a whole number, got "soon"'),
    ],
)
async def test_a_wait_out_of_range_is_refused_before_anything_is_sent(
    connect: Connect, relay: FakeRelay, value: object, expected: str
) -> None:
    result = await generate(connect, wait_seconds=value)

    assert result.is_error
    assert expected in text_of(result)
    assert relay.requests == []
