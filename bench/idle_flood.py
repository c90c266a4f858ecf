"""/healthz availability while 1,000 idle connections are held open, loopback only, bounded in count and time.

The flood opens `--idle` connections that never send a byte and reopens each one the server closes, for
`--seconds`; meanwhile a probe asks for /healthz on a new connection every 50 ms (2 s timeout each). Side by side:

- reference: the server as uvicorn ran it before (its stock h11 protocol, the same limit_concurrency), and
- guarded: the server as shipped (a header deadline for every waiting connection, the cap closing the longest idle).

    uv run python bench/idle_flood.py [--idle 1000] [--seconds 10]

Printed per server: probes answered 200 (availability), other answers (503), failures (timeouts, refusals), and how
long the first wave of idle connections stayed open (the header deadline, default 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE_EVERY = 0.05
PROBE_TIMEOUT = 2.0


@dataclass
class Figures:
    ok: int = 0
    other: int = 0
    failed: int = 0
    first_wave_open: list[float] = field(default_factory=lambda: [])
    reopened: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(kind: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGC_IMAGE_", "QUICKROUTER_"))}
    env |= {"QUICKROUTER_API_KEY": "sk-bench-0000000000000000", "AIGC_IMAGE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, __file__, "--serve-reference", str(port)]
    if kind == "guarded":
        command = [sys.executable, "-m", "aigc_image_mcp", "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the {kind} server did not start")


async def hold(port: int, stop: float, figures: Figures, wave: int) -> None:
    """One idle connection, reopened whenever the server closes it, until `stop`."""
    first = True
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        opened = time.monotonic()
        try:
            await asyncio.wait_for(reader.read(1), timeout=max(stop - opened, 0.01))
            if first and wave == 0:
                figures.first_wave_open.append(time.monotonic() - opened)
            figures.reopened += not first
        except (TimeoutError, OSError):
            pass
        finally:
            writer.close()
        first = False


async def probe(port: int, figures: Figures) -> None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status = await reader.readline()
            writer.close()
    except (TimeoutError, OSError):
        figures.failed += 1
        return
    if status.startswith(b"HTTP/1.1 200"):
        figures.ok += 1
    else:
        figures.other += 1


async def flood(port: int, idle: int, seconds: float) -> Figures:
    figures = Figures()
    stop = time.monotonic() + seconds
    holders = [asyncio.create_task(hold(port, stop, figures, 0)) for _ in range(idle)]
    await asyncio.sleep(0.5)  # the flood is in place before the first probe
    probes: list[asyncio.Task[None]] = []
    while time.monotonic() < stop:
        probes.append(asyncio.create_task(probe(port, figures)))
        await asyncio.sleep(PROBE_EVERY)
    await asyncio.gather(*holders, *probes)
    return figures


def measure(kind: str, idle: int, seconds: float) -> Figures:
    port = free_port()
    process = start(kind, port)
    try:
        return asyncio.run(flood(port, idle, seconds))
    finally:
        process.terminate()
        process.wait(timeout=60)


def serve_reference(port: int) -> None:
    """The server as uvicorn ran it before connections.py: stock h11, the same cap, uvicorn's keep-alive."""
    import uvicorn

    from aigc_image_mcp.config import Settings
    from aigc_image_mcp.server import build_server
    from aigc_image_mcp.transport.http import http_app

    settings = Settings(port=port, transport="http")
    app = http_app(build_server(settings), settings)
    cap = settings.max_connections
    uvicorn.run(app, host="127.0.0.1", port=port, http="h11", limit_concurrency=cap, ws="none", log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve-reference", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_reference:
        serve_reference(args.serve_reference)
        return
    print(f"{args.idle} idle connections held for {args.seconds:g} s; /healthz probed every {PROBE_EVERY * 1000:g} ms")
    for kind in ("reference", "guarded"):
        f = measure(kind, args.idle, args.seconds)
        probes = f.ok + f.other + f.failed
        held = (
            f"median {statistics.median(f.first_wave_open):.2f} s, max {max(f.first_wave_open):.2f} s"
            if (f.first_wave_open)
            else "never closed"
        )
        print(
            f"{kind:>9}: /healthz 200 in {f.ok}/{probes} ({100 * f.ok / max(probes, 1):.1f} %), other {f.other}, "
            f"failed {f.failed}; first-wave idle connections closed by the server: {len(f.first_wave_open)} "
            f"({held}); reopened and closed again: {f.reopened}"
        )


if __name__ == "__main__":
    main()
