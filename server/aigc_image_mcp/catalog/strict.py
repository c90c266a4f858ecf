"""The `strict` schema profile: a flat schema rewritten into the subset of JSON Schema that OpenAI's strict function
calling accepts (openai-agents' `ensure_strict_json_schema` leaves it unchanged).

Every object is closed (`additionalProperties: false`) and lists every property in `required`; an optional property
becomes nullable (`"type": [T, "null"]`, and `null` joins its `enum`), so a strict model fills in null for what it
leaves out. Only the keywords strict mode takes are kept: `minLength`/`maxLength` go, and the server still enforces
them (validation.py), as it enforces every per-model rule that no profile but `full` states.
"""

from __future__ import annotations

from typing import Any, cast

Schema = dict[str, Any]

KEYWORDS = frozenset({"type", "description", "enum", "items", "minimum", "maximum", "minItems", "maxItems"})
"""What a property of the strict profile may say: OpenAI's strict subset, as far as these flat schemas need it."""
NULL_FOR_LEFT_OUT = "Send null for every argument left out."
"""The one sentence the strict profile adds to generate_image's description."""


def strict(schema: Schema) -> Schema:
    """`schema` (a flat object of scalar and array properties) in OpenAI's strict subset."""
    required = set(cast(list[str], schema["required"]))
    properties = cast(dict[str, Schema], schema["properties"])
    return {
        "type": "object",
        "properties": {name: _property(prop, nullable=name not in required) for name, prop in properties.items()},
        "required": list(properties),
        "additionalProperties": False,
    }


def _property(prop: Schema, *, nullable: bool) -> Schema:
    kept = {key: value for key, value in prop.items() if key in KEYWORDS}
    if not nullable:
        return kept
    kept["type"] = [prop["type"], "null"]
    if "enum" in kept:
        kept["enum"] = [*kept["enum"], None]
    return kept
