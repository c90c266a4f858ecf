"""get_image_usage through the MCP client: the caller's own tasks per UTC day and model from the history (images
delivered, asked for or none, and amounts at the operator's prices), today's image budget, Tencent's own account
figures for the local user (5-minute points added up per day), and what a caller who is not the local user sees."""

from __future__ import annotations

import json
from collections import deque
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aigc_image_mcp.backends.base import Caller
from aigc_image_mcp.backends.tencentcloud import TencentCloud
from aigc_image_mcp.config import Settings
from aigc_image_mcp.core.quota import Quota
from aigc_image_mcp.core.usage import usage
from aigc_image_mcp.history.opener import open_history

from ..conftest import Connect
from ..support.fake_relay import FakeRelay, accepted, rejected, running
from ..support.fake_tencent import SECRET_ID, SECRET_KEY, FakeTencent, Point, error, serve
from ..support.helpers import structured, text_of
from ..support.tencent_client import tencent_client

pytestmark = pytest.mark.anyio

BEIJING = timezone(timedelta(hours=8))
OG = {"model": "OG-image2_low", "prompt": "fox", "wait_seconds": 0}


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def beijing(days_ago: int, hour: int, minute: int) -> str:
    day = datetime.now(BEIJING).date() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING).isoformat()


async def test_the_callers_tasks_are_counted_per_day_and_model_with_images_delivered_asked_or_none(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.extend([accepted("t-done"), accepted("t-running"), accepted("t-failed"), accepted("t-qwen")])
    relay.queries["t-running"] = deque([running("t-running")])
    relay.queries["t-failed"] = deque([rejected("t-failed")])
    async with connect() as client:
        for task_id, model in (("t-done", "GEM-3.0"), ("t-running", "GEM-3.0"), ("t-failed", "GEM-3.0")):
            await client.call_tool("generate_image", {"model": model, "prompt": "fox", "wait_seconds": 0})
            await client.call_tool("get_image_task", {"task_id": task_id, "wait_seconds": 0})
        await client.call_tool("generate_image", {"model": "Qwen-0925", "prompt": "owl", "wait_seconds": 0})
        used = await client.call_tool("get_image_usage", {})
    async with connect(api_key="sk-another-key-0000") as other:
        theirs = await other.call_tool("get_image_usage", {"days": 31})

    assert not used.is_error, text_of(used)
    assert structured(used)["local"] == [
        {"date": today(), "model": "GEM-3.0", "tasks": 3, "images": 2},  # 1 delivered, 1 asked for, 0 failed
        {"date": today(), "model": "Qwen-0925", "tasks": 1, "images": 1},
    ]
    assert (structured(used)["days"], structured(used)["since"]) == (1, today())
    assert f"- {today()} | GEM-3.0 | 3 tasks | 2 images" in text_of(used)
    assert "Total: 4 tasks, 3 images." in text_of(used)
    assert "quickrouter.ai" in text_of(used)  # where the relay's own figures are
    assert "tencent" not in structured(used)
    assert structured(theirs)["local"] == []
    assert "- no tasks." in text_of(theirs)


async def test_with_prices_each_row_has_its_amount_and_the_text_its_total(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "CNY", "models": {"GEM-3.0": {"2K": 0.5, "default": 0.3}}}))
    async with connect(prices=prices) as client:
        await client.call_tool(
            "generate_image", {"model": "GEM-3.0", "prompt": "a", "resolution": "2K", "wait_seconds": 0}
        )
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "b", "wait_seconds": 0})
        await client.call_tool("generate_image", {"model": "Qwen-0925", "prompt": "c", "wait_seconds": 0})
        used = await client.call_tool("get_image_usage", {"days": 7})

    rows = structured(used)["local"]
    assert rows == [
        {"date": today(), "model": "GEM-3.0", "tasks": 2, "images": 2, "amount": 0.8},
        {"date": today(), "model": "Qwen-0925", "tasks": 1, "images": 1},  # not priced: no amount
    ]
    assert structured(used)["currency"] == "CNY"
    assert f"- {today()} | GEM-3.0 | 2 tasks | 2 images | about 0.80 CNY" in text_of(used)
    assert "Total: 3 tasks, 3 images." in text_of(used)  # one row unpriced: no total amount


async def test_the_daily_image_budget_shows_how_much_of_it_today_used(tmp_path: Path) -> None:
    async with tencent_client(tmp_path, daily_image_limit=10) as (client, _):
        await client.call_tool("generate_image", {**OG, "output_image_count": 3})
        used = await client.call_tool("get_image_usage", {})

    assert (structured(used)["images_today"], structured(used)["daily_image_limit"]) == (3, 10)
    assert "Images asked for today (UTC): 3 of 10." in text_of(used)


