"""A fake QuickRouter relay: one request handler, served through httpx2.MockTransport or a real HTTP server."""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
from PIL import Image

from aigc_image_mcp.backends import open_backend
from aigc_image_mcp.backends.base import Backend
from aigc_image_mcp.config import Settings

SUBMIT_PATH = "/tencent-vod/v1/aigc-image"
QUERY_PREFIX = "/tencent-vod/v1/query/"
FILES_PREFIX = "/files/"
Handler = Callable[[httpx2.Request], httpx2.Response]
Answer = httpx2.Response | Exception


def png(width: int = 64, height: int = 48, *, noise: bool = False) -> bytes:
    """A PNG image; with `noise`, one that compresses badly (a worst case for previews)."""
    image = Image.new("RGBA", (width, height), (200, 40, 40, 255))
    if noise:
        size = (width, height)
        channels = [Image.effect_noise(size, 120) for _ in range(3)]
        image = Image.merge("RGBA", [*channels, Image.new("L", size, 255)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def task_detail(
    task_id: str,
    *,
    status: str = "FINISH",
    progress: int | None = 100,
    urls: tuple[str, ...] = (),
    err_code: int = 0,
    err_code_ext: str = "",
    message: str = "",
) -> httpx2.Response:
    """Tencent's DescribeTaskDetail of an image task, as the relay passes it through."""
    files = [
        {"FileUrl": url, "ExpireTime": "2026-01-05T12:03:57Z", "StorageMode": "Temporary", "FileType": "png"}
        for url in urls
    ]
    task = {
        "TaskId": task_id,
        "Status": status,
        "ErrCode": err_code,
        "ErrCodeExt": err_code_ext,
        "Message": message,
        "Progress": progress,
        "Input": {"ModelName": "GEM", "ModelVersion": "3.0", "Prompt": "a red fox in snow"},
        "Output": {"FileInfos": files},
    }
    body = {"Response": {"Status": status, "TaskType": "AigcImageTask", "RequestId": "q-1", "AigcImageTask": task}}
    return httpx2.Response(200, json=body)


def running(task_id: str, progress: int = 40) -> httpx2.Response:
    return task_detail(task_id, status="PROCESSING", progress=progress)


def rejected(task_id: str, code: str = "InvalidParameter.VoilationContent", message: str = "unsafe") -> httpx2.Response:
    return task_detail(task_id, err_code=70000, err_code_ext=code, message=message)


def accepted(task_id: str = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t") -> httpx2.Response:
    """Tencent's answer to a task it created."""
    return httpx2.Response(200, json={"Response": {"TaskId": task_id, "RequestId": "req-1"}})


def unknown_task(code: str = "InvalidParameterValue.TaskId", message: str = "TaskId not found") -> httpx2.Response:
    """Tencent's answer (HTTP 200, its error envelope) about a TaskId it does not have, passed through by the relay."""
    return httpx2.Response(200, json={"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "q-2"}})


@dataclass
class FakeRelay:
    """Records every request; answers submits from a script (default: accept with a fresh TaskId)."""

    requests: list[httpx2.Request] = field(default_factory=lambda: [])
    script: deque[Answer] = field(default_factory=lambda: deque())
    routes: dict[tuple[str, str], Handler] = field(default_factory=lambda: {})
    queries: dict[str, deque[Answer]] = field(default_factory=lambda: {})
    """Answers to the queries of a task, in turn; the last one repeats. Unscripted: finished, one image."""
    files: dict[str, Answer] = field(default_factory=lambda: {})
    """Answers to GET /files/<name>. Unscripted: a small PNG."""
    keys: frozenset[str] = frozenset()
    """The API keys the relay accepts; any other bearer gets 401. Empty: every key is accepted."""

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        if self.keys and request.headers.get("authorization", "").removeprefix("Bearer ") not in self.keys:
            return httpx2.Response(401, json={"error": {"message": "invalid token"}})
        route = self.routes.get((request.method, request.url.path))
        if route is not None:
            return route(request)
        if request.method == "GET" and request.url.path.startswith(QUERY_PREFIX):
            return self._query(request)
        if request.method == "GET" and request.url.path.startswith(FILES_PREFIX):
            return _answer(
                self.files.get(request.url.path.removeprefix(FILES_PREFIX)) or httpx2.Response(200, content=png())
            )
        if (request.method, request.url.path) != ("POST", SUBMIT_PATH):
            return httpx2.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
        if self.script:
            return _answer(self.script.popleft())
        return accepted(f"task-{len(self.submits)}")

    def _query(self, request: httpx2.Request) -> httpx2.Response:
        task_id = request.url.path.removeprefix(QUERY_PREFIX)
        script = self.queries.get(task_id)
        if not script:
            return task_detail(task_id, urls=(self.file_url(request, f"{task_id}.png"),))
        return _answer(script.popleft() if len(script) > 1 else script[0])

    @staticmethod
    def file_url(request: httpx2.Request, name: str) -> str:
        """Where this relay serves the file `name`, seen from the client that sent `request`."""
        return str(request.url.copy_with(path=FILES_PREFIX + name, query=None))

    @property
    def queried(self) -> list[str]:
        """The TaskIds queried, in order."""
        return [r.url.path.removeprefix(QUERY_PREFIX) for r in self.requests if r.url.path.startswith(QUERY_PREFIX)]

    @property
    def submits(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == SUBMIT_PATH]

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)


def _answer(answer: Answer) -> httpx2.Response:
    if isinstance(answer, Exception):
        raise answer
    return answer


@contextmanager
def serve(relay: Handler, port: int = 0) -> Generator[str]:
    """Serve `relay` over real HTTP on 127.0.0.1 (on a free port unless `port` is given); yields the base URL."""

    class _Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = httpx2.Request(
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

    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def relay_backend(handler: Handler, settings: Settings) -> AsyncGenerator[Backend]:
    """The real backend `settings` choose (the relay's), over `handler` as its relay."""
    transport = httpx2.MockTransport(handler)
    async with httpx2.AsyncClient(base_url=settings.base_url, transport=transport) as http:
        yield open_backend(settings, http)


def answering(response: httpx2.Response) -> Handler:
    """A relay that gives `response` to every request."""
    return lambda request: response


def main() -> None:
    """`uv run python -m tests.support.fake_relay [port]`: a relay on 127.0.0.1 that accepts any key and finishes
    every task at once with a small PNG, to try the server, a client and `doctor` without a QuickRouter key."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    with serve(FakeRelay(), port) as url:
        print(f"A fake relay at {url}: set QUICKROUTER_BASE_URL={url} and any QUICKROUTER_API_KEY. Ctrl+C stops it.")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
