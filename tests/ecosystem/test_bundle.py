"""The MCP bundle as Claude Desktop handles it: `mcpb validate` and `mcpb pack`, then the .mcpb unpacked into a
fresh folder, `mcp_config` resolved by MCPB's own substitution code (`getMcpConfigForManifest`, what hosts use),
the server started exactly as it says (through uv, offline from uv's cache) and spoken to over MCP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from aigc_image_mcp import __version__
from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.schema import input_schema
from aigc_image_mcp.config import DEFAULT_BASE_URL, Settings

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, accepted, serve
from ..support.toolchain import NAME, OFFLINE, ROOT, TIMEOUT, manifest, mcpb, node, npm_tool, uv

pytestmark = pytest.mark.slow

# Everything else in a working tree is junk to a bundle; these are planted to prove .mcpbignore keeps them out.
JUNK = (
    ".venv/lib/python3.11/site-packages/x.py",
    "node_modules/left-pad/index.js",
    "server/aigc_image_mcp/__pycache__/server.cpython-311.pyc",
    "server/aigc_image_mcp/stray.pyc",
    "tests/test_more.py",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.12/x",
    "dist/aigc-image-mcp-0.0.1.mcpb",
    "bench/notes.txt",
    "htmlcov/index.html",
    ".env",
)
TOP_LEVEL = {"manifest.json", "icon.png", "pyproject.toml", "uv.lock", "README.md", "LICENSE"}
# Reads {manifest, extensionPath, systemDirs, userConfig, pathSeparator} on stdin, prints the resolved mcp_config.
RESOLVE = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const { getMcpConfigForManifest } = await import(pathToFileURL(process.argv[1]).href);
const config = await getMcpConfigForManifest(JSON.parse(readFileSync(0, "utf8")));
process.stdout.write(JSON.stringify(config ?? null));
"""


def test_mcpb_validate_accepts_the_manifest() -> None:
    assert "Manifest schema validation passes!" in mcpb("validate", "manifest.json").stdout


def test_every_setting_reaches_the_server_as_an_environment_variable() -> None:
    config = manifest()
    env = config["server"]["mcp_config"]["env"]
    assert sorted(env.values()) == sorted(f"${{user_config.{key}}}" for key in config["user_config"])
    required = [key for key, option in config["user_config"].items() if option.get("required")]
    sensitive = [key for key, option in config["user_config"].items() if option.get("sensitive")]
    assert required == []  # a relay user has no Tencent credentials, a Tencent Cloud user no relay key
    assert sensitive == ["api_key", "secret_id", "secret_key", "session_token"]
    assert env["QUICKROUTER_API_KEY"] == "${user_config.api_key}"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .mcpb packed from a copy of the project with junk planted in it."""
    source = tmp_path_factory.mktemp("project") / "aigc-image-mcp"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "dist"))
    for junk in JUNK:
        (source / junk).parent.mkdir(parents=True, exist_ok=True)
        (source / junk).write_text("junk")
    out = tmp_path_factory.mktemp("dist") / f"{NAME}.mcpb"
    mcpb("pack", str(source), str(out))
    return out


def test_the_bundle_holds_the_project_and_nothing_else(bundle: Path) -> None:
    server = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "server").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        assert json.loads(archive.read("manifest.json")) == manifest()
    assert names == TOP_LEVEL | server


@pytest.fixture(scope="module")
def installed(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle unpacked as a host does, into a fresh folder whose path has a space in it."""
    folder = tmp_path_factory.mktemp("host") / "Claude Extensions" / NAME
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    return folder


