"""The task history: every task this server submitted or fetched, in one SQLite file, kept apart per caller.

A task is filed under its caller's namespace (callers.py: a fingerprint, never a key or a token). The process keeps
one connection, used by one worker thread at a time, and opens it afresh after any fault; several server processes
can share the file (WAL). A connection per call would cost ~1 ms each: closing the last one checkpoints the WAL.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from .errors import HistoryError
from .results import HistoryEntry, TaskResult

_PROMPT_SHOWN = 200
_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS cancelled (
    owner TEXT NOT NULL,
    task_id TEXT NOT NULL,
    PRIMARY KEY (owner, task_id)
);
"""
_SAVE = """
INSERT INTO tasks (owner, task_id, prompt, created_at, updated_at, status, result)
VALUES (:owner, :task_id, :prompt, :now, :now, :status, :result)
ON CONFLICT (owner, task_id) DO UPDATE SET
    prompt = CASE WHEN tasks.prompt = '' THEN excluded.prompt ELSE tasks.prompt END,
    updated_at = excluded.updated_at, status = excluded.status, result = excluded.result
"""


@dataclass(frozen=True)
class Record:
    """A task with its dates, and whether its MCP task was cancelled (which stops following it, not the task)."""

    task: TaskResult
    created_at: str
    updated_at: str
    cancelled: bool


class History:
    """The history file; `locate` names it on first use (it may resolve the user's data folder)."""

    def __init__(self, locate: Callable[[], Path]) -> None:
        self._locate = locate
        self._path: Path | None = None
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = self._locate()
        return self._path

    def save(self, owner: str, task: TaskResult, prompt: str = "") -> None:
        """Add the task, or update its status and result; the first prompt and date stay."""
        stored = task.model_copy(update={"notes": []}).model_dump_json(exclude_none=True)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {"owner": owner, "task_id": task.task_id, "prompt": prompt, "now": now}
        with self._connect() as db:
            db.execute(_SAVE, values | {"status": task.status, "result": stored})

    def get(self, owner: str, task_id: str) -> TaskResult | None:
        """The task as last saved, if this owner has it."""
        with self._connect() as db:
            row = db.execute("SELECT result FROM tasks WHERE owner = ? AND task_id = ?", (owner, task_id)).fetchone()
        return None if row is None else self._parse(row[0])

    def record(self, owner: str, task_id: str) -> Record | None:
        """The task with its dates and cancellation, if this owner has it."""
        with self._connect() as db:
            row = db.execute(
                "SELECT result, created_at, updated_at, EXISTS (SELECT 1 FROM cancelled c WHERE c.owner = t.owner "
                "AND c.task_id = t.task_id) FROM tasks t WHERE owner = ? AND task_id = ?",
                (owner, task_id),
            ).fetchone()
        return None if row is None else Record(self._parse(row[0]), row[1], row[2], bool(row[3]))

    def cancel(self, owner: str, task_id: str) -> None:
        """Remember that this owner cancelled the MCP task of `task_id`."""
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO cancelled (owner, task_id) VALUES (?, ?)", (owner, task_id))

    def recent(self, owner: str, limit: int, status: str | None = None) -> list[HistoryEntry]:
        """This owner's newest tasks, newest first; only those in `status` when it is given."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT result, prompt, created_at FROM tasks WHERE owner = ? AND (? IS NULL OR status = ?) "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (owner, status, status, limit),
            ).fetchall()
        return [self._entry(result, prompt, created_at) for result, prompt, created_at in rows]

    def _entry(self, result: str, prompt: str, created_at: str) -> HistoryEntry:
        task = self._parse(result)
        shown = prompt if len(prompt) <= _PROMPT_SHOWN else prompt[: _PROMPT_SHOWN - 1] + "…"
        return HistoryEntry(
            task_id=task.task_id,
            model=task.model,
            status=task.status,
            created_at=created_at,
            prompt=shown,
            images=task.images,
            error_code=task.error_code,
            message=task.message,
        )

    def _parse(self, text: str) -> TaskResult:
        try:
            return TaskResult.model_validate_json(text)
        except ValidationError as exc:
            raise HistoryError(f"The task history at {self.path} holds a record this version cannot read.") from exc

    def close(self) -> None:
        """Close the connection, if one is open."""
        with self._lock:
            self._drop()

    @contextmanager
    def _connect(self) -> Generator[sqlite3.Connection]:
        """The connection, in a transaction; any fault of the file or the database becomes a HistoryError, and the
        next call opens the file afresh."""
        with self._lock:
            try:
                self._db = self._db or self._open()
                with self._db as db:
                    yield db
            except (sqlite3.Error, OSError) as exc:
                self._drop()
                raise self._unusable(exc) from exc

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=2.0, check_same_thread=False)  # one thread at a time: the lock
        try:
            # With WAL, NORMAL still survives a crash of this process; it skips a sync per commit, risking only the
            # newest records on power loss, and the TaskId is in the tool result anyway.
            db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.Error:
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
            f"The task history at {self.path} cannot be used ({type(exc).__name__}: {exc}). Set "
            "AIGC_IMAGE_DATA_DIR to a folder this server can write to, or move the broken file away."
        )
