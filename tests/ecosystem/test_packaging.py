"""The package as users install it: `uv build` gives a wheel and an sdist; the wheel installed into a fresh venv
gives a working `aigc-image-mcp`, and `uvx --from <wheel> aigc-image-mcp` starts and serves MCP.

Offline: uv resolves from its cache. `.ci/run` fills it (it runs the same `uv tool run --from` once, online) before
the tests; on a machine whose cache lacks the packages these tests skip, and in CI they fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from aigc_image_mcp import __version__

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, accepted, serve
from ..support.toolchain import NAME, OFFLINE, ROOT, TIMEOUT, child_env, missing, pyproject, run, server_json, uv, uvx

pytestmark = [pytest.mark.slow, pytest.mark.anyio]
VERSION = __version__
WARM_CACHE = (
    f"build the wheel with `uv build --out-dir dist`, then run `uv tool run --from dist/<the wheel> {NAME} --version` "
    "once online to fill uv's cache"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist); uv builds the wheel from the sdist, so the sdist is known to be complete."""
    out = tmp_path_factory.mktemp("dist")
    run([uv(), "build", "--out-dir", str(out)], env=child_env(**OFFLINE))
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def package_files() -> set[str]:
    source = ROOT / "server" / "aigc_image_mcp"
    return {
        f"aigc_image_mcp/{path.relative_to(source).as_posix()}"
        for path in source.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_holds_the_package_with_its_data_and_the_command(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    info = f"aigc_image_mcp-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    assert {name for name in names if not name.startswith(info)} == package_files()
    assert "aigc_image_mcp/catalog/models.json" in names
    assert f"{info}/licenses/LICENSE" in names
    assert re.search(r"^aigc-image-mcp = aigc_image_mcp\.__main__:main$", entry_points, re.MULTILINE)
    assert (metadata["Name"], metadata["Version"], metadata["License-Expression"]) == (NAME, VERSION, "MIT")
    assert metadata["Requires-Python"] == pyproject()["project"]["requires-python"]


def test_the_pypi_description_proves_ownership_of_the_registry_name(built: tuple[Path, Path]) -> None:
    # The MCP Registry publishes a PyPI package only if its description says `mcp-name: <server.json name>`.
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        description = archive.read(f"aigc_image_mcp-{VERSION}.dist-info/METADATA").decode()
    assert f"mcp-name: {server_json()['name']}" in description


def test_the_sdist_is_the_source_with_its_tests_and_nothing_else(built: tuple[Path, Path]) -> None:
    _, sdist = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    required = {"pyproject.toml", "README.md", "LICENSE", "manifest.json", "server.json", "server/main.py"}
    assert required <= names
    assert {"tests/conftest.py", "tests/support/fake_relay.py"} <= names
    assert {f"server/{name}" for name in package_files()} <= names
    assert not {name for name in names if name.startswith((".venv", "node_modules", "dist/", ".git/"))}
    assert not {name for name in names if "__pycache__" in name}


def offline(command: list[str], **env: str) -> None:
    """Runs a uv command offline; a cache miss skips locally and fails in CI."""
    done = subprocess.run(
        command, env=child_env(**OFFLINE, **env), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if done.returncode != 0 and "network was disabled" in done.stderr:
        missing("the wheel's dependencies are not in uv's cache (offline), so the wheel", WARM_CACHE)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}\n{done.stderr}")


@pytest.fixture
def relay_url() -> Iterator[tuple[FakeRelay, str]]:
    relay = FakeRelay()
    with serve(relay) as url:
        yield relay, url


async def call_through(params: StdioServerParameters, relay: FakeRelay) -> None:
    """Talks MCP to the started server and checks one generate_image call reached the relay."""
    relay.script.append(accepted("1392336703-AigcImageTask-package"))
    async with Client(params, mode="legacy", read_timeout_seconds=TIMEOUT) as client:
        assert client.server_info is not None
        assert (client.server_info.name, client.server_info.version) == (NAME, VERSION)
        assert [tool.name for tool in (await client.list_tools()).tools] == [
            "generate_image",
            "get_image_task",
            "list_image_tasks",
            "get_image_usage",
        ]
        result = await client.call_tool("generate_image", {"model": "Qwen-0925", "prompt": "a paper crane"})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["task_id"] == "1392336703-AigcImageTask-package"
    (submit,) = [request for request in relay.requests if request.method == "POST"]
    assert submit.headers["authorization"] == f"Bearer {CANARY_KEY}"


async def test_the_wheel_installed_in_a_fresh_venv_gives_a_working_command(
    built: tuple[Path, Path], tmp_path: Path, relay_url: tuple[FakeRelay, str]
) -> None:
    wheel, _ = built
    relay, url = relay_url
    venv = tmp_path / "venv"
    run([uv(), "venv", "--quiet", str(venv), "--python", sys.executable], env=child_env(**OFFLINE))
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    offline([uv(), "pip", "install", "--quiet", "--python", str(python), str(wheel)])
    command = python.parent / NAME

    assert run([str(command), "--version"]).stdout.strip() == f"{NAME} {VERSION}"
    env = {"QUICKROUTER_API_KEY": CANARY_KEY, "QUICKROUTER_BASE_URL": url}
    await call_through(StdioServerParameters(command=str(command), env=env), relay)


async def test_uvx_from_the_wheel_starts_the_server(built: tuple[Path, Path], relay_url: tuple[FakeRelay, str]) -> None:
    wheel, _ = built
    relay, url = relay_url
    args = ["--from", str(wheel), NAME]
    offline([uvx(), *args, "--version"])  # resolves and caches the tool environment, or skips/fails on a cache miss
    cache = {"UV_CACHE_DIR": os.environ["UV_CACHE_DIR"]}  # set for every test by conftest, as HOME moves
    env = {"QUICKROUTER_API_KEY": CANARY_KEY, "QUICKROUTER_BASE_URL": url, **OFFLINE, **cache}
    await call_through(StdioServerParameters(command=uvx(), args=args, env=env), relay)
