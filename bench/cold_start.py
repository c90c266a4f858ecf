"""Cold start to the `initialize` answer on stdio: aigc-image-mcp with each backend vs a bare MCPServer, interleaved
in one run.

uv run python bench/cold_start.py [rounds]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))
RELAY = {"QUICKROUTER_API_KEY": "bench"}
TENCENT = {"TENCENTCLOUD_SECRET_ID": "AKIDbench", "TENCENTCLOUD_SECRET_KEY": "bench"}
COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "bare MCPServer": ([sys.executable, str(HERE / "bare_server.py")], RELAY),
    "aigc-image-mcp": ([SCRIPT], RELAY),
    "... tencentcloud": ([SCRIPT], TENCENT),
}


def time_to_initialize(command: list[str], settings: dict[str, str]) -> float:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), **settings}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
    process.stdin.flush()
    answer = json.loads(process.stdout.readline())
    elapsed = time.perf_counter() - started
    assert "result" in answer, answer
    process.stdin.close()
    process.wait(timeout=10)
    return elapsed


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command, settings in COMMANDS.values():
        time_to_initialize(command, settings)  # warm the OS file cache for all before measuring
    for _ in range(rounds):
        for name, (command, settings) in COMMANDS.items():
            samples[name].append(time_to_initialize(command, settings))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    bare = medians["bare MCPServer"]
    for name, value in medians.items():
        print(f"{name:>16}: median {value * 1000:7.1f} ms over {rounds} starts, {value / bare:.3f}x bare")
    print(f"{'goal':>16}: relay <= 1.10x bare")


if __name__ == "__main__":
    main()
