"""What many tests share: the TaskId of Tencent's documented example, and how a tool result is read."""

from __future__ import annotations

import threading
from collections.abc import Generator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mcp.types import CallToolResult, TextContent

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
"""A TaskId in Tencent's documented form: `<SubAppId>-AigcImageTask-<32 hex>t`."""


def text_of(result: CallToolResult) -> str:
    """The text a model reads from a tool result."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def structured(result: CallToolResult) -> dict[str, Any]:
    """A tool result's structured content; a failed assertion shows the text when there is none."""
    assert result.structured_content is not None, text_of(result)
    return result.structured_content


@contextmanager
def trickling(body: bytes, content_type: str, every: float) -> Generator[tuple[str, list[int]]]:
    """A server on 127.0.0.1 that answers any GET or POST with `body`, one byte every `every` s (each byte well
    within a read timeout); yields its URL and a one-item list counting the bytes sent."""
    sent = [0]
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            for byte in body:
                if done.wait(every):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return  # the client hung up
                sent[0] += 1

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent
    finally:
        done.set()
        server.shutdown()
        server.server_close()
