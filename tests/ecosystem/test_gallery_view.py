"""The gallery view's own script under Node, with the few DOM calls it makes stood in for: which preview it draws
under which image. (test_gallery_browser.py draws the view in Chromium.)"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aigc_image_mcp.protocol.gallery import view_html
from aigc_image_mcp.server import build_server

from ..conftest import FakeClock, make_settings
from ..support.fake_relay import FakeRelay, accepted, task_detail
from ..support.raw_rpc import UI, in_memory
from ..support.toolchain import node, run

pytestmark = pytest.mark.slow

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
# The view's script with a stand-in document: elements that record their tag, attributes and children. It hands the
# view the tool result as the host would, then prints the `src` of each figure's picture (null for none).
HARNESS = """
"use strict";
const fs = require("fs");
const [view, resultFile] = process.argv.slice(2);
const html = fs.readFileSync(view, "utf8");
const script = html.slice(html.indexOf("<script>") + "<script>".length, html.lastIndexOf("</script>"));
class Element {
  constructor(tag) { this.tag = tag; this.attributes = {}; this.children = []; }
  setAttribute(name, value) { this.attributes[name] = String(value); }
  append(...children) { this.children.push(...children); }
  replaceChildren(...children) { this.children = children; }
  addEventListener() {}
}
const main = new Element("main");
const listeners = [];
globalThis.document = {
  getElementById: () => main,
  createElement: (tag) => new Element(tag),
  documentElement: { scrollHeight: 100 },
};
globalThis.window = { parent: { postMessage() {} }, addEventListener: (type, listener) => listeners.push(listener) };
new Function(script)();
const params = JSON.parse(fs.readFileSync(resultFile, "utf8"));
const message = { jsonrpc: "2.0", method: "ui/notifications/tool-result", params };
for (const listener of listeners) listener({ data: message });
const figures = [];
const walk = (node) => {
  if (!(node instanceof Element)) return;
  if (node.tag === "figure") {
    const picture = node.children.find((child) => child instanceof Element && child.tag === "img");
    figures.push(picture ? picture.attributes.src : null);
  }
  node.children.forEach(walk);
};
walk(main);
console.log(JSON.stringify(figures));
"""


def drawn(result: dict[str, Any], folder: Path) -> list[str | None]:
    """The `src` of the picture under each image, as the view draws `result`; None where it draws none."""
    (folder / "view.html").write_text(view_html(), encoding="utf-8")
    (folder / "result.json").write_text(json.dumps(result), encoding="utf-8")
    (folder / "harness.js").write_text(HARNESS, encoding="utf-8")
    done = run([node(), str(folder / "harness.js"), str(folder / "view.html"), str(folder / "result.json")])
    return json.loads(done.stdout)


def source(block: dict[str, Any]) -> str:
    return f"data:{block['mimeType']};base64,{block['data']}"


@pytest.mark.anyio
async def test_with_the_first_preview_missing_the_others_are_drawn_under_their_own_images(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path], tmp_path: Path
) -> None:
    relay.script.append(accepted(TASK))
    urls = tuple(f"https://relay.test/files/{name}.png" for name in ("broken", "fine", "also-fine"))
    relay.queries[TASK] = deque([task_detail(TASK, urls=urls)])
    relay.files["broken.png"] = httpx2.Response(200, content=b"not an image at all")
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)
    async with in_memory(server) as call:
        generate = {"name": "generate_image", "arguments": {"model": "GEM-3.0", "prompt": "a fox"}}
        result = (await call("tools/call", generate, UI))["result"]
    second, third = (block for block in result["content"] if block["type"] == "image")

    assert drawn(result, tmp_path) == [None, source(second), source(third)]


def test_previews_are_paired_by_the_number_they_name_not_by_their_order(tmp_path: Path) -> None:
    def block(data: str, number: int | None) -> dict[str, Any]:
        meta = {"_meta": {"aigc-image/image": number}} if number is not None else {}
        return {"type": "image", "mimeType": "image/jpeg", "data": data, **meta}

    images = [{"url": f"https://relay.test/files/{n}.png"} for n in (1, 2, 3)]
    result = {
        "content": [{"type": "text", "text": "done"}, block("third", 3), block("unnamed", None), block("first", 1)],
        "structuredContent": {"task_id": TASK, "model": "GEM-3.0", "status": "SUCCEEDED", "images": images},
    }

    assert drawn(result, tmp_path) == ["data:image/jpeg;base64,first", None, "data:image/jpeg;base64,third"]
