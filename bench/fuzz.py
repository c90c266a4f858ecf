"""The fuzz test's longer run: fuzzed calls of every tool and the image resource, in process through the SDK's
in-memory client, against a fake relay (httpx2.MockTransport); 0 unexplained errors is the goal.

    uv run python bench/fuzz.py [--calls 100000] [--seed N]

Without --seed a new seed is drawn and printed, so a failure can be replayed. Prints the calls made, refused and
answered, the relay's submits, and every unexplained error (a bare "Error executing tool X", a resource read failing
with the SDK's generic message, a traceback in the log)."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fuzzer and the fake relay live with the tests

from aigc_image_mcp.config import Settings  # noqa: E402
from aigc_image_mcp.server import build_server  # noqa: E402
from tests.conftest import FakeClock  # noqa: E402
from tests.support.fake_relay import FakeRelay  # noqa: E402
from tests.support.fuzz import Tracebacks, run  # noqa: E402


async def fuzz(calls: int, seed: int, folder: Path) -> int:
    relay, tracebacks = FakeRelay(), Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    values = {"api_key": "sk-fuzz-000000000000", "base_url": "https://relay.test", "data_dir": folder}
    settings = Settings.model_validate({**values, "output_dir": folder / "images"})
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    started = time.perf_counter()

    def progress(number: int) -> None:
        if number and number % 10_000 == 0:
            print(f"  {number} calls, {time.perf_counter() - started:.0f} s", flush=True)

    async with Client(server, mode="legacy") as client:
        tally = await run(client, seed, calls, progress)
    elapsed = time.perf_counter() - started
    unexplained = [*tally.unexplained, *(record.getMessage()[:200] for record in tracebacks.records)]
    print(
        f"seed {seed}: {tally.calls} calls in {elapsed:.0f} s ({1000 * elapsed / tally.calls:.1f} ms each); "
        f"refused {tally.refused}, answered {tally.answered}, submits {len(relay.submits)}; "
        f"unexplained errors: {len(tally.unexplained)} results, {len(tracebacks.records)} tracebacks"
    )
    for line in unexplained[:20]:
        print("  ", line)
    return len(unexplained)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    with tempfile.TemporaryDirectory() as folder:
        failures = anyio.run(fuzz, args.calls, seed, Path(folder))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
