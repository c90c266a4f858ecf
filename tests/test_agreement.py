"""The `full` schema and the server agree on every argument set; what they accept is what the seed documents."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from aigc_image_mcp.arguments import parse_arguments
from aigc_image_mcp.backends.quickrouter import relay_body
from aigc_image_mcp.catalog import load_catalog
from aigc_image_mcp.errors import ArgumentsError
from aigc_image_mcp.schema import input_schema

from .conftest import accepts

CATALOG = load_catalog()
FULL = input_schema(CATALOG, "full")
VALIDATOR = Draft202012Validator(FULL)

# The relay document (../shared/seed), written out by hand so that the catalog is checked against it, not itself.
SEED_MODELS = {("GEM", "2.5"), ("GEM", "3.0"), ("Qwen", "0925"), ("Hunyuan", "3.0")}
SEED_RESOLUTIONS = ["720P", "1080P", "2K", "4K", "1024x1024", "2048x2048", "2304x1728", "2496x1664", "2560x1440",
                    "3024x1296", "4096x4096", "4694x3520", "4992x3328", "5404x3040", "6198x2656"]  # fmt: skip
SEED_RATIOS = ["1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
SEED_SWITCH = {"Enabled", "Disabled"}
SEED_OUTPUT = {
    "storage_mode": {"Permanent", "Temporary"},
    "person_generation": {"AllowAdult", "Disallowed"},
    "input_compliance_check": SEED_SWITCH,
    "output_compliance_check": SEED_SWITCH,
}
SEED_BODY = {"model_name", "model_version", "prompt", "file_infos", "negative_prompt", "enhance_prompt",
             "output_config", "session_id", "session_context", "tasks_priority", "ext_info"}  # fmt: skip
# What the catalog adds beyond the seed, from the current upstream documentation (upstream.md §1.6): GEM's 1K.
UPSTREAM_ADDITIONS = {("GEM", "resolution"): {"1K"}}

ALL_RESOLUTIONS = sorted({r for spec in CATALOG.models for r in spec.resolutions})
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-20, 20), st.floats(-20, 20), st.text(max_size=5)
)
REFERENCE_OK = st.sampled_from(["https://example.com/a.png", "http://h.test/x", "387702299774574677", "12"])
REFERENCE = st.one_of(
    REFERENCE_OK,
    st.sampled_from(["ftp://x", "https://", "12a", "https://a b", "123\n", " https://x", "HTTPS://x", ""]),
    st.text(max_size=8),
)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, JUNK)


def strings_or_junk(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A string that decodes to a JSON array is decoded by the server on purpose (see arguments._decode_array).
    return st.one_of(
        st.lists(items, max_size=16), JUNK.filter(lambda v: not (isinstance(v, str) and v.startswith("[")))
    )


WILD: dict[str, st.SearchStrategy[Any]] = {
    "model": maybe(st.sampled_from([*CATALOG.ids, "GEM-3", "gem-2.5"])),
    "prompt": maybe(st.sampled_from(["a cat", " ", "", "\n", "猫"])),
    "negative_prompt": maybe(st.text(max_size=5)),
    "enhance_prompt": maybe(st.sampled_from(["Enabled", "Disabled", "enabled"])),
    "reference_images": strings_or_junk(REFERENCE),
    "reference_image_descriptions": strings_or_junk(st.one_of(st.text(max_size=3), st.integers())),
    "resolution": maybe(st.sampled_from([*ALL_RESOLUTIONS, "8K", "1k"])),
    "aspect_ratio": maybe(st.sampled_from([*SEED_RATIOS, "1:4", "auto"])),
    "person_generation": maybe(st.sampled_from(["AllowAdult", "Disallowed", "Allow"])),
    "input_compliance_check": maybe(st.sampled_from(sorted(SEED_SWITCH))),
    "output_compliance_check": maybe(st.sampled_from(sorted(SEED_SWITCH))),
    "storage_mode": maybe(st.sampled_from(["Temporary", "Permanent", "temporary"])),
    "session_id": maybe(st.text(min_size=45, max_size=55)),
    "session_context": maybe(st.text(max_size=3)),
    "tasks_priority": st.one_of(st.integers(-12, 12), st.sampled_from([3.0, 2.5, True, "1"]), JUNK),
    "ext_info": maybe(st.text(max_size=3)),
    "wait_seconds": st.one_of(st.integers(-3, 60), st.sampled_from([0.0, 12.5, False]), JUNK),
    "seed": st.integers(),
}


@st.composite
def near_valid_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """A valid set with up to three changes: a wild value, another model, more images, a missing argument."""
    arguments = draw(valid_arguments())
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["wild", "wild", "model", "more images", "drop"]))
        if change == "wild":
            name = draw(st.sampled_from(sorted(WILD)))
            arguments[name] = draw(WILD[name])
        elif change == "model":
            arguments["model"] = draw(st.sampled_from(CATALOG.ids))
        elif change == "more images" and isinstance(arguments.get("reference_images"), list):
            arguments["reference_images"] = [*arguments["reference_images"], *draw(st.lists(REFERENCE_OK, max_size=3))]
        elif arguments:
            arguments.pop(draw(st.sampled_from(sorted(arguments))))
    return arguments


def server_accepts(arguments: dict[str, Any]) -> bool:
    try:
        parse_arguments(arguments, CATALOG)
    except ArgumentsError:
        return False
    return True


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(near_valid_arguments(), st.fixed_dictionaries({}, optional=WILD)))
def test_the_full_schema_and_the_server_agree_on_every_argument_set(arguments: dict[str, Any]) -> None:
    assert accepts(VALIDATOR, arguments) == server_accepts(arguments)


@st.composite
def valid_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """Argument sets built from the catalog's rules, each optional argument present or not."""
    spec = draw(st.sampled_from(CATALOG.models))
    images = draw(st.lists(REFERENCE_OK, max_size=spec.max_reference_images))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "negative_prompt": st.text(max_size=5),
        "reference_images": st.just(images),
        "resolution": st.sampled_from(spec.resolutions),
        "session_id": st.text(max_size=50),
        "session_context": st.text(max_size=30),
        "tasks_priority": st.integers(-10, 10),
        "ext_info": st.text(max_size=5),
        "wait_seconds": st.integers(0, 55),
        **{name: st.sampled_from(getattr(CATALOG.options, name)) for name in type(CATALOG.options).model_fields},
    }
    if spec.aspect_ratios:
        optional["aspect_ratio"] = st.sampled_from(spec.aspect_ratios)
    if spec.reference_image_descriptions:
        optional["reference_image_descriptions"] = st.lists(st.text(max_size=5), max_size=len(images))
    arguments = draw(st.fixed_dictionaries({"model": st.just(spec.id), "prompt": st.just("a cat")}, optional=optional))
    if "reference_image_descriptions" in arguments:
        arguments["reference_images"] = images
    return arguments


