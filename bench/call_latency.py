"""Per-call overhead: generate_image (submit only, recorded in the history) against a loopback relay vs (a bare echo
tool call + a direct httpx2 POST).

Both run in one process over in-memory MCP clients, interleaved, against the same relay on 127.0.0.1. Besides the
wall time it reports the CPU time of the thread that runs client and server (the relay answers in a thread of its
own): on a busy machine the wall time also counts the waits for a core, the CPU time only the work.

    uv run python bench/call_latency.py [calls]
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client
from mcp.server.mcpserver import MCPServer

from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

ANSWER = json.dumps({"Response": {"TaskId": "bench-task", "RequestId": "bench-request"}}).encode()
ARGUMENTS = {"model": "GEM-3.0", "prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "wait_seconds": 0}
BODY = {"model_name": "GEM", "model_version": "3.0", "prompt": "a lighthouse at dusk"}


async def relay(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Any) -> None:
    """A relay that accepts every task at once."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


def start_relay() -> str:
    config = uvicorn.Config(relay, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}"


def bare_server() -> MCPServer:
    server = MCPServer("bare")

    @server.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    return server


async def measure(calls: int) -> None:
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    base_url = start_relay()
    folder = Path(tempfile.mkdtemp())
    settings = Settings.model_validate(
        {
            "api_key": "sk-bench-0123456789abcdef",
            "base_url": base_url,
            "data_dir": folder / "data",
            "output_dir": folder / "images",
        }
    )
    ours: list[float] = []
    reference: list[float] = []
    ours_cpu: list[float] = []
    reference_cpu: list[float] = []
    async with (
        Client(build_server(settings), mode="legacy") as client,
        Client(bare_server(), mode="legacy") as echo,
        httpx2.AsyncClient(base_url=base_url) as http,
    ):
        for round_ in range(calls + 50):
            started, started_cpu = time.perf_counter(), time.thread_time()
            result = await client.call_tool("generate_image", ARGUMENTS)
            middle, middle_cpu = time.perf_counter(), time.thread_time()
            await echo.call_tool("echo", {"text": "a lighthouse at dusk"})
            (await http.post("/tencent-vod/v1/aigc-image", json=BODY)).raise_for_status()
            ended, ended_cpu = time.perf_counter(), time.thread_time()
            assert not result.is_error
            if round_ >= 50:  # the first calls warm connections and caches on both sides
                ours.append(middle - started)
                reference.append(ended - middle)
                ours_cpu.append(middle_cpu - started_cpu)
                reference_cpu.append(ended_cpu - middle_cpu)
    ours_ms, reference_ms = statistics.median(ours) * 1000, statistics.median(reference) * 1000
    ours_cpu_ms, reference_cpu_ms = statistics.median(ours_cpu) * 1000, statistics.median(reference_cpu) * 1000
    print(f"generate_image          : median {ours_ms:6.3f} ms over {calls} calls, CPU {ours_cpu_ms:6.3f} ms")
    print(f"echo call + direct POST : median {reference_ms:6.3f} ms over {calls} calls, CPU {reference_cpu_ms:6.3f} ms")
    print(
        f"overhead                : {ours_ms - reference_ms:+6.3f} ms, CPU {ours_cpu_ms - reference_cpu_ms:+6.3f} ms "
        "(goal <= 0.3 ms)"
    )


if __name__ == "__main__":
    # The server logs each submit at INFO, as in production; to a null file here, so the figures stay readable.
    logging.basicConfig(handlers=[logging.FileHandler(os.devnull)], level=logging.INFO, force=True)
    anyio.run(measure, int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
