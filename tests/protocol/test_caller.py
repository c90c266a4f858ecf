"""Who is calling, read from an MCP request (protocol.caller.caller_in): what the tools, tasks/* and resources/list
all use. The rule itself is tested in tests/core/test_callers.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from mcp.server.context import ServerRequestContext

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.callers import caller_of
from aigc_image_mcp.config import Settings
from aigc_image_mcp.errors import ConfigError
from aigc_image_mcp.protocol.caller import caller_in
from aigc_image_mcp.state import AppState

from ..conftest import make_settings

USER_KEY = "sk-user-key-5d1e9a7c3b"


def request(settings: Settings, headers: dict[str, str] | None) -> ServerRequestContext[Any, Any]:
    """A request as the SDK hands it over: over HTTP its `request` carries the headers, over stdio there is none."""
    return ServerRequestContext(
        session=cast(Any, None),
        lifespan_context=AppState(settings, PROFILES[settings.backend].load_catalog()),
        protocol_version="2026-07-28",
        method="tools/call",
        request=None if headers is None else SimpleNamespace(headers=headers),
    )


def test_a_request_without_headers_is_local_and_the_servers_key_pays() -> None:
    settings = make_settings()

    assert caller_in(request(settings, None)) == caller_of(settings, None, remote=False)


def test_a_request_with_headers_is_remote_and_its_bearer_token_is_read() -> None:
    settings = make_settings(api_key=None)
    headers = {"authorization": f"Bearer {USER_KEY}"}

    caller = caller_in(request(settings, headers))

    assert caller == caller_of(settings, headers, remote=True)
    assert caller.remote
    assert caller.key is not None
    assert caller.key.get_secret_value() == USER_KEY


def test_no_credential_is_the_rules_own_error() -> None:
    with pytest.raises(ConfigError):
        caller_in(request(make_settings(api_key=None), {}))
