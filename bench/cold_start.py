"""Cold start to the `initialize` answer on stdio: aigc-image-mcp with each backend vs a bare MCPServer, interleaved
in one run. Besides the wall time to the answer it reports the CPU time each process had spent when the answer came
(from Linux's /proc/<pid>/task/*/schedstat): on a busy machine the wall time also counts the waits for a core, the CPU
time only the work.

uv run python bench/cold_start.py [rounds] [--against DIR]

With `--against DIR` (the `server/` folder of another checkout, e.g. from `git archive <commit> server | tar -x -C
/tmp/old`) that code starts too, on the relay backend, in the same rounds: a before and after under the same load.
"""

from __future__ import annotations

import argparse
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


def time_to_initialize(command: list[str], settings: dict[str, str]) -> tuple[float, float]:
    """Seconds to the answer, and the CPU seconds the process had spent by then."""
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
    cpu = cpu_seconds(process.pid)
    assert "result" in answer, answer
    process.stdin.close()
    process.wait(timeout=10)
    return elapsed, cpu


def cpu_seconds(pid: int) -> float:
    """The CPU time the threads of process `pid` have had so far (the first field of each thread's schedstat, ns). A
    worker thread that ends meanwhile is left out (its few microseconds with it)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # gone before the open, or between the open and the read
            continue
    return total / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=20)
    parser.add_argument("--against", help="the server/ folder of another checkout, started on the relay backend too")
    flags = parser.parse_args()
    rounds = flags.rounds
    if flags.against:
        COMMANDS["... against"] = ([SCRIPT], {**RELAY, "PYTHONPATH": flags.against})  # its code found first
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for command, settings in COMMANDS.values():
        time_to_initialize(command, settings)  # warm the OS file cache for all before measuring
    for _ in range(rounds):
        for name, (command, settings) in COMMANDS.items():
            wall, cpu = time_to_initialize(command, settings)
            walls[name].append(wall)
            cpus[name].append(cpu)
    bare_wall = statistics.median(walls["bare MCPServer"])
    bare_cpu = statistics.median(cpus["bare MCPServer"])
    for name in COMMANDS:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        # The median of each round's own ratio: a round's starts ran close together, under much the same load.
        paired = statistics.median(ours / bare for ours, bare in zip(walls[name], walls["bare MCPServer"], strict=True))
        print(
            f"{name:>16}: median {wall * 1000:7.1f} ms over {rounds} starts, {wall / bare_wall:.3f}x bare "
            f"(rounds' ratios: median {paired:.3f}x); CPU {cpu * 1000:6.1f} ms, {cpu / bare_cpu:.3f}x bare"
        )
    print(f"{'goal':>16}: relay <= 1.05x bare")


if __name__ == "__main__":
    main()
