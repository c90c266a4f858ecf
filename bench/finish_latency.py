"""From the relay reporting FINISH to the tool result, and how often the relay is asked, in real time.

Eight tasks of 20 to 60 s run at once against a loopback relay whose progress grows linearly, as Tencent's does.
Each goes through generate_image (wait_seconds 55) and, if it outlasts that, get_image_task. Side by side, in the
same run and on the same relay, the reference: a plain loop that queries every 2 s, the fixed pace that meets the
query budget. About 70 s.

    uv run python bench/finish_latency.py
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client

from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

LENGTHS = (21.3, 26.7, 33.1, 38.9, 45.5, 50.3, 54.7, 60.0)  # not on a 2 s grid, to be fair to the reference
QUERY = "/tencent-vod/v1/query/"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cf00000301010018dd8db40000000049454e44ae426082"
)


class Relay:
    """Accepts tasks whose prompt is their length in seconds; reports linear progress, then FINISH with a file."""

    def __init__(self) -> None:
        self.host = ""
        self.started: dict[str, tuple[float, float]] = {}
        self.queries: Counter[str] = Counter()

    def finish_time(self, task_id: str) -> float:
        start, length = self.started[task_id]
        return start + length

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload, kind = self.answer(scope["method"], scope["path"], body)
        headers = [(b"content-type", kind), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes, bytes]:
        if path.startswith("/files/"):
            return 200, PNG, b"image/png"
        if method == "POST":
            task_id = f"bench-{len(self.started)}"
            self.started[task_id] = (time.monotonic(), float(json.loads(body)["prompt"]))
            return 200, json.dumps({"Response": {"TaskId": task_id, "RequestId": "r"}}).encode(), b"application/json"
        task_id = path.removeprefix(QUERY)
        self.queries[task_id] += 1
        start, length = self.started[task_id]
        elapsed = time.monotonic() - start
        task: dict[str, Any] = {"TaskId": task_id, "Status": "PROCESSING", "Progress": int(100 * elapsed / length)}
        if elapsed >= length:
            files = [{"FileUrl": f"http://{self.host}/files/{task_id}.png", "ExpireTime": "2026-12-01T00:00:00Z"}]
            task = {"TaskId": task_id, "Status": "FINISH", "Progress": 100, "Output": {"FileInfos": files}}
        detail = {"Response": {"Status": task["Status"], "TaskType": "AigcImageTask", "AigcImageTask": task}}
        return 200, json.dumps(detail).encode(), b"application/json"


def start(relay: Relay) -> str:
    server = uvicorn.Server(uvicorn.Config(relay, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    relay.host = f"127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    return f"http://{relay.host}"


async def through_the_server(client: Client, length: float, relay: Relay, done: dict[str, float]) -> None:
    arguments = {"model": "GEM-3.0", "prompt": str(length), "wait_seconds": 55}
    result = await client.call_tool("generate_image", arguments)
    content: dict[str, Any] = result.structured_content or {}
    while content.get("status") != "SUCCEEDED":
        result = await client.call_tool("get_image_task", {"task_id": content["task_id"], "wait_seconds": 55})
        content = result.structured_content or {}
    done[content["task_id"]] = time.monotonic() - relay.finish_time(content["task_id"])


async def every_two_seconds(http: httpx2.AsyncClient, length: float, relay: Relay, done: dict[str, float]) -> None:
    answer = (await http.post("/tencent-vod/v1/aigc-image", json={"prompt": str(length)})).json()
    task_id = answer["Response"]["TaskId"]
    while True:
        detail = (await http.get(QUERY + task_id)).json()["Response"]
        if detail["Status"] == "FINISH":
            done[task_id] = time.monotonic() - relay.finish_time(task_id)
            return
        await anyio.sleep(2.0)


def report(name: str, relay: Relay, done: dict[str, float]) -> None:
    rates = [relay.queries[task] / relay.started[task][1] * 2 for task in done]
    print(
        f"{name:>24}: FINISH -> result median {statistics.median(done.values()):.2f} s, "
        f"worst {max(done.values()):.2f} s; queries per 2 s: mean {statistics.mean(rates):.2f}, "
        f"on the 60 s task {relay.queries[max(done, key=lambda t: relay.started[t][1])] / 30:.2f}"
    )


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ours, reference = Relay(), Relay()
    ours_url, reference_url = start(ours), start(reference)
    ours_done: dict[str, float] = {}
    reference_done: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.model_validate(
            {
                "api_key": "sk-bench-0123456789abcdef",
                "base_url": ours_url,
                "output_dir": Path(folder) / "i",
                "data_dir": Path(folder) / "d",
            }
        )
        async with (
            Client(build_server(settings), mode="legacy", read_timeout_seconds=120) as client,
            httpx2.AsyncClient(base_url=reference_url) as http,
            anyio.create_task_group() as group,
        ):
            for length in LENGTHS:
                group.start_soon(through_the_server, client, length, ours, ours_done)
                group.start_soon(every_two_seconds, http, length, reference, reference_done)
    report("aigc-image-mcp", ours, ours_done)
    report("reference: every 2 s", reference, reference_done)
    print("goal: median <= 1.0 s, no more than one query per 2 s on average over a 60 s task")


if __name__ == "__main__":
    anyio.run(main)
