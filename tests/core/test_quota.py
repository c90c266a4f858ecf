"""AIGC_IMAGE_DAILY_TASK_LIMIT and AIGC_IMAGE_DAILY_IMAGE_LIMIT through the tools, on both stores: a refusal sends
nothing upstream and says how many were used, the limit and when it resets; a submit the upstream refused gives its
slot (and its images) back; the list shows today's count."""

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
from ..support.fake_tencent import error as tencent_error
from ..support.helpers import text_of
from ..support.tencent_client import tencent_client

pytestmark = pytest.mark.anyio

GENERATE = {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 0}
OG = {"model": "OG-image2_low", "prompt": "fox", "wait_seconds": 0}


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


async def test_past_the_daily_image_budget_nothing_is_sent_and_the_refusal_says_used_limit_and_reset(
    connect: Connect, relay: FakeRelay
) -> None:
    async with connect(daily_image_limit=2) as client:
        done = [await client.call_tool("generate_image", GENERATE) for _ in range(2)]
        refused = await client.call_tool("generate_image", GENERATE)

    assert [result.is_error for result in done] == [False, False]
    assert refused.is_error
    assert "2 of 2 images asked for today, and this call asks for 1 image (UTC)" in text_of(refused)
    tomorrow = datetime.fromordinal(datetime.now(UTC).date().toordinal() + 1).date().isoformat()
    assert f"resets at {tomorrow}T00:00:00Z" in text_of(refused)
    assert "Nothing was submitted or billed" in text_of(refused)
    assert len(relay.submits) == 2


async def test_the_image_budget_counts_the_images_each_call_asks_for(
    history_store: dict[str, Any], tmp_path: Path
) -> None:
    async with tencent_client(tmp_path, daily_image_limit=5, **history_store) as (client, fake):
        four = await client.call_tool("generate_image", {**OG, "output_image_count": 4})
        two = await client.call_tool("generate_image", {**OG, "output_image_count": 2})
        one = await client.call_tool("generate_image", {**OG, "output_image_count": 1})
        none_left = await client.call_tool("generate_image", {**OG, "output_image_count": 1})

    assert (four.is_error, two.is_error, one.is_error, none_left.is_error) == (False, True, False, True)
    assert "4 of 5 images asked for today, and this call asks for 2 images" in text_of(two)
    assert "5 of 5 images" in text_of(none_left)
    counts = [params["OutputConfig"]["OutputImageCount"] for params in fake.actions("CreateAigcImageTask")]
    assert counts == [4, 1]


async def test_a_call_asking_for_more_images_than_a_whole_day_allows_takes_nothing(
    history_store: dict[str, Any], tmp_path: Path
) -> None:
    async with tencent_client(tmp_path, daily_image_limit=3, daily_task_limit=5, **history_store) as (client, fake):
        refused = await client.call_tool("generate_image", {**OG, "output_image_count": 4})
        listing = await client.call_tool("list_image_tasks", {})
        taken = await client.call_tool("generate_image", {**OG, "output_image_count": 3})

    assert refused.is_error
    assert "0 of 3 images asked for today, and this call asks for 4 images" in text_of(refused)
    assert listing.structured_content is not None
    assert listing.structured_content["tasks_today"] == 0
    assert not taken.is_error, text_of(taken)
    assert len(fake.actions("CreateAigcImageTask")) == 1


async def test_a_submit_tencent_refused_gives_its_images_back(history_store: dict[str, Any], tmp_path: Path) -> None:
    async with tencent_client(tmp_path, daily_image_limit=4, **history_store) as (client, fake):
        fake.submits.append(tencent_error("InvalidParameterValue", "no such thing"))
        refused = await client.call_tool("generate_image", {**OG, "output_image_count": 4})
        accepted = await client.call_tool("generate_image", {**OG, "output_image_count": 4})

    assert refused.is_error
    assert not accepted.is_error, text_of(accepted)
    assert len(fake.actions("CreateAigcImageTask")) == 2
