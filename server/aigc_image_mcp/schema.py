"""Builds generate_image's input schema and description from the catalog, in two profiles.

portable: the flat shape every client accepts (../shared/docs/client-compat.md); cross-field rules are in the
descriptions and enforced by arguments.py.
full: the same properties plus one root if/then/else chain keyed on `model` that states every per-model rule.
"""

from __future__ import annotations

from typing import Any, Literal

from .catalog import Catalog, ModelSpec
from .fields import (
    ASPECT_RATIO,
    MODEL,
    NON_BLANK_PATTERN,
    OVERWRITE,
    REFERENCE_DESCRIPTIONS,
    REFERENCE_IMAGES,
    REFERENCE_PATTERN,
    REQUIRED,
    RESOLUTION,
    SAVE_AS,
    SHARED,
    WAIT_SECONDS,
    Argument,
)

Profile = Literal["portable", "full"]
Schema = dict[str, Any]
_NEVER: Schema = {"not": {}}


def input_schema(catalog: Catalog, profile: Profile = "portable") -> Schema:
    """The tool's inputSchema: a flat object; with `full`, also the per-model rules."""
    properties = _properties(catalog)
    if profile == "full":
        properties["prompt"]["pattern"] = NON_BLANK_PATTERN
        properties[REFERENCE_IMAGES]["items"]["pattern"] = REFERENCE_PATTERN
    schema: Schema = {"type": "object", "properties": properties, "required": list(REQUIRED)}
    if profile == "full":
        schema |= _rule_chain(catalog.models, names=list(properties))
    return schema


def tool_description(catalog: Catalog) -> str:
    """The generate_image description: what it does, what it costs, and the model table."""
    lines = [
        "Generate an image with Tencent Cloud VOD AIGC models through the QuickRouter relay. Each call submits "
        "one paid task, waits up to wait_seconds for it, and returns its TaskId with the image (URL, saved file, "
        "preview); a task still RUNNING is finished with get_image_task, never by calling this again. Pick `model` "
        "first: every argument says which models accept it, and an argument a model does not accept must be left "
        "out.",
        "Models:",
        *(f"- {_model_line(spec)}" for spec in catalog.models),
    ]
    return "\n".join(lines)


def _model_line(spec: ModelSpec) -> str:
    refs = f"up to {spec.max_reference_images} reference image{'s' * (spec.max_reference_images != 1)}"
    ratio = "aspect_ratio" if spec.aspect_ratios else "no aspect_ratio"
    label = f" ({spec.label})" if spec.label else ""
    return f"{spec.id}{label}: {refs}, {ratio}."


def _properties(catalog: Catalog) -> dict[str, Schema]:
    shared = {argument.name: _shared_property(argument, catalog) for argument in SHARED}
    return {
        MODEL: _property(
            "string",
            "Model and version in one id: " + "; ".join(_model_line(spec).rstrip(".") for spec in catalog.models) + ".",
            enum=list(catalog.ids),
        ),
        "prompt": shared.pop("prompt"),
        "negative_prompt": shared.pop("negative_prompt"),
        REFERENCE_IMAGES: _reference_images(catalog),
        REFERENCE_DESCRIPTIONS: _reference_descriptions(catalog),
        RESOLUTION: _resolution(catalog),
        ASPECT_RATIO: _aspect_ratio(catalog),
        **shared,
        WAIT_SECONDS.name: _shared_property(WAIT_SECONDS, catalog),
        SAVE_AS.name: _shared_property(SAVE_AS, catalog),
        OVERWRITE.name: _shared_property(OVERWRITE, catalog),
    }


def plain_schema(arguments: tuple[Argument, ...], required: tuple[str, ...] = ()) -> Schema:
    """The inputSchema of a tool whose arguments do not depend on the model."""
    properties = {argument.name: _plain_property(argument) for argument in arguments}
    return {"type": "object", "properties": properties, "required": list(required)}


def _shared_property(argument: Argument, catalog: Catalog) -> Schema:
    schema = _plain_property(argument, " Models: all.")
    if argument.option is not None:
        schema["enum"] = list(getattr(catalog.options, argument.option))
    return schema


def _plain_property(argument: Argument, suffix: str = "") -> Schema:
    schema = _property(argument.kind, argument.description + suffix)
    if argument.choices:
        schema["enum"] = list(argument.choices)
    limits = {
        "minLength": argument.min_length,
        "maxLength": argument.max_length,
        "minimum": argument.minimum,
        "maximum": argument.maximum,
    }
    return schema | {key: value for key, value in limits.items() if value is not None}


