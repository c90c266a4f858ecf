from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.lowlevel
import httpx
import pytest
from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server
from mcp import Client

from .fake_relay import FakeRelay

CANARY_KEY = "sk-canary-7f3a9c1e5b2d4068"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(**values: Any) -> Settings:
    """Settings from explicit values only: the developer's environment never leaks into a test."""
    return Settings.model_validate({"api_key": CANARY_KEY, "base_url": "https://relay.test", **values})


@pytest.fixture(autouse=True)
def _no_real_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default folders (platformdirs) resolve inside the test's own tmp_path, never the developer's home."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_PICTURES_DIR"):
        monkeypatch.delenv(variable, raising=False)


class FakeClock:
    """Time that passes only when the server sleeps; every pause is recorded."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def relay() -> FakeRelay:
    return FakeRelay()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """Where the server under test keeps its images and its history."""
    return {"output_dir": tmp_path / "images", "data_dir": tmp_path / "data"}


Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]) -> Connect:
    """`async with connect(**settings) as client`: an in-memory MCP client on a server whose relay is `relay`,
    whose time is `clock`, and whose folders are `folders`."""

    @asynccontextmanager
    async def _connect(*, transport: httpx.AsyncBaseTransport | None = None, **values: Any) -> AsyncGenerator[Client]:
        settings = make_settings(**(folders | values))
        server = build_server(settings, transport=transport or relay.transport(), clock=clock)
        async with Client(server, mode="legacy") as client:
            yield client

    return _connect
