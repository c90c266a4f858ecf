"""Per-call overhead: generate_image (submit only, recorded in the history) against a loopback relay vs (a bare echo
tool call + a direct httpx2 POST).

By default both servers run in this process over in-memory MCP clients, interleaved, against the same relay on
127.0.0.1 (a process of its own). Besides the wall time it reports the CPU time of the thread that runs client and
server: on a busy machine the wall time also counts the waits for a core, the CPU time only the work.

With `--stdio` each server is its own process on stdio, as a desktop client runs it (ours with its console script, the
reference bench/bare_server.py), and the direct POST is made from this process: what a client sees from outside. The
CPU figure is then the servers' processes' (from /proc) plus this thread's.

    uv run python bench/call_latency.py [calls] [--stdio]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
import uvicorn
from cold_start import cpu_seconds
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
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
    """The relay in a process of its own, as a real relay is: in a thread of this process it would share the client's
    interpreter lock and caches, which a server of our own (making the POST from its process) would then pay for
    in the client's time. Stopped with this process."""
    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.SimpleQueue[int] = context.SimpleQueue()
    context.Process(target=_serve_relay, args=(ports,), daemon=True).start()
    return f"http://127.0.0.1:{ports.get()}"


def _serve_relay(ports: multiprocessing.SimpleQueue[int]) -> None:
    config = uvicorn.Config(relay, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    ports.put(server.servers[0].sockets[0].getsockname()[1])
    threading.Event().wait()


def bare_server() -> MCPServer:
    server = MCPServer("bare")

    @server.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    return server


HERE = Path(__file__).parent
SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))


def _server_pid(command: str) -> int:
    """The newest process of this user running `command` (the server a stdio client just started)."""
    found: list[tuple[float, int]] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                started = (entry / "stat").stat().st_mtime
            except OSError:
                continue
            if any(part.decode(errors="replace") == command for part in cmdline):
                found.append((started, int(entry.name)))
    return max(found)[1]


async def measure(calls: int, stdio: bool, quiet: TextIO) -> None:
    """`quiet` takes the stdio servers' logs: INFO per submit, as in production."""
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    base_url = start_relay()
    folder = Path(tempfile.mkdtemp())
    settings = {"api_key": "sk-bench-0123456789abcdef", "base_url": base_url}
    folders = {"data_dir": folder / "data", "output_dir": folder / "images"}
    ours: list[float] = []
    reference: list[float] = []
    ours_cpu: list[float] = []
    reference_cpu: list[float] = []
    async with AsyncExitStack() as stack:
        if stdio:
            env = {
                "HOME": str(folder),
                "QUICKROUTER_API_KEY": settings["api_key"],
                "QUICKROUTER_BASE_URL": base_url,
                "AIGC_IMAGE_DATA_DIR": str(folders["data_dir"]),
                "AIGC_IMAGE_OUTPUT_DIR": str(folders["output_dir"]),
            }
            bare = str(HERE / "bare_server.py")
            ours_params = StdioServerParameters(command=SCRIPT, env=env)
            client = await stack.enter_async_context(Client(stdio_client(ours_params, errlog=quiet), mode="legacy"))
            ours_pid = _server_pid(SCRIPT)
            echo_params = StdioServerParameters(command=sys.executable, args=[bare], env=env)
            echo = await stack.enter_async_context(Client(stdio_client(echo_params, errlog=quiet), mode="legacy"))
            echo_pid = _server_pid(bare)
        else:
            server = build_server(Settings.model_validate(settings | folders))
            client = await stack.enter_async_context(Client(server, mode="legacy"))
            echo = await stack.enter_async_context(Client(bare_server(), mode="legacy"))
            ours_pid = echo_pid = 0
        http = await stack.enter_async_context(httpx2.AsyncClient(base_url=base_url))

        def cpu(pid: int) -> float:
            return time.thread_time() + (cpu_seconds(pid) if pid else 0.0)

        for round_ in range(calls + 50):
            started_cpu = cpu(ours_pid)
            started = time.perf_counter()
            result = await client.call_tool("generate_image", ARGUMENTS)
            middle = time.perf_counter()
            middle_cpu = cpu(ours_pid)
            reference_start_cpu = cpu(echo_pid)
            reference_start = time.perf_counter()
            await echo.call_tool("echo", {"text": "a lighthouse at dusk"})
            (await http.post("/tencent-vod/v1/aigc-image", json=BODY)).raise_for_status()
            ended = time.perf_counter()
            ended_cpu = cpu(echo_pid)
            assert not result.is_error
            if round_ >= 50:  # the first calls warm connections and caches on both sides
                ours.append(middle - started)
                reference.append(ended - reference_start)
                ours_cpu.append(middle_cpu - started_cpu)
                reference_cpu.append(ended_cpu - reference_start_cpu)
    ours_ms, reference_ms = statistics.median(ours) * 1000, statistics.median(reference) * 1000
    ours_cpu_ms, reference_cpu_ms = statistics.median(ours_cpu) * 1000, statistics.median(reference_cpu) * 1000
    how = "stdio processes" if stdio else "in memory"
    print(f"generate_image          : median {ours_ms:6.3f} ms over {calls} calls ({how}), CPU {ours_cpu_ms:6.3f} ms")
    print(f"echo call + direct POST : median {reference_ms:6.3f} ms over {calls} calls, CPU {reference_cpu_ms:6.3f} ms")
    paired = statistics.median(a - b for a, b in zip(ours, reference, strict=True)) * 1000
    paired_cpu = statistics.median(a - b for a, b in zip(ours_cpu, reference_cpu, strict=True)) * 1000
    print(
        f"overhead                : {ours_ms - reference_ms:+6.3f} ms, CPU {ours_cpu_ms - reference_cpu_ms:+6.3f} ms "
        f"(paired: median of each round's difference {paired:+6.3f} ms, CPU {paired_cpu:+6.3f} ms; goal <= 0.3 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("calls", nargs="?", type=int, default=1000)
    parser.add_argument("--stdio", action="store_true", help="each server its own process on stdio")
    flags = parser.parse_args()
    # The server logs each submit at INFO, as in production; to a null file here, so the figures stay readable.
    logging.basicConfig(handlers=[logging.FileHandler(os.devnull)], level=logging.INFO, force=True)
    with open(os.devnull, "w") as quiet:
        anyio.run(measure, flags.calls, flags.stdio, quiet)
