"""What following a task costs, side by side with a reference in the same run. Run by hand:

    uv run python bench/delivery.py

1. A generate_image call that waits, downloads, saves, previews and records the task, against one that returns
   right after the submit (wait_seconds 0), through an in-memory MCP client with the relay faked at the HTTP layer.
2. The inline preview of images of several sizes: its time and base64 size, against sending the PNG itself.
3. The history: one save plus one list through the server's SQLite store (one WAL connection for the process, behind
   a lock), against the same statements on a bare sqlite3 connection kept open.
"""

from __future__ import annotations

import base64
import io
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp import Client
from PIL import Image
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aigc_image_mcp.callers import fingerprint
from aigc_image_mcp.config import DEFAULT_INLINE_BUDGET
from aigc_image_mcp.history.sqlite import SqliteHistory
from aigc_image_mcp.media.images import preview
from aigc_image_mcp.results import TaskResult
from aigc_image_mcp.server import build_server
from tests.conftest import FakeClock, make_settings
from tests.support.fake_relay import FakeRelay

ROUNDS = 30


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.2f} ms"


async def timed(action: Callable[[], Awaitable[object]], rounds: int = ROUNDS) -> list[float]:
    samples: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - start)
    return samples


async def calls(folder: Path) -> None:
    relay = FakeRelay()
    settings = make_settings(output_dir=folder / "images", data_dir=folder / "data")
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    arguments = {"model": "GEM-3.0", "prompt": "a red fox in snow"}
    async with Client(server, mode="legacy") as client:
        submit_only = await timed(lambda: client.call_tool("generate_image", arguments | {"wait_seconds": 0}))
        followed = await timed(lambda: client.call_tool("generate_image", arguments))
    print("generate_image, in memory, median of", ROUNDS)
    print(f"  submit only (wait_seconds 0, reference) {median_ms(submit_only)}")
    print(f"  submit + query + download + save + preview + history {median_ms(followed)}")


def png(side: int, *, noise: bool) -> bytes:
    gradient = Image.linear_gradient("L")
    image = gradient.resize((side, side)).convert("RGB")  # pyright: ignore[reportUnknownMemberType]
    if noise:
        image = Image.merge("RGB", [Image.effect_noise((side, side), 60) for _ in range(3)])
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def previews() -> None:
    print("inline image: the preview against the PNG itself (base64 characters, time to make)")
    for side, noise in ((1024, False), (2048, False), (2048, True), (4096, False)):
        data = png(side, noise=noise)
        start = time.perf_counter()
        jpeg = preview(data, DEFAULT_INLINE_BUDGET)
        took = time.perf_counter() - start
        kind = "noise" if noise else "smooth"
        print(
            f"  {side}x{side} {kind:6}  PNG {len(base64.b64encode(data)):>10,} chars   "
            f"preview {len(base64.b64encode(jpeg)):>8,} chars in {took * 1000:7.1f} ms"
        )


async def history(folder: Path) -> None:
    store = SqliteHistory(lambda: folder / "history.sqlite3")
    owner = fingerprint(SecretStr("sk-bench"))
    tasks = [TaskResult(task_id=f"1-AigcImageTask-{n}", model="GEM-3.0", status="SUBMITTED") for n in range(ROUNDS)]

    async def ours(task: TaskResult) -> None:
        await store.save(owner, task, "a prompt")
        await store.recent(owner, 10)

    kept = sqlite3.connect(folder / "reference.sqlite3", check_same_thread=False)
    kept.executescript("CREATE TABLE t (owner TEXT, task_id TEXT, result TEXT, PRIMARY KEY (owner, task_id));")

    def reference(task: TaskResult) -> None:
        with kept:
            kept.execute("INSERT OR REPLACE INTO t VALUES (?, ?, ?)", (owner, task.task_id, task.model_dump_json()))
        kept.execute("SELECT result FROM t WHERE owner = ? LIMIT 10", (owner,)).fetchall()

    iterator, references = iter(tasks), iter(tasks)
    measured = await timed(lambda: ours(next(iterator)))
    baseline = await timed(lambda: anyio.to_thread.run_sync(reference, next(references)))
    kept.close()
    await store.aclose()
    print("history: one save and one list of 10, median of", ROUNDS)
    print(f"  bare sqlite3 connection (reference)  {median_ms(baseline)}")
    print(f"  the server's History (ours)          {median_ms(measured)}")


async def main() -> None:
    logging.disable(logging.WARNING)  # the server logs each request at INFO; only the figures matter here
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        await calls(folder)
        previews()
        await history(folder)


if __name__ == "__main__":
    anyio.run(main)
