"""Builds generate_image's input schema and description from the catalog, in three profiles.

portable: the flat shape every client and model provider accepts (no root combinators, no nullable unions, no $ref,
no nested objects); cross-field rules are in the descriptions and enforced by validation.py.
full: the same properties plus one root if/then/else chain keyed on `model` that states every per-model rule.
strict: the portable properties in OpenAI's strict subset (strict.py): closed, every property required, the optional
ones nullable, which a strict model fills with null (validation.py takes null as "not given").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

from .fields import (
    ASPECT_RATIO,
    CONFIRM_COST,
    MASK_IMAGE,
    MODEL,
    NON_BLANK_PATTERN,
    OUTPUT_IMAGE_COUNT,
    OVERWRITE,
    REFERENCE_DESCRIPTIONS,
    REFERENCE_IMAGES,
    REFERENCE_PATTERN,
    REQUIRED,
    RESOLUTION,
    SAVE_AS,
    SCENE_TYPE,
    WAIT_SECONDS,
    Argument,
)
from .models import Catalog, ModelSpec
from .strict import NULL_FOR_LEFT_OUT, Schema, strict

Profile = Literal["portable", "full", "strict"]
_NEVER: Schema = {"not": {}}
_Values = Callable[[ModelSpec], Sequence[str]]


def input_schema(catalog: Catalog, profile: Profile = "portable") -> Schema:
    """The tool's inputSchema: a flat object; with `full`, also the per-model rules."""
    properties = _properties(catalog)
    if profile == "full":
        properties["prompt"]["pattern"] = NON_BLANK_PATTERN
        properties[REFERENCE_IMAGES]["items"]["pattern"] = REFERENCE_PATTERN
        if MASK_IMAGE in properties:
            properties[MASK_IMAGE]["pattern"] = REFERENCE_PATTERN
    schema: Schema = {"type": "object", "properties": properties, "required": list(REQUIRED)}
    if profile == "full":
        schema |= _rule_chain(catalog, names=list(properties))
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


def _properties(catalog: Catalog) -> dict[str, Schema]:
    shared = {argument.name: _shared_property(argument, catalog) for argument in catalog.shared.values()}
    per_model = {
        OUTPUT_IMAGE_COUNT: lambda: _output_image_count(catalog),
        SCENE_TYPE: lambda: _scene_type(catalog),
        MASK_IMAGE: lambda: _mask_image(catalog),
    }
    return {
        MODEL: _property(
            "string",
            "Models: the enum's; the tool description says what each is for.",
            enum=list(catalog.ids),
        ),
        "prompt": shared.pop("prompt"),
        "negative_prompt": shared.pop("negative_prompt"),
        REFERENCE_IMAGES: _reference_images(catalog),
        REFERENCE_DESCRIPTIONS: _reference_descriptions(catalog),
        RESOLUTION: _closed(catalog, "Resolution of the generated image", lambda s: s.resolutions),
        ASPECT_RATIO: _closed(catalog, "Width:height of the generated image", lambda s: s.aspect_ratios),
        **{name: make() for name, make in per_model.items() if name in catalog.per_model},
        **shared,
        WAIT_SECONDS.name: _shared_property(WAIT_SECONDS, catalog),
        SAVE_AS.name: _shared_property(SAVE_AS, catalog),
        OVERWRITE.name: _shared_property(OVERWRITE, catalog),
        CONFIRM_COST.name: _shared_property(CONFIRM_COST, catalog),
    }


def plain_schema(
    arguments: tuple[Argument, ...], required: tuple[str, ...] = (), profile: Profile = "portable"
) -> Schema:
    """The inputSchema of a tool whose arguments do not depend on the model (`full` is `portable` here)."""
    properties = {argument.name: _plain_property(argument) for argument in arguments}
    schema: Schema = {"type": "object", "properties": properties, "required": list(required)}
    return strict(schema) if profile == "strict" else schema


def _shared_property(argument: Argument, catalog: Catalog) -> Schema:
    schema = _plain_property(argument, " Models: all.")
    values = getattr(catalog.options, argument.option) if argument.option is not None else None
    if isinstance(values, tuple):
        schema["enum"] = list(cast(tuple[str, ...], values))
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
    counts = _grouped(catalog, lambda s: (str(s.max_reference_images),) if s.max_reference_images else ())
    return _property(
        "array",
        "Images to edit or start from: each an http(s) URL of a jpeg, png or webp (under 7 MB), a VOD FileId "
        "(digits), a local file (stdio only: absolute or ~/ path in the allowed folders; re-encoded to 7 MB in all) "
        f"or a data:image/...;base64, URI. Most per model: {counts.removeprefix('Models: ')}.",
        items={"type": "string"},
        maxItems=max(spec.max_reference_images for spec in catalog.models),
    )


def _reference_descriptions(catalog: Catalog) -> Schema:
    takers = catalog.accepting("reference_image_descriptions")
    return _property(
        "array",
        "What each reference image is, in reference_images' order (e.g. 'the building to renovate; keep its "
        "shape'); no more entries than reference_images. "
        f"Models: {_names(catalog, takers)} only.",
        items={"type": "string"},
        maxItems=max(spec.max_reference_images for spec in catalog.models),
    )


