"""The `full` schema and the server agree on every argument set, for each backend's catalog; what they accept is what
the seed documents (the relay) or what Tencent's SDK documents (Tencent Cloud direct). Every profile shares one
rule the schemas describe but do not spell out: an optional argument sent as null, "" (a string) or [] (an array) is
not given. The `strict` schema accepts every valid set filled in with null, and the server sends the same request."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.backends.quickrouter import relay_body
from aigc_image_mcp.catalog.generate import offered
from aigc_image_mcp.catalog.models import Catalog
from aigc_image_mcp.catalog.schema import input_schema
from aigc_image_mcp.catalog.validation import parse_arguments
from aigc_image_mcp.errors import ArgumentsError

from ..conftest import accepts

pytestmark = pytest.mark.slow

CATALOG = PROFILES["quickrouter"].load_catalog()
TENCENT = PROFILES["tencentcloud"].load_catalog()
SCHEMAS = {id(c): input_schema(c, "full") for c in (CATALOG, TENCENT)}
VALIDATORS = {key: Draft202012Validator(schema) for key, schema in SCHEMAS.items()}
VALIDATOR = VALIDATORS[id(CATALOG)]
STRICT = {id(c): input_schema(c, "strict") for c in (CATALOG, TENCENT)}

# The relay's API document (its create call), written out by hand so that the catalog is checked against it, not itself.
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
# What the catalog adds beyond the seed, from the current upstream documentation: GEM's 1K.
UPSTREAM_ADDITIONS = {("GEM", "resolution"): {"1K"}}


def text(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Text both sides judge alike. The server also refuses a NUL character in any text (no history can keep it),
    which the schema does not state; tests/protocol/test_refusals.py covers that."""
    characters = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
    return st.text(characters, min_size=min_size, max_size=max_size)


ALL_RESOLUTIONS = sorted({r for c in (CATALOG, TENCENT) for spec in c.models for r in spec.resolutions})
JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-20, 20), st.floats(-20, 20), text(max_size=5)
)
REFERENCE_OK = st.sampled_from(
    ["https://example.com/a.png", "http://h.test/x", "387702299774574677", "12", "/home/u/a.png", "~/b c.jpg",
     "C:\\p\\x.webp", "data:image/png;base64,iVBORw0KGgo="]
)  # fmt: skip
REFERENCE = st.one_of(
    REFERENCE_OK,
    st.sampled_from(["ftp://x", "https://", "12a", "https://a b", "123\n", " https://x", "HTTPS://x", "", "~x", "a.png",
                     "/a\nb", "data:image/png;base64,", "data:text/plain;base64,QQ==", "data:image/png;base64,a b"]),
    text(max_size=8),
)  # fmt: skip


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, JUNK)


