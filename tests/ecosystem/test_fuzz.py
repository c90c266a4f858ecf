"""10,000 fuzzed calls with a fixed seed: every one gets a result or a readable refusal, never an unexplained error.
A longer run with any seed: bench/fuzz.py."""

from __future__ import annotations

import logging
from collections.abc import Generator

import pytest

from ..conftest import Connect
from ..support.fake_relay import FakeRelay
from ..support.fuzz import Tracebacks, run

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

SEED = 20261125
CALLS = 10_000


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
