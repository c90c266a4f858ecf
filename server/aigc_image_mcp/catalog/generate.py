"""generate_image's arguments as one table, in the order its schema lists them: each with its rules (rules.py),
which both its JSON Schema (schema.py) and its check (validation.py) derive from. A new argument is one entry here
(and, when it is sent upstream, its field in request.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from .fields import NON_BLANK_PATTERN, OVERWRITE, REFERENCE_PATTERN, SAVE_AS, SEED_MAX, WAIT_SECONDS, Argument
from .models import Catalog
from .rules import Closed, Follows, MaxItems, Pattern, Selects, Taken, UpTo

MODEL = "model"
RESOLUTION = "resolution"
ASPECT_RATIO = "aspect_ratio"
REFERENCE_IMAGES = "reference_images"
REFERENCE_DESCRIPTIONS = "reference_image_descriptions"
OUTPUT_IMAGE_COUNT = "output_image_count"
SCENE_TYPE = "scene_type"
MASK_IMAGE = "mask_image"
CONFIRM_COST = "confirm_cost"

_REFERENCE = Pattern(
    REFERENCE_PATTERN,
    "{name}: {value} is not an http(s) URL, a VOD FileId (digits), a local image path or a data:image/…;base64, URI",
)
_IMAGES = MaxItems(lambda spec: spec.max_reference_images)

GENERATE: tuple[Argument, ...] = (
    Argument(
        MODEL,
        "string",
        "Models: the enum's; the tool description says what each is for.",
        per_model=Selects(),
        required=True,
        sent="no",
    ),
    Argument(
        "prompt",
        "string",
        "What the image should show. Required and not blank.",
        min_length=1,
        pattern=Pattern(NON_BLANK_PATTERN, "{name}: must not be blank"),
        required=True,
    ),
    Argument("negative_prompt", "string", "What the image must not show, e.g. 'blur, distorted'."),
    Argument(
        REFERENCE_IMAGES,
        "array",
        "Images to edit or start from: each an http(s) URL of a jpeg, png or webp (under 7 MB), a VOD FileId "
        "(digits), a local file (stdio only: absolute or ~/ path in the allowed folders; re-encoded to 7 MB in all) "
        "or a data:image/...;base64, URI. Most per model: {models}.",
        pattern=_REFERENCE,
        per_model=_IMAGES,
        sent="file",
    ),
    Argument(
        REFERENCE_DESCRIPTIONS,
        "array",
        "What each reference image is, in reference_images' order (e.g. 'the building to renovate; keep its "
        "shape'); no more entries than reference_images. Models: {models} only.",
        per_model=Follows(
            "reference_image_descriptions",
            leader=REFERENCE_IMAGES,
            lead=_IMAGES,
            refusal="{name}: {model} does not take it; leave it out",
            needs="{name}: needs {leader}, one description per image",
            too_many="{name}: {given} given for {count} reference images",
        ),
        sent="file",
    ),
    Argument(
        RESOLUTION,
        "string",
        "Resolution of the generated image. Models: {models}.",
        per_model=Closed(lambda spec: spec.resolutions),
        sent="output",
    ),
    Argument(
        ASPECT_RATIO,
        "string",
        "Width:height of the generated image. Models: {models}.",
        per_model=Closed(lambda spec: spec.aspect_ratios),
        sent="output",
    ),
    Argument(
        OUTPUT_IMAGE_COUNT,
        "integer",
        "Images made by the one task. Models: {models}.",
        per_model=UpTo(
            lambda spec: spec.max_output_images, "{name}: {model} makes 1 to {most} images per task", sometimes=True
        ),
        sent="output",
    ),
    Argument(
        SCENE_TYPE,
        "string",
        "A special task: 3d_panorama makes a panorama; image_expand extends the reference image outwards (by how "
        "much: ext_info). Models: {models}.",
        per_model=Closed(lambda spec: spec.scene_types, sometimes=True),
    ),
    Argument(
        MASK_IMAGE,
        "string",
        "A mask marking the area of the reference image to repaint, in any form reference_images takes. "
        "Models: {models} only.",
        pattern=_REFERENCE,
        per_model=Taken("mask_image", sometimes=True),
        sent="file",
    ),
    Argument(
        "enhance_prompt",
        "string",
        "Enabled lets the service improve the prompt; Disabled sends it as written.",
        option="enhance_prompt",
    ),
    Argument(
        "person_generation",
        "string",
        "AllowAdult allows adults in the image; Disallowed forbids people and faces.",
        option="person_generation",
        sent="output",
    ),
    Argument(
        "input_compliance_check",
        "string",
        "Enabled runs Tencent's content-policy check on the prompt and reference images.",
        option="input_compliance_check",
        sent="output",
    ),
    Argument(
        "output_compliance_check",
        "string",
        "Enabled runs Tencent's content-policy check on the generated image.",
        option="output_compliance_check",
        sent="output",
    ),
    Argument(
        "storage_mode",
        "string",
        "Temporary (the default): a download URL valid for 7 days. Permanent: also kept in VOD, with its FileId.",
        option="storage_mode",
        sent="output",
    ),
    Argument(
        "session_id",
        "string",
        "Dedupe key (up to 50 characters): a second task with the same one within 3 days is refused, so a retry "
        "reusing it is never billed twice.",
        max_length=50,
    ),
    Argument(
        "session_context",
        "string",
        "Free text of up to 1000 characters, stored with the task and returned with its result.",
        max_length=1000,
    ),
    Argument(
        "tasks_priority",
        "integer",
        "Queue priority, -10 to 10 (default 0); higher runs first.",
        minimum=-10,
        maximum=10,
    ),
    Argument(
        "seed",
        "integer",
        "Random seed: the same seed and arguments repeat an image.",
        minimum=0,
        maximum=SEED_MAX,
        option="seed",
    ),
    Argument(
        "output_format",
        "string",
        "The image's file type; left out: the model's default.",
        option="output_format",
        sent="output",
    ),
    Argument(
        "logo_add",
        "string",
        "Enabled adds Tencent's logo watermark; default Disabled.",
        option="logo_add",
        sent="output",
    ),
    Argument(
        "input_region",
        "string",
        "Where reference URLs are fetched from: Oversea (or OverseaUSWest) outside mainland China; default Mainland.",
        option="input_region",
    ),
    Argument(
        "ext_info",
        "string",
        "Reserved: passed to Tencent as is. Leave it out unless the operator says what to put here.",
    ),
    WAIT_SECONDS,
    SAVE_AS,
    OVERWRITE,
    Argument(
        CONFIRM_COST,
        "boolean",
        "true only after the user said yes to the cost this tool asked about; never on your own.",
        sent="no",
    ),
)

SELECTOR = next(argument for argument in GENERATE if isinstance(argument.per_model, Selects))
"""The argument that picks the model, which every per-model rule is held against."""
BRANCHES = (
    RESOLUTION,
    ASPECT_RATIO,
    REFERENCE_IMAGES,
    REFERENCE_DESCRIPTIONS,
    OUTPUT_IMAGE_COUNT,
    SCENE_TYPE,
    MASK_IMAGE,
)
"""The order in which the full profile's branch for a model states the per-model arguments (as it always has)."""
CHECKS = (
    RESOLUTION,
    ASPECT_RATIO,
    SCENE_TYPE,
    MASK_IMAGE,
    OUTPUT_IMAGE_COUNT,
    REFERENCE_IMAGES,
    REFERENCE_DESCRIPTIONS,
)
"""The order in which the problems of the per-model arguments are listed (as they always have been). A per-model
argument neither tuple names comes after those they do."""


