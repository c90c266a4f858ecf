"""The history store the settings name: SQLite by default, PostgreSQL when AIGC_IMAGE_DATABASE_URL is set."""

from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .base import HistoryStore


def open_history(settings: Settings, *, durable: bool = True) -> HistoryStore:
    """The store the settings name; it connects on first use. Each store's driver is imported only here, when it
    is the one configured: neither is needed to start the server and list its tools. Not `durable`, a PostgreSQL
    store's writes do not wait for the disk (the rate limit's counts); SQLite's never do (WAL, synchronous=NORMAL)."""
    if settings.database_url is not None:
        try:
            from .postgres import PostgresHistory
        except ImportError as exc:
            raise ConfigError(
                f"AIGC_IMAGE_DATABASE_URL is set but psycopg is not installed ({exc.name} is missing): install "
                "aigc-image-mcp[postgres], e.g. uvx --from 'aigc-image-mcp[postgres]' aigc-image-mcp."
            ) from exc
        return PostgresHistory(settings.database_url, durable)
    from .sqlite import SqliteHistory

    return SqliteHistory(lambda: settings.history_file)
