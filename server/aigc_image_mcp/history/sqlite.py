"""The history in one SQLite file: the default, for one machine.

The process keeps one connection, used by one thread at a time, and opens it afresh after any fault; several server
processes can share the file (WAL). A connection per call would cost ~1 ms each: closing the last one checkpoints the
WAL. Each statement is its own transaction (autocommit); only the schema upgrade spans several.

A statement runs on the event loop itself when it cannot block there: the file is open, no thread holds the
connection, and it does not wait for a lock another process holds (busy_timeout 0 on the loop). Otherwise it goes to a
worker thread, which may wait. A write in WAL mode with synchronous=NORMAL is a few tens of microseconds; the hop to a
thread and back costs several times that, most of a stdio call's overhead. The WAL is copied back into the file (a
checkpoint, with its fsync) every _CHECKPOINT_EVERY statements by a thread of its own on a connection of its own, so
the statements on the loop never wait for it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Generator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import anyio.to_thread

from ..errors import HistoryError
from . import schema
from .base import SqlStore, Statements

logger = logging.getLogger(__name__)

_WAIT_FOR_LOCK_MS = 5000
"""How long a worker thread waits for another process's write lock."""
_CHECKPOINT_EVERY = 1000


class SqliteHistory(SqlStore):
    """The history file; `locate` names it on first use (it may resolve the user's data folder)."""

    _sql = Statements.of()

    def __init__(self, locate: Callable[[], Path]) -> None:
        self._locate = locate
        self._path: Path | None = None
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._statements = 0
        """Statements since the last checkpoint began."""
        self._checkpointer: threading.Thread | None = None

    @property
    def where(self) -> str:
        if self._path is None:
            self._path = self._locate()
        return str(self._path)

    async def aclose(self) -> None:
        if self._checkpointer is not None:
            await anyio.to_thread.run_sync(self._checkpointer.join)
        with self._lock:
            self._drop()

    async def _run(self, statement: str, values: dict[str, Any]) -> list[Any]:
        rows = self._on_loop(statement, values)
        if rows is None:
            rows = await anyio.to_thread.run_sync(self._execute, statement, values)
        self._statements += 1
        if self._statements >= _CHECKPOINT_EVERY and not (self._checkpointer and self._checkpointer.is_alive()):
            self._statements = 0
            self._checkpointer = threading.Thread(target=self._checkpoint, name="history-checkpoint", daemon=True)
            self._checkpointer.start()
        return rows

    def _on_loop(self, statement: str, values: dict[str, Any]) -> list[Any] | None:
        """The statement's rows, run here and now if that cannot block; None when it must go to a thread."""
        if self._db is None or not self._lock.acquire(blocking=False):
            return None
        try:
            return self._db.execute(statement, values).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None  # another process is writing: wait for it in a thread
            self._drop()
            raise self._unusable(exc) from exc
        except sqlite3.Error as exc:
            self._drop()
            raise self._unusable(exc) from exc
        finally:
            self._lock.release()

    def _execute(self, statement: str, values: dict[str, Any]) -> list[Any]:
        with self._connect() as db:
            db.execute(f"PRAGMA busy_timeout = {_WAIT_FOR_LOCK_MS}")
            try:
                return db.execute(statement, values).fetchall()
            finally:
                db.execute("PRAGMA busy_timeout = 0")

    def _checkpoint(self) -> None:
        """Copy the WAL into the file (PASSIVE: it waits for no one, and no one waits for it); a fault only leaves the
        WAL longer until the next one, so it is logged, not raised."""
        try:
            with closing(sqlite3.connect(self.where, isolation_level=None)) as db:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            logger.warning("Checkpoint of the task history at %s failed: %s", self.where, exc)

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
        """The file, opened and brought up to date. A file another connection is creating or turning to WAL at this
        moment can answer "locked" at once, without the busy timeout (SQLite calls no busy handler there): opening
        is tried again until _WAIT_FOR_LOCK_MS has passed. Only ever run in a worker thread."""
        deadline = time.monotonic() + _WAIT_FOR_LOCK_MS / 1000
        while True:
            try:
                return self._open_once()
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _open_once(self) -> sqlite3.Connection:
        path = Path(self.where)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One thread at a time (the lock); autocommit: each statement commits itself.
        db = sqlite3.connect(path, timeout=_WAIT_FOR_LOCK_MS / 1000, check_same_thread=False, isolation_level=None)
        try:
            # With WAL, NORMAL still survives a crash of this process; it skips a sync per commit, risking only the
            # newest records on power loss, and the TaskId is in the tool result anyway.
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            _upgrade(db, self.where)
            db.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints (fsync) run in a thread: see _checkpoint
            db.execute("PRAGMA busy_timeout = 0")
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
        else:
            version = 1 if "tasks" in tables else 0
        remedy = "upgrade aigc-image-mcp, or set AIGC_IMAGE_DATA_DIR to another folder"
        steps = schema.upgrade("sqlite", version, f"at {where}", remedy)
        for statement in steps:
            db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
