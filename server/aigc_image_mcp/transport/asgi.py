"""What the HTTP front door's middleware (guard.py, ratelimit.py) share: the ASGI types, the prologue that hands
anything but an HTTP request (the lifespan) on untouched and reads the request's headers, and the answer to a request
refused before MCP sees it: a JSON-RPC error without an id, the shape MCP clients read from an HTTP error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Scope = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ExtraHeaders = tuple[tuple[bytes, bytes], ...]

INVALID_REQUEST = -32600


class HttpMiddleware:
    """ASGI middleware in front of `app` that looks at HTTP requests only: `handle` gets each, with its headers
    (names in lower case; a repeated header keeps its last value)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        await self.handle(scope, headers, receive, send)

    async def handle(self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send) -> None:
        """One HTTP request: answer it, or hand it on to `self.app`."""
        await self.app(scope, receive, send)


async def refuse(send: Send, status: int, message: str, headers: ExtraHeaders = ()) -> None:
    """Answer HTTP `status` with a JSON-RPC error saying `message`."""
    await respond(
        send, status, {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}, headers
    )


async def respond(send: Send, status: int, payload: dict[str, Any], headers: ExtraHeaders = ()) -> None:
    """Answer HTTP `status` with `payload` as JSON, and `headers` besides its type and length."""
    body = json.dumps(payload).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})