@settings(max_examples=1500, deadline=None)
@given(valid_arguments())
def test_every_set_the_full_schema_accepts_is_sent_as_a_body_the_seed_documents(arguments: dict[str, Any]) -> None:
    assert accepts(VALIDATOR, arguments)
    _, request = parse_arguments(arguments, CATALOG)
    body = relay_body(request)

    assert set(body) <= SEED_BODY
    name, version = body["model_name"], body["model_version"]
    assert (name, version) in SEED_MODELS
    for info in body.get("file_infos", []):
        assert set(info) <= {"type", "file_id", "url", "text"}
        assert (info["type"], "file_id" if info["type"] == "File" else "url") in {("File", "file_id"), ("Url", "url")}
        assert "text" not in info or name == "GEM"
    output = body.get("output_config", {})
    for field, values in SEED_OUTPUT.items():
        assert output.get(field, next(iter(values))) in values
    if "resolution" in output:
        assert output["resolution"] in {*SEED_RESOLUTIONS, *UPSTREAM_ADDITIONS.get((name, "resolution"), set())}
    if "aspect_ratio" in output:
        assert name == "GEM"
        assert output["aspect_ratio"] in SEED_RATIOS
    assert body.get("enhance_prompt", "Enabled") in SEED_SWITCH
    assert -10 <= body.get("tasks_priority", 0) <= 10


def test_the_catalog_keeps_every_value_the_seed_documents() -> None:
    assert {(spec.model_name, spec.model_version) for spec in CATALOG.models} == SEED_MODELS
    for spec in CATALOG.models:
        assert set(SEED_RESOLUTIONS) <= set(spec.resolutions), spec.id
        assert list(spec.aspect_ratios) == (SEED_RATIOS if spec.model_name == "GEM" else []), spec.id
    assert {spec.id: spec.max_reference_images for spec in CATALOG.models} == {
        "GEM-2.5": 3, "GEM-3.0": 14, "Qwen-0925": 1, "Hunyuan-3.0": 1,
    }  # fmt: skip
