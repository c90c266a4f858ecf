"""One version and one tool list. `__version__` in the package is the source (pyproject.toml reads it through
hatch); the built metadata, the manifest, server.json and the running server must say the same. The manifest's tools
are compared with what the server lists over MCP, so a tool added to the server fails here until the manifest
lists it too."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from aigc_image_mcp import __version__ as VERSION
from aigc_image_mcp.__main__ import main

from ..conftest import Connect
from ..support.toolchain import manifest, pyproject, server_json

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


def test_the_build_takes_its_version_from_the_package() -> None:
    assert pyproject()["project"]["dynamic"] == ["version"]
    assert pyproject()["tool"]["hatch"]["version"]["path"] == "server/aigc_image_mcp/__init__.py"
    assert version("aigc-image-mcp") == VERSION


def test_the_manifest_and_server_json_carry_the_pyproject_version() -> None:
    assert manifest()["version"] == VERSION
    assert server_json()["version"] == VERSION
    assert [package["version"] for package in server_json()["packages"]] == [VERSION]


async def test_the_server_reports_the_pyproject_version_in_initialize(connect: Connect) -> None:
    async with connect() as client:
        assert client.server_info is not None
        assert (client.server_info.name, client.server_info.version) == ("aigc-image-mcp", VERSION)


def test_the_command_line_prints_the_pyproject_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"aigc-image-mcp {VERSION}"


async def test_the_manifest_lists_exactly_the_tools_the_server_lists(connect: Connect) -> None:
    async with connect() as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
    declared = [tool["name"] for tool in manifest()["tools"]]
    assert sorted(declared) == sorted(listed), "update manifest.json's `tools` to what tools/list returns"
    assert all(tool.get("description") for tool in manifest()["tools"])


def test_the_bundle_and_the_registry_entry_configure_the_same_variables() -> None:
    bundle_env = set(manifest()["server"]["mcp_config"]["env"])
    (package,) = server_json()["packages"]
    assert {variable["name"] for variable in package["environmentVariables"]} == bundle_env
