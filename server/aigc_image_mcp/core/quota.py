"""Per-caller daily limits: tasks (AIGC_IMAGE_DAILY_TASK_LIMIT) and images (AIGC_IMAGE_DAILY_IMAGE_LIMIT, the images
each call asks for), both taken in one step in the history store before the submit, so that they hold across every
replica that shares it. A day is a UTC day."""

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
from ..history.base import HistoryStore, Used

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Quota:
    """The daily limits of one server (tasks, images), either or both unset; `now` tells the time in tests."""

    def __init__(
        self,
        store: HistoryStore,
        limit: int | None,
        image_limit: int | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._store = store
        self._limit = limit
        self._image_limit = image_limit
        self._now = now

    @property
    def limits(self) -> tuple[int | None, int | None]:
        """(tasks, images) a caller may start and ask for per UTC day; None where there is no limit."""
        return self._limit, self._image_limit

    async def take(self, owner: str, images: int = 1) -> str | None:
        """Count one task asking for `images` images for this caller today, or raise QuotaError (nothing is sent
        then): the day counted, or None when there is no limit. A limit that cannot be checked refuses: it guards
        someone's money."""
        if self._limit is None and self._image_limit is None:
            return None
        now = self._now()
        day = now.date().isoformat()
        try:
            if await self._store.take_slot(owner, day, self._limit, images, self._image_limit) is not None:
                return day
            used = await self._store.used(owner, day)
        except HistoryError as exc:
            raise QuotaError(f"The daily limit could not be checked, so nothing was submitted: {exc}") from exc
        raise QuotaError(self._refusal(used, images, now))

    async def give_back(self, owner: str, day: str, images: int = 1) -> None:
        """Return the slot (and its images) of a submit that created no task."""
        try:
            await self._store.give_back(owner, day, images)
        except HistoryError as exc:
            logger.warning("A refused submit still counts toward today's limit: %s", exc)

    async def today(self, owner: str) -> tuple[int | None, int | None]:
        """(tasks counted today, the limit) when a task limit is set, else (None, None)."""
        if self._limit is None:
            return None, None
        return (await self._store.used(owner, self._now().date().isoformat())).tasks, self._limit

    async def used_today(self, owner: str) -> Used:
        """The tasks and images counted for this caller today (UTC); zero when no limit is set (none are counted)."""
        if self._limit is None and self._image_limit is None:
            return Used()
        return await self._store.used(owner, self._now().date().isoformat())

    def _refusal(self, used: Used, images: int, now: datetime) -> str:
        if self._limit is not None and used.tasks >= self._limit:
            reached = f"The daily limit of this server is reached: {used.tasks} of {self._limit} tasks started today"
        else:
            asked = f"{images} image{'s' * (images != 1)}"
            reached = (
                f"The daily image budget of this server would be passed: {used.images} of {self._image_limit} images "
                f"asked for today, and this call asks for {asked}"
            )
        return (
            f"{reached} (UTC). {resets(now)} Nothing was submitted or billed; get_image_task and list_image_tasks "
            "still work."
        )


def resets(now: datetime) -> str:
    """When the day's counts start again, as a sentence: the UTC midnight after `now`, and how long until then."""
    reset = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    left = reset - now
    hours, minutes = divmod(max(int(left.total_seconds()) // 60, 1), 60)
    return f"It resets at {reset.isoformat().replace('+00:00', 'Z')}, in {hours} h {minutes} min."


def nothing_created(exc: UpstreamError) -> bool:
    """Whether a failed submit surely created no task, so its slot can be given back."""
    if isinstance(exc, UpstreamConnectionError):
        return not exc.request_sent
    return isinstance(exc, UpstreamAuthError | UpstreamRateLimitError | UpstreamRejectedError | TencentApiError)
