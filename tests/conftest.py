from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

from .fake_relay import FakeRelay

CANARY_KEY = "sk-canary-7f3a9c1e5b2d4068"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(**values: Any) -> Settings:
    """Settings from explicit values only: the developer's environment never leaks into a test."""
    return Settings.model_validate({"api_key": CANARY_KEY, "base_url": "https://relay.test", **values})


def accepts(validator: Draft202012Validator, instance: dict[str, Any]) -> bool:
    """Whether the validator's schema accepts `instance`."""
    # jsonschema's stubs leave one overload of is_valid partly untyped.
    return validator.is_valid(instance)  # pyright: ignore[reportUnknownMemberType]


@pytest.fixture
def relay() -> FakeRelay:
    return FakeRelay()


Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(relay: FakeRelay) -> Connect:
    """`async with connect(**settings) as client`: an in-memory MCP client on a server whose relay is `relay`."""

    @asynccontextmanager
    async def _connect(**values: Any) -> AsyncGenerator[Client]:
        server = build_server(make_settings(**values), transport=relay.transport())
        async with Client(server, mode="legacy") as client:
            yield client

    return _connect