def _reference_images(catalog: Catalog) -> Schema:
    limits = ", ".join(f"{spec.id} {spec.max_reference_images}" for spec in catalog.models)
    return _property(
        "array",
        "Reference images for editing or image-to-image, each an http(s) URL of a jpeg, png or webp image "
        f"(under 7 MB) or a VOD FileId (digits). Most images per model: {limits}.",
        items={"type": "string"},
        maxItems=max(spec.max_reference_images for spec in catalog.models),
    )


def _reference_descriptions(catalog: Catalog) -> Schema:
    takers = catalog.accepting("reference_image_descriptions")
    return _property(
        "array",
        "What each reference image is, in the same order as reference_images (e.g. 'the building to renovate; "
        "keep its shape'). Needs reference_images and has no more entries than it. "
        f"Models: {_names(takers)} only; leave it out for {_names(_others(catalog, takers))}.",
        items={"type": "string"},
        maxItems=max(spec.max_reference_images for spec in catalog.models),
    )


def _resolution(catalog: Catalog) -> Schema:
    common = [value for value in catalog.models[0].resolutions if all(value in s.resolutions for s in catalog.models)]
    extras: dict[tuple[str, ...], list[str]] = {}
    for spec in catalog.models:
        if more := tuple(value for value in spec.resolutions if value not in common):
            extras.setdefault(more, []).append(spec.id)
    parts = [f"Models: all take {', '.join(common)}"] if common else []
    parts += [f"{_names(ids)} {'also ' * bool(common)}take {', '.join(more)}" for more, ids in extras.items()]
    return _property(
        "string",
        f"Resolution of the generated image. {'; '.join(parts)}.",
        enum=_union(spec.resolutions for spec in catalog.models),
    )


def _aspect_ratio(catalog: Catalog) -> Schema:
    takers = catalog.accepting("aspect_ratios")
    return _property(
        "string",
        f"Width:height of the generated image. Models: {_names(takers)} only; "
        f"leave it out for {_names(_others(catalog, takers))}.",
        enum=_union(spec.aspect_ratios for spec in catalog.models),
    )


def _rule_chain(models: tuple[ModelSpec, ...], names: list[str]) -> Schema:
    """`if model is A then A's rules else (if model is B then …)`: one root if/then/else.

    Each branch also closes the argument names (`propertyNames`), as the server refuses unknown arguments.
    """
    chain: Schema = {}
    for spec in reversed(models):
        rules = {"propertyNames": {"enum": names}} | _rules(spec)
        step: Schema = {"if": {"properties": {MODEL: {"const": spec.id}}, "required": [MODEL]}, "then": rules}
        chain = step | ({"else": chain} if chain else {})
    return chain


def _rules(spec: ModelSpec) -> Schema:
    most = spec.max_reference_images
    properties: dict[str, Schema] = {
        RESOLUTION: {"enum": list(spec.resolutions)},
        ASPECT_RATIO: {"enum": list(spec.aspect_ratios)} if spec.aspect_ratios else _NEVER,
        REFERENCE_IMAGES: {"maxItems": most},
        REFERENCE_DESCRIPTIONS: {"maxItems": most} if spec.reference_image_descriptions else _NEVER,
    }
    if not spec.reference_image_descriptions:
        return {"properties": properties}
    # No more descriptions than images: for each count k, "at most k images" implies "at most k descriptions".
    not_more = [
        {
            "if": {"properties": {REFERENCE_IMAGES: {"maxItems": k}}},
            "then": {"properties": {REFERENCE_DESCRIPTIONS: {"maxItems": k}}},
        }
        for k in range(most)
    ]
    return {
        "properties": properties,
        "dependentRequired": {REFERENCE_DESCRIPTIONS: [REFERENCE_IMAGES]},
        "allOf": not_more,
    }


def _property(kind: str, description: str, **keywords: Any) -> Schema:
    return {"type": kind, "description": description, **keywords}


def _union(value_lists: Any) -> list[str]:
    return list(dict.fromkeys(value for values in value_lists for value in values))


def _others(catalog: Catalog, ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(i for i in catalog.ids if i not in ids)


def _names(ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(ids) if ids else "none"
