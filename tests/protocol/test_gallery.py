"""The gallery (MCP Apps) for clients that declare the UI extension; every other client gets today's results."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aigc_image_mcp.protocol.gallery import VIEW_URI, view_html
from aigc_image_mcp.server import build_server

from ..conftest import FakeClock, make_settings
from ..support.fake_relay import FakeRelay, accepted, task_detail
from ..support.raw_rpc import TASKS, UI, Raw, in_memory

pytestmark = pytest.mark.anyio

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
GENERATE = {"name": "generate_image", "arguments": {"model": "GEM-3.0", "prompt": "a red fox in snow"}}
TOOLS = ["generate_image", "get_image_task", "list_image_tasks", "get_image_usage"]


@pytest.fixture
async def call(relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]) -> AsyncGenerator[Raw]:
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)
    async with in_memory(server) as raw:
        yield raw


def _ui(tool: dict[str, Any]) -> Any:
    return tool.get("_meta", {}).get("ui")


async def test_only_a_client_that_renders_apps_sees_the_view_on_each_tool(call: Raw) -> None:
    with_ui = (await call("tools/list", {}, UI))["result"]["tools"]
    without = (await call("tools/list", {}))["result"]["tools"]
    tasks_only = (await call("tools/list", {}, TASKS))["result"]["tools"]

    assert [tool["name"] for tool in with_ui] == TOOLS
    assert all(_ui(tool) == {"resourceUri": VIEW_URI, "visibility": ["model", "app"]} for tool in with_ui[:3])
    assert _ui(with_ui[3]) is None  # get_image_usage: counts, nothing the gallery shows
    assert all(_ui(tool) is None for tool in without + tasks_only)
    assert [{**tool, "_meta": None} for tool in with_ui] == [{**tool, "_meta": None} for tool in without]


async def test_the_view_is_served_as_an_mcp_app_with_no_external_script(call: Raw) -> None:
    answer = (await call("resources/read", {"uri": VIEW_URI}, UI))["result"]

    (content,) = answer["contents"]
    assert content["mimeType"] == "text/html;profile=mcp-app"
    assert content["text"] == view_html()
    assert "<script src" not in content["text"]
    assert "http://" not in content["text"]
    assert "https://" not in content["text"]


async def test_a_result_for_the_view_has_previews_and_no_resource_link_even_when_links_are_asked_for(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path]
) -> None:
    relay.script.extend([accepted(TASK), accepted("task-2")])
    server = build_server(make_settings(**folders, resource_links=True), transport=relay.transport(), clock=clock)

    async with in_memory(server) as call:
        for_view = (await call("tools/call", GENERATE, UI))["result"]
        plain = (await call("tools/call", GENERATE))["result"]

    assert [block["type"] for block in for_view["content"]] == ["text", "image"]
    assert [block["type"] for block in plain["content"]] == ["text", "image", "resource_link"]
    assert for_view["structuredContent"]["images"][0]["url"].startswith("https://relay.test/files/")


async def test_a_task_polled_by_a_client_that_renders_apps_completes_with_the_views_result(
    call: Raw, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    both = {**TASKS, **UI}

    created = (await call("tools/call", GENERATE, both))["result"]
    done = (await call("tasks/get", {"taskId": TASK}, both))["result"]

    assert created["resultType"] == "task"
    assert [block["type"] for block in done["result"]["content"]] == ["text", "image"]


async def test_each_preview_says_which_image_it_shows_when_one_image_has_none(call: Raw, relay: FakeRelay) -> None:
    relay.script.append(accepted(TASK))
    urls = tuple(f"https://relay.test/files/{name}.png" for name in ("broken", "fine", "also-fine"))
    relay.queries[TASK] = deque([task_detail(TASK, urls=urls)])
    relay.files["broken.png"] = httpx2.Response(200, content=b"not an image at all")

    result = (await call("tools/call", GENERATE, UI))["result"]

    previews = [block for block in result["content"] if block["type"] == "image"]
    assert [block["_meta"]["aigc-image/image"] for block in previews] == [2, 3]
    assert len(result["structuredContent"]["images"]) == 3
