"""MCP Tasks on the wire: raw 2026-07-28 JSON-RPC to the real process over stdio and to the real HTTP server."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import httpx2
import pytest

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, accepted, running, serve
from ..support.http_server import served
from ..support.raw_rpc import TASKS, Raw, over_http, over_stdio
from ..transport.test_stdio import SCRIPT, environment

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
GENERATE = {"name": "generate_image", "arguments": {"model": "GEM-3.0", "prompt": "a red fox in snow"}}


async def _the_task_lifecycle(call: Raw, relay: FakeRelay) -> list[dict[str, Any]]:
    """Create a task, poll it while running and once finished, and ask for one that does not exist."""
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([running(TASK, 45)])
    created = await call("tools/call", GENERATE, TASKS)
    working = await call("tasks/get", {"taskId": TASK}, TASKS)
    del relay.queries[TASK]
    completed = await call("tasks/get", {"taskId": TASK}, TASKS)
    unknown = await call("tasks/get", {"taskId": "no-such-task"}, TASKS)
    return [created, working, completed, unknown]


def _check(answers: list[dict[str, Any]]) -> None:
    created, working, completed, unknown = answers
    assert created["result"]["resultType"] == "task"
    assert created["result"]["taskId"] == TASK
    assert working["result"]["status"] == "working"
    assert "45% done" in working["result"]["statusMessage"]
    assert completed["result"]["status"] == "completed"
    assert completed["result"]["result"]["structuredContent"]["status"] == "SUCCEEDED"
    assert unknown["error"]["code"] == -32602
    assert created["result"]["createdAt"] == working["result"]["createdAt"] == completed["result"]["createdAt"]


async def test_tasks_over_stdio_with_the_real_process(tmp_path: Path) -> None:
    relay = FakeRelay()
    with serve(relay) as base_url:
        env = environment(
            QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=base_url, AIGC_IMAGE_DATA_DIR=str(tmp_path / "data")
        )
        async with over_stdio([SCRIPT], env) as call:
            answers = await _the_task_lifecycle(call, relay)
            plain = await call("tools/call", GENERATE)

    _check(answers)
    assert plain["result"]["resultType"] == "complete"
    assert plain["result"]["structuredContent"]["status"] == "SUCCEEDED"


async def test_tasks_over_http_with_the_real_server() -> None:
    with served(QUICKROUTER_API_KEY=CANARY_KEY) as it:
        async with httpx2.AsyncClient(timeout=30) as http:
            call = over_http(http, it.server.mcp_url)
            answers = await _the_task_lifecycle(call, it.relay)
            discover = await call("server/discover", {})
            plain = await call("tools/call", GENERATE)

    _check(answers)
    assert "io.modelcontextprotocol/tasks" in discover["result"]["capabilities"]["extensions"]
    assert plain["result"]["structuredContent"]["status"] == "SUCCEEDED"
    assert "taskId" not in plain["result"]