def strings_or_junk(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A string that decodes to a JSON array is decoded by the server on purpose (see arguments._decode_array).
    return st.one_of(
        st.lists(items, max_size=16), JUNK.filter(lambda v: not (isinstance(v, str) and v.startswith("[")))
    )


WILD: dict[str, st.SearchStrategy[Any]] = {
    "model": maybe(st.sampled_from([*CATALOG.ids, *TENCENT.ids, "GEM-3", "gem-2.5", "gg-3.1"])),
    "prompt": maybe(st.sampled_from(["a cat", " ", "", "\n", "猫"])),
    "negative_prompt": maybe(text(max_size=5)),
    "enhance_prompt": maybe(st.sampled_from(["Enabled", "Disabled", "enabled"])),
    "reference_images": strings_or_junk(REFERENCE),
    "reference_image_descriptions": strings_or_junk(st.one_of(text(max_size=3), st.integers())),
    "resolution": maybe(st.sampled_from([*ALL_RESOLUTIONS, "8K", "1k"])),
    "aspect_ratio": maybe(st.sampled_from([*SEED_RATIOS, "1:4", "auto", "9:21", "8:1"])),
    "person_generation": maybe(st.sampled_from(["AllowAdult", "Disallowed", "Allow"])),
    "input_compliance_check": maybe(st.sampled_from(sorted(SEED_SWITCH))),
    "output_compliance_check": maybe(st.sampled_from(sorted(SEED_SWITCH))),
    "storage_mode": maybe(st.sampled_from(["Temporary", "Permanent", "temporary"])),
    "session_id": maybe(text(min_size=45, max_size=55)),
    "session_context": maybe(text(max_size=3)),
    "tasks_priority": st.one_of(st.integers(-12, 12), st.sampled_from([3.0, 2.5, True, "1"]), JUNK),
    "ext_info": maybe(text(max_size=3)),
    "wait_seconds": st.one_of(st.integers(-3, 60), st.sampled_from([0.0, 12.5, False]), JUNK),
    "seed": st.one_of(st.integers(), st.sampled_from([3.0, 2.5, True]), JUNK),
    "output_format": maybe(st.sampled_from(["jpeg", "png", "webp", "PNG"])),
    "logo_add": maybe(st.sampled_from(["Enabled", "Disabled"])),
    "input_region": maybe(st.sampled_from(["Mainland", "Oversea", "OverseaUSWest", "US"])),
    "output_image_count": st.one_of(st.integers(-1, 11), st.sampled_from([2.0, 1.5, True]), JUNK),
    "scene_type": maybe(st.sampled_from(["3d_panorama", "image_expand", "panorama"])),
    "mask_image": maybe(st.one_of(REFERENCE, st.lists(REFERENCE_OK, max_size=1))),
}


@st.composite
def near_valid_arguments(draw: st.DrawFn, catalog: Catalog) -> dict[str, Any]:
    """A valid set with up to three changes: a wild value, another model, more images, a missing argument, an argument
    sent as not given (null, "" or [], whichever its type or not)."""
    arguments = draw(valid_arguments(catalog))
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["wild", "wild", "model", "more images", "drop", "empty"]))
        if change == "empty":
            arguments[draw(st.sampled_from(sorted(WILD)))] = draw(st.sampled_from([None, "", []]))
        elif change == "wild":
            name = draw(st.sampled_from(sorted(WILD)))
            arguments[name] = draw(WILD[name])
        elif change == "model":
            arguments["model"] = draw(st.sampled_from(catalog.ids))
        elif change == "more images" and isinstance(arguments.get("reference_images"), list):
            arguments["reference_images"] = [*arguments["reference_images"], *draw(st.lists(REFERENCE_OK, max_size=3))]
        elif arguments:
            arguments.pop(draw(st.sampled_from(sorted(arguments))))
    return arguments


