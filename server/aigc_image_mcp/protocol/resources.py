"""resources/list: the caller's recently saved images, newest first, so a client's resource picker shows them. Each
one is read through the image templates server.py registers (aigc-image://tasks/<TaskId>/image-<n>.<ext>)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import ListResourcesResult, PaginatedRequestParams, Resource

from ..errors import AigcImageError
from ..results import HistoryEntry
from .caller import caller_in

if TYPE_CHECKING:
    from ..state import AppState

logger = logging.getLogger(__name__)

LISTED_TASKS = 50
"""The newest finished tasks whose images are listed: a picker stays short, and the history query stays cheap."""
_TITLE = 60


def list_saved_images(server: MCPServer[AppState], uri: str, served: Mapping[str, str]) -> None:
    """Answer resources/list with the server's own resources and the caller's saved images. `uri` is the image
    template without its extension; `served` maps each MIME type that has a template to that extension."""

    async def handler(ctx: ServerRequestContext[AppState], params: PaginatedRequestParams) -> ListResourcesResult:
        fixed = await server.list_resources()
        return ListResourcesResult(resources=[*fixed, *await _saved(ctx, uri, served)])

    # The SDK lists only fixed resources and gives its own handler no request context; this one needs the caller.
    server._lowlevel_server.add_request_handler(  # pyright: ignore[reportPrivateUsage]
        "resources/list", PaginatedRequestParams, handler
    )


async def _saved(ctx: ServerRequestContext[AppState], uri: str, served: Mapping[str, str]) -> list[Resource]:
    state = ctx.lifespan_context
    try:
        caller = caller_in(ctx)
        # The records with their local paths (a remote caller's listing has none): a URI is listed only for an image
        # saved here, and no Resource carries the path.
        entries = await state.tracker.kept(caller, LISTED_TASKS)
    except AigcImageError as exc:  # no key yet, or no history: nothing to list, and the templates still work
        logger.info("resources/list shows no saved images: %s", exc)
        return []
    return [resource for entry in entries for resource in _resources(entry, uri, served)]


def _resources(entry: HistoryEntry, uri: str, served: Mapping[str, str]) -> list[Resource]:
    found: list[Resource] = []
    for number, image in enumerate(entry.images, start=1):
        extension = served.get(image.mime_type or "")
        if image.local_path is None or extension is None:
            continue  # not saved here, or a type without a template: it cannot be read as a resource
        prompt = entry.prompt if len(entry.prompt) <= _TITLE else entry.prompt[: _TITLE - 1] + "…"
        found.append(
            Resource(
                uri=uri.format(task_id=entry.task_id, number=number) + extension,
                name=f"{entry.task_id}-{number}{extension}",
                title=prompt or f"Image {number} of task {entry.task_id}",
                description=f"{entry.model}, {entry.created_at}: {entry.prompt}",
                mime_type=image.mime_type,
            )
        )
    return found
