"""build_server(settings) -> MCPServer: the lifespan that owns the HTTP client, and the tools. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .arguments import parse_arguments
from .catalog import Catalog, load_catalog
from .config import Settings
from .errors import AigcImageError, ConfigError
from .guard import bearer_token
from .relay import RelayClient
from .schema import input_schema, tool_description

NAME = "aigc-image-mcp"
INSTRUCTIONS = """\
Creates images with Tencent Cloud VOD AIGC models (Gemini "GEM", Qwen, Hunyuan) through the QuickRouter relay.
Every generate_image call starts one paid task. Never call it again to check on a task or after an error that
says the task may have been created: tell the user the TaskId instead. Each argument's description says which
models accept it; leave out what the chosen model does not take."""


class SubmittedTask(BaseModel):
    """What generate_image hands back: the TaskId that the user paid for, and where it came from."""

    task_id: str = Field(description="Tencent's TaskId; the handle for this image for 3 days.")
    request_id: str = Field(description="Tencent's RequestId of the submit, for support requests.")
    model: str = Field(description="The model id the task runs on.")
    status: str = Field(description="SUBMITTED: the relay accepted the task and is generating the image.")


@dataclass(frozen=True)
class AppState:
    """What every tool call shares for the life of the process."""

    settings: Settings
    catalog: Catalog
    relay: RelayClient


class _RawArguments(ArgModelBase):
    """Hands the tool the arguments as sent: the catalog, not pydantic, decides what is valid."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def build_server(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> MCPServer[AppState]:
    """The MCP server; `transport` replaces the network in tests."""
    catalog = load_catalog(settings.models_file)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncGenerator[AppState, None]:
        timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
        headers = {"User-Agent": f"{NAME}/{version(NAME)}", "Accept": "application/json"}
        # Over HTTP many calls share this client: keep a connection per concurrent call rather than httpx's 20,
        # so a busy server does not open (and TLS-handshake) a new relay connection for most calls.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(
            base_url=settings.base_url, timeout=timeout, headers=headers, transport=transport, limits=limits
        ) as http:
            yield AppState(settings, catalog, RelayClient(http, submit_path=settings.submit_path))

    tools = [
        _tool(
            generate_image,
            title="Generate image",
            description=tool_description(catalog),
            parameters=input_schema(catalog, settings.schema_profile),
            output=SubmittedTask,
            annotations=ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
            ),
        )
    ]
    return MCPServer(NAME, version=version(NAME), instructions=INSTRUCTIONS, tools=tools, lifespan=lifespan)


async def generate_image(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
    """Validate, submit one task, and hand back its TaskId."""
    state = ctx.request_context.lifespan_context
    try:
        spec, request = parse_arguments(arguments, state.catalog)
        submission = await state.relay.submit(request, _api_key(ctx))
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    task = SubmittedTask(
        task_id=submission.task_id, request_id=submission.request_id, model=spec.id, status="SUBMITTED"
    )
    text = (
        f"Submitted task {task.task_id} on {task.model}. The relay is generating the image; Tencent keeps the "
        "task for 3 days under this TaskId. Give the TaskId to the user, and do not submit again to check on it."
    )
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=task.model_dump(mode="json")
    )


def _api_key(ctx: Context[AppState, Any]) -> SecretStr:
    """The relay key for this call: the server's own, else (pass-through over HTTP) the caller's bearer token."""
    settings = ctx.request_context.lifespan_context.settings
    if settings.api_key is not None:
        return settings.api_key
    token = bearer_token(ctx.headers)
    if token is not None:
        return SecretStr(token)
    raise ConfigError(
        "No QuickRouter API key is configured, so no image can be generated. Set the environment variable "
        "QUICKROUTER_API_KEY for this server (in Claude Desktop: the extension's API key setting) and restart it; "
        "over HTTP, a client may instead send its own key as Authorization: Bearer."
    )


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
        fn_metadata=FuncMetadata(arg_model=_RawArguments, output_model=output),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations,
    )
