"""A submit-only call to Tencent Cloud through this server's backend vs the same call made directly with Tencent's
SDK, both against the loopback fake (which verifies every signature), interleaved in one run. Also the SDK's import.

uv run python bench/tencent_submit.py [calls]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aigc_image_mcp.backends.tencentcloud import VERSION, TencentCloud, endpoint_parts, tencent_body
from aigc_image_mcp.callers import caller_of
from aigc_image_mcp.catalog.request import OutputConfig, SubmitRequest
from aigc_image_mcp.config import Settings
from tests.support.fake_tencent import SECRET_ID, SECRET_KEY, FakeTencent, serve

REQUEST = SubmitRequest(
    model_name="GG", model_version="3.1", prompt="a red fox in snow", output_config=OutputConfig(aspect_ratio="16:9")
)
IMPORTS = {
    "tencentcloud.vod.v20180717.vod_client_async": "VodClient (generated, with models.py)",
    "tencentcloud.common.common_client_async": "CommonClient (what the backend uses)",
}


async def timed(call: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    samples: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def compare(base_url: str, calls: int) -> dict[str, list[float]]:
    from tencentcloud.common.common_client_async import CommonClient  # pyright: ignore[reportMissingTypeStubs]
    from tencentcloud.common.credential import Credential  # pyright: ignore[reportMissingTypeStubs]
    from tencentcloud.common.profile.client_profile import ClientProfile  # pyright: ignore[reportMissingTypeStubs]
    from tencentcloud.common.profile.http_profile import HttpProfile  # pyright: ignore[reportMissingTypeStubs]

    settings = Settings.model_validate(
        {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "tencentcloud_endpoint": base_url}
    )
    backend = TencentCloud(settings)
    caller = caller_of(settings, None, remote=False)
    scheme, host = endpoint_parts(base_url)
    profile = ClientProfile(httpProfile=HttpProfile(protocol=scheme, endpoint=host))
    sdk = CommonClient("vod", VERSION, Credential(SECRET_ID, SECRET_KEY), "", profile)
    body = tencent_body(REQUEST, None)

    async def ours() -> None:
        await backend.submit(REQUEST, caller)

    async def direct() -> None:
        await sdk.call_and_deserialize("CreateAigcImageTask", body, dict)  # pyright: ignore[reportUnknownMemberType]

    samples: dict[str, list[float]] = {"this backend": [], "SDK directly": []}
    for _ in range(3):  # warm both connections
        await ours()
        await direct()
    for _ in range(calls // 10):
        samples["this backend"] += await timed(ours, 10)
        samples["SDK directly"] += await timed(direct, 10)
    await backend.aclose()
    await sdk.close()  # pyright: ignore[reportUnknownMemberType]
    return samples


def import_ms(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(runs) * 1000


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    fake = FakeTencent()
    with serve(fake) as base_url:
        samples = anyio.run(compare, base_url, calls)
    assert not fake.refused, fake.refused
    medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:>14}: median {value:6.3f} ms per submit over {len(samples[name])} calls")
    print(f"{'difference':>14}: {medians['this backend'] - medians['SDK directly']:+.3f} ms (goal: within 1 ms)")
    for module, label in IMPORTS.items():
        print(f"import {label}: median {import_ms(module):.0f} ms over 5 fresh processes")


if __name__ == "__main__":
    main()
