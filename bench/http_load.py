"""Load on the HTTP transport, loopback only, bounded in count and time.

1. Throughput at 1 and at 50 concurrent clients: generate_image (submit only, recorded in the history) side by side
   with the floor, a bare MCPServer whose one tool makes the same submit POST to the same fake relay with one shared
   httpx2 client, served the same way (the same guard, uvicorn, stateless SSE responses), interleaved (1 client:
   call by call; 50: round by round, in alternating order); calls/s, p50 and p99 of each, and our ratios to the
   floor: the median of the rounds' ratios, with their range. Goal: >= 0.9x the floor's calls/s, p99 <= 1.2x.
2. Soak: 10,000 generate_image calls in a row on each history store (SQLite, then a PostgreSQL server this bench
   starts from the machine's PostgreSQL binaries), no error allowed, with the server's resident memory along the way.

    uv run python bench/http_load.py [--clients 1 50] [--calls 1000] [--rounds 8] [--soak 10000]

Each client is one keep-alive HTTP/1.1 connection POSTing JSON-RPC tools/call (the stateless server needs no
handshake) and reading the SSE answer: a load generator this light leaves the two cores to what is measured. The
fake relay is as light (raw asyncio). Both servers run in pass-through mode, so every call carries a bearer token
through the guard. Linux only (RSS is read from /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import binaries, postgres_server  # noqa: E402

KEY = "sk-bench-0000000000000000"
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
    "Authorization": f"Bearer {KEY}",
}
GENERATE = ("generate_image", {"model": "GEM-3.0", "prompt": "a red fox in snow", "wait_seconds": 0})
DEADLINE = 600.0  # seconds for any one phase: the bench never hangs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str], health: str) -> Generator[subprocess.Popen[bytes]]:
    """Start a server process and wait until `health` answers; stop it afterwards."""
    proc = subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx2.get(health, timeout=1)
                break
            except httpx2.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{args} did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def server_env(url: str, relay: str = "http://127.0.0.1:9") -> dict[str, str]:
    """Both servers alike: pass-through auth (every call carries its key), warnings only, relay at `relay`."""
    port = url.rpartition(":")[2]
    return {
        "AIGC_IMAGE_PORT": port,
        "AIGC_IMAGE_LOG_LEVEL": "WARNING",
        "QUICKROUTER_API_KEY": "",
        "QUICKROUTER_BASE_URL": relay,
    }


@dataclass
class Round:
    calls: int
    seconds: float
    latencies: list[float]
    cpu: float = 0.0
    """CPU seconds the server process used over the round (user + system)."""

    @property
    def throughput(self) -> float:
        return self.calls / self.seconds


def call_body(tool: tuple[str, dict[str, Any]], number: int) -> bytes:
    name, arguments = tool
    params = {"name": name, "arguments": arguments}
    return json.dumps({"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": params}).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for tools/call: a load generator this light
    leaves the CPU to the servers being measured."""

    def __init__(self, url: str) -> None:
        authority = url.split("/")[2]
        self.host, _, port = authority.partition(":")
        self.port = int(port)
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {**HEADERS, "Host": authority}.items())
        self.stream: anyio.abc.SocketStream | None = None

    async def call(self, tool: tuple[str, dict[str, Any]], number: int) -> None:
        """One tools/call; raises unless the SSE answer carries a result that is not a tool error."""
        if self.stream is None:
            self.stream = await anyio.connect_tcp(self.host, self.port)
        body = call_body(tool, number)
        request = f"POST /mcp HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        await self.stream.send(request)
        answer = b""
        while not answer.endswith(b"\r\n0\r\n\r\n"):  # the end of a chunked (SSE) response
            answer += await self.stream.receive()
        if not answer.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"call failed: {answer[:300]!r}")
        data = answer[answer.index(b"data: ") + 6 :].split(b"\r\n", 1)[0]
        result = json.loads(data).get("result")
        if result is None or result.get("isError"):
            raise RuntimeError(f"call failed: {data[:300]!r}")

    async def aclose(self) -> None:
        if self.stream is not None:
            await self.stream.aclose()


async def load(url: str, tool: tuple[str, dict[str, Any]], clients: int, calls: int) -> Round:
    """`calls` calls spread over `clients` concurrent clients, each with its own connection."""
    latencies: list[float] = []
    per_client = calls // clients

    async def client_loop(index: int) -> None:
        connection = Connection(url)
        try:
            for n in range(per_client):
                started = time.perf_counter()
                await connection.call(tool, index * per_client + n)
                latencies.append(time.perf_counter() - started)
        finally:
            await connection.aclose()

    started = time.perf_counter()
    with anyio.fail_after(DEADLINE):
        async with anyio.create_task_group() as group:
            for index in range(clients):
                group.start_soon(client_loop, index)
    return Round(per_client * clients, time.perf_counter() - started, latencies)