def resolve(installed: Path, user_config: dict[str, Any]) -> dict[str, Any] | None:
    """The mcp_config a host runs for these settings, from MCPB's own code; None if the host would not start it."""
    home = installed.parent.parent
    request = {
        "manifest": json.loads((installed / "manifest.json").read_text(encoding="utf-8")),
        "extensionPath": str(installed),
        "systemDirs": {name: str(home / name) for name in ("HOME", "DESKTOP", "DOCUMENTS", "DOWNLOADS")},
        "userConfig": user_config,
        "pathSeparator": os.sep,
    }
    library = npm_tool("@anthropic-ai/mcpb", "dist/shared/config.js")[1]
    done = subprocess.run(
        [node(), "--input-type=module", "-e", RESOLVE, library],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return json.loads(done.stdout)


def launch(config: dict[str, Any]) -> Client:
    """A client that starts the server as `config` says; uv on PATH, as the manifest requires, kept offline."""
    path = os.pathsep.join([str(Path(uv()).parent), os.environ.get("PATH", "")])
    cache = {key: os.environ[key] for key in ("UV_CACHE_DIR", "XDG_CACHE_HOME") if key in os.environ}
    env = {**config.get("env", {}), **OFFLINE, **cache, "PATH": path}
    params = StdioServerParameters(command=config["command"], args=config["args"], env=env)
    return Client(params, mode="legacy", read_timeout_seconds=TIMEOUT)


@pytest.fixture
def relay_url() -> Iterator[tuple[FakeRelay, str]]:
    relay = FakeRelay()
    with serve(relay) as url:
        yield relay, url


@pytest.mark.anyio
async def test_the_host_starts_the_unpacked_bundle_and_a_call_reaches_the_relay(
    installed: Path, relay_url: tuple[FakeRelay, str], tmp_path: Path
) -> None:
    relay, url = relay_url
    relay.script.append(accepted("1392336703-AigcImageTask-bundle"))
    settings = {"api_key": CANARY_KEY, "base_url": url, "output_dir": str(tmp_path), "inline_images": False}
    unused = {"backend": "quickrouter", "secret_id": "unused", "secret_key": "unused", "session_token": "unused"}
    unused |= {"vod_subapp_id": 1, "confirm_above": 1000}
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "CNY", "models": {"GEM-3.0": 0.9}}), encoding="utf-8")
    config = resolve(installed, settings | unused | {"schema_profile": "full", "prices": str(prices)})
    assert config is not None
    assert config["command"] == "uv"
    assert str(installed) in config["args"]
    assert "${" not in json.dumps(config)

    async with launch(config) as client:
        assert client.server_info is not None
        assert client.server_info.version == __version__
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert sorted(tools) == sorted(tool["name"] for tool in manifest()["tools"])
        # The schema profile chosen in the settings is the one served.
        assert tools["generate_image"].input_schema == input_schema(PROFILES["quickrouter"].load_catalog(), "full")
        result = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "a lighthouse at dusk"})

    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["task_id"] == "1392336703-AigcImageTask-bundle"
    assert result.structured_content["cost"] == {"images": 1, "amount": 0.9, "currency": "CNY"}  # the prices file
    assert relay.submits == [{"model_name": "GEM", "model_version": "3.0", "prompt": "a lighthouse at dusk"}]
    assert relay.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"


@pytest.mark.anyio
async def test_settings_left_empty_in_the_host_fall_back_to_the_defaults(installed: Path) -> None:
    config = resolve(installed, {"api_key": CANARY_KEY})
    assert config is not None
    env = config["env"]
    assert env["QUICKROUTER_BASE_URL"] == DEFAULT_BASE_URL
    # A setting with no value and no default reaches the server as its placeholder, which means "not set".
    assert env["AIGC_IMAGE_OUTPUT_DIR"] == "${user_config.output_dir}"

    async with launch(config) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["generate_image"].input_schema == input_schema(PROFILES["quickrouter"].load_catalog(), "portable")


def test_with_only_tencent_credentials_the_bundle_runs_the_tencentcloud_backend(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = resolve(installed, {"secret_id": "AKIDcanary", "secret_key": "skey-canary", "vod_subapp_id": 1500012345})
    assert config is not None
    for name, value in config["env"].items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert (settings.backend, settings.vod_subapp_id) == ("tencentcloud", 1500012345)
    assert settings.tencentcloud_endpoint == "vod.tencentcloudapi.com"


@pytest.mark.parametrize("unset", ["", "   ", "${user_config.base_url}"])
def test_a_setting_passed_empty_or_as_a_placeholder_takes_its_default(
    monkeypatch: pytest.MonkeyPatch, unset: str
) -> None:
    for variable in ("QUICKROUTER_BASE_URL", "AIGC_IMAGE_SCHEMA", "QUICKROUTER_API_KEY"):
        monkeypatch.setenv(variable, unset)
    settings = Settings()
    assert (settings.base_url, settings.schema_profile, settings.api_key) == (DEFAULT_BASE_URL, "portable", None)


def test_a_real_value_beside_a_placeholder_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUICKROUTER_BASE_URL", "https://relay.example/${user_config.x}")
    monkeypatch.setenv("AIGC_IMAGE_SCHEMA", "full")
    settings = Settings()
    assert (settings.base_url, settings.schema_profile) == ("https://relay.example/${user_config.x}", "full")
