"""The Anthropic Python SDK's MCP helper (`anthropic.lib.tools.mcp`) turns our results into tool_result content the
model reads: with the default settings a paid task's TaskId and image URL reach the model as text, and a refusal
comes back as the helper's ToolError with our words, never as UnsupportedMCPValueError (which it raises on
`resource_link` blocks, so those are only sent when the operator asks for them)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from anthropic.lib.tools import ToolError
from anthropic.lib.tools.mcp import UnsupportedMCPValueError, async_mcp_tool, mcp_content, mcp_resource_to_content
from mcp import Client

from ..conftest import Connect
from ..support.fake_relay import FakeRelay, accepted
from ..support.helpers import TASK

pytestmark = pytest.mark.anyio

ARGS = {"model": "GEM-3.0", "prompt": "a red fox in snow"}
URL = f"https://relay.test/files/{TASK}.png"


async def run_tool(client: Client, name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """The content the SDK's tool runner would send back for one call: `async_mcp_tool(...).call`, as `tool_runner`
    makes it (it calls the tool through the MCP client and converts the CallToolResult)."""
    (tool,) = [t for t in (await client.list_tools()).tools if t.name == name]
    # The helper is typed for mcp's ClientSession; it calls only `call_tool(name=..., arguments=...)`, as Client has.
    runnable = async_mcp_tool(tool, cast(Any, client))
    return cast(list[dict[str, Any]], list(await runnable.call(arguments)))


def texts(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(block["text"] for block in blocks if block["type"] == "text")


async def test_a_finished_task_reaches_the_model_with_its_task_id_and_url_in_text(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        generated = await run_tool(client, "generate_image", ARGS)
        fetched = await run_tool(client, "get_image_task", {"task_id": TASK})

    for blocks in (generated, fetched):
        assert TASK in texts(blocks)
        assert URL in texts(blocks)
        assert [block["type"] for block in blocks] == ["text", "image"]
        assert blocks[1]["source"]["media_type"] == "image/jpeg"


async def test_every_block_of_a_real_result_converts_with_the_helpers_mcp_content(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGS)

    converted = [mcp_content(block) for block in result.content]
    assert TASK in texts(cast(list[dict[str, Any]], converted))


async def test_a_saved_image_read_as_a_resource_converts_to_an_image_block(connect: Connect, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        await client.call_tool("generate_image", ARGS)
        read = await client.read_resource(f"aigc-image://tasks/{TASK}/image-1.png")

    block = cast(dict[str, Any], mcp_resource_to_content(read))
    assert (block["type"], block["source"]["media_type"]) == ("image", "image/png")


async def test_a_task_still_running_hands_the_model_its_task_id(connect: Connect, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        blocks = await run_tool(client, "generate_image", {**ARGS, "wait_seconds": 0})

    assert f'call get_image_task with task_id "{TASK}"' in texts(blocks)


async def test_a_refusal_is_the_helpers_tool_error_with_our_words(connect: Connect) -> None:
    async with connect() as client:
        with pytest.raises(ToolError) as refused:
            await run_tool(client, "generate_image", {**ARGS, "aspect_ratio": "7:3"})

    content = cast(list[dict[str, Any]], refused.value.content)
    assert 'aspect_ratio: "7:3" is not accepted by GEM-3.0' in texts(content)


async def test_with_resource_links_asked_for_the_helper_cannot_take_the_result(
    connect: Connect, relay: FakeRelay
) -> None:
    """Why the links are off by default: the helper fails the whole paid result on one."""
    relay.script.append(accepted(TASK))
    async with connect(resource_links=True) as client:
        with pytest.raises(UnsupportedMCPValueError, match="resource_link"):
            await run_tool(client, "generate_image", ARGS)
