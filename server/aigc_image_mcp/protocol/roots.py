"""The client's MCP roots (the folders it works in), on both protocol revisions.

After the older initialize handshake the server asks with a `roots/list` request of its own. A 2026-07-28 request
has no back-channel: the tool answers with an input request instead, and the client retries the same call with the
roots in `input_responses` (`RootsNeeded` carries that answer out of the tool). Only clients that declared the
`roots` capability are asked; the others get None, as does a client that fails to answer `roots/list`.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import InputRequiredResult, ListRootsRequest, ListRootsResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

logger = logging.getLogger(__name__)

ROOTS_KEY = "roots"
"""The key of our roots question in an input request, and of its answer in the retry."""


class RootsNeeded(Exception):
    """The client must be asked for its roots first: the tool hands `result` back as its answer."""

    def __init__(self) -> None:
        super().__init__("The client's roots are needed first.")
        self.result = InputRequiredResult(input_requests={ROOTS_KEY: ListRootsRequest()})


async def client_roots(ctx: Context[Any]) -> tuple[Path, ...] | None:
    """The client's roots as local folders, first root first; None when the client declares no roots. On a
    2026-07-28 request not yet answered, raises RootsNeeded (the tool returns its `result`)."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return None
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        answer = (ctx.input_responses or {}).get(ROOTS_KEY)
        if answer is None:
            raise RootsNeeded
        listed = answer if isinstance(answer, ListRootsResult) else ListRootsResult.model_validate(answer)
    else:
        try:
            with warnings.catch_warnings():  # deprecated by 2026-07-28, yet the one way on older connections
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                listed = await ctx.request_context.session.list_roots()  # pyright: ignore[reportDeprecated]
        except Exception as exc:  # noqa: BLE001 - a client that fails to answer has sent no roots
            logger.warning("The client did not list its roots: %s", exc)
            return None
    # Roots that name no local folder leave none: a client that shares no folder narrows what may be read to nothing.
    return tuple(path for root in listed.roots if (path := local_path(str(root.uri))) is not None)


def local_path(uri: str) -> Path | None:
    """The local folder a `file://` root names; None for any other URI (a root may be any URI)."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    return path if path.is_absolute() else None
