"""The client's MCP roots: the folders it says this server may work in. Used to narrow where local pictures may be
read from. Knows the protocol only through the request context.

On a connection opened with the older initialize handshake, the roots are asked for with `roots/list`. On a
2026-07-28 connection they come only through an input request (a multi-round trip); this module does not start one,
so such a client's roots are treated as not sent (the configured folders alone apply).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning

logger = logging.getLogger(__name__)
_MODERN = "2026-07-28"


async def client_roots(ctx: Context[Any, Any]) -> tuple[Path, ...] | None:
    """The client's roots as local folders; None when the client sends none (or cannot be asked here)."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None or (ctx.protocol_version or "") >= _MODERN:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # deprecated in 2026-07-28, still what clients send
            result = await ctx.session.list_roots()  # pyright: ignore[reportDeprecated]
    except Exception as exc:  # noqa: BLE001 - a client that fails to answer has sent no roots
        logger.warning("The client did not list its roots: %s", exc)
        return None
    return tuple(path for root in result.roots if (path := _folder(str(root.uri))) is not None)


def _folder(uri: str) -> Path | None:
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))
