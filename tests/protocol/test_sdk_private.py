"""The SDK internals protocol/sdk_private.py relies on, each held to what this server needs of it. A failure here
after an SDK upgrade means that module must change (its docstring says why each internal is used), not the test."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from mcp import Client
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from aigc_image_mcp.protocol.sdk_private import lowlevel_server, raw_tool

pytestmark = pytest.mark.anyio

# Schemas no function signature would give: the tool must advertise them exactly as written.
INPUT = {
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": ["a", "b"]}, "size": {"type": "integer"}},
    "required": ["kind"],
    "if": {"properties": {"kind": {"const": "a"}}},
    "then": {"properties": {"size": {"maximum": 3}}},
}
OUTPUT = {"type": "object", "properties": {"echoed": {"type": "object"}}, "required": ["echoed"]}
SENT: dict[str, Any] = {
    "kind": None,
    "size": "",
    "tags": [],
    "json_text": '["not", "parsed"]',
    "nested": {"x": [1, {"y": None}]},
}


def echo_server(seen: list[tuple[dict[str, Any], Context[Any, Any]]], structured: Any = None) -> MCPServer[Any]:
    async def echo(arguments: dict[str, Any], ctx: Context[Any, Any]) -> CallToolResult:
        seen.append((arguments, ctx))
        content = {"echoed": arguments} if structured is None else structured
        return CallToolResult(content=[TextContent(type="text", text="ok")], structured_content=content)

    tool = raw_tool(
        echo,
        title="Echo",
        description="Hands back its arguments.",
        input_schema=INPUT,
        output_schema=OUTPUT,
        annotations=ToolAnnotations(read_only_hint=True),
    )
    return MCPServer("guard", tools=[tool])


async def test_a_raw_tool_is_advertised_with_exactly_the_schemas_it_was_given() -> None:
    async with Client(echo_server([])) as client:
        (tool,) = (await client.list_tools()).tools

    assert (tool.name, tool.title, tool.description) == ("echo", "Echo", "Hands back its arguments.")
    assert tool.input_schema == INPUT
    assert tool.output_schema == OUTPUT
    assert tool.annotations == ToolAnnotations(read_only_hint=True)


async def test_a_raw_tool_gets_the_arguments_exactly_as_sent_with_the_requests_context() -> None:
    seen: list[tuple[dict[str, Any], Context[Any, Any]]] = []
    async with Client(echo_server(seen)) as client:
        result = await client.call_tool("echo", SENT)  # neither checked against the schema nor pre-parsed
        await client.call_tool("echo", {})

    assert not result.is_error
    assert result.structured_content == {"echoed": SENT}
    assert [arguments for arguments, _ in seen] == [SENT, {}]
    assert all(isinstance(ctx, Context) and ctx.request_context.method == "tools/call" for _, ctx in seen)


async def test_a_raw_tools_result_goes_out_as_built_and_the_client_checks_it_against_the_schema() -> None:
    # The server does not validate each result once more (sdk_private.py says why); a client still refuses what
    # the schema does not describe, so the results' agreement with their schemas is tested, not checked per call.
    seen: list[tuple[dict[str, Any], Context[Any, Any]]] = []
    async with Client(echo_server(seen, structured={"not": "echoed"})) as client:
        with pytest.raises(RuntimeError, match="Invalid structured content"):
            await client.call_tool("echo", {"kind": "a"})

    assert len(seen) == 1


def test_the_low_level_server_is_there_to_run_on_other_streams_as_run_stdio_async_does() -> None:
    server = MCPServer("guard")

    lowlevel = lowlevel_server(server)

    assert isinstance(lowlevel, Server)
    assert lowlevel.name == "guard"
    options = lowlevel.create_initialization_options()
    assert options.server_name == "guard"
    inspect.signature(lowlevel.run).bind(object(), object(), options)  # transport/stdio.py's call