async def test_the_local_user_on_tencent_sees_tencents_own_figures_with_five_minute_points_added_up(
    tmp_path: Path,
) -> None:
    fake = FakeTencent()
    fake.usage = [
        Point("Hunyuan3.0_2K", beijing(0, 0, 5), 1, 1),
        Point("Hunyuan3.0_2K", beijing(0, 0, 10), 2, 2),
        Point("Kling2.1_Refer2i_1K", beijing(0, 0, 15), 1, 4),
        Point("Hunyuan3.0_2K", beijing(1, 9, 0), 5, 5),  # yesterday: outside a one-day range
        Point("Hunyuan3.0_2K", beijing(2, 23, 55), 2, 2),
    ]
    async with tencent_client(tmp_path, fake, vod_subapp_id=1500012345) as (client, _):
        one_day = await client.call_tool("get_image_usage", {})
        three_days = await client.call_tool("get_image_usage", {"days": 3})

    bj = [(datetime.now(BEIJING).date() - timedelta(days=n)).isoformat() for n in range(3)]
    assert structured(one_day)["tencent"] == [
        {"date": bj[0], "specification": "Hunyuan3.0_2K", "tasks": 3, "images": 3},
        {"date": bj[0], "specification": "Kling2.1_Refer2i_1K", "tasks": 1, "images": 4},
    ]
    assert structured(three_days)["tencent"] == [
        {"date": bj[0], "specification": "Hunyuan3.0_2K", "tasks": 3, "images": 3},
        {"date": bj[0], "specification": "Kling2.1_Refer2i_1K", "tasks": 1, "images": 4},
        {"date": bj[1], "specification": "Hunyuan3.0_2K", "tasks": 5, "images": 5},
        {"date": bj[2], "specification": "Hunyuan3.0_2K", "tasks": 2, "images": 2},
    ]
    assert "Tencent's own figures for the whole account" in text_of(one_day)
    assert f"- {bj[0]} | Kling2.1_Refer2i_1K | 1 task | 4 images" in text_of(one_day)
    assert fake.refused == []  # every request carried Tencent's signature
    first, second = fake.actions("DescribeAigcUsageData")
    assert first == {
        "StartTime": f"{bj[0]}T00:00:00+08:00",
        "EndTime": f"{bj[0]}T23:59:59+08:00",
        "AigcType": "Image",
        "SubAppId": 1500012345,
    }
    assert second["StartTime"] == f"{bj[2]}T00:00:00+08:00"


async def test_when_tencent_refuses_its_figures_the_local_ones_still_come_with_a_note(tmp_path: Path) -> None:
    fake = FakeTencent()
    fake.account.append(error("UnauthorizedOperation", "no permission for vod:DescribeAigcUsageData"))
    async with tencent_client(tmp_path, fake) as (client, _):
        await client.call_tool("generate_image", {**OG, "output_image_count": 2})
        used = await client.call_tool("get_image_usage", {})

    assert not used.is_error
    assert structured(used)["local"] == [{"date": today(), "model": "OG-image2_low", "tasks": 1, "images": 2}]
    assert "tencent" not in structured(used)
    assert "UnauthorizedOperation: no permission for vod:DescribeAigcUsageData" in text_of(used)
    assert SECRET_KEY not in text_of(used)


async def test_a_caller_who_is_not_the_local_user_sees_only_their_own_figures(tmp_path: Path) -> None:
    fake = FakeTencent(usage=[Point("Hunyuan3.0_2K", beijing(0, 0, 5), 1, 1)])
    with serve(fake):
        settings = Settings.model_validate(
            {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "tencentcloud_endpoint": fake.base_url,
             "data_dir": tmp_path / "data"}
        )  # fmt: skip
        store, backend = open_history(settings), TencentCloud(settings)
        remote = Caller(None, "a" * 32, remote=True, shared=True, local=False)
        local = Caller(None, "a" * 32, remote=False, local=True)
        try:
            theirs = await usage(settings, store, backend, Quota(store, None), remote, 1, None)
            mine = await usage(settings, store, backend, Quota(store, None), local, 1, None)
        finally:
            await backend.aclose()
            await store.aclose()

    assert theirs.tencent is None
    assert any("only to the user at this server's machine" in note for note in theirs.notes)
    assert mine.tencent is not None
    assert len(fake.actions("DescribeAigcUsageData")) == 1  # asked for the local user only


@pytest.mark.parametrize("days", [0, 32, "7"])
async def test_days_out_of_range_is_refused_naming_the_argument(connect: Connect, days: Any) -> None:
    async with connect() as client:
        refused = await client.call_tool("get_image_usage", {"days": days})

    assert refused.is_error
    assert "days" in text_of(refused)