async def alternate(urls: dict[str, str], calls: int) -> dict[str, Round]:
    """`calls` calls to each server, one at a time, alternating; each server's calls/s over its own busy time."""
    connections = {name: Connection(url) for name, url in urls.items()}
    latencies: dict[str, list[float]] = {name: [] for name in urls}
    with anyio.fail_after(DEADLINE):
        for number in range(calls):
            for name, connection in connections.items():
                started = time.perf_counter()
                await connection.call(GENERATE, number)
                latencies[name].append(time.perf_counter() - started)
    for connection in connections.values():
        await connection.aclose()
    return {name: Round(calls, sum(found), found) for name, found in latencies.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def soak(url: str, pid: int, calls: int) -> list[tuple[int, float]]:
    """`calls` calls in a row on one connection; RSS every tenth of the way."""
    samples = [(0, rss_mib(pid))]
    step = max(1, calls // 10)
    connection = Connection(url)
    with anyio.fail_after(DEADLINE):
        for n in range(1, calls + 1):
            await connection.call(GENERATE, n)
            if n % step == 0:
                samples.append((n, rss_mib(pid)))
    await connection.aclose()
    return samples


def report(name: str, rounds: list[Round]) -> None:
    """Print the median throughput, the latency percentiles over every call and the server's CPU per call."""
    latencies = [value for r in rounds for value in r.latencies]
    best = statistics.median(r.throughput for r in rounds)
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    cpu = sum(r.cpu for r in rounds) / sum(r.calls for r in rounds) * 1000
    print(
        f"{name:>16}: {best:8.0f} calls/s (median of {len(rounds)}), p50 {p50:6.2f} ms, p99 {p99:6.2f} ms, "
        f"server CPU {cpu:5.2f} ms/call"
    )


def ratios(floor: list[Round], ours: list[Round]) -> None:
    """Ours against the floor round by round (each pair ran back to back, so a slow spell of the machine hits both):
    the median of the pairs' ratios, and their range; p99 over every call of each."""
    speed = [o.throughput / f.throughput for f, o in zip(floor, ours, strict=True)]
    cpu = [(o.cpu / o.calls) / (f.cpu / f.calls) for f, o in zip(floor, ours, strict=True)]
    p99 = percentile([v for r in ours for v in r.latencies], 0.99) / percentile(
        [v for r in floor for v in r.latencies], 0.99
    )
    print(
        f"{'ours / floor':>16}: {statistics.median(speed):.2f}x calls/s (rounds {min(speed):.2f}-{max(speed):.2f}), "
        f"p99 {p99:.2f}x, server CPU per call {statistics.median(cpu):.2f}x (rounds {min(cpu):.2f}-{max(cpu):.2f})"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def compare(urls: dict[str, str], pids: dict[str, int], clients: int, args: argparse.Namespace) -> None:
    """Rounds of the floor and ours at `clients` concurrent clients, back to back in alternating order; the ratios
    of ours to the floor. One client alternates between the two call by call, so that a busy moment of the machine
    hits both alike."""
    calls = args.calls if clients > 1 else args.calls // 4
    rounds: dict[str, list[Round]] = {name: [] for name in urls}
    for url in urls.values():  # warm up: imports, connection pools, the relay, the history
        await load(url, GENERATE, clients, clients * 10)
    for index in range(args.rounds):
        if clients == 1:
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            for name, found in (await alternate(urls, calls)).items():
                found.cpu = cpu_seconds(pids[name]) - before[name]
                rounds[name].append(found)
            continue
        order = list(urls.items())
        for name, url in order if index % 2 == 0 else reversed(order):
            before_one = cpu_seconds(pids[name])
            found = await load(url, GENERATE, clients, calls)
            found.cpu = cpu_seconds(pids[name]) - before_one
            rounds[name].append(found)
    print(f"Throughput, {clients} concurrent client(s), {calls} calls per round:")
    for name, found in rounds.items():
        report(name, found)
    ratios(rounds["floor"], rounds["generate_image"])


def main() -> None:
    parser = argparse.ArgumentParser(description="Load on the HTTP transport, loopback only.")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--calls", type=int, default=1000, help="calls per measured round (a quarter with 1 client)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--soak", type=int, default=10_000, help="calls in a row per store for the memory check; 0: none"
    )
    args = parser.parse_args()
    relay, floor, served = (f"http://127.0.0.1:{free_port()}" for _ in range(3))
    targets = str(ROOT / "bench" / "http_targets.py")
    with tempfile.TemporaryDirectory() as data:
        ours_env = server_env(served, relay) | {"AIGC_IMAGE_DATA_DIR": data}
        with (
            process([targets, "relay", relay.rpartition(":")[2]], {}, f"{relay}/healthz"),
            process([targets, "floor"], server_env(floor, relay), f"{floor}/healthz") as bare,
            process(["-m", "aigc_image_mcp", "--transport", "http"], ours_env, f"{served}/healthz") as server,
        ):
            for clients in args.clients:
                urls = {"floor": f"{floor}/mcp", "generate_image": f"{served}/mcp"}
                anyio.run(compare, urls, {"floor": bare.pid, "generate_image": server.pid}, clients, args)
            if not args.soak:
                return
            soak_report("SQLite", server.pid, anyio.run(soak, f"{served}/mcp", server.pid, args.soak))
            found = binaries()
            if found is None:
                print("Soak on PostgreSQL skipped: no PostgreSQL binaries (Debian: apt-get install postgresql).")
                return
            shared = f"http://127.0.0.1:{free_port()}"
            pg_env = server_env(shared, relay) | {"AIGC_IMAGE_DATA_DIR": data}
            with (
                postgres_server(found) as database,
                process(
                    ["-m", "aigc_image_mcp", "--transport", "http"],
                    pg_env | {"AIGC_IMAGE_DATABASE_URL": database},
                    f"{shared}/healthz",
                ) as on_postgres,
            ):
                soak_report("PostgreSQL", on_postgres.pid, anyio.run(soak, f"{shared}/mcp", on_postgres.pid, args.soak))


def soak_report(store: str, pid: int, samples: list[tuple[int, float]]) -> None:
    print(f"Soak on {store}: {samples[-1][0]} generate_image calls in a row, no error. Server RSS (MiB) by calls done:")
    print("  " + ", ".join(f"{n}: {mib:.1f}" for n, mib in samples))


if __name__ == "__main__":
    main()
