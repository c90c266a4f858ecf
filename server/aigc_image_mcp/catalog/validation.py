"""Validates generate_image's arguments against the catalog and builds the relay request. Knows nothing of MCP.

Every rule the `full` schema states is checked here, whatever profile is advertised, before anything is sent.
All problems are reported at once, each naming the argument, the value given and what is allowed. An optional
argument sent as null, or as the empty value of its kind, is not given (fields.Argument.not_given): it is dropped
before any check, so it is neither refused nor sent upstream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from ..errors import ArgumentsError
from .fields import DEFAULT_WAIT, WAIT_SECONDS, Argument, given, unkeepable
from .generate import MASK_IMAGE, REFERENCE_DESCRIPTIONS, REFERENCE_IMAGES, SELECTOR, offered
from .models import Catalog, ModelSpec
from .request import FileInfo, OutputConfig, SubmitRequest
from .rules import Selects, choice, show, strings

TOOL = "generate_image"


def present(raw: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """generate_image's arguments as given: arrays sent as JSON strings decoded, and the optional arguments that are
    not given (null, "", []) left out. Everything else, unknown names included, stays for parse_arguments to judge."""
    accepted = offered(catalog)
    arguments = {name: _decode_array(accepted.by_name.get(name), value) for name, value in raw.items()}
    return given(arguments, accepted.by_name, accepted.required)


def parse_arguments(raw: Mapping[str, Any], catalog: Catalog) -> tuple[ModelSpec, SubmitRequest]:
    """The model and the request for valid arguments; ArgumentsError listing every problem otherwise."""
    return parse_present(present(raw, catalog), catalog)


def parse_present(arguments: Mapping[str, Any], catalog: Catalog) -> tuple[ModelSpec, SubmitRequest]:
    """parse_arguments for arguments `present` has already read (the handler reads them once, for every step).

    The problems come in this order: unknown names, missing ones, each argument's own value (the task's before
    this server's), the model, then the per-model arguments, held against the model once each is well typed."""
    accepted = offered(catalog)
    by_name = accepted.by_name
    problems = [_unknown(name, sorted(by_name)) for name in arguments if name not in by_name]
    problems += [f"{name}: required" for name in accepted.required if name not in arguments]
    own = sorted((by_name[n] for n in arguments if n in by_name and by_name[n].per_model is None), key=_steers)
    problems += [p for argument in own for p in check(argument, arguments[argument.name], catalog)]
    spec, wrong = _pick(arguments, catalog)
    problems += wrong
    ruled = [argument for argument in accepted.ruled if argument.name in arguments]
    typed = [p for argument in ruled for p in check(argument, arguments[argument.name], catalog)]
    problems += typed
    if spec is not None and not typed:
        problems += [
            p for a in ruled if a.per_model for p in a.per_model.check(a.name, arguments[a.name], spec, arguments)
        ]
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
    problems = [_unknown(name, list(by_name)) for name in raw if name not in by_name]
    problems += [f"{name}: required" for name in required if name not in raw]
    problems += [p for name, value in raw.items() if name in by_name for p in check(by_name[name], value)]
    if problems:
        raise ArgumentsError(tool, problems)
    return {name: _whole(by_name[name], value) for name, value in raw.items()}


def check(argument: Argument, value: Any, catalog: Catalog | None = None) -> list[str]:
    """The problems of `value` for `argument` on its own: its type, and the rules it carries that do not depend on
    the model (values, lengths, range, pattern); a string that holds what no store or upstream takes is refused."""
    name = argument.name
    if argument.kind == "integer":
        return _check_integer(argument, value)
    if argument.kind == "boolean":
        return [] if isinstance(value, bool) else [f"{name}: must be true or false, got {show(value)}"]
    if argument.kind == "array":
        return _check_strings(argument, value)
    if not isinstance(value, str):
        return [f"{name}: must be a string, got {show(value)}"]
    if argument.per_model is not None and argument.per_model.judged_by_values:
        return []
    unkept = unkeepable(value)
    if unkept:
        return [f"{name}: {unkept}"]
    if argument.option is not None and catalog is not None:
        return choice(name, value, getattr(catalog.options, argument.option))
    if argument.choices:
        return choice(name, value, argument.choices)
    problems: list[str] = []
    if argument.min_length is not None and len(value) < argument.min_length:
        problems.append(f"{name}: must not be empty")
    if argument.max_length is not None and len(value) > argument.max_length:
        problems.append(f"{name}: {len(value)} characters given, at most {argument.max_length} allowed")
    if argument.pattern is not None and not problems:
        problems += argument.pattern.refuses(name, [value])
    return problems


def _check_integer(argument: Argument, value: Any) -> list[str]:
    # JSON Schema counts 3.0 as an integer and true as not a number; so do we. An int is compared as it is: one of
    # hundreds of digits does not fit a float.
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
        return [f"{argument.name}: must be a whole number, got {show(value)}"]
    low, high = argument.minimum, argument.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"{argument.name}: {show(value)} is out of range; use {low} to {high}"]
    return []


def _check_strings(argument: Argument, value: Any) -> list[str]:
    items = strings(value)
    if items is None:
        return [f"{argument.name}: must be an array of strings, got {show(value)}"]
    unkept = next((problem for item in items if (problem := unkeepable(item))), "")
    if unkept:
        return [f"{argument.name}: an item {unkept}"]
    return argument.pattern.refuses(argument.name, items) if argument.pattern else []


def _unknown(name: str, known: list[str]) -> str:
    return f"{name}: unknown argument; the arguments are {', '.join(known)}"


def _pick(arguments: Mapping[str, Any], catalog: Catalog) -> tuple[ModelSpec | None, list[str]]:
    rule = SELECTOR.per_model
    if not isinstance(rule, Selects) or SELECTOR.name not in arguments:
        return None, []
    return rule.pick(SELECTOR.name, arguments[SELECTOR.name], catalog)


def _steers(argument: Argument) -> bool:
    """Sorts the arguments of the task before those that steer this server."""
    return argument.sent == "no"


def _decode_array(argument: Argument | None, value: Any) -> Any:
    # Some clients (Claude Desktop among them) send array arguments as a JSON string; the SDK decodes these too.
    if argument is not None and argument.kind == "array" and isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack: refused as a string
            return value
        return cast(list[Any], decoded) if isinstance(decoded, list) else value
    return value


def _request(arguments: Mapping[str, Any], spec: ModelSpec, by_name: Mapping[str, Argument]) -> SubmitRequest:
    values = {name: _whole(by_name[name], value) for name, value in arguments.items()}
    output = {name: value for name, value in values.items() if by_name[name].sent == "output"}
    top = {name: value for name, value in values.items() if by_name[name].sent == "top"}
    infos = _file_infos(arguments.get(REFERENCE_IMAGES) or [], arguments.get(REFERENCE_DESCRIPTIONS) or [])
    if MASK_IMAGE in arguments:
        infos.append(_file_info(arguments[MASK_IMAGE]).model_copy(update={"reference_type": "mask"}))
    return SubmitRequest(
        model_name=spec.model_name,
        model_version=spec.model_version,
        file_infos=infos or None,
        output_config=OutputConfig(**output) if output else None,
        **top,
    )


def _whole(argument: Argument, value: Any) -> Any:
    # 3.0 is a valid integer argument (JSON Schema counts it as one); the upstream gets 3.
    return int(value) if argument.kind == "integer" and isinstance(value, float) else value


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
