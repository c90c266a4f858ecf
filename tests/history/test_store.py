"""The history stores themselves: the old SQLite file upgraded without loss, the quota's one atomic step under
concurrency on both stores, and the faults a store turns into readable errors."""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from aigc_image_mcp.errors import ConfigError, HistoryError
from aigc_image_mcp.history import sqlite as history_sqlite
from aigc_image_mcp.history.base import HistoryStore, Used
from aigc_image_mcp.history.opener import open_history
from aigc_image_mcp.history.schema import VERSION
from aigc_image_mcp.results import ImageFile, TaskResult

from ..conftest import make_settings
from ..support.postgres import free_port
from ..support.stores import execute

pytestmark = pytest.mark.anyio

# The schema of the first release (0.1.0), exactly as its history.py created it.
RELEASE_0_1_SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS tasks (
    owner TEXT NOT NULL,
    task_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (owner, task_id)
);
CREATE INDEX IF NOT EXISTS tasks_by_age ON tasks (owner, created_at DESC);
"""
OWNER = "0123456789abcdef0123456789abcdef"


def task(number: int, status: str = "SUBMITTED") -> TaskResult:
    images = [ImageFile(url=f"https://x.test/{number}.png", local_path=f"/p/{number}.png")] if number == 1 else []
    return TaskResult.model_validate(
        {"task_id": f"1-AigcImageTask-{number}", "model": "GEM-3.0", "status": status, "images": images}
    )


def old_history(path: Path) -> None:
    """A history file as release 0.1.0 left it: three tasks in one second (only the rowid orders them), two owners."""
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path)) as db:
        db.executescript(RELEASE_0_1_SCHEMA)
        for number, owner in ((0, OWNER), (1, OWNER), (2, "f" * 32), (3, OWNER)):
            row = (owner, f"1-AigcImageTask-{number}", f"prompt {number}", "2026-11-01T10:00:00+00:00")
            kept = task(number, "SUCCEEDED" if number == 1 else "SUBMITTED")
            stored = kept.model_dump_json(exclude_none=True)
            db.execute("INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?)", (*row, row[3], kept.status, stored))
        db.commit()


async def test_a_history_from_the_first_release_upgrades_without_losing_a_task_or_its_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_history(data / "history.sqlite3")
    store = open_history(make_settings(data_dir=data))

    listed = await store.recent(OWNER, 10)
    await store.save(OWNER, task(4), "prompt 4")
    again = await store.recent(OWNER, 10)
    kept = await store.get(OWNER, "1-AigcImageTask-1")
    theirs = await store.recent("f" * 32, 10)
    await store.aclose()

    assert [(e.task_id, e.prompt, e.created_at) for e in listed.entries] == [
        (f"1-AigcImageTask-{n}", f"prompt {n}", "2026-11-01T10:00:00+00:00") for n in (3, 1, 0)
    ]
    assert [e.task_id for e in again.entries] == [f"1-AigcImageTask-{n}" for n in (4, 3, 1, 0)]
    assert kept is not None
    assert (kept.status, kept.images[0].local_path) == ("SUCCEEDED", "/p/1.png")
    assert [e.task_id for e in theirs.entries] == ["1-AigcImageTask-2"]
    assert execute({}, data, "SELECT version FROM schema_version") == [(VERSION,)]


async def test_two_processes_opening_the_old_file_at_once_upgrade_it_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_history(data / "history.sqlite3")
    stores = [open_history(make_settings(data_dir=data)) for _ in range(2)]
    found: list[int] = []

    async def count(store: HistoryStore) -> None:
        found.append(len((await store.recent(OWNER, 10)).entries))

    async with anyio.create_task_group() as group:
        for store in stores:
            group.start_soon(count, store)
    for store in stores:
        await store.aclose()

    assert found == [3, 3]
    assert execute({}, data, "SELECT count(*) FROM schema_version") == [(1,)]


async def test_a_history_from_a_newer_release_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_history(make_settings(data_dir=data))
    await store.used(OWNER, "2026-11-01")
    await store.aclose()
    execute({}, data, "UPDATE schema_version SET version = 99")

    newer = open_history(make_settings(data_dir=data))
    with pytest.raises(HistoryError, match=rf"schema version 99, newer than this server's \({VERSION}\): upgrade"):
        await newer.recent(OWNER, 10)
    await newer.aclose()


async def test_concurrent_callers_on_two_replicas_never_take_more_slots_than_the_limit(
    both_stores: dict[str, Any], tmp_path: Path
) -> None:
    settings = make_settings(data_dir=tmp_path / "data", **both_stores)
    replicas = [open_history(settings) for _ in range(2)]
    await replicas[0].used(OWNER, "2026-11-01")  # the schema exists before the race begins
    taken: list[int | None] = []

    async def take(store: HistoryStore) -> None:
        taken.append(await store.take_slot(OWNER, "2026-11-01", 5))

    async with anyio.create_task_group() as group:
        for number in range(24):
            group.start_soon(take, replicas[number % 2])
    used = await replicas[1].used(OWNER, "2026-11-01")
    other_day = await replicas[1].used(OWNER, "2026-11-02")
    for store in replicas:
        await store.aclose()

    assert sorted(slot for slot in taken if slot is not None) == [1, 2, 3, 4, 5]
    assert taken.count(None) == 19
    assert (used.tasks, other_day.tasks) == (5, 0)


async def test_concurrent_callers_on_two_replicas_never_take_more_images_than_the_budget(
    both_stores: dict[str, Any], tmp_path: Path
) -> None:
    settings = make_settings(data_dir=tmp_path / "data", **both_stores)
    replicas = [open_history(settings) for _ in range(2)]
    await replicas[0].used(OWNER, "2026-11-01")  # the schema exists before the race begins
    taken: list[int] = []

    async def take(store: HistoryStore, images: int) -> None:
        if await store.take_slot(OWNER, "2026-11-01", None, images, 10) is not None:
            taken.append(images)

    async with anyio.create_task_group() as group:
        for number in range(24):
            group.start_soon(take, replicas[number % 2], 1 + number % 4)
    used = await replicas[1].used(OWNER, "2026-11-01")
    left = 10 - used.images
    one_too_many = await replicas[0].take_slot(OWNER, "2026-11-01", None, left + 1, 10)
    the_rest = await replicas[1].take_slot(OWNER, "2026-11-01", None, left, 10) if left else None
    finally_used = await replicas[0].used(OWNER, "2026-11-01")
    for store in replicas:
        await store.aclose()

    assert used == Used(tasks=len(taken), images=sum(taken))
    assert 6 <= used.images <= 10  # the six 1-image calls fit unless the budget was used up
    assert one_too_many is None
    assert the_rest is None if not left else the_rest == len(taken) + 1
    assert finally_used.images == 10


async def test_an_unreachable_database_is_a_history_error_that_never_shows_its_password() -> None:
    url = f"postgresql://aigc:sk-canary-password-0000@127.0.0.1:{free_port()}/history"
    store = open_history(make_settings(database_url=url))

    with pytest.raises(HistoryError) as raised:
        await store.recent(OWNER, 10)
    await store.aclose()

    assert "PostgreSQL database history on 127.0.0.1" in str(raised.value)
    assert "AIGC_IMAGE_DATABASE_URL" in str(raised.value)
    assert "sk-canary-password-0000" not in str(raised.value)


def test_a_database_url_that_is_not_postgresql_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=r"AIGC_IMAGE_DATABASE_URL must start with postgresql://") as raised:
        make_settings(database_url="mysql://root:hunter2@db/x")
    assert "hunter2" not in str(raised.value)


async def test_a_postgresql_history_keeps_tasks_across_connections(postgres_url: str) -> None:
    first = open_history(make_settings(database_url=postgres_url))
    await first.save(OWNER, task(1), "a fox")
    await first.aclose()
    second = open_history(make_settings(database_url=postgres_url))

    kept = await second.get(OWNER, "1-AigcImageTask-1")
    await second.aclose()

    assert kept == task(1)


async def test_a_write_while_another_process_holds_the_lock_waits_for_it_instead_of_failing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_history(make_settings(data_dir=data))
    await store.used(OWNER, "2026-11-01")  # the file exists and the store's connection is open
    other = sqlite3.connect(data / "history.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write

    async with anyio.create_task_group() as group:
        group.start_soon(store.save, OWNER, task(7), "a heron")
        await anyio.lowlevel.checkpoint()  # the save has met the lock and waits for it in a thread
        other.execute("COMMIT")
    other.close()
    kept = await store.get(OWNER, "1-AigcImageTask-7")
    await store.aclose()

    assert kept == task(7)


async def test_the_history_file_itself_takes_in_the_writes_every_so_many_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_sqlite, "_CHECKPOINT_EVERY", 5)
    data = tmp_path / "data"
    store = open_history(make_settings(data_dir=data))
    await store.used(OWNER, "2026-11-01")  # the file exists
    # Another connection stays open, so that closing the store's is not the last close (which copies the WAL back).
    with closing(sqlite3.connect(data / "history.sqlite3")) as other:
        other.execute("SELECT count(*) FROM tasks").fetchall()  # it now shares the WAL
        for number in range(4):  # with the read above: five statements
            await store.save(OWNER, task(number), "a wren")
        await store.aclose()  # waits for a checkpoint under way

        main_file = tmp_path / "main-file-only.sqlite3"
        main_file.write_bytes((data / "history.sqlite3").read_bytes())  # without the WAL beside it
        with closing(sqlite3.connect(main_file)) as copy:
            found = copy.execute("SELECT count(*) FROM tasks").fetchone()[0]

    assert found == 4


def test_without_the_postgres_extra_a_database_url_is_a_config_error_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed: importing it raises ImportError
    monkeypatch.delitem(sys.modules, "aigc_image_mcp.history.postgres", raising=False)

    with pytest.raises(ConfigError, match=r"psycopg is not installed .* aigc-image-mcp\[postgres\]"):
        open_history(make_settings(database_url="postgresql://aigc@127.0.0.1/history"))
