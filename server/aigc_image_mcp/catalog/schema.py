"""Renders the tools' input schemas from their argument declarations (generate.py, fields.py), and generate_image's
description from the catalog, in three profiles.

portable: the flat shape every client and model provider accepts (no root combinators, no nullable unions, no $ref,
no nested objects, no patterns); cross-field rules are in the descriptions and enforced by validation.py.
full: the same properties with their patterns, plus one root if/then/else chain keyed on `model` that states every
per-model rule.
strict: the portable properties in OpenAI's strict subset (strict.py): closed, every property required, the optional
ones nullable, which a strict model fills with null (validation.py takes null as "not given").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, cast

from .fields import Argument
from .generate import SELECTOR, Offered, offered
from .models import Catalog, ModelSpec
from .rules import Schema
from .strict import NULL_FOR_LEFT_OUT, strict

Profile = Literal["portable", "full", "strict"]


def input_schema(catalog: Catalog, profile: Profile = "portable") -> Schema:
    """The tool's inputSchema: a flat object; with `full`, also the per-model rules."""
    accepted = offered(catalog)
    properties = {argument.name: _property(argument, profile, catalog) for argument in accepted.arguments}
    schema: Schema = {"type": "object", "properties": properties, "required": list(accepted.required)}
    if profile == "full":
        schema |= _rule_chain(catalog, accepted)
    return strict(schema) if profile == "strict" else schema


def tool_description(catalog: Catalog, profile: Profile = "portable", prices: Mapping[str, str] | None = None) -> str:
    """The generate_image description: what it does, what it costs, and what each model is good for; with `prices`
    (model id -> the price of one image, as text), each priced model's price."""
    lines = [
        f"Generate an image with {catalog.service}. Each call starts one paid task, waits up to wait_seconds, and "
        "returns its TaskId with the image (URL, saved file, preview); finish a RUNNING task with get_image_task, "
        "never by calling this again. Pick `model` first; leave out each argument it does not accept (each says "
        "which models do)." + (f" {NULL_FOR_LEFT_OUT}" if profile == "strict" else ""),
        "Models (price per image: the operator's estimate):" if prices else "Models:",
        *(f"- {_model_line(spec, (prices or {}).get(spec.id))}" for spec in catalog.models),
    ]
    return "\n".join(lines)


def _model_line(spec: ModelSpec, price: str | None = None) -> str:
    label = f" ({spec.label})" if spec.label else ""
    guidance = f": {spec.guidance}" if spec.guidance else ""
    return f"{spec.id}{label}{guidance}{f'; {price}' if price else ''}."


def plain_schema(
    arguments: tuple[Argument, ...], required: tuple[str, ...] = (), profile: Profile = "portable"
) -> Schema:
    """The inputSchema of a tool whose arguments do not depend on the model."""
    properties = {argument.name: _property(argument, profile) for argument in arguments}
    schema: Schema = {"type": "object", "properties": properties, "required": list(required)}
    return strict(schema) if profile == "strict" else schema


def _property(argument: Argument, profile: Profile, catalog: Catalog | None = None) -> Schema:
    """An argument's property: its copy, its type, its values and limits; each pattern in `full` only (portable
    leaves patterns out; strict keeps what OpenAI's subset takes, strict.py). Under generate_image (`catalog`),
    the copy says which models take it."""
    rule = argument.per_model
    if catalog is None:
        description = argument.description
    elif rule is None:
        description = f"{argument.description} Models: all."
    else:
        description = argument.description.replace("{models}", rule.models(catalog))
    schema: Schema = {"type": argument.kind, "description": description}
    if argument.kind == "array":
        schema["items"] = {"type": "string"}
    values = getattr(catalog.options, argument.option) if catalog is not None and argument.option else argument.choices
    if isinstance(values, tuple) and values:
        schema["enum"] = list(cast(tuple[str, ...], values))
    limits = {
        "minLength": argument.min_length,
        "maxLength": argument.max_length,
        "minimum": argument.minimum,
        "maximum": argument.maximum,
    }
    schema |= {key: value for key, value in limits.items() if value is not None}
    if rule is not None and catalog is not None:
        schema |= rule.keywords(catalog)
    if argument.pattern is not None and profile == "full":
        (schema["items"] if argument.kind == "array" else schema)["pattern"] = argument.pattern.regex
    return schema


def _rule_chain(catalog: Catalog, accepted: Offered) -> Schema:
    """`if model is A then A's rules else (if model is B then …)`: one root if/then/else, keyed on the argument
    that selects the model; each branch holds the per-model rules for its model.

    Each branch also closes the argument names (`propertyNames`), as the server refuses unknown arguments.
    """
    selector = SELECTOR.name
    ruled = accepted.branched
    names = [argument.name for argument in accepted.arguments]
    chain: Schema = {}
    for spec in reversed(catalog.models):
        properties = {argument.name: argument.per_model.branch(spec) for argument in ruled if argument.per_model}
        rules: Schema = {"propertyNames": {"enum": names}, "properties": properties}
        for argument in ruled:
            rules |= argument.per_model.joint(spec, argument.name) if argument.per_model else {}
        step: Schema = {"if": {"properties": {selector: {"const": spec.id}}, "required": [selector]}, "then": rules}
        chain = step | ({"else": chain} if chain else {})
    return chain
