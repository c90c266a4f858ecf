"""Who is calling, from an MCP request: the tools, tasks/* and resources/list all ask here; callers.py has the rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from mcp.server.context import ServerRequestContext

from ..backends.base import Caller
from ..callers import caller_of

if TYPE_CHECKING:
    from ..state import AppState


def caller_in(request: ServerRequestContext[AppState, Any]) -> Caller:
    """Who pays for this request and whose history it reads; ConfigError when no credential applies. Only an HTTP
    request carries headers (the SDK's Context.headers reads them the same way), so only it is remote; its peer's
    address tells whether it is the local user."""
    headers = cast("Mapping[str, str] | None", getattr(request.request, "headers", None))
    client = getattr(request.request, "client", None)  # Starlette's (host, port) of the peer
    peer = cast("str | None", getattr(client, "host", None))
    return caller_of(request.lifespan_context.settings, headers, remote=headers is not None, peer=peer)
