"""The gallery view in a real browser: headless Chromium loads the view with a tool result recorded from the server,
as a host hands it over, and the test reads what was drawn. Keeps a screenshot in dist/ (a CI artifact).

Required under CI=true (`.ci/run` installs Debian's chromium); skipped with a reason elsewhere when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from PIL import Image

from aigc_image_mcp.protocol.gallery import view_html
from aigc_image_mcp.server import build_server

from ..conftest import FakeClock, make_settings
from ..support.fake_relay import FakeRelay, accepted
from ..support.raw_rpc import UI, in_memory

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "dist" / "gallery.png"
TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=760,420",
    "--virtual-time-budget=10000",  # lets the view's message handling run before the page is read
)
# A stand-in for the host, appended to the view: it answers ui/initialize and hands over the recorded tool result as
# a message event, during parsing, so the pictures are in the page before its load event (which waits for them).
# On load it writes what the view drew (decoded picture sizes, link targets) where --dump-dom shows it.
HOST = """<script>
"use strict";
window.addEventListener("message", (event) => {
  const message = event.data;
  if (message.method === "ui/initialize" && message.id !== undefined) {
    window.postMessage({ jsonrpc: "2.0", id: message.id, result: { protocolVersion: "2026-01-26" } }, "*");
  }
});
const toolResult = { jsonrpc: "2.0", method: "ui/notifications/tool-result", params: RESULT };
window.dispatchEvent(new MessageEvent("message", { data: toolResult }));
window.addEventListener("load", () => {
  const pictures = [...document.images].map((img) => `${img.naturalWidth}x${img.naturalHeight}`);
  const links = [...document.querySelectorAll("a")].map((a) => a.href);
  document.body.dataset.drawn = JSON.stringify({ pictures, links });
});
</script>"""
RED = (200, 40, 40)
"""The fake relay's picture: a 64x48 red PNG."""


def chromium() -> str:
    """Debian's chromium; under CI=true its absence fails the test instead of skipping it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it with apt-get install -y chromium")
        pytest.skip("chromium is not installed here (apt-get install -y chromium); CI=true requires it")
    return found


async def recorded_result(relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]) -> dict[str, Any]:
    """generate_image's result for a client that renders MCP Apps, from the server itself."""
    relay.script.append(accepted(TASK))
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)
    async with in_memory(server) as call:
        answer = await call(
            "tools/call", {"name": "generate_image", "arguments": {"model": "GEM-3.0", "prompt": "a fox"}}, UI
        )
    return answer["result"]


def page(result: dict[str, Any], folder: Path) -> Path:
    host = HOST.replace("RESULT", json.dumps(result))
    path = folder / "gallery.html"
    path.write_text(view_html().replace("</body>", host + "\n</body>"), encoding="utf-8")
    return path


def browse(binary: str, path: Path, profile: Path, *args: str) -> str:
    finished = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args, path.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return finished.stdout


@pytest.mark.anyio
async def test_chromium_draws_the_preview_the_status_the_expiry_and_a_download_link(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path], tmp_path: Path
) -> None:
    binary = chromium()
    result = await recorded_result(relay, clock, folders)
    view = page(result, tmp_path)

    dom = browse(binary, view, tmp_path / "profile-1", "--dump-dom")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    browse(binary, view, tmp_path / "profile-2", f"--screenshot={SCREENSHOT}")

    drawn = re.search(r'data-drawn="([^"]*)"', dom)
    assert drawn is not None, dom[dom.find("<main") :][:1500]
    facts = json.loads(drawn.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    image = result["structuredContent"]["images"][0]
    assert facts["pictures"] == ["64x48"]  # the preview decoded from its data: URL
    assert facts["links"] == [image["url"]]
    assert "SUCCEEDED" in dom
    assert TASK in dom
    assert f"valid until {image['expires_at']}" in dom
    assert "the full image is at the link" in dom
    assert _shows(SCREENSHOT, RED)


def _shows(screenshot: Path, colour: tuple[int, int, int]) -> bool:
    """Whether the screenshot has pixels of about `colour` (the picture was drawn, not just its element)."""
    with Image.open(screenshot) as shot:
        found = shot.convert("RGB").getcolors(maxcolors=1 << 16) or []
    near = (tuple(cast(tuple[int, int, int], rgb)) for _, rgb in found)
    return any(all(abs(a - b) <= 12 for a, b in zip(rgb, colour, strict=True)) for rgb in near)
