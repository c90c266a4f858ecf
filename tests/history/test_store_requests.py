"""Schema version 4 on both stores: the HTTP rate limit's count per caller and minute (request_windows), taken in
one statement that never lets concurrent requests past the limit, and a version-3 history upgraded to hold it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from aigc_image_mcp.history.base import HistoryStore, Used
from aigc_image_mcp.history.opener import open_history
from aigc_image_mcp.history.schema import VERSION

from ..conftest import make_settings
from ..support.stores import execute

pytestmark = pytest.mark.anyio

MINUTE = 1_780_000_020  # a minute's start, in Unix seconds
ALICE, BOB = "person:" + "a" * 32, "b" * 64


async def test_requests_count_up_to_the_limit_per_caller_and_minute(
    both_stores: dict[str, Any], tmp_path: Path
) -> None:
    store = open_history(make_settings(data_dir=tmp_path / "data", **both_stores))
    first = [await store.count_request(ALICE, MINUTE, 3) for _ in range(4)]
    other = await store.count_request(BOB, MINUTE, 3)
    late = await store.count_request(ALICE, MINUTE - 60, 3)  # a replica whose clock is behind: counts in the row's
    next_minute = [await store.count_request(ALICE, MINUTE + 60, 3) for _ in range(2)]
    behind = await store.count_request(ALICE, MINUTE, 3)
    await store.aclose()

    assert first == [1, 2, 3, None]
    assert other == 1
    assert late is None
    assert next_minute == [1, 2]
    assert behind == 3
    assert execute(both_stores, tmp_path / "data", "SELECT version FROM schema_version") == [(VERSION,)]


async def test_past_minutes_are_forgotten(both_stores: dict[str, Any], tmp_path: Path) -> None:
    store = open_history(make_settings(data_dir=tmp_path / "data", **both_stores))
    await store.count_request(ALICE, MINUTE, 3)
    await store.count_request(BOB, MINUTE + 60, 3)
    await store.forget_requests(MINUTE + 60)
    await store.aclose()

    kept = execute(both_stores, tmp_path / "data", "SELECT caller, window_start, requests FROM request_windows")
    assert kept == [(BOB, MINUTE + 60, 1)]


async def test_concurrent_requests_from_two_processes_never_count_past_the_limit(
    both_stores: dict[str, Any], tmp_path: Path
) -> None:
    stores = [open_history(make_settings(data_dir=tmp_path / "data", **both_stores)) for _ in range(2)]
    counted: list[int | None] = []

    async def count(store: HistoryStore) -> None:
        counted.append(await store.count_request(ALICE, MINUTE, 25))

    async with anyio.create_task_group() as group:
        for n in range(80):
            group.start_soon(count, stores[n % 2])
    for store in stores:
        await store.aclose()

    assert sorted(n for n in counted if n is not None) == list(range(1, 26))
    assert counted.count(None) == 55


async def test_a_version_4_history_gains_the_request_count_and_keeps_its_tasks(
    both_stores: dict[str, Any], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    store = open_history(make_settings(data_dir=data, **both_stores))
    await store.take_slot(ALICE, "2026-11-01", 5)
    await store.aclose()
    execute(both_stores, data, "DROP TABLE request_windows")
    execute(both_stores, data, "UPDATE schema_version SET version = 4")

    again = open_history(make_settings(data_dir=data, **both_stores))
    used = await again.used(ALICE, "2026-11-01")
    counted = await again.count_request(ALICE, MINUTE, 5)
    await again.aclose()

    assert (used, counted) == (Used(tasks=1, images=1), 1)
    assert execute(both_stores, data, "SELECT version FROM schema_version") == [(VERSION,)]
