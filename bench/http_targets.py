"""What bench/http_load.py measures against, each run as its own process:

python bench/http_targets.py relay PORT   a fake relay that costs next to no CPU
python bench/http_targets.py echo         a bare MCPServer echo tool, served exactly as aigc-image-mcp is
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any


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


def echo_main() -> None:
    """A bare MCPServer with one echo tool, served exactly as aigc-image-mcp is (settings from the environment)."""
    from mcp.server.mcpserver import MCPServer

    from aigc_image_mcp.config import Settings
    from aigc_image_mcp.http import serve

    settings = Settings()
    logging.basicConfig(stream=sys.stderr, level=settings.log_level)  # as aigc-image-mcp's main() does
    server: MCPServer[Any] = MCPServer("echo")

    @server.tool()
    async def echo(text: str) -> str:  # pyright: ignore[reportUnusedFunction]
        """Echo the text (async, like generate_image: no worker thread)."""
        return text

    serve(settings, server)


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"]:
        relay_main(int(sys.argv[2]))
    elif sys.argv[1:2] == ["echo"]:
        echo_main()
    else:
        sys.exit(__doc__)
