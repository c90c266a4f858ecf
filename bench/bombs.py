"""Peak memory of the server while three images arrive at once, each scenario in a fresh process. Run by hand:

    uv run python bench/bombs.py

Each scenario runs three generate_image calls concurrently through an in-memory MCP client, the relay faked at the
HTTP layer, in a child process; its peak RSS is what os.wait4 reports for that child. Linux counts in a child's
peak the memory of the parent it was forked from, so the parent imports nothing but the standard library and makes
the images in another child. Side by side:
- idle: the same server and calls, each image a 64x48 PNG (the floor: Python, the SDK, Pillow);
- tencent: three 4096x4096 PNGs (Tencent's largest output), previewed;
- limit: three 5000x5000 RGBA PNGs, at the preview limit (25 MP): the worst case that is still decoded;
- bombs: a 1-bit 13000x13000 PNG (21 KB), an RGBA 9400x9400 PNG (344 KB), and another 1-bit 13000x13000 PNG:
  saved and linked, not decoded (before the fix: 1.7 GB, 1.2 GB, 4.9 GB for the three at once).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SCENARIOS = ("idle", "tencent", "limit", "bombs")


def make(scenario: str, folder: Path) -> None:
    """The scenario's three images, as files in `folder`."""
    for number, data in enumerate(images(scenario)):
        (folder / f"{number}.png").write_bytes(data)


def images(scenario: str) -> list[bytes]:
    from PIL import Image

    from tests.support.hostile import bomb_png

    if scenario == "idle":
        return [_png(Image.new("RGB", (64, 48), "red"))] * 3
    if scenario == "tencent":
        return [_png(_gradient(4096).convert("RGB"))] * 3
    if scenario == "limit":
        return [_png(_gradient(5000).convert("RGBA"))] * 3
    return [bomb_png(13000, 13000), bomb_png(9400, 9400, "RGBA"), bomb_png(13000, 13000)]


def _gradient(side: int) -> Picture:
    from PIL import Image

    gradient = Image.linear_gradient("L")
    return gradient.resize((side, side))  # pyright: ignore[reportUnknownMemberType] - Pillow's stubs, one overload


def _png(image: Picture) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


async def child(files: dict[str, bytes], folder: Path) -> None:
    """Three generate_image calls at once, each finishing with one of `files`; the server's folders in `folder`."""
    import anyio
    import httpx2
    from mcp import Client

    from aigc_image_mcp.server import build_server
    from tests.conftest import FakeClock, make_settings
    from tests.support.fake_relay import FakeRelay, accepted, task_detail

    logging.disable()
    relay = FakeRelay()
    for number, (name, data) in enumerate(files.items()):
        task = f"1-AigcImageTask-{number}"
        relay.script.append(accepted(task))
        relay.queries[task] = deque([task_detail(task, urls=(f"https://relay.test/files/{name}",))])
        relay.files[name] = httpx2.Response(200, content=data)
    settings = make_settings(output_dir=folder / "out", data_dir=folder / "data")
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    async with Client(server, mode="legacy") as client, anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(client.call_tool, "generate_image", {"model": "GEM-3.0", "prompt": "p"})


def measure(scenario: str) -> tuple[float, float]:
    """Peak RSS in MB and seconds of a child running `scenario`."""
    with tempfile.TemporaryDirectory() as temp:
        subprocess.run([sys.executable, __file__, "--make", scenario, temp], check=True)
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, __file__, "--child", temp])
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{scenario}: the child failed ({process.returncode})")
    return usage.ru_maxrss / 1024, elapsed  # Linux reports KB


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        import anyio

        folder = Path(sys.argv[2])
        anyio.run(child, {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}, folder)
        return
    if sys.argv[1:2] == ["--make"]:
        make(sys.argv[2], Path(sys.argv[3]))
        return
    print(f"{'scenario':10} {'peak RSS':>10} {'time':>8}")
    for scenario in SCENARIOS:
        peak, elapsed = measure(scenario)
        print(f"{scenario:10} {peak:7.0f} MB {elapsed:6.2f} s")


if __name__ == "__main__":
    main()
