"""The reference: a bare MCPServer with one echo tool, on stdio.

With `--pipes` it serves through this server's own stdio transport (transport/pipes.py) instead of the SDK's, so a
comparison with it leaves the transport out and shows only the work each call does.
"""

import sys

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


async def serve_on_pipes() -> None:
    # Imported here: without --pipes this script runs against older checkouts too, which lack the transport.
    from aigc_image_mcp.protocol.sdk_private import lowlevel_server
    from aigc_image_mcp.transport.pipes import pipe_stdio

    lowlevel = lowlevel_server(server)
    streams = pipe_stdio()
    assert streams is not None, "--pipes needs stdin and stdout to be pipes or sockets"
    async with streams as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


if __name__ == "__main__":
    if sys.argv[1:] == ["--pipes"]:
        anyio.run(serve_on_pipes)
    else:
        server.run()
