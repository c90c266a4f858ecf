"""What the rate limit costs per request, counted in the process or in the shared store, side by side:

    uv run python bench/shared_rate.py [--requests 2000] [--callers 50]

Each request goes through the RateLimit middleware (ASGI, in front of an app that answers 200 at once), the three
counters interleaved request by request, `callers` callers in turn, none ever refused:
1. the in-process token buckets (one process alone: AIGC_IMAGE_RATE_LIMIT without a shared store);
2. the count in the SQLite file (several workers on one machine): one upsert per request;
3. the count in PostgreSQL on 127.0.0.1 (replicas), a server this bench starts from the machine's binaries, with
   fsync on as a real deployment: one upsert per request through the store's pool, as the server runs it (the rate
   limit's own pool, synchronous_commit off) and, for reference, with each count waiting for its WAL flush.
Also the bare ASGI call without a rate limit, the floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from aigc_image_mcp.history.postgres import PostgresHistory
from aigc_image_mcp.history.sqlite import SqliteHistory
from aigc_image_mcp.transport.asgi import ASGIApp, Message, Receive, Scope, Send
from aigc_image_mcp.transport.buckets import Buckets
from aigc_image_mcp.transport.ratelimit import Counter, RateLimit
from aigc_image_mcp.transport.shared import SharedCount
from tests.support.postgres import binaries, postgres_server

RATE = 1_000_000  # never reached: the bench measures counting, not refusing


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})


async def receive() -> Message:
    return {"type": "http.request", "body": b""}


async def send(message: Message) -> None:
    if message["type"] == "http.response.start" and message["status"] != 200:
        raise AssertionError(message)


def scopes(callers: int) -> list[dict[str, Any]]:
    return [
        {"type": "http", "path": "/mcp", "headers": [(b"authorization", f"Bearer sk-bench-caller-{n:04d}".encode())]}
        for n in range(callers)
    ]


async def run(requests: int, callers: int, pg_url: str | None, folder: Path) -> None:
    counters: dict[str, Counter] = {"in-process token buckets": Buckets(RATE)}
    counters["shared count, SQLite file"] = SharedCount(SqliteHistory(lambda: folder / "history.sqlite3"), RATE)
    if pg_url is not None:
        durable = PostgresHistory(SecretStr(pg_url))
        counters["shared count, PostgreSQL, fsync per count"] = SharedCount(durable, RATE)
        counters["shared count, PostgreSQL (as served)"] = SharedCount(PostgresHistory(SecretStr(pg_url), False), RATE)
    doors: dict[str, ASGIApp] = {"no rate limit (floor)": app}
    doors.update({name: RateLimit(app, counter) for name, counter in counters.items()})
    each = scopes(callers)
    for number in range(50):  # warm up: connections, schema, prepared statements
        for door in doors.values():
            await door(each[number % callers], receive, send)
    took: dict[str, list[float]] = {name: [] for name in doors}
    for number in range(requests):
        scope = each[number % callers]
        for name, door in doors.items():
            started = time.perf_counter()
            await door(scope, receive, send)
            took[name].append(time.perf_counter() - started)
    for counter in counters.values():
        await counter.aclose()
    floor = statistics.median(took["no rate limit (floor)"])
    print(f"Per request, median of {requests} (interleaved), {callers} callers in turn:")
    for name, times in took.items():
        ordered = sorted(times)
        p99 = ordered[round(0.99 * (len(ordered) - 1))]
        median = statistics.median(times)
        print(
            f"  {name:44} median {median * 1e6:8.1f} µs  (+{(median - floor) * 1e6:7.1f} µs over the floor)"
            f"   p99 {p99 * 1e6:8.1f} µs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="The rate limit's cost per request, in the process or shared.")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--callers", type=int, default=50)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="aigc-image-bench-") as folder:
        found = binaries()
        pg_url = None
        if found is None:
            print("PostgreSQL skipped: no PostgreSQL binaries (Debian: apt-get install postgresql).")
        else:
            pg_url = stack.enter_context(postgres_server(found, durable=True))
        anyio.run(run, args.requests, args.callers, pg_url, Path(folder))


if __name__ == "__main__":
    main()
