"""Sizes the MCP Apps gallery adds: the view's HTML, and tools/list with and without the UI metadata. Instant.

uv run python bench/ui_sizes.py
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp.server.runner import modern_on_request
from mcp.shared.direct_dispatcher import create_direct_dispatcher_pair

from aigc_image_mcp.config import Settings
from aigc_image_mcp.protocol.gallery import view_html
from aigc_image_mcp.protocol.sdk_private import lowlevel_server
from aigc_image_mcp.server import build_server


def meta(extensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
    }


async def main() -> None:
    settings = Settings.model_validate({"api_key": "sk-bench-0123456789abcdef", "base_url": "https://relay.invalid"})
    lowlevel = lowlevel_server(build_server(settings))
    sizes: dict[str, int] = {}
    ui = {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}
    async with lowlevel.lifespan(lowlevel) as state, anyio.create_task_group() as group:
        client, peer = create_direct_dispatcher_pair()
        await group.start(peer.run, modern_on_request(lowlevel, state), _nothing)
        await group.start(client.run, _nothing, _nothing)
        for name, extensions in (("without UI", {}), ("with UI", ui)):
            listing = await client.send_raw_request("tools/list", {"_meta": meta(extensions)})
            listing.pop("_meta", None)  # the per-response serverInfo stamp
            sizes[name] = len(json.dumps(listing, separators=(",", ":")).encode())
        peer.close()
        client.close()
    print(f"view (ui://aigc-image/gallery.html): {len(view_html().encode())} bytes")
    for name, size in sizes.items():
        print(f"tools/list {name}: {size} bytes")
    print(f"UI metadata adds {sizes['with UI'] - sizes['without UI']} bytes")


async def _nothing(*_args: Any) -> Any:
    return {}


if __name__ == "__main__":
    anyio.run(main)
