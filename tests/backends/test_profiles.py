"""Each backend declares what is its own (backends/profiles.py): the server serves the catalog its profile names, and
no module outside backends/ (and config) names a backend or its catalog file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aigc_image_mcp.backends.profiles import PROFILES

from ..conftest import Connect

pytestmark = pytest.mark.anyio

PACKAGE = Path(__file__).parents[2] / "server" / "aigc_image_mcp"
CREDENTIALS = {"quickrouter": {}, "tencentcloud": {"secret_id": "AKIDtest", "secret_key": "test-secret"}}


@pytest.mark.parametrize("backend", sorted(PROFILES))
async def test_the_server_offers_the_models_of_the_catalog_its_backend_declares(connect: Connect, backend: str) -> None:
    async with connect(backend=backend, **CREDENTIALS[backend]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    offered = tools["generate_image"].input_schema["properties"]["model"]["enum"]
    assert offered == list(PROFILES[backend].load_catalog().ids)
    assert (PACKAGE / "catalog" / PROFILES[backend].catalog).is_file()


def test_no_module_outside_backends_and_config_names_a_backend_or_its_catalog() -> None:
    names = [re.escape(word) for profile in PROFILES.values() for word in (profile.name, profile.catalog)]
    named = re.compile(rf"""["']({"|".join(names)})["']|\.backend\s*==""")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in {"backends", "config"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if named.search(line)
    ]
    assert found == []
