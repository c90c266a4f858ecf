"""10,000 fuzzed calls with a fixed seed: every one gets a result or a readable refusal, never an unexplained error.
A longer run with any seed: bench/fuzz.py."""

from __future__ import annotations

import logging
from collections.abc import Generator
from pathlib import Path

import pytest
from mcp import Client

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

from ..conftest import Connect, FakeClock
from ..support.fake_relay import FakeRelay
from ..support.fake_tencent import SECRET_ID, SECRET_KEY, FakeTencent, serve
from ..support.fuzz import Tracebacks, run

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SEED = 20261125
CALLS = 10_000
TENCENT_CALLS = 2_000
"""Fewer: each submit and query goes to the fake Tencent API over real HTTP, signed."""


@pytest.fixture
def tracebacks() -> Generator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def test_ten_thousand_fuzzed_calls_give_no_unexplained_error(
    connect: Connect, relay: FakeRelay, tracebacks: Tracebacks
) -> None:
    async with connect() as client:
        tally = await run(client, SEED, CALLS)

    assert tally.unexplained == []
    assert [record.getMessage()[:300] for record in tracebacks.records] == []
    assert tally.calls == CALLS
    # The fuzzer reaches both sides: refusals, and valid calls that submit tasks and fetch images.
    assert tally.refused > CALLS // 4
    assert tally.answered > CALLS // 10
    assert len(relay.submits) > CALLS // 100


async def test_two_thousand_fuzzed_calls_on_tencent_cloud_direct_give_no_unexplained_error(
    tmp_path: Path, tracebacks: Tracebacks
) -> None:
    fake = FakeTencent()
    with serve(fake):
        settings = {
            "secret_id": SECRET_ID,
            "secret_key": SECRET_KEY,
            "tencentcloud_endpoint": fake.base_url,
            "output_dir": tmp_path / "images",
            "data_dir": tmp_path / "data",
        }
        server = build_server(Settings.model_validate(settings), clock=FakeClock())
        async with Client(server, mode="legacy") as client:
            tally = await run(client, SEED, TENCENT_CALLS, catalog=PROFILES["tencentcloud"].load_catalog())

    assert tally.unexplained == []
    assert [record.getMessage()[:300] for record in tracebacks.records] == []
    assert fake.refused == []  # every request the server sent was signed right
    assert tally.answered > 0
    assert tally.calls == TENCENT_CALLS
