"""server.json for the official MCP Registry, checked field by field against the registry's server.json schema
(2025-12-11, the `$schema` it names) and the official registry's extra rules. No registry-published package ships
that schema (the registry's own schema package is private), so the rules are stated here; each check names the one
it enforces. The values must also agree with the package and the bundle: a registry entry that installs a
different thing from what the README says is worse than none."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aigc_image_mcp.config import DEFAULT_BASE_URL

from ..support.toolchain import manifest, pyproject, server_json

pytestmark = pytest.mark.slow

SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
SERVER_KEYS = {"$schema", "name", "title", "description", "version", "repository", "websiteUrl", "icons", "packages"}
PACKAGE_KEYS = {
    "registryType",
    "registryBaseUrl",
    "identifier",
    "version",
    "fileSha256",
    "runtimeHint",
    "transport",
    "runtimeArguments",
    "packageArguments",
    "environmentVariables",
}
INPUT_KEYS = {"name", "description", "isRequired", "format", "value", "isSecret", "default", "placeholder", "choices"}
VERSION_RANGE = re.compile(r"^[\^~<>=]|[x*]$|\.x\b|\.\*")


def the_package() -> dict[str, Any]:
    (package,) = server_json()["packages"]
    return package


def test_the_server_fields_follow_the_registry_schema() -> None:
    server = server_json()
    assert server["$schema"] == SCHEMA
    assert set(server) <= SERVER_KEYS
    # name: reverse-DNS namespace, one slash, 3-200 characters; io.github.<owner>/ is proven by GitHub login.
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"])
    assert 3 <= len(server["name"]) <= 200
    owner = pyproject()["project"]["urls"]["Repository"].removeprefix("https://github.com/").split("/")[0]
    assert server["name"].startswith(f"io.github.{owner}/")
    assert 1 <= len(server["description"]) <= 100
    assert 1 <= len(server["title"]) <= 100
    assert len(server["version"]) <= 255
    assert not VERSION_RANGE.search(server["version"])
    assert server["repository"] == {"url": pyproject()["project"]["urls"]["Repository"], "source": "github"}
    assert server["websiteUrl"].startswith("https://")
    for icon in server["icons"]:
        assert icon["src"].startswith("https://")
        assert icon["mimeType"] == "image/png"


def test_the_package_is_the_pypi_distribution_run_over_stdio() -> None:
    package = the_package()
    assert set(package) <= PACKAGE_KEYS
    assert {"registryType", "identifier", "transport"} <= set(package)
    # The official registry accepts PyPI packages from https://pypi.org only.
    assert (package["registryType"], package["registryBaseUrl"]) == ("pypi", "https://pypi.org")
    assert package["identifier"] == pyproject()["project"]["name"]
    assert package["version"] not in ("", "latest")
    assert not VERSION_RANGE.search(package["version"])
    assert package["transport"] == {"type": "stdio"}
    assert package["runtimeHint"] == "uvx"


def test_every_variable_is_described_and_the_credentials_are_secrets_of_which_none_is_required() -> None:
    variables = {variable["name"]: variable for variable in the_package()["environmentVariables"]}
    for variable in variables.values():
        assert set(variable) <= INPUT_KEYS
        assert variable["description"].strip()
        assert variable.get("format", "string") in ("string", "number", "boolean", "filepath")
        for flag in ("isRequired", "isSecret"):
            assert isinstance(variable.get(flag, False), bool)
        if "choices" in variable:
            assert all(isinstance(choice, str) for choice in variable["choices"])
            assert variable.get("default", variable["choices"][0]) in variable["choices"]
        assert isinstance(variable.get("default", ""), str)
    secrets = ["QUICKROUTER_API_KEY", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"]
    assert [name for name, variable in variables.items() if variable.get("isSecret")] == secrets
    # A relay user has no Tencent credentials and a Tencent Cloud user no relay key: the server says what is missing.
    assert [name for name, variable in variables.items() if variable.get("isRequired")] == []
    assert variables["QUICKROUTER_BASE_URL"]["default"] == DEFAULT_BASE_URL


def test_the_registry_and_the_bundle_offer_the_same_defaults() -> None:
    variables = {variable["name"]: variable for variable in the_package()["environmentVariables"]}
    config = manifest()
    for name, placeholder in config["server"]["mcp_config"]["env"].items():
        option = config["user_config"][placeholder.removeprefix("${user_config.").removesuffix("}")]
        default = option.get("default")
        expected = None if default is None else str(default).lower() if isinstance(default, bool) else default
        assert variables[name].get("default") == expected, name
