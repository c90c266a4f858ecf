"""AIGC_IMAGE_DAILY_TASK_LIMIT through the tools, on both stores: a refusal sends nothing upstream and says how
many were used, the limit and when it resets; a submit the relay refused gives its slot back; the list shows today's
count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aigc_image_mcp.core.quota import Quota
from aigc_image_mcp.errors import QuotaError
from aigc_image_mcp.history.opener import open_history

from ..conftest import Connect, make_settings
from ..support.fake_relay import FakeRelay
from ..support.helpers import text_of

pytestmark = pytest.mark.anyio

GENERATE = {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0}


@pytest.fixture
def history_store(both_stores: dict[str, Any]) -> dict[str, Any]:
    return both_stores


async def test_past_the_daily_limit_nothing_is_sent_and_the_refusal_says_used_limit_and_reset(
    connect: Connect, relay: FakeRelay
) -> None:
    async with connect(daily_task_limit=2) as client:
        done = [await client.call_tool("generate_image", GENERATE) for _ in range(2)]
        refused = await client.call_tool("generate_image", GENERATE)
        listing = await client.call_tool("list_image_tasks", {})

    assert [result.is_error for result in done] == [False, False]
    assert refused.is_error
    assert "2 of 2 tasks started today (UTC)" in text_of(refused)
    tomorrow = datetime.now(UTC).date().toordinal() + 1
    assert f"resets at {datetime.fromordinal(tomorrow).date().isoformat()}T00:00:00Z" in text_of(refused)
    assert "Nothing was submitted or billed" in text_of(refused)
    assert len(relay.submits) == 2
    assert listing.structured_content is not None
    assert (listing.structured_content["tasks_today"], listing.structured_content["daily_limit"]) == (2, 2)
    assert "Tasks started today (UTC): 2 of 2." in text_of(listing)


async def test_each_caller_has_a_limit_of_its_own(connect: Connect, relay: FakeRelay) -> None:
    async with connect(daily_task_limit=1) as client:
        mine = await client.call_tool("generate_image", GENERATE)
    async with connect(daily_task_limit=1, api_key="sk-another-key-0000") as other:
        theirs = await other.call_tool("generate_image", GENERATE)

    assert not mine.is_error
    assert not theirs.is_error, text_of(theirs)
    assert len(relay.submits) == 2


async def test_a_submit_the_relay_refused_does_not_count(connect: Connect, relay: FakeRelay) -> None:
    relay.script.append(httpx2.Response(401, json={"message": "invalid key"}))
    async with connect(daily_task_limit=1) as client:
        refused = await client.call_tool("generate_image", GENERATE)
        accepted = await client.call_tool("generate_image", GENERATE)

    assert refused.is_error
    assert not accepted.is_error, text_of(accepted)
    assert len(relay.submits) == 2


async def test_without_a_limit_the_list_shows_no_count(connect: Connect) -> None:
    async with connect() as client:
        listing = await client.call_tool("list_image_tasks", {})

    assert listing.structured_content is not None
    assert "daily_limit" not in listing.structured_content
    assert "today" not in text_of(listing)


async def test_the_limit_resets_with_the_utc_day(history_store: dict[str, Any], tmp_path: Path) -> None:
    store = open_history(make_settings(data_dir=tmp_path / "data", **history_store))
    now = datetime(2026, 11, 25, 23, 59, 30, tzinfo=UTC)
    quota = Quota(store, 1, now=lambda: now)

    await quota.take("caller")
    with pytest.raises(QuotaError, match=r"1 of 1 tasks .* resets at 2026-11-26T00:00:00Z, in 0 h 1 min"):
        await quota.take("caller")
    now = datetime(2026, 11, 26, 0, 0, 1, tzinfo=UTC)
    day = await quota.take("caller")
    await store.aclose()

    assert day == "2026-11-26"
