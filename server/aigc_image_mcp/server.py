"""build_server(settings) -> MCPServer: the lifespan that owns the HTTP client, the tools (their handlers are in
protocol/tools.py) with their schemas and annotations, and the protocol's extensions, middleware and image resource
templates. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from . import NAME, __version__
from .backends.profiles import profile_of
from .catalog.fields import DAYS, LIMIT, STATUS, TASK_ID
from .catalog.schema import input_schema, plain_schema, tool_description
from .config import Settings
from .protocol.gallery import ViewInToolsList, gallery
from .protocol.resources import add_image_templates, with_saved_images
from .protocol.sdk_private import raw_tool
from .protocol.tasks import Tasks
from .protocol.tools import (
    GET_ARGUMENTS,
    GET_DESCRIPTION,
    LIST_DESCRIPTION,
    USAGE_DESCRIPTION,
    generate_image,
    get_image_task,
    get_image_usage,
    list_image_tasks,
)
from .results import TaskList, TaskResult, Usage, output_schema
from .state import AppState

if TYPE_CHECKING:
    from pathlib import Path

    import httpx2

    from .catalog.models import Catalog
    from .core.polling import Clock
    from .core.prices import Prices


INSTRUCTIONS = """\
Creates images with Tencent Cloud VOD AIGC models (generate_image's description lists them and what each is for).
Every generate_image call starts one paid task, waits up to wait_seconds for it, and hands back its TaskId and,
once ready, the image (URL, saved file, preview). A task still running, or any trouble after the submit, comes
back with the TaskId: then call get_image_task with it (free), never generate_image again. list_image_tasks shows
earlier tasks, also after a restart; get_image_usage counts the images (and money) spent per day. Each argument's
description says which models accept it; leave out what the chosen model does not take."""
_WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
# get_image_task saves a local copy, but changes nothing the user has elsewhere: read-only, as far as they can tell.
_FETCHES = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
_READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
# get_image_usage may ask the upstream for the account's own figures: it reads them, and reads only.
_COUNTS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


def build_server(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None, clock: Clock | None = None
) -> MCPServer[AppState]:
    """The MCP server; `transport` replaces the network and `clock` the passing of time in tests."""
    catalog = profile_of(settings).load_catalog(settings.models_file)
    prices = None if settings.prices is None else _prices(settings.prices, catalog)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState, None]:
        state = AppState(settings, catalog, transport, clock, prices)
        try:
            yield state
        finally:
            await state.aclose()

    tools = [
        raw_tool(
            generate_image,
            title="Generate image",
            description=tool_description(catalog, settings.schema_profile, prices and prices.labels(catalog.ids)),
            input_schema=input_schema(catalog, settings.schema_profile),
            output_schema=output_schema(TaskResult),
            annotations=_WRITES,
        ),
        raw_tool(
            get_image_task,
            title="Get image task",
            description=GET_DESCRIPTION,
            input_schema=plain_schema(GET_ARGUMENTS, (TASK_ID.name,), settings.schema_profile),
            output_schema=output_schema(TaskResult),
            annotations=_FETCHES,
        ),
        raw_tool(
            list_image_tasks,
            title="List image tasks",
            description=LIST_DESCRIPTION,
            input_schema=plain_schema((STATUS, LIMIT), profile=settings.schema_profile),
            output_schema=output_schema(TaskList),
            annotations=_READS,
        ),
    ]
    shown = [tool.name for tool in tools]  # the gallery view shows tasks and their images: not the usage counts
    tools += [
        raw_tool(
            get_image_usage,
            title="Get image usage",
            description=USAGE_DESCRIPTION,
            input_schema=plain_schema((DAYS,), profile=settings.schema_profile),
            output_schema=output_schema(Usage),
            annotations=_COUNTS,
        ),
    ]
    server = MCPServer(
        NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        lifespan=lifespan,
        extensions=[Tasks(clock.now if clock is not None else anyio.current_time), gallery()],
        middleware=[ViewInToolsList(shown), with_saved_images],
    )
    add_image_templates(server)
    return server


def _prices(path: Path, catalog: Catalog) -> Prices:
    """The operator's prices, checked against `catalog`: imported only when AIGC_IMAGE_PRICES is set, so a server
    without prices starts as it did."""
    from .core.prices import load_prices

    return load_prices(path, catalog)
