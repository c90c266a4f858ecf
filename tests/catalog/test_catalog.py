"""AIGC_IMAGE_MODELS_FILE: a user adds a model the relay gained, without a new release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.models import builtin_catalog, checked_builtin
from aigc_image_mcp.errors import CatalogError

from ..conftest import Connect
from ..support.fake_relay import FakeRelay

GG_31 = {
    "id": "GG-3.1",
    "model_name": "GG",
    "model_version": "3.1",
    "max_reference_images": 14,
    "reference_image_descriptions": True,
    "resolutions": ["720P", "1K", "2K", "4K"],
    "aspect_ratios": ["1:1", "16:9", "1:4", "4:1", "1:8", "8:1"],
}


def models_file(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "models.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.anyio
async def test_a_model_from_the_models_file_is_offered_validated_and_sent(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    path = models_file(tmp_path, {"models": [GG_31]})

    async with connect(models_file=path) as client:
        tool = next(tool for tool in (await client.list_tools()).tools if tool.name == "generate_image")
        sent = await client.call_tool("generate_image", {"model": "GG-3.1", "prompt": "p", "aspect_ratio": "8:1"})
        refused = await client.call_tool("generate_image", {"model": "GG-3.1", "prompt": "p", "resolution": "720p"})

    assert tool.input_schema["properties"]["model"]["enum"] == [
        "GEM-2.5",
        "GEM-3.0",
        "Qwen-0925",
        "Hunyuan-3.0",
        "GG-3.1",
    ]
    assert "8:1" in tool.input_schema["properties"]["aspect_ratio"]["enum"]
    assert not sent.is_error
    assert relay.submits == [
        {"model_name": "GG", "model_version": "3.1", "prompt": "p", "output_config": {"aspect_ratio": "8:1"}}
    ]
    assert refused.is_error


def test_a_model_with_a_built_in_id_replaces_it(tmp_path: Path) -> None:
    hunyuan = GG_31 | {"id": "Hunyuan-3.0", "model_name": "Hunyuan", "model_version": "3.0", "max_reference_images": 3}

    catalog = PROFILES["quickrouter"].load_catalog(models_file(tmp_path, {"models": [hunyuan]}))

    assert catalog.ids == ("GEM-2.5", "GEM-3.0", "Qwen-0925", "Hunyuan-3.0")
    spec = catalog.get("Hunyuan-3.0")
    assert spec is not None
    assert spec.max_reference_images == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ({"models": []}, "models: Tuple should have at least 1 item"),
        ({"models": [GG_31 | {"max_reference_images": -1}]}, "models.0.max_reference_images: Input should be greater"),
        ({"models": [GG_31 | {"aspect_ratio": ["1:1"]}]}, "models.0.aspect_ratio: Extra inputs are not permitted"),
        ({"models": [GG_31, GG_31]}, "model ids must be unique; repeated: GG-3.1"),
        ({"models": [GG_31 | {"id": "GG 3.1"}]}, "models.0.id: String should match pattern"),
    ],
)
def test_a_malformed_models_file_is_a_clear_error_naming_the_place(tmp_path: Path, content: Any, expected: str) -> None:
    with pytest.raises(CatalogError, match="AIGC_IMAGE_MODELS_FILE") as raised:
        PROFILES["quickrouter"].load_catalog(models_file(tmp_path, content))

    assert expected in str(raised.value)


def test_a_missing_models_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"cannot read .*nowhere\.json"):
        PROFILES["quickrouter"].load_catalog(tmp_path / "nowhere.json")


@pytest.mark.parametrize("backend", sorted(PROFILES))
def test_a_models_file_keeps_what_the_backend_s_catalog_says_of_its_service(tmp_path: Path, backend: str) -> None:
    built_in = PROFILES[backend].load_catalog()

    added = GG_31 | {"id": "GG-9.9", "model_version": "9.9"}

    catalog = PROFILES[backend].load_catalog(models_file(tmp_path, {"models": [added]}))

    assert catalog.service == built_in.service
    assert catalog.ids == (*built_in.ids, "GG-9.9")


@pytest.mark.parametrize("backend", sorted(PROFILES))
def test_a_built_in_catalog_taken_as_shipped_is_the_one_validation_gives(backend: str) -> None:
    # The server takes its built-in catalog without validating it at start: this is where it is validated.
    file = PROFILES[backend].catalog

    taken, checked = builtin_catalog(file), checked_builtin(file)

    assert taken == checked
    assert repr(taken) == repr(checked)  # the same types too: tuples where validation makes tuples
