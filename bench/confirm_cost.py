"""What the confirmation path (AIGC_IMAGE_CONFIRM_ABOVE with AIGC_IMAGE_PRICES) adds to a generate_image call it does
not ask about, side by side with today's call (neither setting), against the fake relay in memory.

Three servers run in one process over in-memory MCP clients, called in turn (the order rotating each round), submit
only (wait_seconds 0), each with its own SQLite history: today's call twice (the second one shows the noise between
two identical servers) and the call under the threshold, which quotes its cost from the prices and compares it with
the threshold. Then the quote and the comparison alone, timed in a loop. Goal: the median at most 0.1 ms more.

    uv run python bench/confirm_cost.py [calls]
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

import anyio
from mcp import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fake relay lives with the tests

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.validation import parse_arguments
from aigc_image_mcp.config import Settings
from aigc_image_mcp.core.prices import load_prices, quote
from aigc_image_mcp.protocol.confirm import over_threshold
from aigc_image_mcp.server import build_server
from tests.support.fake_relay import FakeRelay

ARGUMENTS = {"model": "GEM-3.0", "prompt": "a lighthouse at dusk", "resolution": "4K", "wait_seconds": 0}
PRICES = Path(__file__).resolve().parents[1] / "examples" / "prices-quickrouter.json"
THRESHOLD = 1000
WARM_UP = 50


def settings(folder: Path, **values: object) -> Settings:
    base = {"api_key": "sk-bench-0123456789abcdef", "base_url": "https://relay.test", "output_dir": folder / "images"}
    return Settings.model_validate(base | {"data_dir": folder / "data"} | values)


async def measure(calls: int) -> None:
    folder = Path(tempfile.mkdtemp())
    relay = FakeRelay()
    servers = {
        "today": build_server(settings(folder / "today"), transport=relay.transport()),
        "today again": build_server(settings(folder / "again"), transport=relay.transport()),
        "confirm": build_server(
            settings(folder / "confirm", prices=PRICES, confirm_above=THRESHOLD), transport=relay.transport()
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in servers}
    costs: dict[str, object] = {}
    async with (
        Client(servers["today"], mode="legacy") as today,
        Client(servers["today again"], mode="legacy") as again,
        Client(servers["confirm"], mode="legacy") as confirm,
    ):
        clients = [("today", today), ("today again", again), ("confirm", confirm)]
        for round_ in range(calls + WARM_UP):
            turn = round_ % len(clients)
            for name, client in clients[turn:] + clients[:turn]:  # none always goes first
                started = time.perf_counter()
                result = await client.call_tool("generate_image", ARGUMENTS)
                elapsed = time.perf_counter() - started
                assert not result.is_error, result.content
                if round_ >= WARM_UP:
                    times[name].append(elapsed)
                costs[name] = (result.structured_content or {})["cost"]
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"cost: today's call {json.dumps(costs['today'])}; under the threshold {json.dumps(costs['confirm'])}")
    print(f"today's call (no prices, no threshold)   : median {medians['today']:6.3f} ms over {calls} calls")
    print(f"today's call again (a second server)     : median {medians['today again']:6.3f} ms")
    print(f"under the threshold ({THRESHOLD} CNY, prices)   : median {medians['confirm']:6.3f} ms")
    print(f"difference, under the threshold - today  : {medians['confirm'] - medians['today']:+6.3f} ms (goal <= 0.1)")
    print(f"noise, today again - today               : {medians['today again'] - medians['today']:+6.3f} ms")
    paired = statistics.median(c - t for c, t in zip(times["confirm"], times["today"], strict=True)) * 1000
    noise = statistics.median(a - t for a, t in zip(times["today again"], times["today"], strict=True)) * 1000
    print(f"paired, median of the rounds' differences: {paired:+6.3f} ms (today again - today: {noise:+6.3f} ms)")
    print(f"the quote and the comparison alone       : {alone() * 1e6:6.2f} us per call")


def alone() -> float:
    """Seconds per call of what the path adds: the quote from the prices and the comparison with the threshold."""
    loaded = PROFILES["quickrouter"].load_catalog()
    prices = load_prices(PRICES, loaded)
    spec, request = parse_arguments(ARGUMENTS, loaded)
    loops = 100_000
    spent = timeit.timeit(lambda: over_threshold(quote(prices, spec.id, request), THRESHOLD, prices), number=loops)
    return spent / loops


if __name__ == "__main__":
    # The server logs each submit at INFO, as in production; to a null file here, so the figures stay readable.
    logging.basicConfig(handlers=[logging.FileHandler(os.devnull)], level=logging.INFO, force=True)
    anyio.run(measure, int(sys.argv[1]) if len(sys.argv) > 1 else 300)
