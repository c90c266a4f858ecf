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
  saved and linked, not decoded (before the fix: 1.7 GB, 1.2 GB, 4.9 GB for the three at once);
- save_as: the bombs again, each call with save_as a .webp: the conversion is refused from the header (before:
  1.7 GB for one 13000x13000 1-bit image, 4.4 GB for a 30000x30000 one);
- read: the bombs saved, then each read back through resources/read (served as saved, never decoded);
- pictures: three calls, each with a reference picture as a data: URI: a 60000x60000 1-bit PNG, a 25000x25000
  grayscale PNG (625 million pixels, ~600 KB), and the 1-bit one again: refused from the header, nothing decoded
  (before the fix, once any preview had been made: 3.5 GB and 3.7 GB);
- http: the 625-million-pixel picture in one ~810 KB tools/call over HTTP to a pass-through server, with a made-up
  bearer token: refused before any decode; the figure is that server process's peak RSS (VmHWM), with an idle
  server's beside it.
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
SCENARIOS = ("idle", "tencent", "limit", "bombs", "save_as", "read", "pictures")


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
    if scenario == "pictures":
        return [bomb_png(60000, 60000), bomb_png(25000, 25000, "L"), bomb_png(60000, 60000)]
    return [bomb_png(13000, 13000), bomb_png(9400, 9400, "RGBA"), bomb_png(13000, 13000)]


def _gradient(side: int) -> Picture:
    from PIL import Image

    gradient = Image.linear_gradient("L")
    return gradient.resize((side, side))  # pyright: ignore[reportUnknownMemberType] - Pillow's stubs, one overload


def _png(image: Picture) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


async def child(scenario: str, files: dict[str, bytes], folder: Path) -> None:
    """Three generate_image calls at once, each finishing with one of `files` (with `pictures`: each sending one as
    a reference picture); the server's folders in `folder`."""
    import base64

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
    calls: list[dict[str, object]] = [{"model": "GEM-3.0", "prompt": "p"}] * 3
    if scenario == "save_as":
        calls = [call | {"save_as": f"out-{number}.webp"} for number, call in enumerate(calls)]
    if scenario == "pictures":
        uris = ["data:image/png;base64," + base64.b64encode(data).decode() for data in files.values()]
        calls = [call | {"reference_images": [uri]} for call, uri in zip(calls, uris, strict=True)]
    async with Client(server, mode="legacy") as client:
        async with anyio.create_task_group() as group:
            for call in calls:
                group.start_soon(client.call_tool, "generate_image", call)
        if scenario == "read":
            for resource in (await client.list_resources()).resources:
                await client.read_resource(str(resource.uri))


def measure_http() -> tuple[float, float]:
    """Peak RSS in MB of a pass-through HTTP server that was sent the 625-million-pixel picture in one request with
    a made-up bearer, and of the same server left idle."""
    import json
    import urllib.request

    with tempfile.TemporaryDirectory() as temp:
        subprocess.run([sys.executable, __file__, "--make", "pictures", temp], check=True)
        uri = "data:image/png;base64," + base64_of(Path(temp) / "1.png")
        peaks: list[float] = []
        for send in (False, True):
            with _http_server(Path(temp)) as (url, pid):
                if send:
                    body = {"model": "GEM-3.0", "prompt": "p", "reference_images": [uri]}
                    call = {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "tools/call",
                        "params": {"name": "generate_image", "arguments": body},
                    }
                    data = json.dumps(call).encode()
                    request = urllib.request.Request(url, data=data, method="POST", headers=_HTTP_HEADERS)  # noqa: S310
                    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
                        text = answer.read().decode()
                    assert "25000 x 25000 pixels" in text, text[:300]
                    print(f"http: the request was {len(data) / 1024:.0f} KB; refused: {'25000 x 25000' in text}")
                peaks.append(_peak(pid))
    return peaks[0], peaks[1]


_HTTP_HEADERS = {
    "Authorization": "Bearer sk-made-up-0000000000000000",
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


def base64_of(path: Path) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode()


def _peak(pid: int) -> float:
    """A running process's peak RSS in MB (Linux: VmHWM in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM: Linux only")


class _http_server:
    """The server over HTTP in pass-through mode (no key of its own) on a free port, its folders in `folder`."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __enter__(self) -> tuple[str, int]:
        import socket
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QUICKROUTER_", "AIGC_IMAGE_"))}
        env |= {
            "AIGC_IMAGE_DATA_DIR": str(self._folder / "data"),
            "AIGC_IMAGE_LOG_LEVEL": "WARNING",
            "HOME": str(self._folder),
        }
        command = [sys.executable, "-m", "aigc_image_mcp", "--transport", "http", "--port", str(port)]
        self._process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}/mcp", self._process.pid

    def __exit__(self, *_: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=60)


def measure(scenario: str) -> tuple[float, float]:
    """Peak RSS in MB and seconds of a child running `scenario`."""
    with tempfile.TemporaryDirectory() as temp:
        subprocess.run([sys.executable, __file__, "--make", scenario, temp], check=True)
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, __file__, "--child", scenario, temp])
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{scenario}: the child failed ({process.returncode})")
    return usage.ru_maxrss / 1024, elapsed  # Linux reports KB


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        import anyio

        scenario, folder = sys.argv[2], Path(sys.argv[3])
        anyio.run(child, scenario, {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}, folder)
        return
    if sys.argv[1:2] == ["--make"]:
        make(sys.argv[2], Path(sys.argv[3]))
        return
    print(f"{'scenario':10} {'peak RSS':>10} {'time':>8}")
    for scenario in SCENARIOS:
        peak, elapsed = measure(scenario)
        print(f"{scenario:10} {peak:7.0f} MB {elapsed:6.2f} s")
    idle, sent = measure_http()
    print(f"{'http idle':10} {idle:7.0f} MB")
    print(f"{'http':10} {sent:7.0f} MB")


if __name__ == "__main__":
    main()
