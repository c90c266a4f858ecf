"""What one history write costs, on each store, side by side with the bare driver doing one INSERT in the same run:

    uv run python bench/history_write.py [--writes 1000]

1. SQLite: the server's store (one WAL connection, synchronous=NORMAL, each statement run on the event loop while
   the connection is free) against a bare sqlite3 connection kept open, same pragmas, called inline.
2. PostgreSQL: the server's store (psycopg 3 pool, autocommit) against one bare psycopg async connection, on a
   PostgreSQL server this bench starts from the machine's binaries (with fsync on, as a real deployment).
Also the quota's take_slot, the one extra write a daily limit adds to each submit.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from aigc_image_mcp.history.base import HistoryStore
from aigc_image_mcp.history.postgres import PostgresHistory
from aigc_image_mcp.history.sqlite import SqliteHistory
from aigc_image_mcp.results import TaskResult
from tests.support.postgres import binaries, postgres_server

OWNER = "0123456789abcdef0123456789abcdef"
BARE = "INSERT INTO bare (owner, task_id, result) VALUES (%s, %s, %s)"


def task(number: int) -> TaskResult:
    return TaskResult(task_id=f"1392336703-AigcImageTask-{number:032d}", model="GEM-3.0", status="SUBMITTED")


async def timed(write: Callable[[int], Awaitable[None]], count: int) -> list[float]:
    for number in range(20):  # warm up: connections, prepared statements
        await write(-1 - number)
    took: list[float] = []
    for number in range(count):
        started = time.perf_counter()
        await write(number)
        took.append(time.perf_counter() - started)
    return took


def show(name: str, took: list[float]) -> None:
    ordered = sorted(took)
    p99 = ordered[round(0.99 * (len(ordered) - 1))]
    print(f"  {name:44} median {statistics.median(took) * 1000:6.3f} ms   p99 {p99 * 1000:6.3f} ms")


async def ours(store: HistoryStore, count: int, offset: int) -> tuple[list[float], list[float]]:
    async def save(number: int) -> None:
        await store.save(OWNER, task(offset + number), "a red fox in snow")

    async def take(number: int) -> None:
        await store.take_slot(f"{OWNER}{number}", "2026-11-25", 100)

    return await timed(save, count), await timed(take, count)


async def on_sqlite(folder: Path, count: int) -> None:
    store = SqliteHistory(lambda: folder / "history.sqlite3")
    saves, takes = await ours(store, count, 0)
    await store.aclose()
    bare = sqlite3.connect(folder / "bare.sqlite3", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = NORMAL")
    bare.execute("CREATE TABLE bare (owner TEXT, task_id TEXT, result TEXT, PRIMARY KEY (owner, task_id))")

    async def insert(number: int) -> None:
        bare.execute("INSERT INTO bare VALUES (?, ?, ?)", (OWNER, str(number), task(number).model_dump_json()))

    reference = await timed(insert, count)
    bare.close()
    print(f"SQLite, {count} writes:")
    show("bare sqlite3 INSERT, inline (reference)", reference)
    show("our store's save (history write)", saves)
    show("our store's take_slot (quota)", takes)


async def on_postgresql(url: str, count: int) -> None:
    store = PostgresHistory(SecretStr(url))
    saves, takes = await ours(store, count, 0)
    await store.aclose()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as bare:
        await bare.execute("CREATE TABLE bare (owner TEXT, task_id TEXT, result TEXT, PRIMARY KEY (owner, task_id))")

        async def insert(number: int) -> None:
            await bare.execute(BARE, (OWNER, str(number), task(number).model_dump_json()))

        reference = await timed(insert, count)
    print(f"PostgreSQL on 127.0.0.1, {count} writes:")
    show("bare psycopg INSERT, one connection (reference)", reference)
    show("our store's save (history write)", saves)
    show("our store's take_slot (quota)", takes)


def main() -> None:
    parser = argparse.ArgumentParser(description="What one history write costs, on each store.")
    parser.add_argument("--writes", type=int, default=1000)
    count = parser.parse_args().writes
    with tempfile.TemporaryDirectory() as folder:
        anyio.run(on_sqlite, Path(folder), count)
    found = binaries()
    if found is None:
        print("PostgreSQL skipped: no PostgreSQL binaries (Debian: apt-get install postgresql).")
        return
    with postgres_server(found, durable=True) as url:
        anyio.run(on_postgresql, url, count)


if __name__ == "__main__":
    main()
