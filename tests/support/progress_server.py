"""A server whose one tool reports progress, served by aigc_image_mcp.transport.http exactly as the real one is.

`python -m tests.support.progress_server` with the same environment as the real server. generate_image only submits,
so this is how the tests see that progress notifications reach HTTP clients over the SSE responses."""

from __future__ import annotations

import logging
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from aigc_image_mcp.config import Settings
from aigc_image_mcp.transport.http import serve


def build() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("progress")

    @server.tool()
    async def count(steps: int, ctx: Context[Any, Any]) -> str:  # pyright: ignore[reportUnusedFunction]
        """Report `steps` progress notifications, then answer."""
        for step in range(1, steps + 1):
            await ctx.report_progress(step, total=steps, message=f"step {step} of {steps}")
        return f"counted to {steps}"

    return server


if __name__ == "__main__":
    settings = Settings()
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    serve(settings, build())
