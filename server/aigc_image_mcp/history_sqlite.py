"""The history in one SQLite file: the default, for one machine.

The process keeps one connection, used by one worker thread at a time, and opens it afresh after any fault; several
server processes can share the file (WAL). A connection per call would cost ~1 ms each: closing the last one
checkpoints the WAL. Each statement is its own transaction (autocommit); only the schema upgrade spans several.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from . import history_schema as schema
from .errors import HistoryError
from .history import Listing, listing, parse_task, stored_form
from .results import TaskResult


class SqliteHistory:
    """The history file; `locate` names it on first use (it may resolve the user's data folder)."""

    def __init__(self, locate: Callable[[], Path]) -> None:
        self._locate = locate
        self._path: Path | None = None
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        if self._path is None:
            self._path = self._locate()
        return str(self._path)

    async def save(self, owner: str, task: TaskResult, prompt: str = "") -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {"owner": owner, "task_id": task.task_id, "prompt": prompt, "now": now}
        await self._run(schema.SAVE, values | {"status": task.status, "result": stored_form(task)})

    async def get(self, owner: str, task_id: str) -> TaskResult | None:
        rows = await self._run(schema.GET, {"owner": owner, "task_id": task_id})
        return None if not rows else parse_task(rows[0][0], self.where)

    async def recent(self, owner: str, limit: int, status: str | None = None) -> Listing:
        values: dict[str, Any] = {"owner": owner, "limit": limit, "status": status}
        return listing(await self._run(schema.RECENT if status is None else schema.RECENT_IN, values))

    async def take_slot(self, owner: str, day: str, limit: int) -> int | None:
        rows = await self._run(schema.TAKE_SLOT, {"owner": owner, "day": day, "limit": limit})
        return int(rows[0][0]) if rows else None

    async def give_back(self, owner: str, day: str) -> None:
        await self._run(schema.GIVE_BACK, {"owner": owner, "day": day})

    async def used(self, owner: str, day: str) -> int:
        rows = await self._run(schema.USED, {"owner": owner, "day": day})
        return int(rows[0][0]) if rows else 0

    async def aclose(self) -> None:
        with self._lock:
            self._drop()

    async def _run(self, statement: str, values: dict[str, Any]) -> list[Any]:
        return await anyio.to_thread.run_sync(self._execute, statement, values)

    def _execute(self, statement: str, values: dict[str, Any]) -> list[Any]:
        with self._connect() as db:
            return db.execute(statement, values).fetchall()

    @contextmanager
    def _connect(self) -> Generator[sqlite3.Connection]:
        """The connection; any fault of the file or the database becomes a HistoryError, and the next call opens
        the file afresh."""
        with self._lock:
            try:
                self._db = self._db or self._open()
                yield self._db
            except (sqlite3.Error, OSError) as exc:
                self._drop()
                raise self._unusable(exc) from exc

    def _open(self) -> sqlite3.Connection:
        path = Path(self.where)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One thread at a time (the lock); autocommit: each statement commits itself.
        db = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
        try:
            # With WAL, NORMAL still survives a crash of this process; it skips a sync per commit, risking only the
            # newest records on power loss, and the TaskId is in the tool result anyway.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            _upgrade(db, self.where)
        except (sqlite3.Error, HistoryError):
            db.close()
            raise
        return db

    def _drop(self) -> None:
        if self._db is not None:
            with suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _unusable(self, exc: Exception) -> HistoryError:
        return HistoryError(
            f"The task history at {self.where} cannot be used ({type(exc).__name__}: {exc}). Set "
            "AIGC_IMAGE_DATA_DIR to a folder this server can write to, or move the broken file away."
        )


def _upgrade(db: sqlite3.Connection, where: str) -> None:
    """Bring the file to this version's schema, in one transaction that holds the write lock from its start, so a
    second process opening the file meanwhile waits and then finds it done."""
    db.execute("BEGIN IMMEDIATE")
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" in tables:
            version = int(db.execute("SELECT max(version) FROM schema_version").fetchone()[0])
            steps: list[str] | None = [] if version == schema.VERSION else None
        else:
            version = 1 if "tasks" in tables else 0
            steps = schema.from_v1() if version == 1 else schema.create("sqlite")
        if steps is None:
            raise HistoryError(
                f"The task history at {where} has schema version {version}, newer than this server's "
                f"({schema.VERSION}): upgrade aigc-image-mcp, or set AIGC_IMAGE_DATA_DIR to another folder."
            )
        for statement in steps:
            db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
