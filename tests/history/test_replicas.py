"""Two server processes (replicas behind a load balancer) sharing one real PostgreSQL history: a task submitted
through one is listed, fetched and finished through the other, and survives kill -9 of the replica waiting on it."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Generator
from contextlib import ExitStack
from pathlib import Path

import anyio
import anyio.to_thread
import httpx2
import pytest

from ..conftest import CANARY_KEY
from ..support.fake_relay import QUERY_PREFIX, FakeRelay, accepted, running, serve
from ..support.helpers import structured
from ..support.http_server import RunningServer, clean_env, http_server, mcp_client

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

FIRST, SECOND = "1-AigcImageTask-first", "1-AigcImageTask-second"


class WatchedRelay:
    """The fake relay, telling the test when a task is first queried (a replica is then waiting on it)."""

    def __init__(self, relay: FakeRelay) -> None:
        self.relay = relay
        self.queried: dict[str, threading.Event] = {FIRST: threading.Event(), SECOND: threading.Event()}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.relay(request)
        task_id = request.url.path.removeprefix(QUERY_PREFIX)
        if task_id in self.queried:
            self.queried[task_id].set()
        return answer


@pytest.fixture
def watched(relay: FakeRelay) -> WatchedRelay:
    return WatchedRelay(relay)


@pytest.fixture
def replicas(
    postgres_url: str, tmp_path: Path, watched: WatchedRelay
) -> Generator[tuple[RunningServer, RunningServer]]:
    with serve(watched) as url, ExitStack() as stack:
        servers = [
            stack.enter_context(
                http_server(
                    clean_env(
                        HOME=str(tmp_path / "home"),
                        QUICKROUTER_API_KEY=CANARY_KEY,
                        QUICKROUTER_BASE_URL=url,
                        AIGC_IMAGE_DATABASE_URL=postgres_url,
                        AIGC_IMAGE_OUTPUT_DIR=str(tmp_path / f"images-{name}"),
                        AIGC_IMAGE_DATA_DIR=str(tmp_path / f"data-{name}"),
                        AIGC_IMAGE_POLL_INTERVAL="0.05",
                    )
                )
            )
            for name in ("a", "b")
        ]
        yield servers[0], servers[1]


async def test_a_task_submitted_through_one_replica_is_listed_and_finished_through_the_other(
    replicas: tuple[RunningServer, RunningServer], relay: FakeRelay
) -> None:
    one, other = replicas
    relay.script.append(accepted(FIRST))
    async with mcp_client(one.mcp_url) as client:
        submitted = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0})
    async with mcp_client(other.mcp_url) as client:
        listed = await client.call_tool("list_image_tasks", {})
        finished = await client.call_tool("get_image_task", {"task_id": FIRST})
    async with mcp_client(one.mcp_url) as client:
        seen = await client.call_tool("list_image_tasks", {})

    assert structured(submitted)["status"] == "SUBMITTED"
    assert [(t["task_id"], t["status"], t["prompt"]) for t in structured(listed)["tasks"]] == [
        (FIRST, "SUBMITTED", "fox")
    ]
    assert structured(finished)["status"] == "SUCCEEDED"
    assert [(t["task_id"], t["status"]) for t in structured(seen)["tasks"]] == [(FIRST, "SUCCEEDED")]
    assert len(relay.submits) == 1


async def test_a_replica_killed_while_waiting_loses_nothing(
    replicas: tuple[RunningServer, RunningServer], relay: FakeRelay, watched: WatchedRelay
) -> None:
    one, other = replicas
    relay.script.append(accepted(SECOND))
    relay.queries[SECOND] = deque([running(SECOND, 30)])

    async with anyio.create_task_group() as group:

        async def wait_on_the_first_replica() -> None:
            async with mcp_client(one.mcp_url) as client:
                await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "owl", "wait_seconds": 55})

        group.start_soon(wait_on_the_first_replica)
        queried = await anyio.to_thread.run_sync(watched.queried[SECOND].wait, 30)
        assert queried, "the first replica never asked about the task"
        one.process.kill()  # SIGKILL, mid-wait
        one.process.wait()
        group.cancel_scope.cancel()

    relay.queries.pop(SECOND)  # from now on the relay says it is done
    async with mcp_client(other.mcp_url) as client:
        listed = await client.call_tool("list_image_tasks", {})
        finished = await client.call_tool("get_image_task", {"task_id": SECOND})

    assert one.process.returncode == -9
    assert [(t["task_id"], t["prompt"]) for t in structured(listed)["tasks"]] == [(SECOND, "owl")]
    assert structured(finished)["status"] == "SUCCEEDED"
    assert len(relay.submits) == 1


@pytest.fixture
def budgeted_replicas(postgres_url: str, tmp_path: Path, relay: FakeRelay) -> Generator[list[RunningServer]]:
    with serve(relay) as url, ExitStack() as stack:
        yield [
            stack.enter_context(
                http_server(
                    clean_env(
                        HOME=str(tmp_path / "home"),
                        QUICKROUTER_API_KEY=CANARY_KEY,
                        QUICKROUTER_BASE_URL=url,
                        AIGC_IMAGE_DATABASE_URL=postgres_url,
                        AIGC_IMAGE_DAILY_IMAGE_LIMIT="4",
                        AIGC_IMAGE_OUTPUT_DIR=str(tmp_path / f"images-{name}"),
                        AIGC_IMAGE_DATA_DIR=str(tmp_path / f"data-{name}"),
                    )
                )
            )
            for name in ("a", "b")
        ]


async def test_two_replicas_called_at_once_never_pass_the_daily_image_budget(
    budgeted_replicas: list[RunningServer], relay: FakeRelay
) -> None:
    results: list[bool] = []

    async def generate(server: RunningServer) -> None:
        async with mcp_client(server.mcp_url) as client:
            result = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0})
        results.append(bool(result.is_error))

    async with anyio.create_task_group() as group:
        for number in range(10):
            group.start_soon(generate, budgeted_replicas[number % 2])

    assert sorted(results) == [False] * 4 + [True] * 6
    assert len(relay.submits) == 4
