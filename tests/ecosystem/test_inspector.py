"""The MCP Inspector CLI (the ecosystem's own client, pinned in package-lock.json) against the stdio server:
tools/list with its schema-portability lint (`--strict`), and a tools/call that reaches a loopback fake relay."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, accepted, serve
from ..support.toolchain import TIMEOUT, child_env, npm_tool

pytestmark = pytest.mark.slow

INSPECTOR = ("@modelcontextprotocol/inspector", "clients/launcher/build/index.js")


@pytest.fixture
def relay_url() -> Iterator[tuple[FakeRelay, str]]:
    relay = FakeRelay()
    with serve(relay) as url:
        yield relay, url


def inspect(url: str, home: Path, *method: str, profile: str = "portable") -> subprocess.CompletedProcess[str]:
    """`mcp-inspector --cli` on `python -m aigc_image_mcp`; the server's settings go in with -e, as a user's would."""
    settings = {"QUICKROUTER_API_KEY": CANARY_KEY, "QUICKROUTER_BASE_URL": url, "AIGC_IMAGE_SCHEMA": profile}
    command = [
        *npm_tool(*INSPECTOR),
        "--cli",
        sys.executable,
        "-m",
        "aigc_image_mcp",
        *(part for name, value in settings.items() for part in ("-e", f"{name}={value}")),
        "--format",
        "json",
        *method,
    ]
    # HOME: the Inspector may keep a catalog and client config under ~/.mcp-inspector; keep them out of the real one.
    env = child_env(HOME=str(home), MCP_CATALOG_PATH=str(home / "mcp.json"))
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def call_generate_image(url: str, home: Path, arguments: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    method = ("--method", "tools/call", "--tool-name", "generate_image", "--tool-args-json", json.dumps(arguments))
    return inspect(url, home, *method)


def payload(done: subprocess.CompletedProcess[str], *, exit_code: int = 0) -> dict[str, Any]:
    assert done.returncode == exit_code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.mark.parametrize("profile", ["portable", "full", "strict"])
def test_the_inspector_lists_the_tool_and_its_strict_lint_finds_no_error(
    relay_url: tuple[FakeRelay, str], tmp_path: Path, profile: str
) -> None:
    _, url = relay_url
    done = inspect(url, tmp_path, "--method", "tools/list", "--strict", profile=profile)
    tools = payload(done)["result"]["tools"]  # --strict exits 6 on an error-severity portability finding
    assert [tool["name"] for tool in tools] == [
        "generate_image",
        "get_image_task",
        "list_image_tasks",
        "get_image_usage",
    ]
    assert tools[0]["inputSchema"]["type"] == "object"
    assert "model" in tools[0]["inputSchema"]["required"]


def test_a_call_from_the_inspector_reaches_the_relay_and_returns_the_task_id(
    relay_url: tuple[FakeRelay, str], tmp_path: Path
) -> None:
    relay, url = relay_url
    relay.script.append(accepted("1392336703-AigcImageTask-inspector"))
    arguments = {"model": "Hunyuan-3.0", "prompt": "a koi pond in the rain"}
    done = call_generate_image(url, tmp_path, arguments)
    result = payload(done)["result"]

    assert not result.get("isError"), result
    assert result["structuredContent"]["task_id"] == "1392336703-AigcImageTask-inspector"
    assert relay.submits == [{"model_name": "Hunyuan", "model_version": "3.0", "prompt": "a koi pond in the rain"}]
    assert relay.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert CANARY_KEY not in done.stdout + done.stderr


def test_a_bad_argument_comes_back_to_the_inspector_as_a_tool_error_naming_it(
    relay_url: tuple[FakeRelay, str], tmp_path: Path
) -> None:
    relay, url = relay_url
    arguments = {"model": "Qwen-0925", "prompt": "a koi pond", "aspect_ratio": "16:9"}
    done = call_generate_image(url, tmp_path, arguments)
    result = payload(done, exit_code=5)["result"]  # the Inspector's exit code for a tool result with isError

    assert result["isError"] is True
    assert "aspect_ratio" in result["content"][0]["text"]
    assert relay.requests == []