def _closed(catalog: Catalog, what: str, values_of: _Values) -> Schema:
    """A string closed per model: its description states each model's values once."""
    return _property("string", f"{what}. {_grouped(catalog, values_of)}.", enum=_union(map(values_of, catalog.models)))


def _output_image_count(catalog: Catalog) -> Schema:
    counts = _grouped(catalog, lambda s: (f"1 to {s.max_output_images}",) if s.max_output_images else ())
    most = max(spec.max_output_images for spec in catalog.models)
    return _property("integer", f"Images made by the one task. {counts}.", minimum=1, maximum=most)


def _scene_type(catalog: Catalog) -> Schema:
    scenes = _grouped(catalog, lambda s: s.scene_types)
    return _property(
        "string",
        f"A special task: 3d_panorama makes a panorama; image_expand extends the reference image outwards (by how "
        f"much: ext_info). {scenes}.",
        enum=_union(spec.scene_types for spec in catalog.models),
    )


def _mask_image(catalog: Catalog) -> Schema:
    takers = catalog.accepting("mask_image")
    return _property(
        "string",
        "A mask marking the area of the reference image to repaint, in any form reference_images takes. "
        f"Models: {_names(catalog, takers)} only.",
    )


def _grouped(catalog: Catalog, values_of: _Values) -> str:
    """Each model's values, stated once: `all take V` for values every taker shares, then groups of models with
    the same further values, then who must leave the argument out."""
    takers = [spec for spec in catalog.models if values_of(spec)]
    common = [v for v in values_of(takers[0]) if all(v in values_of(s) for s in takers)] if takers else []
    extras: dict[tuple[str, ...], list[str]] = {}
    for spec in takers:
        extras.setdefault(tuple(v for v in values_of(spec) if v not in common), []).append(spec.id)
    parts = (
        [
            f"{'all' if len(takers) == len(catalog.models) else _names(catalog, [s.id for s in takers])} take "
            f"{', '.join(common)}"
        ]
        if common
        else []
    )
    parts += [
        f"{_names(catalog, ids)}{' also' * bool(common)}: {', '.join(more)}" for more, ids in extras.items() if more
    ]
    if len(takers) < len(catalog.models):
        parts.append(f"leave it out for {_names(catalog, _others(catalog, [s.id for s in takers]))}")
    return "Models: " + "; ".join(parts)


def _rule_chain(catalog: Catalog, names: list[str]) -> Schema:
    """`if model is A then A's rules else (if model is B then …)`: one root if/then/else.

    Each branch also closes the argument names (`propertyNames`), as the server refuses unknown arguments.
    """
    chain: Schema = {}
    for spec in reversed(catalog.models):
        rules = {"propertyNames": {"enum": names}} | _rules(spec, catalog.per_model)
        step: Schema = {"if": {"properties": {MODEL: {"const": spec.id}}, "required": [MODEL]}, "then": rules}
        chain = step | ({"else": chain} if chain else {})
    return chain


def _rules(spec: ModelSpec, offered: tuple[str, ...]) -> Schema:
    most = spec.max_reference_images
    every: dict[str, Schema] = {
        RESOLUTION: _enum_or_never(spec.resolutions),
        ASPECT_RATIO: _enum_or_never(spec.aspect_ratios),
        REFERENCE_IMAGES: {"maxItems": most},
        REFERENCE_DESCRIPTIONS: {"maxItems": most} if spec.reference_image_descriptions else _NEVER,
        OUTPUT_IMAGE_COUNT: {"maximum": spec.max_output_images} if spec.max_output_images else _NEVER,
        SCENE_TYPE: _enum_or_never(spec.scene_types),
        MASK_IMAGE: {} if spec.mask_image else _NEVER,
    }
    properties = {name: rule for name, rule in every.items() if name in offered}
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


def _enum_or_never(values: tuple[str, ...]) -> Schema:
    return {"enum": list(values)} if values else _NEVER


def _property(kind: str, description: str, **keywords: Any) -> Schema:
    return {"type": kind, "description": description, **keywords}


def _union(value_lists: Any) -> list[str]:
    return list(dict.fromkeys(value for values in value_lists for value in values))


def _others(catalog: Catalog, ids: Sequence[str]) -> list[str]:
    return [i for i in catalog.ids if i not in ids]


def _names(catalog: Catalog, ids: Sequence[str]) -> str:
    """The ids, with every version of one model name written `Name-*` when there are several."""
    parts: list[str] = []
    for spec in catalog.models:
        family = [s.id for s in catalog.models if s.model_name == spec.model_name]
        if spec.id not in ids:
            continue
        if len(family) > 1 and all(i in ids for i in family):
            parts += [f"{spec.model_name}-*"] if f"{spec.model_name}-*" not in parts else []
        else:
            parts.append(spec.id)
    return ", ".join(parts) if parts else "none"
