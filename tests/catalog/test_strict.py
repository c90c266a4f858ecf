"""The `strict` schema profile, for OpenAI strict function calling: every served schema is one openai-agents'
`ensure_strict_json_schema` leaves unchanged and uses only the keywords strict mode takes, and a call filled in the way
a strict model must (every property present, the unused ones null) succeeds for every model of both catalogs."""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from agents.strict_schema import ensure_strict_json_schema
from jsonschema import Draft202012Validator
from mcp import Client

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.models import Catalog, ModelSpec
from aigc_image_mcp.catalog.schema import input_schema
from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

from ..conftest import Connect, FakeClock, accepts
from ..support.fake_relay import FakeRelay
from ..support.fake_tencent import SECRET_ID, SECRET_KEY, FakeTencent, serve
from ..support.helpers import structured, text_of

pytestmark = pytest.mark.anyio

# OpenAI's strict subset (platform.openai.com/docs/guides/structured-outputs, "Supported schemas"), written out by
# hand so the profile is checked against the documentation, not itself: the object keywords, and per property its
# type, description, enum, and the supported constraints (strings: pattern, format; numbers: minimum, maximum,
# exclusive bounds, multipleOf; arrays: minItems, maxItems). minLength and maxLength are not among them.
OBJECT_KEYWORDS = {"type", "properties", "required", "additionalProperties"}
PROPERTY_KEYWORDS = {"type", "description", "enum", "items", "anyOf", "pattern", "format", "minimum", "maximum",
                     "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems"}  # fmt: skip
CATALOGS = {
    "quickrouter": PROFILES["quickrouter"].load_catalog(),
    "tencentcloud": PROFILES["tencentcloud"].load_catalog(),
}


@asynccontextmanager
async def tencent(tmp_path: Path, **values: Any) -> AsyncGenerator[tuple[Client, FakeTencent]]:
    """An in-memory client on a server whose backend is Tencent Cloud direct, faked on 127.0.0.1."""
    fake = FakeTencent()
    with serve(fake):
        settings = Settings.model_validate(
            {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "tencentcloud_endpoint": fake.base_url,
             "output_dir": tmp_path / "images", "data_dir": tmp_path / "data", **values}
        )  # fmt: skip
        async with Client(build_server(settings, clock=FakeClock()), mode="legacy") as client:
            yield client, fake


async def served(client: Client) -> dict[str, dict[str, Any]]:
    return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}


def strict_problems(schema: dict[str, Any]) -> list[str]:
    """Every way `schema` falls outside OpenAI's strict subset; empty when it fits."""
    Draft202012Validator.check_schema(schema)
    problems = [f"root keyword {key}" for key in schema if key not in OBJECT_KEYWORDS]
    if schema.get("additionalProperties") is not False:
        problems.append("the root is not closed")
    if schema.get("required") != list(schema["properties"]):
        problems.append("not every property is required")
    for name, prop in schema["properties"].items():
        problems += [f"{name}: keyword {key}" for key in prop if key not in PROPERTY_KEYWORDS]
        if prop.get("type") == "object" or (isinstance(prop.get("type"), list) and "object" in prop["type"]):
            problems.append(f"{name}: a nested object")
    return problems


@pytest.mark.parametrize("backend", sorted(CATALOGS))
async def test_every_strict_schema_is_one_openai_agents_leaves_unchanged_and_in_openais_subset(
    connect: Connect, backend: str
) -> None:
    credentials = {"api_key": None, "secret_id": SECRET_ID, "secret_key": SECRET_KEY}
    async with connect(schema_profile="strict", backend=backend, **credentials) as client:
        schemas = await served(client)

    assert sorted(schemas) == ["generate_image", "get_image_task", "get_image_usage", "list_image_tasks"]
    for name, schema in schemas.items():
        assert ensure_strict_json_schema(copy.deepcopy(schema)) == schema, name
        assert strict_problems(schema) == [], name
    assert schemas["generate_image"] == input_schema(CATALOGS[backend], "strict")


def test_the_strict_profile_makes_exactly_the_optional_properties_nullable() -> None:
    catalog = CATALOGS["quickrouter"]
    portable, schema = input_schema(catalog, "portable"), input_schema(catalog, "strict")
    properties = schema["properties"]

    assert list(properties) == list(portable["properties"])
    assert properties["model"]["type"] == "string"
    assert properties["prompt"] == {"type": "string", "description": portable["properties"]["prompt"]["description"]}
    assert properties["aspect_ratio"]["type"] == ["string", "null"]
    assert properties["aspect_ratio"]["enum"][-1] is None
    assert properties["reference_images"]["type"] == ["array", "null"]
    assert properties["tasks_priority"] == {**portable["properties"]["tasks_priority"], "type": ["integer", "null"]}
    assert "maxLength" not in properties["session_id"]  # not in strict mode's subset; the server still enforces it


def strict_call(spec: ModelSpec, schema: dict[str, Any]) -> dict[str, Any]:
    """What a strict model sends for `spec`: every property, a value the model takes where there is one, else null."""
    chosen: dict[str, Any] = {
        "model": spec.id,
        "prompt": "a lighthouse at dusk",
        "resolution": spec.resolutions[0] if spec.resolutions else None,
        "aspect_ratio": spec.aspect_ratios[0] if spec.aspect_ratios else None,
        "output_image_count": 1 if spec.max_output_images else None,
        "wait_seconds": 0,
    }
    return {name: chosen.get(name) for name in schema["properties"]}


@pytest.mark.parametrize("spec", CATALOGS["quickrouter"].models, ids=CATALOGS["quickrouter"].ids)
async def test_a_strict_models_call_succeeds_for_every_relay_model(
    connect: Connect, relay: FakeRelay, spec: ModelSpec
) -> None:
    async with connect(schema_profile="strict") as client:
        schema = (await served(client))["generate_image"]
        arguments = strict_call(spec, schema)
        result = await client.call_tool("generate_image", arguments)

    assert accepts(Draft202012Validator(schema), arguments)
    assert not result.is_error, text_of(result)
    assert structured(result)["model"] == spec.id
    (sent,) = relay.submits
    assert None not in sent.values()
    assert set(sent) <= {"model_name", "model_version", "prompt", "output_config"}


@pytest.mark.slow
async def test_a_strict_models_call_succeeds_for_every_tencent_model(tmp_path: Path) -> None:
    catalog: Catalog = CATALOGS["tencentcloud"]
    async with tencent(tmp_path, schema_profile="strict") as (client, fake):
        schema = (await served(client))["generate_image"]
        calls = [strict_call(spec, schema) for spec in catalog.models]
        results = [await client.call_tool("generate_image", arguments) for arguments in calls]

    validator = Draft202012Validator(schema)
    assert all(accepts(validator, arguments) for arguments in calls)
    assert [text_of(result) for result in results if result.is_error] == []
    submitted = fake.actions("CreateAigcImageTask")
    assert [(body["ModelName"], body["ModelVersion"]) for body in submitted] == [
        (spec.model_name, spec.model_version) for spec in catalog.models
    ]
    assert all(set(body) <= {"ModelName", "ModelVersion", "Prompt", "OutputConfig"} for body in submitted)
