"""The history in PostgreSQL, for several replicas behind a load balancer: psycopg 3 with its async pool.

Imported only when AIGC_IMAGE_DATABASE_URL is set. The pool opens with the first call that needs the history and
then brings the schema up to date under an advisory lock, so replicas starting together upgrade it once. Each
statement commits itself (autocommit): one round trip per write, no BEGIN/COMMIT around it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, LiteralString, cast

import anyio
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from ..errors import HistoryError
from ..results import TaskResult
from . import schema
from .base import Listing, Record, listing, parse_task, record_of, stored_form

_POOL_SIZE = 10
_WAIT = 5.0
"""Seconds to connect, or to wait for a free connection: a database that is down becomes a note, not a hung call."""
_UPGRADE_LOCK = 0x41_49_47_43  # any constant shared by every replica: "AIGC"
_Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


def _native(statement: str) -> LiteralString:
    """A statement of schema.py with psycopg's %(name)s parameters for its :name ones."""
    return cast(LiteralString, re.sub(r":(\w+)", r"%(\1)s", statement))


_SAVE, _GET, _RECORD, _CANCEL, _RECENT, _RECENT_IN, _TAKE_SLOT, _GIVE_BACK, _USED = map(
    _native,
    (
        schema.SAVE,
        schema.GET,
        schema.RECORD,
        schema.CANCEL,
        schema.RECENT,
        schema.RECENT_IN,
        schema.TAKE_SLOT,
        schema.GIVE_BACK,
        schema.USED,
    ),
)


class PostgresHistory:
    """A pool of connections to one PostgreSQL database; `url` may hold a password and is never shown."""

    def __init__(self, url: SecretStr) -> None:
        self._url = url
        parts = conninfo_to_dict(url.get_secret_value())
        self._where = f"PostgreSQL database {parts.get('dbname', '?')} on {parts.get('host', 'localhost')}"
        self._pool: _Pool | None = None
        self._opening = anyio.Lock()

    @property
    def where(self) -> str:
        return self._where

    async def save(self, owner: str, task: TaskResult, prompt: str = "") -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {"owner": owner, "task_id": task.task_id, "prompt": prompt, "now": now}
        await self._run(_SAVE, values | {"status": task.status, "result": stored_form(task)})

    async def get(self, owner: str, task_id: str) -> TaskResult | None:
        rows = await self._run(_GET, {"owner": owner, "task_id": task_id})
        return None if not rows else parse_task(rows[0][0], self.where)

    async def record(self, owner: str, task_id: str) -> Record | None:
        rows = await self._run(_RECORD, {"owner": owner, "task_id": task_id})
        return None if not rows else record_of(rows[0], self.where)

    async def cancel(self, owner: str, task_id: str) -> None:
        await self._run(_CANCEL, {"owner": owner, "task_id": task_id})

    async def recent(self, owner: str, limit: int, status: str | None = None) -> Listing:
        values: dict[str, Any] = {"owner": owner, "limit": limit, "status": status}
        return listing(await self._run(_RECENT if status is None else _RECENT_IN, values))

    async def take_slot(self, owner: str, day: str, limit: int) -> int | None:
        rows = await self._run(_TAKE_SLOT, {"owner": owner, "day": day, "limit": limit})
        return int(rows[0][0]) if rows else None

    async def give_back(self, owner: str, day: str) -> None:
        await self._run(_GIVE_BACK, {"owner": owner, "day": day})

    async def used(self, owner: str, day: str) -> int:
        rows = await self._run(_USED, {"owner": owner, "day": day})
        return int(rows[0][0]) if rows else 0

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _run(self, statement: LiteralString, values: dict[str, Any]) -> list[Any]:
        """Run one statement on a pooled connection; any fault of the database becomes a HistoryError."""
        try:
            pool = await self._opened()
            async with pool.connection() as db:
                cursor = await db.execute(statement, values)
                return await cursor.fetchall() if cursor.description is not None else []
        except (psycopg.Error, OSError) as exc:
            raise HistoryError(
                f"The task history in the {self.where} cannot be used ({type(exc).__name__}: {exc}). Check "
                "AIGC_IMAGE_DATABASE_URL and that the database is up."
            ) from exc

    async def _opened(self) -> _Pool:
        async with self._opening:
            if self._pool is not None:
                return self._pool
            pool = _Pool(
                self._url.get_secret_value(),
                kwargs={"autocommit": True, "connect_timeout": int(_WAIT)},
                min_size=1,
                max_size=_POOL_SIZE,
                timeout=_WAIT,
                open=False,
                name="aigc-image-history",
            )
            try:
                # The upgrade's own connection first: a database that refuses connections fails at once, where
                # the pool would keep retrying for _WAIT seconds.
                await self._upgrade()
                await pool.open(wait=True, timeout=_WAIT)
            except BaseException:
                await pool.close()
                raise
            self._pool = pool
            return pool

    async def _upgrade(self) -> None:
        connection = psycopg.AsyncConnection.connect(self._url.get_secret_value(), connect_timeout=int(_WAIT))
        async with await connection as db, db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock(%s)", (_UPGRADE_LOCK,))
            cursor = await db.execute("SELECT to_regclass('schema_version') IS NOT NULL")
            found = await cursor.fetchone()
            version = 0
            if found is not None and found[0]:
                cursor = await db.execute("SELECT max(version) FROM schema_version")
                row = await cursor.fetchone()
                version = int(row[0]) if row is not None else 0
            remedy = "run the same aigc-image-mcp release on every replica"
            steps = schema.upgrade("postgresql", version, f"in the {self.where}", remedy)
            for statement in steps:
                await db.execute(cast(LiteralString, statement))
