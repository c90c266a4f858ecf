"""Unusual input gets a readable refusal naming the field, never "Error executing tool" and a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import MCPError

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.validation import parse_arguments
from aigc_image_mcp.errors import ArgumentsError

from ..conftest import Connect
from ..support.fake_relay import FakeRelay
from ..support.helpers import text_of

pytestmark = pytest.mark.anyio

HUGE = 10**400  # past a float's range: float(HUGE) raises OverflowError
NESTED = "[" * 1000 + "]" * 1000  # past json's recursion limit
ARGS = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("generate_image", {**ARGS, "tasks_priority": HUGE}, "tasks_priority"),
        ("generate_image", {**ARGS, "tasks_priority": -HUGE}, "tasks_priority"),
        ("generate_image", {**ARGS, "wait_seconds": HUGE}, "wait_seconds"),
        ("get_image_task", {"task_id": "task-1", "wait_seconds": HUGE}, "wait_seconds"),
        ("list_image_tasks", {"limit": HUGE}, "limit"),
        ("list_image_tasks", {"limit": 10**5000}, "limit"),  # past the 4,300 digits Python will print
        ("generate_image", {**ARGS, "reference_images": NESTED}, "reference_images"),
        ("generate_image", {**ARGS, "reference_image_descriptions": NESTED}, "reference_image_descriptions"),
    ],
)
async def test_an_integer_of_hundreds_of_digits_or_deeply_nested_brackets_are_refused_naming_the_field(
    connect: Connect, caplog: pytest.LogCaptureFixture, tool: str, arguments: dict[str, Any], field: str
) -> None:
    async with connect() as client:
        result = await client.call_tool(tool, arguments)

    assert result.is_error
    assert f"- {field}: " in text_of(result), text_of(result)
    assert "nothing was charged" in text_of(result)
    assert not [record for record in caplog.records if record.exc_info], caplog.text


@pytest.mark.parametrize("number", ["\u0663", "\u00b2", "1" * 5000])
async def test_an_image_uri_with_a_non_ascii_digit_or_thousands_of_digits_is_no_such_image(
    connect: Connect, caplog: pytest.LogCaptureFixture, number: str
) -> None:
    async with connect() as client:
        with pytest.raises(MCPError, match="No such image: task 'task-1', image "):
            await client.read_resource(f"aigc-image://tasks/task-1/image-{number}.png")

    assert not [record for record in caplog.records if record.exc_info], caplog.text


async def test_a_lone_surrogate_in_a_text_argument_is_refused_before_anything_is_paid(
    connect: Connect, relay: FakeRelay
) -> None:
    async with connect() as client:
        prompt = await client.call_tool("generate_image", {**ARGS, "prompt": "a fox \ud800"})
        references = await client.call_tool("generate_image", {**ARGS, "reference_images": ["https://x.test/\udfff"]})

    assert "- prompt: holds a lone surrogate" in text_of(prompt)
    assert "- reference_images: an item holds a lone surrogate" in text_of(references)
    assert relay.submits == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", "a fox\x00 in snow"),
        ("negative_prompt", "\x00"),
        ("reference_images", ["https://x.test/a\x00.png"]),
    ],
)
async def test_a_nul_character_is_refused_before_anything_is_paid_since_no_history_can_keep_it(
    connect: Connect, relay: FakeRelay, field: str, value: object
) -> None:
    async with connect() as client:
        result = await client.call_tool("generate_image", {**ARGS, field: value})

    assert result.is_error
    assert f"- {field}: " in text_of(result)
    assert "NUL character" in text_of(result)
    assert relay.submits == []


@pytest.mark.parametrize("seed", [-1, 2**32, 2**63, 10**30])
def test_a_seed_outside_32_bits_is_refused_before_anything_is_paid(seed: int) -> None:
    catalog = PROFILES["tencentcloud"].load_catalog()  # the backend that takes a seed

    with pytest.raises(ArgumentsError) as raised:
        parse_arguments({"model": "GG-3.1", "prompt": "a fox", "seed": seed}, catalog)

    assert f"- seed: {seed} is out of range; use 0 to 4294967295" in str(raised.value)
    assert parse_arguments({"model": "GG-3.1", "prompt": "a fox", "seed": 2**32 - 1}, catalog)[1].seed == 2**32 - 1


@pytest.mark.parametrize("task_id", [".", "..", "..."])
async def test_a_task_id_of_dots_alone_is_refused_naming_the_field_and_nothing_reaches_the_relay(
    connect: Connect, relay: FakeRelay, task_id: str
) -> None:
    async with connect() as client:
        result = await client.call_tool("get_image_task", {"task_id": task_id, "wait_seconds": 0})

    assert result.is_error
    assert "- task_id: " in text_of(result), text_of(result)
    assert relay.requests == []


@pytest.mark.parametrize(
    ("backend", "given", "says"),
    [
        (
            "tencentcloud",
            "GEM-3.0",
            '"GEM-3.0" is not offered here: GEM-3.0 is the quickrouter backend\'s name for '
            "Gemini 3 Pro Image, which this one calls GG-3.0",
        ),
        ("quickrouter", "GG-3.0", "which this one calls GEM-3.0"),
        ("quickrouter", "GEM-3.1", '"GEM-3.1" is not offered (did you mean GEM-3.0?)'),
    ],
)
def test_a_model_id_not_offered_gets_the_nearest_one_or_this_backends_name_for_it(
    backend: str, given: str, says: str
) -> None:
    with pytest.raises(ArgumentsError) as raised:
        parse_arguments({"model": given, "prompt": "a fox"}, PROFILES[backend].load_catalog())

    assert says in str(raised.value)


@pytest.mark.parametrize(("given", "meant"), [("gem-3.0", "GEM-3.0"), ("QWEN-0925", "Qwen-0925")])
def test_a_model_id_is_taken_in_any_case(given: str, meant: str) -> None:
    spec, request = parse_arguments({"model": given, "prompt": "a fox"}, PROFILES["quickrouter"].load_catalog())

    assert spec.id == meant
    assert (request.model_name, request.model_version) == (spec.model_name, spec.model_version)
