"""From the relay reporting FINISH to `tasks/get` answering `completed`, for a client that speaks MCP Tasks.

Eight tasks of 20 to 60 s run at once against a loopback relay whose progress grows linearly, as Tencent's does
(the relay of bench/finish_latency.py). A Tasks client creates each with generate_image and polls tasks/get,
pausing as each answer's pollIntervalMs says. Side by side, in the same run, on a relay of its own: the bounded
wait (generate_image, then get_image_task), as bench/finish_latency.py measures it. About 70 s.

    uv run python bench/tasks_latency.py
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from finish_latency import LENGTHS, Relay, report, start, through_the_server
from mcp import Client
from mcp.server.runner import modern_on_request
from mcp.shared.direct_dispatcher import DirectDispatcher, create_direct_dispatcher_pair

from aigc_image_mcp.config import Settings
from aigc_image_mcp.protocol.sdk_private import lowlevel_server
from aigc_image_mcp.server import build_server

META: dict[str, Any] = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
}


async def as_a_task(client: DirectDispatcher, length: float, relay: Relay, done: dict[str, float]) -> None:
    arguments = {"model": "GEM-3.0", "prompt": str(length)}
    task = await client.send_raw_request(
        "tools/call", {"name": "generate_image", "arguments": arguments, "_meta": META}
    )
    while task["status"] == "working":
        await anyio.sleep(task["pollIntervalMs"] / 1000)
        task = await client.send_raw_request("tasks/get", {"taskId": task["taskId"], "_meta": META})
    assert task["status"] == "completed", task
    done[task["taskId"]] = time.monotonic() - relay.finish_time(task["taskId"])


def settings(base_url: str, folder: Path) -> Settings:
    values: dict[str, Any] = {"api_key": "sk-bench-0123456789abcdef", "base_url": base_url}
    return Settings.model_validate(values | {"output_dir": folder / "i", "data_dir": folder / "d"})


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    tasks_relay, waiting_relay = Relay(), Relay()
    tasks_url, waiting_url = start(tasks_relay), start(waiting_relay)
    tasks_done: dict[str, float] = {}
    waiting_done: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        lowlevel = lowlevel_server(build_server(settings(tasks_url, Path(one))))
        async with (
            lowlevel.lifespan(lowlevel) as state,
            Client(build_server(settings(waiting_url, Path(two))), mode="legacy", read_timeout_seconds=120) as waiting,
            anyio.create_task_group() as group,
        ):
            client, peer = create_direct_dispatcher_pair()
            await group.start(peer.run, modern_on_request(lowlevel, state), _nothing)
            await group.start(client.run, _nothing, _nothing)
            async with anyio.create_task_group() as runs:
                for length in LENGTHS:
                    runs.start_soon(as_a_task, client, length, tasks_relay, tasks_done)
                    runs.start_soon(through_the_server, waiting, length, waiting_relay, waiting_done)
            peer.close()
            client.close()
    report("MCP Tasks: tasks/get", tasks_relay, tasks_done)
    report("bounded wait (reference)", waiting_relay, waiting_done)
    print(f"goal: the Tasks median ({statistics.median(tasks_done.values()):.2f} s) no worse than the bounded wait's")


async def _nothing(*_args: Any) -> Any:
    return {}


if __name__ == "__main__":
    anyio.run(main)
