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


def local_rows(tasks: list[Kept], prices: Prices | None) -> list[UsageRow]:
    """One row per UTC day and model, newest day first, from each task's cost (images: delivered once SUCCEEDED,
    none when FAILED, asked for while it runs); an amount, in the prices' currency, only where every task of the row
    was priced in it."""
    counts: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    amounts: defaultdict[tuple[str, str], float | None] = defaultdict(float)
    for kept in tasks:
        key, cost = (kept.created_at[:10], kept.task.model), kept.task.cost
        counts[key][0] += 1
        counts[key][1] += cost.images
        priced = prices is not None and cost.currency == prices.currency and cost.amount is not None
        so_far = amounts[key]
        amounts[key] = round(so_far + (cost.amount or 0.0), 6) if priced and so_far is not None else None
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
