"""Direct access to the history store a test's server uses, SQLite or PostgreSQL, to look at or spoil its rows."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, LiteralString

import psycopg


def execute(store: dict[str, Any], data_dir: Path, statement: LiteralString) -> list[tuple[Any, ...]]:
    """Run one statement (no parameters) on the store; its rows, if any."""
    url = store.get("database_url")
    if url is not None:
        with psycopg.connect(url, autocommit=True) as db:
            cursor = db.execute(statement)
            return cursor.fetchall() if cursor.description is not None else []
    with closing(sqlite3.connect(data_dir / "history.sqlite3", isolation_level=None)) as db:
        return db.execute(statement).fetchall()
