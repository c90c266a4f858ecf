"""fastmcp's Client (fastmcp 4, in the main environment beside mcp 2) over stdio (StdioTransport) and Streamable HTTP
(a URL). It is no agent: what it hands its caller is the CallToolResult (content, structured content parsed into
`.data`), and a ToolError with the server's text when the result is an error, which is what a caller passes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from .servers import (
    GOOD,
    TIMEOUT,
    TRANSPORTS,
    UNKNOWN_MODEL,
    Run,
    Seen,
    Target,
    assert_call_succeeds,
    assert_refusal_names,
    assert_task_reaches_the_model,
    started,
    text_blocks,
)
from .stand_ins import TOOL

if TYPE_CHECKING:  # the library is imported where it runs: collecting the suite should not cost its import time
    from fastmcp import Client

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class FastRun(Run):
    structured: dict[str, Any] = field(default_factory=lambda: {})
    """The good call's structured content."""
    data: Any = None
    """What fastmcp parsed it into (`CallToolResult.data`)."""


def client(target: Target) -> Client[Any]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    if target.transport == "stdio":
        return Client(StdioTransport(command=target.command, args=target.args, env=target.env), timeout=TIMEOUT)
    return Client(target.url, timeout=TIMEOUT)


async def call(mcp: Client[Any], arguments: dict[str, Any]) -> Seen:
    from fastmcp.exceptions import ToolError

    try:
        result = await mcp.call_tool(TOOL, arguments)
    except ToolError as error:
        return Seen(ok=False, text=str(error), raw=error)
    blocks = [block.model_dump(mode="json") for block in result.content]
    return Seen(ok=not result.is_error, text=text_blocks(blocks), raw=result)


async def converse(target: Target) -> FastRun:
    from fastmcp.client.client import CallToolResult

    task_id, url = target.new_task()
    with anyio.fail_after(TIMEOUT):
        async with client(target) as mcp:
            good = await call(mcp, GOOD)
            bad = await call(mcp, UNKNOWN_MODEL)
    result = good.raw if isinstance(good.raw, CallToolResult) else None
    structured = (result.structured_content or {}) if result is not None else {}
    data = result.data if result is not None else None
    return FastRun(good, bad, task_id, url, target.prompts(), structured=structured, data=data)


@pytest.fixture(scope="module", params=TRANSPORTS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FastRun:
    with started(request.param, tmp_path_factory.mktemp("fastmcp")) as target:
        return anyio.run(converse, target)


def test_a_finished_task_is_a_successful_result(run: FastRun) -> None:
    assert_call_succeeds(run)


def test_the_task_id_and_the_image_url_reach_the_caller(run: FastRun) -> None:
    assert_task_reaches_the_model(run)
    assert run.structured["task_id"] == run.task_id
    assert run.data.task_id == run.task_id  # parsed into the outputSchema's shape


def test_an_unknown_model_comes_back_as_a_tool_error_naming_the_field(run: FastRun) -> None:
    assert_refusal_names(run, "model", "Nope-1")
