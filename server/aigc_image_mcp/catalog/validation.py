"""Validates generate_image's arguments against the catalog and builds the relay request. Knows nothing of MCP.

Every rule the `full` schema states is checked here, whatever profile is advertised, before anything is sent.
All problems are reported at once, each naming the argument, the value given and what is allowed. An optional
argument sent as null, or as the empty value of its kind, is not given (fields.Argument.not_given): it is dropped
before any check, so it is neither refused nor sent upstream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, cast

from ..errors import ArgumentsError
from .fields import (
    ASPECT_RATIO,
    CONFIRM_COST,
    DEFAULT_WAIT,
    MASK_IMAGE,
    MODEL,
    NON_BLANK_PATTERN,
    OUTPUT_IMAGE_COUNT,
    OVERWRITE,
    PER_MODEL,
    REFERENCE_DESCRIPTIONS,
    REFERENCE_IMAGES,
    REFERENCE_PATTERN,
    REQUIRED,
    RESOLUTION,
    SAVE_AS,
    SCENE_TYPE,
    TASK_ID,
    TASK_ID_PATTERN,
    WAIT_SECONDS,
    Argument,
    given,
    unkeepable,
)
from .models import Catalog, ModelSpec, near_miss
from .request import FileInfo, OutputConfig, SubmitRequest

TOOL = "generate_image"
_OUTPUT_PER_MODEL = (RESOLUTION, ASPECT_RATIO, OUTPUT_IMAGE_COUNT)
# Arguments that steer this server, checked here and never sent upstream.
_STEERING = {argument.name: argument for argument in (WAIT_SECONDS, SAVE_AS, OVERWRITE, CONFIRM_COST)}


def present(raw: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """generate_image's arguments as given: arrays sent as JSON strings decoded, and the optional arguments that are
    not given (null, "", []) left out. Everything else, unknown names included, stays for parse_arguments to judge."""
    arguments = {name: _decode_array(name, value) for name, value in raw.items()}
    offered = [a for a in PER_MODEL if a.name in catalog.per_model] + [*catalog.shared.values(), *_STEERING.values()]
    return given(arguments, {a.name: a for a in offered}, REQUIRED)


def parse_arguments(raw: Mapping[str, Any], catalog: Catalog) -> tuple[ModelSpec, SubmitRequest]:
    """The model and the request for valid arguments; ArgumentsError listing every problem otherwise."""
    arguments = present(raw, catalog)
    by_name = catalog.shared
    known = {*by_name, *catalog.per_model, *_STEERING}
    problems = [_unknown(name, known) for name in arguments if name not in known]
    problems += [f"{name}: required" for name in REQUIRED if name not in arguments]
    problems += [
        p for name, value in arguments.items() if name in by_name for p in _check(by_name[name], value, catalog)
    ]
    problems += [
        p for name, value in arguments.items() if name in _STEERING for p in _check(_STEERING[name], value, None)
    ]
    spec = _model(arguments, catalog, problems)
    problems += _check_per_model({k: v for k, v in arguments.items() if k in known}, spec)
    if problems or spec is None:
        raise ArgumentsError(TOOL, problems)
    return spec, _request(arguments, spec, by_name)


def wait_seconds(raw: Mapping[str, Any]) -> int:
    """generate_image's wait, from the `present` arguments parse_arguments accepted."""
    return int(raw.get(WAIT_SECONDS.name, DEFAULT_WAIT))


