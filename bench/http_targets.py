"""What bench/http_load.py measures against, each run as its own process:

python bench/http_targets.py relay PORT   a fake relay that costs next to no CPU
python bench/http_targets.py floor        the throughput floor: a bare MCPServer whose one tool makes the same submit
                                          POST to the same relay with one shared httpx2 client, served exactly as
                                          aigc-image-mcp is
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

# The floor's tool signature names it, and the SDK resolves the annotations in this module's namespace.
from mcp.server.mcpserver import Context


class FastRelay(asyncio.Protocol):
    """A fake relay that costs next to no CPU, so that what is measured is our server: raw HTTP/1.1 with
    keep-alive, every request answered at once (a submit with a fresh TaskId, anything else with 200)."""

    submitted = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1").lower()
            length = next((int(line[15:]) for line in head.split("\r\n") if line.startswith("content-length:")), 0)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            FastRelay.submitted += 1
            body = json.dumps({"Response": {"TaskId": f"bench-{FastRelay.submitted}", "RequestId": "bench"}})
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
            )


def relay_main(port: int) -> None:
    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(FastRelay, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(run())


def floor_main() -> None:
    """A bare MCPServer whose one tool, generate_image, POSTs the submit aigc-image-mcp sends for the same arguments
    (the same path, JSON body and caller's bearer key) to the relay with one shared httpx2 client, and hands back the
    TaskId: everything a submit needs, nothing of ours. Served exactly as aigc-image-mcp is."""
    import httpx2
    from mcp.server.mcpserver import MCPServer

    from aigc_image_mcp.callers import bearer_token
    from aigc_image_mcp.config import Settings
    from aigc_image_mcp.transport.http import serve

    settings = Settings()
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)
    http = httpx2.AsyncClient(
        base_url=settings.base_url, limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    )
    server: MCPServer[Any] = MCPServer("floor")

    @server.tool()
    async def generate_image(model: str, prompt: str, ctx: Context[Any, Any], wait_seconds: int = 0) -> str:  # pyright: ignore[reportUnusedFunction]
        """Submit one task and hand back its TaskId."""
        name, _, version = model.partition("-")
        body = {"model_name": name, "model_version": version, "prompt": prompt}
        key = bearer_token(ctx.headers)
        answer = await http.post(settings.submit_path, json=body, headers={"Authorization": f"Bearer {key}"})
        return f"Task {answer.json()['Response']['TaskId']} submitted."

    serve(settings, server)


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"]:
        relay_main(int(sys.argv[2]))
    elif sys.argv[1:2] == ["floor"]:
        floor_main()
    else:
        sys.exit(__doc__)
