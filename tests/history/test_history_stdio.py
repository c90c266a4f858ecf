"""End to end: the installed `aigc-image-mcp` console script over stdio, against the fake relay on a real loopback
HTTP server. A task submitted by one process is listed and finished by the next; another key sees none of it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, accepted, png, serve
from ..support.helpers import TASK, structured

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SCRIPT = Path(sys.executable).with_name("aigc-image-mcp")


@pytest.fixture
def relay_url(relay: FakeRelay) -> Generator[str]:
    with serve(relay) as url:
        yield url


@asynccontextmanager
async def process(
    tmp_path: Path, relay_url: str, key: str = CANARY_KEY, store: dict[str, Any] | None = None
) -> AsyncGenerator[Client]:
    """A fresh server process on the history `store` (default: SQLite); its stderr (the log) goes to
    tmp_path/server.log."""
    environment = {
        "AIGC_IMAGE_DATABASE_URL": (store or {}).get("database_url", ""),
        "HOME": str(tmp_path / "home"),
        "QUICKROUTER_API_KEY": key,
        "QUICKROUTER_BASE_URL": relay_url,
        "AIGC_IMAGE_DATA_DIR": str(tmp_path / "data"),
        "AIGC_IMAGE_OUTPUT_DIR": str(tmp_path / "images"),
        "AIGC_IMAGE_POLL_INTERVAL": "0.05",
        "AIGC_IMAGE_LOG_LEVEL": "DEBUG",
    }
    parameters = StdioServerParameters(command=str(SCRIPT), env=environment)
    with (tmp_path / "server.log").open("a") as log:
        async with Client(stdio_client(parameters, errlog=log), mode="legacy") as client:
            yield client


async def test_the_history_survives_a_restart_and_stays_with_its_key(
    tmp_path: Path, relay: FakeRelay, relay_url: str, both_stores: dict[str, Any]
) -> None:
    relay.script.append(accepted(TASK))

    async with process(tmp_path, relay_url, store=both_stores) as first:
        submitted = await first.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0})
    assert structured(submitted)["status"] == "SUBMITTED"

    async with process(tmp_path, relay_url, store=both_stores) as second:
        listed = await second.call_tool("list_image_tasks", {})
        finished = await second.call_tool("get_image_task", {"task_id": TASK})

    assert [(t["task_id"], t["status"], t["prompt"]) for t in structured(listed)["tasks"]] == [
        (TASK, "SUBMITTED", "fox")
    ]
    assert structured(finished)["status"] == "SUCCEEDED"
    saved = anyio.Path(structured(finished)["images"][0]["local_path"])
    assert saved.parent == anyio.Path(tmp_path / "images")
    assert await saved.read_bytes() == png()

    async with process(tmp_path, relay_url, key="sk-someone-else-1234", store=both_stores) as stranger:
        theirs = await stranger.call_tool("list_image_tasks", {})
    assert structured(theirs)["tasks"] == []

    assert len(relay.submits) == 1
    log = await anyio.Path(tmp_path / "server.log").read_text()
    assert f"Submitted task {TASK}" in log
    assert CANARY_KEY not in log


@pytest.mark.parametrize("database_url", ["", "postgresql://aigc@127.0.0.1:1/history"])
def test_the_stdio_start_leaves_pillow_tenacity_platformdirs_and_both_history_drivers_unimported(
    tmp_path: Path, database_url: str
) -> None:
    """They are needed once a call comes, not to answer initialize and tools/list (the cold start): the PostgreSQL
    driver not even when it is the configured store."""
    probe = (
        "import sys; from aigc_image_mcp.config import Settings; from aigc_image_mcp.server import build_server; "
        "build_server(Settings()); "
        "print(sorted({'PIL', 'tenacity', 'platformdirs', 'sqlite3', 'psycopg', 'psycopg_pool'} & set(sys.modules)))"
    )
    environment = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), "AIGC_IMAGE_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True)
    assert done.stdout.strip() == "[]"
