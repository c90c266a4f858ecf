"""The rate limit counted in the history store (several workers or replicas): the count holds across the processes
sharing the store, a refusal's Retry-After is the time left in the minute, and a store that fails lets requests
through at each process's own rate, with one warning."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from aigc_image_mcp.history.opener import open_history
from aigc_image_mcp.transport.asgi import Message, Receive, Scope, Send
from aigc_image_mcp.transport.buckets import Buckets
from aigc_image_mcp.transport.ratelimit import RateLimit, rate_limited
from aigc_image_mcp.transport.shared import SharedCount

from ..conftest import make_settings
from ..support.stores import execute

pytestmark = pytest.mark.anyio

MINUTE = 1_780_000_020.0  # a minute's start, in Unix seconds


class Door:
    """A RateLimit in front of an app that answers 200, driven request by request."""

    def __init__(self, counter: SharedCount) -> None:
        self.limit = RateLimit(self._app, counter)

    @staticmethod
    async def _app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def request(self, token: str) -> tuple[int, str | None]:
        """The status, and the Retry-After if any."""
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        scope: dict[str, Any] = {
            "type": "http",
            "path": "/mcp",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }
        await self.limit(scope, receive, send)
        start = next(message for message in sent if message["type"] == "http.response.start")
        retry = dict(start["headers"]).get(b"retry-after")
        return start["status"], None if retry is None else retry.decode()


async def test_two_workers_on_one_file_together_allow_the_rate_and_say_when_the_minute_ends(tmp_path: Path) -> None:
    now = MINUTE + 15.2
    settings = make_settings(data_dir=tmp_path / "data")
    counters = [SharedCount(open_history(settings), 5, clock=lambda: now) for _ in range(2)]
    doors = [Door(counter) for counter in counters]

    answers = [await doors[n % 2].request("sk-one") for n in range(8)]
    other = await doors[1].request("sk-two")
    now = MINUTE + 60.0
    next_minute = await doors[0].request("sk-one")
    for counter in counters:
        await counter.aclose()

    assert answers == [(200, None)] * 5 + [(429, "45")] * 3
    assert other == (200, None)
    assert next_minute == (200, None)
    callers = execute({}, tmp_path / "data", "SELECT window_start, requests FROM request_windows ORDER BY window_start")
    assert callers == [(int(MINUTE), 1), (int(MINUTE) + 60, 1)]


async def test_a_failing_store_lets_requests_through_at_the_process_rate_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = MINUTE
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the history's folder should be")
    settings = make_settings(data_dir=blocker / "data")
    door = Door(SharedCount(open_history(settings), 3, clock=lambda: now))

    with caplog.at_level(logging.WARNING, logger="aigc_image_mcp.transport.shared"):
        failing = [(await door.request("sk-one"))[0] for _ in range(5)]
        now += 21  # past the pause: the store is asked again, and fails again
        still = (await door.request("sk-one"))[0]
        blocker.unlink()
        now += 11
        shared = [(await door.request("sk-one"))[0] for _ in range(4)]
    await door.limit.counter.aclose()

    assert failing == [200, 200, 200, 429, 429]  # the process's own bucket of 3
    assert still == 200  # 21 s refilled the process's bucket by one request (3 a minute)
    assert shared == [200, 200, 200, 429]  # the store's count of 3 for this minute
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2
    assert "each process counts its own requests" in warnings[0]
    assert "sk-one" not in " ".join(warnings)
    assert "counted in the task history again" in warnings[1]


def test_the_store_counts_only_where_several_processes_answer(tmp_path: Path) -> None:
    def app(scope: Scope, receive: Receive, send: Send) -> Any:
        raise AssertionError

    def counter(**values: Any) -> object:
        limited = rate_limited(app, make_settings(data_dir=tmp_path, **values))
        return limited.counter if isinstance(limited, RateLimit) else None

    assert counter() is None
    assert isinstance(counter(rate_limit=10), Buckets)
    assert isinstance(counter(rate_limit=10, workers=2), SharedCount)
    assert isinstance(counter(rate_limit=10, database_url="postgresql://db.internal/images"), SharedCount)
