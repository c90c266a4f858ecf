"""openai-agents: an Agent with MCPServerStdio or MCPServerStreamableHttp, its model a stand-in Responses API on
loopback that calls generate_image; the test reads the function_call_output items the library sends back, which is
what the model reads. Strict off (the default), and strict on (`convert_schemas_to_strict=True`, which OpenAI's
strict function calling needs) against the server's strict schema profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from .servers import (
    GOOD,
    REFUSED,
    TIMEOUT,
    TRANSPORTS,
    UNKNOWN_MODEL,
    Run,
    Seen,
    Target,
    Transport,
    assert_call_succeeds,
    assert_refusal_names,
    assert_task_reaches_the_model,
    in_order,
    serve,
    started,
    text_blocks,
)
from .stand_ins import TOOL, FakeResponses

if TYPE_CHECKING:  # the library is imported where it runs: collecting the suite should not cost its import time
    from agents.mcp import MCPServerStdio, MCPServerStreamableHttp

pytestmark = pytest.mark.slow

CROSS_FIELD = {"model": "Qwen-0925", "prompt": REFUSED, "aspect_ratio": "16:9"}
"""A bad argument a strict model can still send (every value fits the schema): aspect_ratio is GEM's alone."""


@dataclass(frozen=True)
class AgentRun(Run):
    offered: dict[str, Any] = field(default_factory=lambda: {})
    """generate_image as the library offered it to the model (name, parameters, strict)."""
    served: dict[str, Any] = field(default_factory=lambda: {})
    """generate_image's inputSchema as the server listed it."""


def mcp_server(target: Target) -> MCPServerStdio | MCPServerStreamableHttp:
    from agents.mcp import (
        MCPServerStdio,
        MCPServerStdioParams,
        MCPServerStreamableHttp,
        MCPServerStreamableHttpParams,
    )

    if target.transport == "stdio":
        params = MCPServerStdioParams(command=target.command, args=target.args, env=target.env)
        return MCPServerStdio(params=params, client_session_timeout_seconds=TIMEOUT)
    params = MCPServerStreamableHttpParams(url=target.url, timeout=TIMEOUT)
    return MCPServerStreamableHttp(params=params, client_session_timeout_seconds=TIMEOUT)


async def converse(target: Target, *, strict: bool, bad: dict[str, Any]) -> AgentRun:
    from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled
    from openai import AsyncOpenAI

    set_tracing_disabled(True)  # the default exporter would send traces to OpenAI
    task_id, url = target.new_task()
    model = FakeResponses(calls=[GOOD, bad], strict=strict)
    with anyio.fail_after(TIMEOUT), serve(model) as model_url:
        async with mcp_server(target) as server:
            served = next(tool for tool in await server.list_tools() if tool.name == TOOL).input_schema
            client = AsyncOpenAI(api_key="sk-stand-in", base_url=f"{model_url}/v1", max_retries=0)
            agent = Agent(
                name="painter",
                instructions="Draw what the user asks for.",
                model=OpenAIResponsesModel(model="gpt-stand-in", openai_client=client),
                mcp_servers=[server],
                mcp_config={"convert_schemas_to_strict": strict},
            )
            await Runner.run(agent, "Draw a lighthouse at dusk.", max_turns=5)
    # The library gives the model no error flag for an MCP result with isError: only the text.
    call, refusal = in_order([Seen(ok=None, text=text_blocks(output), raw=output) for output in model.outputs()])
    offered = FakeResponses.tool(model.bodies[0])
    return AgentRun(call, refusal, task_id, url, target.prompts(), offered=offered, served=served)


@pytest.fixture(scope="module", params=TRANSPORTS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AgentRun:
    with started(request.param, tmp_path_factory.mktemp("agents")) as target:
        return anyio.run(lambda: converse(target, strict=False, bad=UNKNOWN_MODEL))


def test_a_finished_task_is_handed_to_the_model(run: AgentRun) -> None:
    assert_call_succeeds(run)


def test_the_task_id_and_the_image_url_reach_the_model(run: AgentRun) -> None:
    assert_task_reaches_the_model(run)


def test_an_unknown_model_comes_back_to_the_model_as_a_refusal_naming_the_field(run: AgentRun) -> None:
    assert_refusal_names(run, "model", "Nope-1")


def converse_strict(transport: Transport, folder: Path) -> AgentRun:
    with started(transport, folder, AIGC_IMAGE_SCHEMA="strict") as target:
        return anyio.run(lambda: converse(target, strict=True, bad=CROSS_FIELD))


@pytest.fixture(scope="module", params=TRANSPORTS)
def strict_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AgentRun:
    return converse_strict(request.param, tmp_path_factory.mktemp("agents-strict"))


def test_strict_the_strict_profile_reaches_the_model_as_served(strict_run: AgentRun) -> None:
    """ensure_strict_json_schema leaves the strict profile's schema unchanged, and the tool is offered as strict."""
    assert strict_run.offered.get("strict") is True, strict_run.call.raw
    assert strict_run.offered["parameters"] == strict_run.served


def test_strict_a_call_with_every_unused_property_null_succeeds(strict_run: AgentRun) -> None:
    assert_call_succeeds(strict_run)


def test_strict_the_task_id_and_the_image_url_reach_the_model(strict_run: AgentRun) -> None:
    assert_task_reaches_the_model(strict_run)


def test_strict_an_argument_the_model_does_not_take_comes_back_as_a_refusal_naming_it(strict_run: AgentRun) -> None:
    assert_refusal_names(strict_run, "aspect_ratio", "Qwen-0925")
