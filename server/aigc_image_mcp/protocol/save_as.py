"""save_as in a tool call: the client's roots (asked only when save_as is given), then media/saving.py does the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio.to_thread
from mcp.server.mcpserver import Context

from ..backends.base import Caller
from ..catalog.fields import OVERWRITE, SAVE_AS
from ..media.saving import Target, apply, target
from ..results import Delivery
from .roots import client_roots

if TYPE_CHECKING:
    from ..state import AppState


async def save_target(
    tool: str, arguments: dict[str, Any], ctx: Context[AppState, Any], caller: Caller
) -> Target | None:
    """The checked target of save_as, before anything is paid; None without save_as. Raises RootsNeeded on a
    2026-07-28 request whose client has roots and was not asked yet, and ArgumentsError for a path not allowed."""
    if SAVE_AS.name not in arguments:
        return None
    settings = ctx.request_context.lifespan_context.settings
    roots = None if caller.remote else await client_roots(ctx)
    return target(
        tool,
        arguments[SAVE_AS.name],
        roots=roots,
        output_dir=settings.images_dir,
        remote=caller.remote,
        overwrite=bool(arguments.get(OVERWRITE.name, False)),
    )


async def saved(delivery: Delivery, save: Target | None) -> Delivery:
    """The delivery with save_as carried out (file I/O and Pillow, off the event loop)."""
    return delivery if save is None else await anyio.to_thread.run_sync(apply, delivery, save)
