"""The gallery: an MCP App (`io.modelcontextprotocol/ui`) view of a task's images, for clients that render MCP Apps.

Only clients that declare the UI extension see it: for them, tools/list names the view in each tool's `_meta.ui`
(the SDK's `Apps` helper would stamp it for every client, so a middleware adds it per request), and the results
leave out `resource_link` blocks (`for_view_clients`, which render.py applies: claude.ai stops passing such a
result to the view). The view is one HTML file with no external scripts; it shows the result's own JPEG
previews as `data:` images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, cast

from mcp.server.apps import Apps, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult, ListToolsResult

VIEW_URI = "ui://aigc-image/gallery.html"
UI_META = {"ui": {"resourceUri": VIEW_URI, "visibility": ["model", "app"]}}


@cache
def view_html() -> str:
    """The view's HTML, shipped beside this module."""
    return resources.files(__name__.rpartition(".")[0]).joinpath("gallery.html").read_text(encoding="utf-8")


def gallery() -> Apps:
    """The extension, with the view registered."""
    apps = Apps()
    apps.add_html_resource(
        VIEW_URI,
        view_html(),
        name="image-gallery",
        title="Generated images",
        description="Shows a task's images (previews), their status and expiry, with a download link for each.",
        prefers_border=True,
    )
    return apps


class ViewInToolsList:
    """Server middleware: names the view in `_meta.ui` of `tools` in tools/list, for clients that render Apps."""

    def __init__(self, tools: Sequence[str]) -> None:
        self._tools = frozenset(tools)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/list" or not client_supports_apps(ctx):
            return result
        if isinstance(result, ListToolsResult):
            result = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(result, Mapping):
            listing = dict(cast(Mapping[str, Any], result))
            listing["tools"] = [self._stamped(tool) for tool in cast(list[dict[str, Any]], listing.get("tools", []))]
            return listing
        return result

    def _stamped(self, tool: dict[str, Any]) -> dict[str, Any]:
        if tool.get("name") not in self._tools:
            return tool
        return {**tool, "_meta": {**tool.get("_meta", {}), **UI_META}}


def for_view_clients(result: CallToolResult, ctx: ServerRequestContext[Any, Any]) -> CallToolResult:
    """The result for the client of `ctx`: without `resource_link` blocks when it renders the view."""
    if not client_supports_apps(ctx):
        return result
    content = [block for block in result.content if block.type != "resource_link"]
    return result.model_copy(update={"content": content})