@dataclass(frozen=True)
class Offered:
    """The arguments of GENERATE that a catalog's upstream offers, sorted for each use; worked out once per catalog."""

    arguments: tuple[Argument, ...]
    """In the order the schema lists them."""
    by_name: Mapping[str, Argument]
    required: tuple[str, ...]
    ruled: tuple[Argument, ...]
    """Those with a per-model rule, but SELECTOR, in the order of CHECKS."""
    branched: tuple[Argument, ...]
    """The same, in the order of BRANCHES."""


def offered(catalog: Catalog) -> Offered:
    """The arguments `catalog`'s upstream offers: a per-model one that only some upstreams have (its rule's
    `sometimes`) when a model takes it, one closed by the catalog's options when these have values."""
    if "offered" not in catalog.memo:
        arguments = tuple(argument for argument in GENERATE if _offers(catalog, argument))
        ruled = [argument for argument in arguments if argument.per_model is not None and argument is not SELECTOR]
        catalog.memo["offered"] = Offered(
            arguments=arguments,
            by_name={argument.name: argument for argument in arguments},
            required=tuple(argument.name for argument in arguments if argument.required),
            ruled=_in_order(ruled, CHECKS),
            branched=_in_order(ruled, BRANCHES),
        )
    return cast(Offered, catalog.memo["offered"])


def _in_order(arguments: list[Argument], order: tuple[str, ...]) -> tuple[Argument, ...]:
    """`arguments` in `order`; one it does not name after those it does."""
    return tuple(sorted(arguments, key=lambda a: order.index(a.name) if a.name in order else len(order)))


def _offers(catalog: Catalog, argument: Argument) -> bool:
    rule = argument.per_model
    if rule is not None:
        return not rule.sometimes or any(rule.taken(spec) for spec in catalog.models)
    return argument.option is None or bool(getattr(catalog.options, argument.option))