def as_given(arguments: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`arguments` without the optional ones a client left out: null, "" for a string or [] for an array property
    (the rule written out here from the schema's own types, not taken from the server)."""
    properties: dict[str, Any] = schema["properties"]

    def left_out(name: str, value: Any) -> bool:
        kind = properties[name].get("type")
        return value is None or (kind == "string" and value == "") or (kind == "array" and value == [])

    return {
        name: value
        for name, value in arguments.items()
        if name in schema["required"] or name not in properties or not left_out(name, value)
    }


def server_accepts(arguments: dict[str, Any], catalog: Catalog) -> bool:
    try:
        parse_arguments(arguments, catalog)
    except ArgumentsError:
        return False
    return True


@pytest.mark.parametrize("catalog", [CATALOG, TENCENT], ids=["quickrouter", "tencentcloud"])
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_full_schema_and_the_server_agree_on_every_argument_set(catalog: Catalog, data: st.DataObject) -> None:
    arguments = data.draw(st.one_of(near_valid_arguments(catalog), st.fixed_dictionaries({}, optional=WILD)))
    given_only = as_given(arguments, SCHEMAS[id(catalog)])
    assert accepts(VALIDATORS[id(catalog)], given_only) == server_accepts(arguments, catalog)


@pytest.mark.parametrize("catalog", [CATALOG, TENCENT], ids=["quickrouter", "tencentcloud"])
@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_a_valid_set_filled_in_as_a_strict_model_must_fits_the_strict_schema_and_sends_the_same_request(
    catalog: Catalog, data: st.DataObject
) -> None:
    arguments = data.draw(valid_arguments(catalog))
    schema = STRICT[id(catalog)]
    filled = {name: arguments.get(name) for name in schema["properties"]}

    assert accepts(Draft202012Validator(schema), filled)
    assert parse_arguments(filled, catalog) == parse_arguments(arguments, catalog)


@st.composite
def valid_arguments(draw: st.DrawFn, catalog: Catalog = CATALOG) -> dict[str, Any]:
    """Argument sets built from the catalog's rules, each optional argument present or not."""
    spec = draw(st.sampled_from(catalog.models))
    images = draw(st.lists(REFERENCE_OK, max_size=spec.max_reference_images))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "negative_prompt": text(max_size=5),
        "reference_images": st.just(images),
        "session_id": text(max_size=50),
        "session_context": text(max_size=30),
        "tasks_priority": st.integers(-10, 10),
        "ext_info": text(max_size=5),
        "wait_seconds": st.integers(0, 55),
        **{a.option: st.sampled_from(getattr(catalog.options, a.option))
           for a in offered(catalog).arguments if a.kind == "string" and a.option},
    }  # fmt: skip
    if catalog.options.seed:
        optional["seed"] = st.integers(0, 2**31)
    if spec.resolutions:
        optional["resolution"] = st.sampled_from(spec.resolutions)
    if spec.max_output_images:
        optional["output_image_count"] = st.integers(1, spec.max_output_images)
    if spec.scene_types:
        optional["scene_type"] = st.sampled_from(spec.scene_types)
    if spec.mask_image:
        optional["mask_image"] = REFERENCE_OK
    if spec.aspect_ratios:
        optional["aspect_ratio"] = st.sampled_from(spec.aspect_ratios)
    if spec.reference_image_descriptions:
        optional["reference_image_descriptions"] = st.lists(text(max_size=5), max_size=len(images))
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
        # Base64 (a local picture, filled in after validation) is the one experimental addition to the seed's shape.
        assert set(info) <= {"type", "file_id", "url", "text", "base64"}
        assert info["type"] in {"File", "Url", "Base64"}
        assert {"File": "file_id", "Url": "url", "Base64": "type"}[info["type"]] in info
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


# Tencent's SDK (tencentcloud-sdk-python-vod 3.1.194, CreateAigcImageTaskRequest and AigcImageOutputConfig
# docstrings), written out by hand so that the Tencent catalog is checked against the documentation, not itself.
SDK_MODEL_VERSIONS = {
    "OG": {"image2_low", "image2_medium", "image2_high"},
    "GG": {"2.5", "3.0", "3.1", "3.1-lite"},
    "Hunyuan": {"3.0", "3d_2.0", "3.5-preview"},
    "Vidu": {"q2"},
    "Kling": {"2.1", "3.0", "3.0-Omni", "O1", "scene"},
}
SDK_MAX_FILE_INFOS = {"GG-2.5": 3, "GG-3.0": 14, "GG-3.1": 14, "Kling-2.1": 4, "Kling-3.0": 1, "Kling-3.0-Omni": 10,
                      "Kling-O1": 10, "Vidu-q2": 7, "Hunyuan-3.0": 3}  # fmt: skip
SDK_RESOLUTIONS = {
    "OG-image2_low": ["1K", "2K", "4K"], "OG-image2_medium": ["1K", "2K", "4K"], "OG-image2_high": ["1K", "2K", "4K"],
    "GG-2.5": ["1K", "2K", "4K"], "GG-3.0": ["1K", "2K", "4K"], "GG-3.1": ["720P", "1K", "2K", "4K"],
    "Kling-2.1": ["1k", "2k"], "Kling-3.0": ["1k", "2k"], "Kling-3.0-Omni": ["1k", "2k", "4k"],
    "Kling-O1": ["1k", "2k", "4k"], "Vidu-q2": ["1080p", "2K", "4K"],
}  # fmt: skip
KLING_RATIOS = {"16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"}
GG_RATIOS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
OG_RATIOS = {"1:1", "3:2", "2:3", "3:4", "4:3", "16:9", "9:16", "21:9", "9:21"}
SDK_RATIOS = {
    **dict.fromkeys(["OG-image2_low", "OG-image2_medium", "OG-image2_high"], OG_RATIOS),
    "GG-2.5": GG_RATIOS, "GG-3.0": GG_RATIOS, "GG-3.1": GG_RATIOS | {"1:4", "4:1", "1:8", "8:1"},
    "Kling-2.1": KLING_RATIOS, "Kling-3.0": KLING_RATIOS, "Kling-3.0-Omni": KLING_RATIOS | {"auto"},
    "Kling-O1": KLING_RATIOS | {"auto"}, "Vidu-q2": KLING_RATIOS,
}  # fmt: skip
SDK_BODY = {"ModelName", "ModelVersion", "FileInfos", "Prompt", "NegativePrompt", "EnhancePrompt", "OutputConfig",
            "InputRegion", "SceneType", "Seed", "SessionId", "SessionContext", "TasksPriority", "ExtInfo"}  # fmt: skip
SDK_OUTPUT = {"StorageMode", "Resolution", "AspectRatio", "PersonGeneration", "InputComplianceCheck",
              "OutputComplianceCheck", "OutputImageCount", "OutputFormat", "LogoAdd"}  # fmt: skip


def test_the_tencent_catalog_has_every_model_the_sdk_documents_and_nothing_withdrawn() -> None:
    offered = {(spec.model_name, spec.model_version) for spec in TENCENT.models}

    assert offered == {(name, version) for name, versions in SDK_MODEL_VERSIONS.items() for version in versions}
    assert not {name for name, _ in offered} & {"SI", "Qwen", "Mingmou", "GEM", "MJ", "Jimeng"}
    assert all(spec.id == f"{spec.model_name}-{spec.model_version}" for spec in TENCENT.models)
    assert any("Mingmou" in decision for decision in TENCENT.decisions)
    assert any("SI and Qwen" in decision for decision in TENCENT.decisions)


def test_the_tencent_catalog_keeps_each_models_documented_rules() -> None:
    by_id = {spec.id: spec for spec in TENCENT.models}

    for model_id, most in SDK_MAX_FILE_INFOS.items():
        assert by_id[model_id].max_reference_images == most, model_id
    for model_id, spec in by_id.items():
        assert list(spec.resolutions) == SDK_RESOLUTIONS.get(model_id, []), model_id
        assert set(spec.aspect_ratios) == SDK_RATIOS.get(model_id, set()), model_id
        assert spec.max_output_images == {"OG": 8, "Kling": 9}.get(spec.model_name, 0), model_id
        assert set(spec.scene_types) == {"Hunyuan": {"3d_panorama"}, "Kling": {"image_expand"}}.get(
            spec.model_name, set()
        ), model_id
        assert spec.mask_image == (spec.model_name == "OG"), model_id
        assert spec.reference_image_descriptions == (model_id in {"GG-2.5", "GG-3.0"}), model_id
    assert TENCENT.options.output_format == ("jpeg", "png")
    assert TENCENT.options.input_region == ("Mainland", "Oversea", "OverseaUSWest")


@settings(max_examples=500, deadline=None)
@given(valid_arguments(TENCENT))
def test_every_set_the_tencent_schema_accepts_is_a_request_the_sdk_documents(arguments: dict[str, Any]) -> None:
    from aigc_image_mcp.backends.tencentcloud import tencent_body

    assert accepts(VALIDATORS[id(TENCENT)], arguments)
    _, request = parse_arguments(arguments, TENCENT)
    body = tencent_body(request, sub_app_id=None)

    assert set(body) <= SDK_BODY
    model_id = f"{body['ModelName']}-{body['ModelVersion']}"
    output = body.get("OutputConfig", {})
    assert set(output) <= SDK_OUTPUT
    assert output.get("Resolution", "-") in {"-", *SDK_RESOLUTIONS.get(model_id, [])}
    assert output.get("AspectRatio", "-") in {"-", *SDK_RATIOS.get(model_id, set())}
    for info in body.get("FileInfos", []):
        assert set(info) <= {"Type", "FileId", "Url", "Base64", "Text", "ReferenceType"}
        assert "Text" not in info or model_id in {"GG-2.5", "GG-3.0"}
        assert "ReferenceType" not in info or body["ModelName"] == "OG"
