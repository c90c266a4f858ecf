"""build_server(settings) -> MCPServer: the lifespan that owns the HTTP client, and the tools. Nothing else."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict

from . import __version__
from .arguments import parse_arguments, parse_plain, wait_seconds
from .callers import Caller, caller_of
from .catalog import Catalog, load_catalog
from .config import Settings
from .errors import AigcImageError, RelayError
from .fields import (
    DEFAULT_LIMIT,
    DEFAULT_WAIT,
    LIMIT,
    OVERWRITE,
    SAVE_AS,
    STATUS,
    TASK_ID,
    TASK_ID_PATTERN,
    WAIT_AGAIN,
)
from .gallery import ViewInToolsList, gallery, shown
from .images import EXTENSIONS, kind_name
from .listing import list_saved_images
from .pictures import allowed_folders, base64_hint, embed, has_local
from .polling import RealClock
from .render import task_list, task_result
from .results import Delivery, TaskList, TaskResult, output_schema
from .roots import RootsNeeded, client_roots
from .save_hook import save_target, saved
from .schema import input_schema, plain_schema, tool_description
from .tasks_ext import Tasks, makes_task
from .wire import SubmitRequest

if TYPE_CHECKING:
    import httpx2

    from .backends.base import Backend
    from .polling import Clock
    from .tracker import Tracker

logger = logging.getLogger(__name__)

NAME = "aigc-image-mcp"
INSTRUCTIONS = """\
Creates images with Tencent Cloud VOD AIGC models (generate_image's description lists them and what each is for).
Every generate_image call starts one paid task, waits up to wait_seconds for it, and hands back its TaskId and,
once ready, the image (URL, saved file, preview). A task still running, or any trouble after the submit, comes
back with the TaskId: then call get_image_task with it (free), never generate_image again. list_image_tasks shows
earlier tasks, also after a restart. Each argument's description says which models accept it; leave out what the
chosen model does not take."""
IMAGE_URI = "aigc-image://tasks/{task_id}/image-{number}"
"""The resource of a saved image, followed by its extension."""
SERVED = EXTENSIONS
"""The types an image is saved as, each with a resource template: the type is fixed per template, so an image is
served only by the template of the type its bytes really are."""
_GET_ARGUMENTS = (TASK_ID, WAIT_AGAIN, SAVE_AS, OVERWRITE)
_WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
# get_image_task saves a local copy, but changes nothing the user has elsewhere: read-only, as far as they can tell.
_FETCHES = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
_READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


@dataclass
class AppState:
    """What every tool call shares for the life of the process."""

    settings: Settings
    catalog: Catalog
    transport: httpx2.AsyncBaseTransport | None = None
    clock: Clock | None = None
    _http: httpx2.AsyncClient | None = field(default=None, init=False)
    _backend: Backend | None = field(default=None, init=False)
    _tracker: Tracker | None = field(default=None, init=False)

    @property
    def tracker(self) -> Tracker:
        """Built on the first call that needs it, with the process's one HTTP client: its modules (the backend, the
        history) and the client's TLS set-up (~80 ms for the CA bundle) stay off the cold start."""
        if self._tracker is None:
            from .backends import open_backend
            from .tracker import Tracker

            self._http = _http_client(self.settings, self.transport)
            self._backend = open_backend(self.settings, self._http)
            clock = self.clock or RealClock()
            self._tracker = Tracker(self.settings, self.catalog, self._backend, self._http, clock)
        return self._tracker

    async def aclose(self) -> None:
        """Close what a call opened: the backend, the HTTP client and the history's connection."""
        if self._tracker is not None:
            await self._tracker.aclose()
        if self._backend is not None:
            await self._backend.aclose()
        if self._http is not None:
            await self._http.aclose()


