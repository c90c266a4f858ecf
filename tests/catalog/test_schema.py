"""The served input schemas: the portable one obeys every rule of the shape all clients accept; the full one states
the rules."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.schema import input_schema
from aigc_image_mcp.catalog.validation import parse_plain
from aigc_image_mcp.errors import ArgumentsError
from aigc_image_mcp.protocol.tools import GET_ARGUMENTS

from ..conftest import Connect, accepts
from ..support.helpers import TASK

pytestmark = pytest.mark.anyio

# The keys a Gemini `parameters` host accepts (others answer HTTP 400 "Unknown name").
GEMINI_KEYS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
    "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
    "default", "items", "minimum", "maximum",
}  # fmt: skip
SCALARS = {"string", "integer", "number", "boolean"}
FORBIDDEN_ANYWHERE = {"$ref", "$defs", "definitions", "$schema", "const", "additionalProperties", "if", "then", "else"}


MODEL_IDS = PROFILES["quickrouter"].load_catalog().ids


def portability_problems(schema: dict[str, Any], *, per_model: bool = True) -> list[str]:
    """Every way `schema` breaks a rule of the portable shape; empty when it obeys them all."""
    problems: list[str] = []
    Draft202012Validator.check_schema(schema)
    if set(schema) != {"type", "properties", "required"} or schema["type"] != "object":
        problems.append(f"root must be exactly type/properties/required, has {sorted(schema)}")
    for name, prop in schema.get("properties", {}).items():
        problems += [f"{name}: {problem}" for problem in _property_problems(prop, per_model=per_model)]
    return problems


def _property_problems(prop: dict[str, Any], *, per_model: bool) -> list[str]:
    problems = [f"keyword {key} is not portable" for key in prop if key in FORBIDDEN_ANYWHERE or key not in GEMINI_KEYS]
    kind = prop.get("type")
    if not isinstance(kind, str):
        problems.append(f"needs one scalar type, has {kind!r} (nullable unions are rejected)")
    elif kind == "array":
        items = prop.get("items")
        if not isinstance(items, dict) or items.get("type") not in SCALARS or set(items) - {"type"}:  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
            problems.append(f"an array needs items of one scalar type, has {items!r}")
    elif kind not in SCALARS:
        problems.append(f"type {kind} is not a flat scalar")
    if "anyOf" in prop:
        problems.append("anyOf is not portable")
    if not isinstance(prop.get("description"), str) or not prop["description"]:
        problems.append("needs a description")
    elif per_model and not _says_which_models(prop["description"]):
        problems.append("needs a description that says which models accept it")
    enum = prop.get("enum")
    if enum is not None and (not enum or not all(isinstance(value, str) for value in enum)):
        problems.append("enum values must be strings")
    if kind != "integer" and ({"minimum", "maximum"} & set(prop)):
        problems.append("minimum/maximum belong to integers")
    return problems


def _says_which_models(description: object) -> bool:
    """A `Models: …` clause, or every model named with its own limit (as `model` and `reference_images` do)."""
    if not isinstance(description, str):
        return False
    return "Models: " in description or all(model_id in description for model_id in MODEL_IDS)


async def served_schemas(connect: Connect, **settings: Any) -> dict[str, dict[str, Any]]:
    async with connect(**settings) as client:
        return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}


async def served_schema(connect: Connect, **settings: Any) -> dict[str, Any]:
    return (await served_schemas(connect, **settings))["generate_image"]


async def test_every_served_schema_obeys_every_portability_rule(connect: Connect) -> None:
    schemas = await served_schemas(connect)

    problems = {
        name: portability_problems(schema, per_model=name == "generate_image") for name, schema in schemas.items()
    }
    assert problems == {name: [] for name in schemas}
    schema = schemas["generate_image"]
    assert schema["required"] == ["model", "prompt"]
    assert schema["properties"]["model"]["enum"] == ["GEM-2.5", "GEM-3.0", "Qwen-0925", "Hunyuan-3.0"]


def _one(prop: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"a": {"description": "Models: all."} | prop}, "required": []}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (_one({"type": "string"}) | {"oneOf": [{"required": ["a"]}]}, "root must be exactly"),
        (_one({"type": ["string", "null"]}), "one scalar type"),
        (_one({"$ref": "#/$defs/A"}), "$ref"),
        (_one({"type": "array"}), "items of one scalar"),
        (_one({"type": "object"}), "not a flat scalar"),
        (_one({"type": "string", "description": "What to draw."}), "which models accept it"),
        (_one({"type": "integer", "enum": [1]}), "strings"),
        (_one({"type": "string", "const": "x"}), "const"),
    ],
)
def test_the_checker_catches_each_shape_clients_reject(shape: dict[str, Any], expected: str) -> None:
    assert any(expected in problem for problem in portability_problems(shape))


async def test_the_full_profile_adds_one_root_if_then_else_chain_and_nothing_else(connect: Connect) -> None:
    schema = await served_schema(connect, schema_profile="full")

    Draft202012Validator.check_schema(schema)
    assert set(schema) == {"type", "properties", "required", "if", "then", "else"}
    assert not {"oneOf", "anyOf", "allOf", "not", "enum"} & set(schema)


@pytest.mark.parametrize(
    ("arguments", "valid"),
    [
        ({"model": "GEM-2.5", "prompt": "p", "aspect_ratio": "21:9", "resolution": "1K"}, True),
        ({"model": "Qwen-0925", "prompt": "p", "aspect_ratio": "1:1"}, False),
        ({"model": "Hunyuan-3.0", "prompt": "p", "resolution": "1K"}, False),
        ({"model": "GEM-2.5", "prompt": "p", "reference_images": ["1", "2", "3", "4"]}, False),
        ({"model": "GEM-3.0", "prompt": "p", "reference_images": ["1"] * 14}, True),
        (
            {"model": "GEM-3.0", "prompt": "p", "reference_images": ["1"], "reference_image_descriptions": ["a", "b"]},
            False,
        ),
        ({"model": "GEM-3.0", "prompt": "p", "reference_image_descriptions": ["a"]}, False),
        (
            {"model": "Qwen-0925", "prompt": "p", "reference_images": ["1"], "reference_image_descriptions": ["a"]},
            False,
        ),
        ({"model": "GEM-3.0", "prompt": "p", "reference_images": ["ftp://x"]}, False),
        ({"model": "GEM-3.0", "prompt": " "}, False),
    ],
)
def test_the_full_schema_states_the_per_model_rules(arguments: dict[str, Any], valid: bool) -> None:
    validator = Draft202012Validator(input_schema(PROFILES["quickrouter"].load_catalog(), "full"))

    assert accepts(validator, arguments) is valid


@pytest.mark.parametrize(
    "task_id", [TASK, f"{TASK}.v2", ".a", f"{TASK}\n", "a/b", "", ".", "..", "t\u00e9", "%2e%2e", "x" * 129]
)
async def test_the_full_profile_states_the_task_id_rule_the_server_enforces(connect: Connect, task_id: str) -> None:
    schema = (await served_schemas(connect, schema_profile="full"))["get_image_task"]
    try:
        parse_plain("get_image_task", {"task_id": task_id}, GET_ARGUMENTS, required=("task_id",))
    except ArgumentsError:
        server_accepts = False
    else:
        server_accepts = True

    assert schema["properties"]["task_id"]["pattern"]
    assert accepts(Draft202012Validator(schema), {"task_id": task_id}) is server_accepts
