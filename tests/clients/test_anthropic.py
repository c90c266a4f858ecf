"""The Anthropic Python SDK's MCP helper: `async_mcp_tool` on an MCP ClientSession, in `tool_runner`, over stdio and
over Streamable HTTP. A stand-in Messages API on loopback calls generate_image; the test reads the tool_result blocks
the SDK sends back, which is what Claude reads."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import StdioServerParameters
from mcp.client.session import ClientSession
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

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
    in_order,
    serve,
    started,
    text_blocks,
)
from .stand_ins import FakeMessages

pytestmark = pytest.mark.slow


@asynccontextmanager
async def session(target: Target) -> AsyncGenerator[ClientSession]:
    """An MCP ClientSession on the server, as the SDK's MCP helper documents it."""
    streams: AbstractAsyncContextManager[Any]
    if target.transport == "stdio":
        streams = stdio_client(StdioServerParameters(command=target.command, args=target.args, env=target.env))
    else:
        streams = streamable_http_client(target.url)
    async with streams as (read, write), ClientSession(read, write) as mcp:
        await mcp.initialize()
        yield mcp


async def converse(target: Target) -> Run:
    # Imported where it runs: collecting the suite should not cost the SDK's import time.
    from anthropic import AsyncAnthropic
    from anthropic.lib.tools.mcp import async_mcp_tool

    task_id, url = target.new_task()
    model = FakeMessages(calls=[GOOD, UNKNOWN_MODEL])
    with anyio.fail_after(TIMEOUT), serve(model) as model_url:
        async with session(target) as mcp:
            listed = await mcp.list_tools()
            client = AsyncAnthropic(api_key="sk-ant-stand-in", base_url=model_url, max_retries=0)
            runner = client.beta.messages.tool_runner(
                model="claude-stand-in",
                max_tokens=1024,
                tools=[async_mcp_tool(tool, mcp) for tool in listed.tools],
                messages=[{"role": "user", "content": "Draw a lighthouse at dusk."}],
            )
            await runner.until_done()
    call, refusal = in_order(
        [
            Seen(ok=not result.get("is_error", False), text=text_blocks(result["content"]), raw=result)
            for result in model.tool_results()
        ]
    )
    return Run(call, refusal, task_id, url, target.prompts())


@pytest.fixture(scope="module", params=TRANSPORTS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    with started(request.param, tmp_path_factory.mktemp("anthropic")) as target:
        return anyio.run(converse, target)


def test_a_finished_task_is_a_successful_tool_result(run: Run) -> None:
    assert_call_succeeds(run)


def test_the_task_id_and_the_image_url_reach_the_model(run: Run) -> None:
    assert_task_reaches_the_model(run)


def test_an_unknown_model_comes_back_to_the_model_as_an_error_naming_the_field(run: Run) -> None:
    assert_refusal_names(run, "model", "Nope-1")
