"""The history in PostgreSQL, for several replicas behind a load balancer: psycopg 3 with its async pool.

Imported only when AIGC_IMAGE_DATABASE_URL is set. The pool opens with the first call that needs the history and
then brings the schema up to date under an advisory lock, so replicas starting together upgrade it once. Each
statement commits itself (autocommit): one round trip per write, no BEGIN/COMMIT around it. A store that is not
`durable` (the rate limit's counts, worthless after a minute) commits without waiting for the WAL's flush
(synchronous_commit off): the same atomic count, without an fsync per request; a crash of the database may lose
its last counts, never leave one half made.
"""

from __future__ import annotations

import re
from typing import Any, LiteralString, cast

import anyio
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from ..errors import HistoryError
from . import schema
from .base import SqlStore, Statements

_POOL_SIZE = 10
_WAIT = 5.0
"""Seconds to connect, or to wait for a free connection: a database that is down becomes a note, not a hung call."""
_UPGRADE_LOCK = 0x41_49_47_43  # any constant shared by every replica: "AIGC"
_Pool = AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]]


def _native(statement: str) -> str:
    """A statement of schema.py with psycopg's %(name)s parameters for its :name ones."""
    return re.sub(r":(\w+)", r"%(\1)s", statement)


class PostgresHistory(SqlStore):
    """A pool of connections to one PostgreSQL database; `url` may hold a password and is never shown."""

    _sql = Statements.of(_native)

    def __init__(self, url: SecretStr, durable: bool = True) -> None:
        self._url = url
        self._durable = durable
        parts = conninfo_to_dict(url.get_secret_value())
        self._where = f"PostgreSQL database {parts.get('dbname', '?')} on {parts.get('host', 'localhost')}"
        self._pool: _Pool | None = None
        self._opening = anyio.Lock()

    @property
    def where(self) -> str:
        return self._where

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _run(self, statement: str, values: dict[str, Any]) -> list[Any]:
        """Run one statement on a pooled connection; any fault of the database becomes a HistoryError."""
        try:
            pool = await self._opened()
            async with pool.connection() as db:
                cursor = await db.execute(cast(LiteralString, statement), values)  # schema.py's, translated
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
                configure=None if self._durable else _without_flush_wait,
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


async def _without_flush_wait(db: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
    await db.execute("SET synchronous_commit = off")
