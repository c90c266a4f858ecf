"""Model-facing bytes per tool in tools/list (name + description + inputSchema, compact JSON), for each backend and
schema profile (portable, full, strict), as a client receives them, without prices and with the repository's example
prices file, which prices every model (AIGC_IMAGE_PRICES: the description then shows each model's price). The goal:
generate_image within 8 KB in the portable profile, prices or not; the strict profile (for OpenAI strict mode) is
reported beside it.

uv run python bench/tool_bytes.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from aigc_image_mcp.config import Settings
from aigc_image_mcp.server import build_server

CREDENTIALS: dict[str, dict[str, Any]] = {
    "quickrouter": {"api_key": "bench-key-0123456789"},
    "tencentcloud": {"secret_id": "AKIDbench", "secret_key": "bench-secret"},
}
LIMIT = 8192
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


async def sizes(backend: str, profile: str, folder: Path, prices: Path | None) -> dict[str, int]:
    values = {**CREDENTIALS[backend], "schema_profile": profile, "data_dir": folder, "output_dir": folder}
    values |= {"prices": prices} if prices is not None else {}
    async with Client(build_server(Settings.model_validate(values)), mode="legacy") as client:
        tools = (await client.list_tools()).tools
    return {
        t.name: len((t.name + (t.description or "") + json.dumps(t.input_schema, separators=(",", ":"))).encode())
        for t in tools
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for backend in CREDENTIALS:
            for profile in ("portable", "full", "strict"):
                for prices in (None, EXAMPLES / f"prices-{backend}.json"):
                    measured = await sizes(backend, profile, Path(folder), prices)
                    row = ", ".join(f"{name} {size:,} B" for name, size in measured.items())
                    print(f"{backend:>12} {profile:>8} {'priced' if prices else 'plain':>6}: {row}")
                    if profile == "portable" and measured["generate_image"] > LIMIT:
                        print(f"generate_image is over {LIMIT} B", file=sys.stderr)


if __name__ == "__main__":
    anyio.run(main)
