"""Per-caller daily task limits (AIGC_IMAGE_DAILY_TASK_LIMIT), counted in the history store before the submit, so
the limit holds across every replica that shares it. A day is a UTC day."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..errors import (
    HistoryError,
    QuotaError,
    TencentApiError,
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamRateLimitError,
    UpstreamRejectedError,
)
from ..history.base import HistoryStore

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Quota:
    """The daily limit of one server, or none; `now` tells the time in tests."""

    def __init__(self, store: HistoryStore, limit: int | None, now: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._limit = limit
        self._now = now

    async def take(self, owner: str) -> str | None:
        """Count one task for this caller today, or raise QuotaError (nothing is sent then): the day counted, or
        None when there is no limit. A limit that cannot be checked refuses: it guards someone's money."""
        if self._limit is None:
            return None
        now = self._now()
        day = now.date().isoformat()
        try:
            if await self._store.take_slot(owner, day, self._limit) is not None:
                return day
            used = await self._store.used(owner, day)
        except HistoryError as exc:
            raise QuotaError(f"The daily task limit could not be checked, so nothing was submitted: {exc}") from exc
        raise QuotaError(_refusal(used, self._limit, now))

    async def give_back(self, owner: str, day: str) -> None:
        """Return the slot of a submit that created no task."""
        try:
            await self._store.give_back(owner, day)
        except HistoryError as exc:
            logger.warning("A refused submit still counts toward today's limit: %s", exc)

    async def today(self, owner: str) -> tuple[int | None, int | None]:
        """(tasks counted today, the limit) when a limit is set, else (None, None)."""
        if self._limit is None:
            return None, None
        return await self._store.used(owner, self._now().date().isoformat()), self._limit


def _refusal(used: int, limit: int, now: datetime) -> str:
    reset = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    left = reset - now
    hours, minutes = divmod(max(int(left.total_seconds()) // 60, 1), 60)
    return (
        f"The daily limit of this server is reached: {used} of {limit} tasks started today (UTC). It resets at "
        f"{reset.isoformat().replace('+00:00', 'Z')}, in {hours} h {minutes} min. Nothing was submitted or billed; "
        "get_image_task and list_image_tasks still work."
    )


def nothing_created(exc: UpstreamError) -> bool:
    """Whether a failed submit surely created no task, so its slot can be given back."""
    if isinstance(exc, UpstreamConnectionError):
        return not exc.request_sent
    return isinstance(exc, UpstreamAuthError | UpstreamRateLimitError | UpstreamRejectedError | TencentApiError)
