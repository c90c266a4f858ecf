"""The saved images as MCP resources: a template per image type reads one (aigc-image://tasks/<TaskId>/image-<n>.<ext>,
full size, from this server's local copy), and resources/list shows the caller's recently saved images, newest first,
so a client's resource picker offers them."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import ListResourcesResult, Resource
from mcp_types.methods import serialize_server_result

from ..catalog.fields import TASK_ID_PATTERN
from ..errors import AigcImageError
from ..media.images import EXTENSIONS, kind_name
from ..results import HistoryEntry
from ..state import AppState  # at run time: the SDK finds a reader's Context parameter by its annotation
from .caller import caller_in

logger = logging.getLogger(__name__)

IMAGE_URI = "aigc-image://tasks/{task_id}/image-{number}"
"""The resource of a saved image, followed by its extension: `image_uri` fills it in."""
SERVED = EXTENSIONS
"""The types an image is saved as, each with a resource template: the type is fixed per template, so an image is
served only by the template of the type its bytes really are."""
LISTED_TASKS = 50
"""The newest finished tasks whose images are listed: a picker stays short, and the history query stays cheap."""
_TITLE = 60


def image_uri(task_id: str, number: int | str, extension: str) -> str:
    """The URI of image `number` of a task, read through the template of `extension`."""
    return IMAGE_URI.format(task_id=task_id, number=number) + extension


def add_image_templates(server: MCPServer[AppState]) -> None:
    """A resource template per served image type, each read by `image_reader`."""
    for kind, extension in SERVED.items():
        server.resource(
            IMAGE_URI + extension,
            name=f"generated-image{extension}",
            title="Generated image",
            description="A generated image, full size, from this server's local copy.",
            mime_type=kind,
        )(image_reader(kind))


def image_reader(kind: str) -> Callable[[str, str, Context[AppState, Any]], Awaitable[bytes]]:
    """The reader of the resource template for images of type `kind`."""

    async def read_image(task_id: str, number: str, ctx: Context[AppState, Any]) -> bytes:
        """A saved image of one of this key's tasks, full size."""
        state = ctx.request_context.lifespan_context
        # ASCII digits only, and few: str.isdigit() also takes "٣" and "²", and int() refuses 5,000 digits.
        if not re.search(TASK_ID_PATTERN, task_id) or len(task_id) > 128 or not re.fullmatch(r"[0-9]{1,4}", number):
            raise ResourceError(f"No such image: task {task_id[:128]!r}, image {number[:12]!r}.")
        try:
            data, actual = await state.tracker.image(task_id, int(number), caller_in(ctx.request_context))
        except AigcImageError as exc:
            raise ResourceError(str(exc)) from exc
        if actual != kind:
            right = image_uri(task_id, number, EXTENSIONS[actual])
            raise ResourceError(f"Image {number} of task {task_id} is a {kind_name(actual)}: read it as {right}")
        return data

    return read_image


async def with_saved_images(ctx: ServerRequestContext[AppState, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: resources/list answers with the server's own resources, then the caller's saved images.
    The SDK's own handler lists only the fixed resources and cannot tell who asks; this adds to its answer."""
    result = await call_next(ctx)
    if ctx.method != "resources/list" or not isinstance(result, Mapping):
        return result
    saved = await _saved(ctx)
    if not saved:
        return result
    listing = dict(cast(Mapping[str, Any], result))
    listing["resources"] = [*listing.get("resources", []), *_on_the_wire(saved, ctx.protocol_version)]
    return listing


async def _saved(ctx: ServerRequestContext[AppState, Any]) -> list[Resource]:
    state = ctx.lifespan_context
    try:
        caller = caller_in(ctx)
        # The records with their local paths (a remote caller's listing has none): a URI is listed only for an image
        # saved here, and no Resource carries the path.
        entries = await state.tracker.kept(caller, LISTED_TASKS)
    except AigcImageError as exc:  # no key yet, or no history: nothing to list, and the templates still work
        logger.info("resources/list shows no saved images: %s", exc)
        return []
    return [resource for entry in entries for resource in _resources(entry)]


def _on_the_wire(resources: list[Resource], version: str) -> list[Any]:
    """`resources` as the SDK writes its own in a resources/list answer of protocol `version` (its per-version sieve),
    since what call_next hands back is already on the wire."""
    dumped = ListResourcesResult(resources=resources).model_dump(mode="json", by_alias=True, exclude_none=True)
    return serialize_server_result("resources/list", version, dumped)["resources"]


def _resources(entry: HistoryEntry) -> list[Resource]:
    found: list[Resource] = []
    for number, image in enumerate(entry.images, start=1):
        extension = SERVED.get(image.mime_type or "")
        if image.local_path is None or extension is None:
            continue  # not saved here, or a type without a template: it cannot be read as a resource
        prompt = entry.prompt if len(entry.prompt) <= _TITLE else entry.prompt[: _TITLE - 1] + "…"
        found.append(
            Resource(
                uri=image_uri(entry.task_id, number, extension),
                name=f"{entry.task_id}-{number}{extension}",
                title=prompt or f"Image {number} of task {entry.task_id}",
                description=f"{entry.model}, {entry.created_at}: {entry.prompt}",
                mime_type=image.mime_type,
            )
        )
    return found