class _RawArguments(ArgModelBase):
    """Hands the tool the arguments as sent: the catalog, not pydantic, decides what is valid."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def build_server(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None, clock: Clock | None = None
) -> MCPServer[AppState]:
    """The MCP server; `transport` replaces the network and `clock` the passing of time in tests."""
    catalog = load_catalog(settings.models_file, settings.backend)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState, None]:
        state = AppState(settings, catalog, transport, clock)
        try:
            yield state
        finally:
            await state.aclose()

    tools = [
        _tool(
            generate_image,
            title="Generate image",
            description=tool_description(catalog),
            parameters=input_schema(catalog, settings.schema_profile),
            output=TaskResult,
            annotations=_WRITES,
        ),
        _tool(
            get_image_task,
            title="Get image task",
            description=GET_DESCRIPTION,
            parameters=plain_schema(_GET_ARGUMENTS, required=(TASK_ID.name,)),
            output=TaskResult,
            annotations=_FETCHES,
        ),
        _tool(
            list_image_tasks,
            title="List image tasks",
            description=LIST_DESCRIPTION,
            parameters=plain_schema((STATUS, LIMIT)),
            output=TaskList,
            annotations=_READS,
        ),
    ]
    tasks = Tasks(("generate_image",), _render, (clock or RealClock()).now)
    shown = [tool.name for tool in tools]
    server = MCPServer(
        NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        lifespan=lifespan,
        extensions=[tasks, gallery(shown)],  # the first wraps the others: a task result is made from the view's
        middleware=[ViewInToolsList(shown)],
    )
    for kind, extension in SERVED.items():
        server.resource(
            IMAGE_URI + extension,
            name=f"generated-image{extension}",
            title="Generated image",
            description="A generated image, full size, from this server's local copy.",
            mime_type=kind,
        )(_image_reader(kind))
    list_saved_images(server, IMAGE_URI, SERVED)
    return server


GET_DESCRIPTION = (
    "Check on a task that generate_image started, wait up to wait_seconds for it, and hand back its image: URL, "
    "saved file and preview. Free: it never starts a new task. Use it when generate_image answered SUBMITTED or "
    "RUNNING, or mentioned trouble after the submit, and to show an earlier result again."
)
LIST_DESCRIPTION = (
    "List the newest image tasks of this API key (also from before a restart), optionally only those in one status: "
    "TaskId, model, status, prompt, and where each image was saved. Free, and reads only this server's local history."
)


async def generate_image(
    arguments: dict[str, Any], ctx: Context[AppState, Any]
) -> CallToolResult | InputRequiredResult:
    """Validate, submit one task, and wait a bounded time for its image; the TaskId always comes back."""
    state = ctx.request_context.lifespan_context
    request: SubmitRequest | None = None
    try:
        spec, request = parse_arguments(arguments, state.catalog)
        caller = _caller(ctx)
        save = await save_target("generate_image", arguments, ctx, caller)  # refused before anything is paid
        request = await _with_pictures(ctx, request, caller)
        task = await state.tracker.submit(spec, request, caller)
    except RootsNeeded as needed:
        return needed.result
    except AigcImageError as exc:
        hint = (
            base64_hint(request)
            if request and isinstance(exc, RelayError) and state.settings.backend == "quickrouter"
            else ""
        )
        raise ToolError(str(exc) + hint) from exc
    wait = wait_seconds(arguments)
    if wait == 0 or makes_task(
        ctx.client_capabilities, ctx.protocol_version, arguments
    ):  # an MCP Task: the client polls tasks/get
        return task_result(await saved(Delivery(task), save))
    try:
        report = _reporter(ctx)
        await report(0, f"Submitted task {task.task_id} on {task.model}; waiting up to {wait} s for the image.")
        return task_result(await saved(await state.tracker.follow(task, caller, wait, report), save))
    except Exception:  # a bug past this point must not cost the user the task they paid for
        logger.exception("Following task %s failed", task.task_id)
        note = "This server failed while waiting for the task (see its log); call get_image_task with this task_id."
        return task_result(Delivery(task.model_copy(update={"notes": [*task.notes, note]})))


async def get_image_task(
    arguments: dict[str, Any], ctx: Context[AppState, Any]
) -> CallToolResult | InputRequiredResult:
    """A task's state and, once finished, its image; waits up to wait_seconds while it runs."""
    state = ctx.request_context.lifespan_context
    try:
        values = parse_plain("get_image_task", arguments, _GET_ARGUMENTS, required=(TASK_ID.name,))
        wait = int(values.get(WAIT_AGAIN.name, DEFAULT_WAIT))
        caller = _caller(ctx)
        save = await save_target("get_image_task", values, ctx, caller)
        delivery = await state.tracker.lookup(values[TASK_ID.name], caller, wait, _reporter(ctx))
    except RootsNeeded as needed:
        return needed.result
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    return task_result(await saved(delivery, save))


