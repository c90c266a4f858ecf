"""list_image_tasks says what the caller's tasks of today cost when the operator set prices, on both stores, and
says nothing of money without them."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from ..conftest import Connect
from ..support.fake_relay import FakeRelay, accepted, rejected
from ..support.helpers import structured, text_of

pytestmark = pytest.mark.anyio
PRICES = {"currency": "CNY", "models": {"GEM-3.0": {"4K": 1.6, "default": 0.9}, "GEM-2.5": 0.3}}


@pytest.fixture
def history_store(both_stores: dict[str, Any]) -> dict[str, Any]:
    """Every test here runs on the SQLite file and on PostgreSQL."""
    return both_stores


async def test_the_list_shows_todays_spend_of_this_caller(connect: Connect, relay: FakeRelay, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES), encoding="utf-8")
    relay.script.extend([accepted("t-1"), accepted("t-2"), accepted("t-3"), accepted("t-4")])
    relay.queries["t-3"] = deque([rejected("t-3")])
    calls = [
        {"model": "GEM-3.0", "resolution": "4K"},  # 1.6
        {"model": "GEM-2.5"},  # 0.3
        {"model": "GEM-3.0"},  # fails: nothing
        {"model": "Qwen-0925"},  # not priced: an image, no amount
    ]
    async with connect(prices=prices) as client:
        for arguments in calls:
            await client.call_tool("generate_image", {"prompt": "p", "wait_seconds": 5, **arguments})
        listed = await client.call_tool("list_image_tasks", {})

    assert structured(listed)["spent_today"] == {"images": 3, "amount": 1.9, "currency": "CNY"}
    assert "Spent today (UTC): 3 images, about 1.90 CNY." in text_of(listed)


async def test_without_prices_the_list_says_nothing_of_money(connect: Connect, relay: FakeRelay) -> None:
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "p", "wait_seconds": 5})
        listed = await client.call_tool("list_image_tasks", {})

    assert "spent_today" not in structured(listed)
    assert "Spent" not in text_of(listed)
