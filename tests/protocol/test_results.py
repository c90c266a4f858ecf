"""What the tools hand back (results.py): a result leaves out what is not set, and its outputSchema has neither
`$ref`/`$defs` nor nullable unions (which some clients cannot read) yet still accepts every result it describes."""

from __future__ import annotations

import json
from collections import deque
from importlib import resources
from typing import Any, cast

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from aigc_image_mcp.results import HistoryEntry, ImageFile, TaskList, TaskResult, derived_schema, output_schema
from scripts.output_schemas import MODELS, shipped_text

from ..conftest import Connect, accepts
from ..support.fake_relay import FakeRelay, accepted, task_detail
from ..support.helpers import TASK, text_of

DONE = TaskResult(
    task_id=TASK,
    model="GEM-3.0",
    status="SUCCEEDED",
    request_id="req-1",
    images=[ImageFile(url="https://vod.example/fox.png", expires_at="2026-01-05T12:03:57Z", mime_type="image/png")],
)
LISTING = TaskList(
    tasks=[
        HistoryEntry(
            task_id=TASK,
            model="GEM-3.0",
            status="FAILED",
            created_at="2026-01-01T12:00:00Z",
            prompt="a red fox in snow",
            error_code="InvalidParameter.VoilationContent",
            message="unsafe",
        )
    ]
)


def keys_anywhere(node: Any) -> set[str]:
    """Every key of every object in the JSON value `node`."""
    text = json.dumps(node)
    found: set[str] = set()
    json.loads(text, object_pairs_hook=lambda pairs: found.update(key for key, _ in pairs))
    return found


def test_a_result_leaves_out_the_fields_that_are_not_set_rather_than_sending_null() -> None:
    dumped = DONE.dump()
    cost = dumped.pop("cost")

    assert "null" not in json.dumps(dumped)
    assert set(dumped) == {"task_id", "model", "status", "request_id", "images", "notes"}
    assert cost == {"images": 1, "amount": None, "currency": None}  # the cost alone is always whole, nulls included
    assert dumped["images"] == [
        {"url": "https://vod.example/fox.png", "expires_at": "2026-01-05T12:03:57Z", "mime_type": "image/png"}
    ]


@pytest.mark.parametrize("model", MODELS)
def test_the_shipped_output_schema_is_the_one_the_model_gives(model: type[BaseModel]) -> None:
    assert output_schema(model) == derived_schema(model), "run `uv run python scripts/output_schemas.py`"


def test_the_shipped_output_schemas_are_written_as_the_script_writes_them() -> None:
    shipped = resources.files("aigc_image_mcp").joinpath("output_schemas.json").read_text(encoding="utf-8")

    assert shipped == shipped_text(), "run `uv run python scripts/output_schemas.py`"


@pytest.mark.parametrize("model", [TaskResult, TaskList])
def test_an_output_schema_has_no_references_and_no_nullable_unions(model: type[BaseModel]) -> None:
    schema = output_schema(model)

    Draft202012Validator.check_schema(schema)
    assert not {"$ref", "$defs", "anyOf"} & keys_anywhere(schema)
    cost = cast(dict[str, Any], schema["properties"]).pop("cost" if model is TaskResult else "spent_today")
    assert "null" not in json.dumps(schema)
    # A cost's amount and currency are null when unpriced: a plain type list, never anyOf.
    nullable = {name: value["type"] for name, value in cost["properties"].items() if "null" in json.dumps(value)}
    assert nullable == {"amount": ["number", "null"], "currency": ["string", "null"]}


@pytest.mark.parametrize(
    ("model", "result", "broken"),
    [(TaskResult, DONE, {**DONE.dump(), "status": "UNKNOWN"}), (TaskList, LISTING, {"tasks": [{"task_id": TASK}]})],
)
def test_an_output_schema_accepts_the_results_it_describes_and_nothing_else(
    model: type[BaseModel], result: TaskResult | TaskList, broken: dict[str, Any]
) -> None:
    validator = Draft202012Validator(output_schema(model))

    assert accepts(validator, result.dump())
    assert not accepts(validator, broken)


def test_an_optional_field_keeps_its_description_once_its_null_is_dropped() -> None:
    properties = output_schema(TaskResult)["properties"]

    assert properties["request_id"] == {
        "type": "string",
        "title": "Request Id",
        "description": "Tencent's RequestId of the submit, for support.",
    }
    assert properties["images"]["items"]["properties"]["url"]["type"] == "string"


@pytest.mark.anyio
async def test_a_history_of_tasks_with_enormous_urls_is_listed_within_what_a_client_accepts(
    connect: Connect, relay: FakeRelay
) -> None:
    for number in range(6):
        task = f"task-{number}"
        relay.script.append(accepted(task))
        relay.queries[task] = deque([task_detail(task, urls=(f"https://relay.test/files/{'x' * 200_000}.png",))])

    async with connect() as client:
        for _ in range(6):
            await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "a fox"})
        listing = await client.call_tool("list_image_tasks", {"limit": 50})

    assert not listing.is_error
    assert len(listing.model_dump_json(by_alias=True)) < 1_000_000
    shown = cast(list[dict[str, Any]], (listing.structured_content or {})["tasks"])
    assert 0 < len(shown) < 6
    assert [entry["task_id"] for entry in shown] == [f"task-{n}" for n in range(5, 5 - len(shown), -1)]  # newest
    assert f"The {6 - len(shown)} oldest of these tasks are left out" in text_of(listing)
