"""get_image_usage's figures: the caller's own tasks per UTC day and model from the history (images and, with the
operator's prices, amounts), today's count against the daily image budget, and, for the local user only, the
upstream account's own figures where its backend can read them. Knows nothing of MCP."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from ..backends.base import Backend, Caller
from ..backends.profiles import profile_of
from ..config import Settings
from ..errors import UpstreamError
from ..history.base import HistoryStore, Kept
from ..results import TencentUsageRow, Usage, UsageRow
from .prices import Prices
from .quota import Quota

logger = logging.getLogger(__name__)


def images_of(kept: Kept) -> int:
    """The images a task counts for: those delivered once SUCCEEDED, none when FAILED, those asked for while it
    runs (one for a task recorded before the history kept that)."""
    if kept.task.status == "SUCCEEDED":
        return len(kept.task.images)
    if kept.task.status == "FAILED":
        return 0
    return kept.asked.images if kept.asked is not None else 1


def local_rows(tasks: list[Kept], prices: Prices | None) -> list[UsageRow]:
    """One row per UTC day and model, newest day first; an amount only where every task of the row is priced."""
    counts: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    amounts: defaultdict[tuple[str, str], float | None] = defaultdict(float)
    for kept in tasks:
        key = (kept.created_at[:10], kept.task.model)
        images = images_of(kept)
        counts[key][0] += 1
        counts[key][1] += images
        resolution = kept.asked.resolution if kept.asked is not None else None
        amount = None if prices is None else prices.amount(kept.task.model, resolution, images)
        so_far = amounts[key]
        amounts[key] = None if amount is None or so_far is None else round(so_far + amount, 6)
    rows = [UsageRow(date=d, model=m, tasks=t, images=i, amount=amounts[(d, m)]) for (d, m), (t, i) in counts.items()]
    return sorted(sorted(rows, key=lambda row: row.model), key=lambda row: row.date, reverse=True)


async def usage(
    settings: Settings,
    store: HistoryStore,
    backend: Backend,
    quota: Quota,
    caller: Caller,
    days: int,
    prices: Prices | None,
    now: datetime | None = None,
) -> Usage:
    """The caller's usage over the last `days` UTC days, today included; HistoryError when the history cannot be
    read. The upstream's figures, when they cannot be had, become a note."""
    today = (now or datetime.now(UTC)).date()
    first = today - timedelta(days=days - 1)
    tasks = await store.since(caller.namespace, f"{first.isoformat()}T00:00:00+00:00")
    notes: list[str] = []
    tencent: list[TencentUsageRow] | None = None
    if caller.local:
        try:
            found = await backend.usage(days)
        except UpstreamError as exc:
            logger.warning("The upstream's own usage figures could not be read: %s", exc)
            found, notes = None, [f"The upstream's own figures could not be read: {exc}"]
        if found is not None:
            tencent = [TencentUsageRow(**vars(row)) for row in found]
        elif not notes:
            notes.append(profile_of(settings).own_figures)
    else:
        notes.append(profile_of(settings).own_figures)
    _, image_limit = quota.limits
    images_today = (await quota.used_today(caller.namespace)).images if image_limit is not None else None
    return Usage(
        days=days,
        since=first.isoformat(),
        local=local_rows(tasks, prices),
        currency=prices.currency if prices is not None else None,
        images_today=images_today,
        daily_image_limit=image_limit,
        tencent=tencent,
        notes=notes,
    )
