"""Cold start to the `initialize` answer on stdio: aigc-image-mcp vs a bare MCPServer, interleaved in one run.

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
COMMANDS = {
    "bare MCPServer": [sys.executable, str(HERE / "bare_server.py")],
    "aigc-image-mcp": [str(Path(sys.executable).with_name("aigc-image-mcp"))],
}


def time_to_initialize(command: list[str]) -> float:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"), "QUICKROUTER_API_KEY": "bench"}
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
    for name, command in COMMANDS.items():
        time_to_initialize(command)  # warm the OS file cache for both before measuring
        del name
    for _ in range(rounds):
        for name, command in COMMANDS.items():
            samples[name].append(time_to_initialize(command))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:>16}: median {value * 1000:7.1f} ms over {rounds} starts")
    print(f"{'ratio':>16}: {medians['aigc-image-mcp'] / medians['bare MCPServer']:.3f} (goal <= 1.10)")


if __name__ == "__main__":
    main()
