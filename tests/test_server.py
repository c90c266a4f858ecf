"""The server's start (server.py, __main__.py) imports only what answering initialize and tools/list needs: the
call path's own modules come with the first call (bench/cold_start.py measures the start against a bare MCPServer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CALL_PATH = (
    "aigc_image_mcp.backends.base",
    "aigc_image_mcp.callers",
    "aigc_image_mcp.catalog.request",
    "aigc_image_mcp.catalog.validation",
    "aigc_image_mcp.core.polling",
    "aigc_image_mcp.core.tracker",
    "aigc_image_mcp.media.pictures",
    "aigc_image_mcp.media.saving",
    "aigc_image_mcp.protocol.roots",
    "aigc_image_mcp.protocol.save_as",
    "difflib",
)
"""Modules a call needs and the start does not (the backends, the history and Pillow are checked elsewhere)."""


@pytest.mark.parametrize(
    "credentials",
    [{"QUICKROUTER_API_KEY": "k"}, {"TENCENTCLOUD_SECRET_ID": "AKIDx", "TENCENTCLOUD_SECRET_KEY": "k"}],
    ids=["quickrouter", "tencentcloud"],
)
def test_the_stdio_start_leaves_the_call_path_unimported(tmp_path: Path, credentials: dict[str, str]) -> None:
    probe = (
        "import sys; import aigc_image_mcp.__main__; import aigc_image_mcp.transport.stdio; "
        "from aigc_image_mcp.config import Settings; from aigc_image_mcp.server import build_server; "
        f"build_server(Settings()); print(sorted(set({CALL_PATH!r}) & set(sys.modules)))"
    )
    environment = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), **credentials}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True)
    assert done.stdout.strip() == "[]"


def test_the_call_path_modules_exist() -> None:
    """The list above names real modules: a renamed one would pass the check above for the wrong reason."""
    probe = f"import importlib; [importlib.import_module(name) for name in {CALL_PATH!r}]"
    subprocess.run([sys.executable, "-c", probe], check=True)
