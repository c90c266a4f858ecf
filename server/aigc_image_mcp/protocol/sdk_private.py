"""The SDK's internals this server still relies on, all of them here, each with why: everything else goes through the
SDK's public surface. tests/protocol/test_sdk_private.py fails, naming which, when an SDK upgrade changes one.

* `raw_tool`: MCPServer derives a tool's input schema from its function's signature. It has no public way to
  advertise a schema written by hand (ours comes from the catalog, in the chosen profile), nor to hand a tool the
  arguments as sent (the catalog, not pydantic, decides what is valid). So the `Tool` is built here, with a
  `FuncMetadata` whose argument model has no fields: the SDK checks and passes no argument, and the tool reads them
  from the request (`ServerRequestContext.params`, which is public). The metadata has no output model either, so
  the SDK does not validate each result's structured content once more (a pydantic model built per call): the
  results are built from the models the schemas are generated from, which tests/protocol/test_results.py holds
  together, and every client checks the content against the schema anyway. The SDK's migration guide calls `Tool`,
  `FuncMetadata` and `ArgModelBase` its tool internals.
* `lowlevel_server`: MCPServer serves stdio only through run_stdio_async, which opens the streams itself; running
  it on other streams (transport/stdio.py) takes its low-level server, which it does not expose yet (a TODO there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, cast

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations

ToolResult = CallToolResult | InputRequiredResult
# A string: parametrizing Context, a pydantic model, builds a class, which the start need not pay for an alias.
RawHandler: TypeAlias = "Callable[[dict[str, Any], Context[Any, Any]], Awaitable[ToolResult]]"
"""A tool's handler: the arguments as sent, and the request's context."""


def raw_tool(
    handler: RawHandler,
    *,
    title: str,
    description: str,
    input_schema: dict[str, Any],
    output_schema: dict[str, Any],
    annotations: ToolAnnotations,
) -> Tool:
    """The tool named after `handler`, advertised with these schemas; its results go out as the handler built
    them."""

    async def call(ctx: Context[Any, Any]) -> ToolResult:
        return await handler(sent_arguments(ctx.request_context), ctx)

    return Tool(
        fn=call,
        name=handler.__name__,
        title=title,
        description=description,
        parameters=input_schema,
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=output_schema),
        is_async=True,
        context_kwarg="ctx",
        annotations=annotations,
    )


def sent_arguments(request: ServerRequestContext[Any, Any]) -> dict[str, Any]:
    """The arguments of a tools/call request as the client sent them; {} when it sent none. (The SDK has checked
    already that they are an object.)"""
    arguments = (request.params or {}).get("arguments")
    return dict(cast(Mapping[str, Any], arguments)) if arguments else {}


def lowlevel_server(server: MCPServer[Any]) -> Server[Any]:
    """The low-level server that MCPServer runs on each connection."""
    return server._lowlevel_server  # pyright: ignore[reportPrivateUsage]
