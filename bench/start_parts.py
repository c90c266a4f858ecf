"""Where our part of the stdio start goes: the CPU time of each step after the SDK is imported (and one MCPServer
built, which a bare server pays as well), in fresh processes, median of the rounds. With `--against DIR` (the
`server/` folder of another checkout, e.g. from `git archive <commit> server | tar -x -C /tmp/old`) it measures
that code too, alternating with this one, so that the two are compared under the same load.

uv run python bench/start_parts.py [rounds] [--against DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
PROBE = """
import sys, time
sys.path.insert(0, {server!r})
import logging
import anyio, mcp.server.stdio
from mcp.server.mcpserver import MCPServer
MCPServer("warm")  # the SDK's own start, which the bare server pays too
steps = []
last = time.process_time()
def step(name):
    global last
    now = time.process_time()
    steps.append(f"{{name}}={{(now - last) * 1000:.2f}}")
    last = now
import argparse
step("argparse")
import pydantic_settings
step("pydantic-settings")
from aigc_image_mcp.config import Settings
step("config (the Settings class)")
settings = Settings()
step("Settings()")
import aigc_image_mcp.__main__, aigc_image_mcp.transport.stdio
from aigc_image_mcp.server import build_server
step("our modules")
build_server(settings)
step("build_server")
print(";".join(steps))
"""
SETTINGS = {"QUICKROUTER_API_KEY": "bench"}


def run(server: str, home: str) -> dict[str, float]:
    """One fresh process: the milliseconds of each step."""
    environment = {"PATH": os.environ["PATH"], "HOME": home, **SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(server=server)], capture_output=True, text=True, env=environment, check=True
    )
    line = done.stdout.strip().splitlines()[-1]
    return {name: float(value) for name, value in (item.rsplit("=", 1) for item in line.split(";"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=20)
    parser.add_argument("--against", help="the server/ folder of another checkout, measured alternately")
    flags = parser.parse_args()
    servers = {"this": str(HERE.parent / "server")}
    if flags.against:
        servers["against"] = flags.against
    home = tempfile.mkdtemp()
    for server in servers.values():
        run(server, home)  # compile and cache both before measuring
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    for _ in range(flags.rounds):
        for name, server in servers.items():
            samples[name].append(run(server, home))
    for name, rounds in samples.items():
        print(f"{name} ({servers[name]}), median of {flags.rounds} processes, CPU ms:")
        for step in rounds[0]:
            print(f"  {step:>28}: {statistics.median(r[step] for r in rounds):6.1f}")
        print(f"  {'in all':>28}: {statistics.median(sum(r.values()) for r in rounds):6.1f}")


if __name__ == "__main__":
    main()
