"""An in-memory MCP client on a server whose backend is Tencent Cloud direct, its API the fake one on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from aigc_image_mcp.config import Settings
from aigc_image_mcp.core.polling import RealClock
from aigc_image_mcp.server import build_server

from .fake_tencent import SECRET_ID, SECRET_KEY, FakeTencent, serve


@asynccontextmanager
async def tencent_client(
    tmp_path: Path, fake: FakeTencent | None = None, **values: Any
) -> AsyncGenerator[tuple[Client, FakeTencent]]:
    """`async with tencent_client(tmp_path, **settings) as (client, fake)`: the server's folders in `tmp_path`."""
    fake = fake or FakeTencent()
    with serve(fake):
        settings = Settings.model_validate(
            {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "tencentcloud_endpoint": fake.base_url,
             "output_dir": tmp_path / "images", "data_dir": tmp_path / "data", **values}
        )  # fmt: skip
        async with Client(build_server(settings, clock=RealClock()), mode="legacy") as client:
            yield client, fake