async def list_image_tasks(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
    """The newest tasks of this API key, from the local history."""
    state = ctx.request_context.lifespan_context
    try:
        values = parse_plain("list_image_tasks", arguments, (STATUS, LIMIT))
        limit = int(values.get(LIMIT.name, DEFAULT_LIMIT))
        listing = await state.tracker.recent(_caller(ctx), limit, values.get(STATUS.name))
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    return CallToolResult(
        content=[TextContent(type="text", text=task_list(listing))], structured_content=listing.dump()
    )


def _image_reader(kind: str) -> Callable[[str, str, Context[AppState, Any]], Awaitable[bytes]]:
    """The reader of the resource template for images of type `kind`."""

    async def read_image(task_id: str, number: str, ctx: Context[AppState, Any]) -> bytes:
        """A saved image of one of this key's tasks, full size."""
        state = ctx.request_context.lifespan_context
        # ASCII digits only, and few: str.isdigit() also takes "٣" and "²", and int() refuses 5,000 digits.
        if not re.search(TASK_ID_PATTERN, task_id) or len(task_id) > 128 or not re.fullmatch(r"[0-9]{1,4}", number):
            raise ResourceError(f"No such image: task {task_id[:128]!r}, image {number[:12]!r}.")
        try:
            data, actual = await state.tracker.image(task_id, int(number), _caller(ctx))
        except AigcImageError as exc:
            raise ResourceError(str(exc)) from exc
        if actual != kind:
            right = IMAGE_URI.format(task_id=task_id, number=number) + EXTENSIONS[actual]
            raise ResourceError(f"Image {number} of task {task_id} is a {kind_name(actual)}: read it as {right}")
        return data

    return read_image


def _render(delivery: Delivery, ctx: ServerRequestContext[Any, Any]) -> CallToolResult:
    """A task's CallToolResult for the client of `ctx` (tasks/get hands back what the tool would)."""
    return shown(task_result(delivery), ctx)


def _reporter(ctx: Context[AppState, Any]) -> Callable[[float, str], Awaitable[None]]:
    """MCP progress out of 100: Tencent's percentage, nudged up when it has not moved, since the protocol wants each
    notification higher than the last. A no-op for a client that sent no progress token."""
    last = -1.0

    async def report(percent: float, message: str) -> None:
        nonlocal last
        last = min(max(percent, last + 0.1), 99.9)
        await ctx.report_progress(last, 100, message)

    return report


def _http_client(settings: Settings, transport: httpx2.AsyncBaseTransport | None) -> httpx2.AsyncClient:
    """The one client of the process: connection reuse across calls, the configured timeouts. Over HTTP many calls
    share it: it keeps a connection per concurrent call rather than httpx2's 20, so a busy server does not open (and
    TLS-handshake) a new relay connection for most calls. Made with the first call: its TLS set-up costs ~80 ms."""
    import httpx2

    return httpx2.AsyncClient(
        base_url=settings.base_url,
        timeout=httpx2.Timeout(settings.timeout, connect=settings.connect_timeout),
        headers={"User-Agent": f"{NAME}/{__version__}", "Accept": "application/json"},
        transport=transport,
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
    )


async def _with_pictures(ctx: Context[AppState, Any], request: SubmitRequest, caller: Caller) -> SubmitRequest:
    """The request with the user's local pictures read and re-encoded (pictures.py); the client's roots are asked
    for only when there is a path to check."""
    if not has_local(request):
        return request
    settings = ctx.request_context.lifespan_context.settings
    roots = None if caller.remote else await client_roots(ctx)
    folders = allowed_folders(settings.input_dirs, Path.home(), roots)
    return await embed(request, remote=caller.remote, folders=folders)


def _caller(ctx: Context[AppState, Any]) -> Caller:
    """Who pays for this call and whose history it reads: every tool asks here (callers.py has the rule). Only an
    HTTP request carries headers."""
    headers = ctx.headers
    return caller_of(ctx.request_context.lifespan_context.settings, headers, remote=headers is not None)


def _tool(
    fn: Any,
    *,
    title: str,
    description: str,
    parameters: dict[str, Any],
    output: type[BaseModel],
    annotations: ToolAnnotations,
) -> Tool:
    """A tool whose advertised schema is `parameters` and whose function receives the raw arguments."""
    return Tool(
        fn=fn,
        name=fn.__name__,
        title=title,
        description=description,
        parameters=parameters,
        fn_metadata=FuncMetadata(arg_model=_RawArguments, output_model=output, output_schema=output_schema(output)),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations,
    )
