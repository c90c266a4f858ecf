"""resources/list shows the caller's recent saved images, newest first, so a client's resource picker offers them;
each one reads back through the image template. Over HTTP too, when the operator keeps callers' images, and still
without ever showing a remote caller a path on the server's disk."""

from __future__ import annotations

import base64
import json
from collections import deque

import httpx2
import pytest
from mcp import Client
from mcp.types import BlobResourceContents, Resource

from aigc_image_mcp.protocol import resources as listing
from aigc_image_mcp.protocol.gallery import VIEW_URI

from ..conftest import CANARY_KEY, Connect
from ..support.fake_relay import FakeRelay, accepted, png, rejected, task_detail
from ..support.helpers import TASK, structured
from ..support.http_server import mcp_client, served

pytestmark = pytest.mark.anyio


async def saved_images(client: Client) -> list[Resource]:
    """resources/list without the gallery view, which every server lists first."""
    return [r for r in (await client.list_resources()).resources if str(r.uri) != VIEW_URI]


def finishes(relay: FakeRelay, task_id: str, *names: str) -> None:
    relay.script.append(accepted(task_id))
    relay.queries[task_id] = deque([task_detail(task_id, urls=tuple(f"https://relay.test/files/{n}" for n in names))])


async def test_a_new_server_lists_no_images_only_the_gallery_view_and_the_image_templates(connect: Connect) -> None:
    async with connect() as client:
        assert await saved_images(client) == []
        assert [str(r.uri) for r in (await client.list_resources()).resources] == [VIEW_URI]
        assert (await client.list_resource_templates()).resource_templates


async def test_saved_images_are_listed_newest_first_and_read_back_in_full(connect: Connect, relay: FakeRelay) -> None:
    finishes(relay, "task-old", "old.png")
    finishes(relay, "task-new", "new-1.png", "new-2.jpg")
    relay.files["new-2.jpg"] = httpx2.Response(200, content=_jpeg(), headers={"content-type": "image/jpeg"})
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "an old mill"})
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "a new bridge"})
        listed = await saved_images(client)
        (contents,) = (await client.read_resource(listed[0].uri)).contents

    assert [str(resource.uri) for resource in listed] == [
        "aigc-image://tasks/task-new/image-1.png",
        "aigc-image://tasks/task-new/image-2.jpg",
        "aigc-image://tasks/task-old/image-1.png",
    ]
    assert [resource.mime_type for resource in listed] == ["image/png", "image/jpeg", "image/png"]
    assert listed[0].title == "a new bridge"
    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == png()


async def test_another_key_does_not_see_these_images(connect: Connect, relay: FakeRelay) -> None:
    finishes(relay, "task-mine", "mine.png")
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "mine"})
    async with connect(api_key="sk-someone-else-1234") as stranger:
        assert await saved_images(stranger) == []


async def test_failed_tasks_and_images_not_saved_are_left_out(connect: Connect, relay: FakeRelay) -> None:
    finishes(relay, "task-unsaved", "gone.png")
    relay.files["gone.png"] = httpx2.Response(404)
    relay.script.append(accepted("task-failed"))
    relay.queries["task-failed"] = deque([rejected("task-failed")])
    async with connect() as client:
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "lost"})
        await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "refused"})
        assert await saved_images(client) == []


async def test_without_a_key_the_list_is_empty_not_an_error(connect: Connect) -> None:
    async with connect(api_key=None) as client:
        assert await saved_images(client) == []


async def test_only_the_newest_tasks_are_listed(
    connect: Connect, relay: FakeRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "LISTED_TASKS", 2)
    async with connect() as client:
        for number in range(3):
            finishes(relay, f"task-{number}", f"{number}.png")
            await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": f"picture {number}"})
        listed = await saved_images(client)

    assert [str(resource.uri) for resource in listed] == [
        "aigc-image://tasks/task-2/image-1.png",
        "aigc-image://tasks/task-1/image-1.png",
    ]


@pytest.mark.slow
async def test_over_http_the_callers_saved_images_are_listed_and_read_and_no_path_is_shown() -> None:
    with served() as it:  # each caller pays with its own key; the images are kept in AIGC_IMAGE_OUTPUT_DIR
        it.relay.script.append(accepted(TASK))
        async with mcp_client(it.server.mcp_url, CANARY_KEY) as client:
            result = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "a harbour at night"})
            listed = await saved_images(client)
            (contents,) = (await client.read_resource(listed[0].uri)).contents
            history = await client.call_tool("list_image_tasks", {})
            raw_listing = await client.list_resources()
        async with mcp_client(it.server.mcp_url, "sk-someone-else-1234") as stranger:
            assert await saved_images(stranger) == []

    assert [str(resource.uri) for resource in listed] == [f"aigc-image://tasks/{TASK}/image-1.png"]
    assert listed[0].title == "a harbour at night"
    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == png()
    for shown in (structured(result), structured(history), raw_listing.model_dump(mode="json")):
        assert "local_path" not in json.dumps(shown)
        assert "/images/" not in json.dumps(shown)


@pytest.mark.slow
async def test_over_http_without_an_output_folder_nothing_is_kept_so_nothing_is_listed() -> None:
    with served(AIGC_IMAGE_OUTPUT_DIR="") as it:
        async with mcp_client(it.server.mcp_url, CANARY_KEY) as client:
            await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "a harbour at night"})
            assert await saved_images(client) == []


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()
