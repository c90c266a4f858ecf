"""null, "" for a string and [] for an array mean "not given" for every optional argument of every tool, as clients
that fill in every property send them (mcp-use's LangChain adapter, OpenAI strict mode): such a call succeeds, and
nothing of it reaches the upstream. A wrong value is still refused, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from ..conftest import Connect
from ..support.fake_relay import FakeRelay
from ..support.helpers import structured, text_of

pytestmark = pytest.mark.anyio

ARGS = {"model": "GEM-3.0", "prompt": "a red fox in snow"}
SENT = {"model_name": "GEM", "model_version": "3.0", "prompt": "a red fox in snow"}
EMPTY: dict[str, Any] = {"string": "", "array": [], "integer": None, "boolean": None}


async def optional_properties(client: Client, tool: str) -> dict[str, str]:
    """Each optional property of `tool`'s served schema, with its JSON type."""
    (listed,) = [t for t in (await client.list_tools()).tools if t.name == tool]
    schema = listed.input_schema
    return {name: prop["type"] for name, prop in schema["properties"].items() if name not in schema["required"]}


@pytest.mark.parametrize("empty", ["null", "empty"])
async def test_generate_image_with_every_optional_argument_null_or_empty_sends_only_model_and_prompt(
    connect: Connect, relay: FakeRelay, empty: str
) -> None:
    async with connect() as client:
        kinds = await optional_properties(client, "generate_image")
        filled = {name: None if empty == "null" else EMPTY[kind] for name, kind in kinds.items()}
        result = await client.call_tool("generate_image", {**ARGS, **filled})

    assert not result.is_error, text_of(result)
    assert {"negative_prompt", "reference_images", "save_as", "aspect_ratio", "wait_seconds"} <= set(filled)
    assert relay.submits == [SENT]
    assert structured(result)["status"] == "SUCCEEDED"  # wait_seconds null waited as long as it does when left out


@pytest.mark.parametrize(
    ("name", "value"),
    [("negative_prompt", ""), ("ext_info", ""), ("session_id", ""), ("reference_images", []), ("save_as", "")],
)
async def test_an_empty_string_or_list_is_not_forwarded_upstream(
    connect: Connect, relay: FakeRelay, name: str, value: Any
) -> None:
    async with connect() as client:
        result = await client.call_tool("generate_image", {**ARGS, name: value})

    assert not result.is_error, text_of(result)
    assert relay.submits == [SENT]


async def test_an_argument_the_model_does_not_take_may_be_null_or_empty_but_not_a_value(
    connect: Connect, relay: FakeRelay
) -> None:
    qwen = {"model": "Qwen-0925", "prompt": "p"}
    async with connect() as client:
        empty = await client.call_tool(
            "generate_image", {**qwen, "aspect_ratio": "", "reference_image_descriptions": None}
        )
        given = await client.call_tool("generate_image", {**qwen, "aspect_ratio": "1:1"})

    assert not empty.is_error, text_of(empty)
    assert given.is_error
    assert "aspect_ratio: not accepted by Qwen-0925; leave it out" in text_of(given)
    assert relay.submits == [{"model_name": "Qwen", "model_version": "0925", "prompt": "p"}]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"model": "GEM-3.0", "prompt": None}, "prompt: must be a string, got null"),
        ({"model": None, "prompt": "p"}, "model: null is not offered; use one of GEM-2.5"),
        ({"model": "GEM-3.0", "prompt": ""}, "prompt: must not be empty"),
        ({**ARGS, "aspect_ratio": "7:3"}, 'aspect_ratio: "7:3" is not accepted by GEM-3.0; use one of 1:1'),
        ({**ARGS, "tasks_priority": ""}, 'tasks_priority: must be a whole number, got ""'),
        ({**ARGS, "reference_images": ""}, 'reference_images: must be an array of strings, got ""'),
        ({**ARGS, "overwrite": ""}, 'overwrite: must be true or false, got ""'),
        ({**ARGS, "nonsense": None}, "nonsense: unknown argument"),
    ],
)
async def test_a_required_argument_null_or_empty_or_a_wrong_value_is_still_refused_naming_the_field(
    connect: Connect, relay: FakeRelay, arguments: dict[str, Any], expected: str
) -> None:
    async with connect() as client:
        result = await client.call_tool("generate_image", arguments)

    assert result.is_error
    assert expected in text_of(result)
    assert relay.requests == []


@pytest.mark.parametrize("empty", ["null", "empty"])
async def test_get_image_task_and_list_image_tasks_take_null_or_empty_for_every_optional_argument(
    connect: Connect, relay: FakeRelay, empty: str
) -> None:
    async with connect() as client:
        task_id = structured(await client.call_tool("generate_image", ARGS))["task_id"]
        results: list[CallToolResult] = []
        for tool, required in (("get_image_task", {"task_id": task_id}), ("list_image_tasks", {})):
            kinds = await optional_properties(client, tool)
            filled = {name: None if empty == "null" else EMPTY[kind] for name, kind in kinds.items()}
            results.append(await client.call_tool(tool, {**required, **filled}))
        fetched, listed = results

    assert not fetched.is_error, text_of(fetched)
    assert structured(fetched)["task_id"] == task_id
    assert not listed.is_error, text_of(listed)
    assert [task["task_id"] for task in structured(listed)["tasks"]] == [task_id]


async def test_get_image_task_still_refuses_an_empty_task_id_and_a_wrong_status(connect: Connect) -> None:
    async with connect() as client:
        fetched = await client.call_tool("get_image_task", {"task_id": "", "wait_seconds": None})
        listed = await client.call_tool("list_image_tasks", {"status": "DONE", "limit": None})

    assert "task_id: must not be empty" in text_of(fetched)
    assert 'status: "DONE" is not accepted; use one of SUBMITTED' in text_of(listed)