def parse_plain(
    tool: str, raw: Mapping[str, Any], accepted: tuple[Argument, ...], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The arguments of a tool that does not use the catalog, checked; ArgumentsError listing every problem."""
    by_name = {argument.name: argument for argument in accepted}
    raw = given(raw, by_name, required)
    names = ", ".join(by_name)
    problems = [f"{name}: unknown argument; the arguments are {names}" for name in raw if name not in by_name]
    problems += [f"{name}: required" for name in required if name not in raw]
    problems += [p for name, value in raw.items() if name in by_name for p in _check(by_name[name], value, None)]
    if problems:
        raise ArgumentsError(tool, problems)
    return {name: int(value) if by_name[name].kind == "integer" else value for name, value in raw.items()}


def _unknown(name: str, known: set[str]) -> str:
    return f"{name}: unknown argument; the arguments are {', '.join(sorted(known))}"


def _decode_array(name: str, value: Any) -> Any:
    # Some clients (Claude Desktop among them) send array arguments as a JSON string; the SDK decodes these too.
    if name in (REFERENCE_IMAGES, REFERENCE_DESCRIPTIONS) and isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack: refused as a string
            return value
        return cast(list[Any], decoded) if isinstance(decoded, list) else value
    return value


def _check(argument: Argument, value: Any, catalog: Catalog | None) -> list[str]:
    name = argument.name
    if argument.kind == "integer":
        return _check_integer(argument, value)
    if argument.kind == "boolean":
        return [] if isinstance(value, bool) else [f"{name}: must be true or false, got {_show(value)}"]
    if not isinstance(value, str):
        return [f"{name}: must be a string, got {_show(value)}"]
    unkept = unkeepable(value)
    if unkept:
        return [f"{name}: {unkept}"]
    if argument.option is not None and catalog is not None:
        return _check_choice(name, value, getattr(catalog.options, argument.option), "")
    if argument.choices:
        return _check_choice(name, value, argument.choices, "")
    problems: list[str] = []
    if argument.min_length is not None and len(value) < argument.min_length:
        problems.append(f"{name}: must not be empty")
    if argument.max_length is not None and len(value) > argument.max_length:
        problems.append(f"{name}: {len(value)} characters given, at most {argument.max_length} allowed")
    if name == "prompt" and value and not re.search(NON_BLANK_PATTERN, value):
        problems.append("prompt: must not be blank")
    if argument is TASK_ID and not problems and not re.search(TASK_ID_PATTERN, value):
        problems.append(f"task_id: {_show(value)} is not a TaskId; pass it exactly as generate_image returned it")
    return problems


def _check_integer(argument: Argument, value: Any) -> list[str]:
    # JSON Schema counts 3.0 as an integer and true as not a number; so do we. An int is compared as it is: one of
    # hundreds of digits does not fit a float.
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
        return [f"{argument.name}: must be a whole number, got {_show(value)}"]
    low, high = argument.minimum, argument.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"{argument.name}: {_show(value)} is out of range; use {low} to {high}"]
    return []


def _model(arguments: Mapping[str, Any], catalog: Catalog, problems: list[str]) -> ModelSpec | None:
    if MODEL not in arguments:
        return None
    value = arguments[MODEL]
    spec = catalog.get(value) if isinstance(value, str) else None
    if spec is None:
        hint = near_miss(value, catalog) if isinstance(value, str) else ""
        problems.append(f"model: {_show(value)} is not offered{hint}; use one of {', '.join(catalog.ids)}")
    return spec


def _check_per_model(arguments: Mapping[str, Any], spec: ModelSpec | None) -> list[str]:
    problems: list[str] = []
    images = arguments.get(REFERENCE_IMAGES)
    descriptions = arguments.get(REFERENCE_DESCRIPTIONS)
    for name in (RESOLUTION, ASPECT_RATIO, SCENE_TYPE, MASK_IMAGE):
        if name in arguments and not isinstance(arguments[name], str):
            problems.append(f"{name}: must be a string, got {_show(arguments[name])}")
    if isinstance(arguments.get(MASK_IMAGE), str) and unkeepable(arguments[MASK_IMAGE]):
        problems.append(f"{MASK_IMAGE}: {unkeepable(arguments[MASK_IMAGE])}")
    elif isinstance(arguments.get(MASK_IMAGE), str) and not re.search(REFERENCE_PATTERN, arguments[MASK_IMAGE]):
        problems.append(f"{MASK_IMAGE}: {_show(arguments[MASK_IMAGE])} is not {_REFERENCE}")
    if OUTPUT_IMAGE_COUNT in arguments:
        problems += _check_integer(_COUNT, arguments[OUTPUT_IMAGE_COUNT])
    problems += [
        p
        for name in (REFERENCE_IMAGES, REFERENCE_DESCRIPTIONS)
        if name in arguments
        for p in _check_strings(name, arguments[name])
    ]
    if problems or spec is None:
        return problems
    for name, allowed in (
        (RESOLUTION, spec.resolutions),
        (ASPECT_RATIO, spec.aspect_ratios),
        (SCENE_TYPE, spec.scene_types),
    ):
        if name in arguments:
            problems += _check_choice(name, arguments[name], allowed, spec.id)
    problems += _check_outputs_and_mask(arguments, spec)
    problems += _check_references(spec, images, descriptions)
    return problems


def _check_outputs_and_mask(arguments: Mapping[str, Any], spec: ModelSpec) -> list[str]:
    problems: list[str] = []
    if MASK_IMAGE in arguments and not spec.mask_image:
        problems.append(f"{MASK_IMAGE}: not accepted by {spec.id}; leave it out")
    count, most = arguments.get(OUTPUT_IMAGE_COUNT), spec.max_output_images
    if count is not None and not 1 <= count <= most:
        problems.append(
            f"{OUTPUT_IMAGE_COUNT}: {spec.id} makes 1 to {most} images per task"
            if most
            else f"{OUTPUT_IMAGE_COUNT}: not accepted by {spec.id}; leave it out"
        )
    return problems


def _check_strings(name: str, value: Any) -> list[str]:
    items = cast(list[Any], value) if isinstance(value, list) else None
    if items is None or not all(isinstance(item, str) for item in items):
        return [f"{name}: must be an array of strings, got {_show(value)}"]
    unkept = next((problem for item in items if (problem := unkeepable(item))), "")
    if unkept:
        return [f"{name}: an item {unkept}"]
    if name == REFERENCE_IMAGES:
        bad = [item for item in cast(list[str], items) if not re.search(REFERENCE_PATTERN, item)]
        if bad:
            return [f"{name}: {_show(bad[0])} is not {_REFERENCE}"]
    return []


def _check_references(spec: ModelSpec, images: list[str] | None, descriptions: list[str] | None) -> list[str]:
    problems: list[str] = []
    count = len(images or [])
    if count > spec.max_reference_images:
        problems.append(f"{REFERENCE_IMAGES}: {count} given, {spec.id} takes at most {spec.max_reference_images}")
    if descriptions is None:
        return problems
    if not spec.reference_image_descriptions:
        problems.append(f"{REFERENCE_DESCRIPTIONS}: {spec.id} does not take it; leave it out")
    elif images is None:
        problems.append(f"{REFERENCE_DESCRIPTIONS}: needs reference_images, one description per image")
    elif len(descriptions) > count:
        problems.append(f"{REFERENCE_DESCRIPTIONS}: {len(descriptions)} given for {count} reference images")
    return problems


def _check_choice(name: str, value: str, allowed: tuple[str, ...], model: str) -> list[str]:
    if value in allowed:
        return []
    who = f" by {model}" if model else ""
    if not allowed:
        return [f"{name}: not accepted{who}; leave it out"]
    return [f"{name}: {_show(value)} is not accepted{who}; use one of {', '.join(allowed)}"]


def _request(arguments: Mapping[str, Any], spec: ModelSpec, by_name: Mapping[str, Argument]) -> SubmitRequest:
    given = {name: _whole(by_name.get(name), arguments[name]) for name in arguments}
    output = {n: v for n, v in given.items() if n in _OUTPUT_PER_MODEL or (n in by_name and by_name[n].output)}
    plain = {n: v for n, v in given.items() if (n in by_name or n == SCENE_TYPE) and n not in output}
    infos = _file_infos(arguments.get(REFERENCE_IMAGES) or [], arguments.get(REFERENCE_DESCRIPTIONS) or [])
    if MASK_IMAGE in arguments:
        infos.append(_file_info(arguments[MASK_IMAGE]).model_copy(update={"reference_type": "mask"}))
    return SubmitRequest(
        model_name=spec.model_name,
        model_version=spec.model_version,
        file_infos=infos or None,
        output_config=OutputConfig(**output) if output else None,
        **plain,
    )


def _whole(argument: Argument | None, value: Any) -> Any:
    # 3.0 is a valid integer argument (JSON Schema counts it as one); the upstream gets 3.
    is_integer = argument is None or argument.kind == "integer"
    return int(value) if is_integer and isinstance(value, float) else value


def _file_infos(images: list[str], descriptions: list[str]) -> list[FileInfo]:
    infos = [_file_info(image) for image in images]
    for info, text in zip(infos, descriptions, strict=False):
        info.text = text
    return infos


def _file_info(reference: str) -> FileInfo:
    """A URL, a FileId, or a local picture (a path or data: URI) that media/pictures.py reads and re-encodes."""
    if reference.startswith(("http://", "https://")):
        return FileInfo(type="Url", url=reference)
    if reference.isdigit():
        return FileInfo(type="File", file_id=reference)
    return FileInfo(type="Base64", source=reference)


_REFERENCE = "an http(s) URL, a VOD FileId (digits), a local image path or a data:image/…;base64, URI"
_COUNT = next(argument for argument in PER_MODEL if argument.name == OUTPUT_IMAGE_COUNT)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # an int past Python's 4300 digits, a list nested past its stack
        return f"an unreadably large {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
