"""Who is calling, from an MCP request: the tools, tasks/* and resources/list all ask here; callers.py has the rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from mcp.server.context import ServerRequestContext

if TYPE_CHECKING:
    from ..backends.base import Caller
    from ..state import AppState


def caller_in(request: ServerRequestContext[AppState, Any]) -> Caller:
    """Who pays for this request and whose history it reads; ConfigError when no credential applies. Only an HTTP
    request carries headers (the SDK's Context.headers reads them the same way), so only it is remote."""
    from ..callers import caller_of  # with the first call: the rule's modules are not needed to start

    headers = cast("Mapping[str, str] | None", getattr(request.request, "headers", None))
    return caller_of(request.lifespan_context.settings, headers, remote=headers is not None)
