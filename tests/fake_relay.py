"""A fake QuickRouter relay: one request handler, served through httpx.MockTransport or a real HTTP server."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

SUBMIT_PATH = "/tencent-vod/v1/aigc-image"
Handler = Callable[[httpx.Request], httpx.Response]


def accepted(task_id: str = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t") -> httpx.Response:
    """Tencent's answer to a task it created."""
    return httpx.Response(200, json={"Response": {"TaskId": task_id, "RequestId": "req-1"}})


@dataclass
class FakeRelay:
    """Records every request; answers submits from a script (default: accept with a fresh TaskId)."""

    requests: list[httpx.Request] = field(default_factory=lambda: [])
    script: deque[httpx.Response | Exception] = field(default_factory=lambda: deque())
    routes: dict[tuple[str, str], Handler] = field(default_factory=lambda: {})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is not None:
            return route(request)
        if (request.method, request.url.path) != ("POST", SUBMIT_PATH):
            return httpx.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
        if self.script:
            answer = self.script.popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer
        return accepted(f"task-{len(self.submits)}")

    @property
    def submits(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == SUBMIT_PATH]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@contextmanager
def serve(relay: Handler) -> Generator[str]:
    """Serve `relay` over real HTTP on 127.0.0.1; yields the base URL."""

    class _Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = httpx.Request(
                self.command, f"http://{self.headers['host']}{self.path}", headers=dict(self.headers), content=body
            )
            response = relay(request)
            content = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
