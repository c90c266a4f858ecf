"""A finished image as the user gets it: a full-size local copy, a preview small enough for any client, the URL.
When the copy, the preview or the history cannot be made, the image and the TaskId still come back."""

from __future__ import annotations

import base64
import io
from collections import deque
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import MCPError
from mcp.types import BlobResourceContents, CallToolResult, ImageContent, ResourceLink
from PIL import Image

from aigc_image_mcp.config import DEFAULT_INLINE_BUDGET

from ..conftest import Connect, saved_as
from ..support.fake_relay import FakeRelay, accepted, png, task_detail
from ..support.helpers import TASK, text_of

pytestmark = pytest.mark.anyio

ARGUMENTS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


def previews(result: CallToolResult) -> list[ImageContent]:
    return [block for block in result.content if isinstance(block, ImageContent)]


def first_image(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, text_of(result)
    return result.structured_content["images"][0]


async def generate(connect: Connect, **settings: Any) -> CallToolResult:
    async with connect(**settings) as client:
        return await client.call_tool("generate_image", ARGUMENTS)


async def read(connect: Connect, uri: str) -> bytes:
    async with connect() as client:
        (contents,) = (await client.read_resource(uri)).contents
    assert isinstance(contents, BlobResourceContents)
    return base64.b64decode(contents.blob)


def finish_with(relay: FakeRelay, name: str, answer: httpx2.Response) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([task_detail(TASK, urls=(f"https://relay.test/files/{name}",))])
    relay.files[name] = answer


@pytest.mark.slow
async def test_the_image_is_saved_full_size_and_shown_as_a_small_jpeg_preview_with_a_link(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    original = png(1200, 900, noise=True)
    finish_with(relay, "big.png", httpx2.Response(200, content=original, headers={"content-type": "image/png"}))

    result = await generate(connect)

    saved = saved_as(folders["output_dir"], TASK, ".png")
    assert first_image(result)["local_path"] == str(saved)
    assert saved.read_bytes() == original
    (preview,) = previews(result)
    assert preview.mime_type == "image/jpeg"
    assert len(preview.data) <= DEFAULT_INLINE_BUDGET
    with Image.open(io.BytesIO(base64.b64decode(preview.data))) as shown:
        assert shown.format == "JPEG"
        assert max(shown.size) <= 1024
        assert shown.size[0] / shown.size[1] == pytest.approx(1200 / 900, rel=0.01)
    assert first_image(result)["url"] == "https://relay.test/files/big.png"
    assert preview.data not in str(result.structured_content), "no base64 in the structured content"


async def test_each_image_url_is_in_the_text_and_a_resource_link_only_when_the_operator_asks(
    connect: Connect, relay: FakeRelay
) -> None:
    finish_with(relay, "a.png", httpx2.Response(200, content=png(300, 200)))
    plain = await generate(connect)
    finish_with(relay, "a.png", httpx2.Response(200, content=png(300, 200)))
    result = await generate(connect, resource_links=True)
    (link,) = [block for block in result.content if isinstance(block, ResourceLink)]

    assert [block.type for block in plain.content] == ["text", "image"]
    assert "URL https://relay.test/files/a.png, valid until 2026-01-05T12:03:57Z" in text_of(plain)
    assert [block.type for block in result.content] == ["text", "image", "resource_link"]

    assert (str(link.uri), link.mime_type) == ("https://relay.test/files/a.png", "image/png")
    assert link.description is not None
    assert "valid until 2026-01-05T12:03:57Z" in link.description


async def test_the_saved_copy_is_also_a_resource_of_this_server_full_size_for_its_key_only(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    finish_with(relay, "a.png", httpx2.Response(200, content=png(300, 200)))
    await generate(connect)
    uri = f"aigc-image://tasks/{TASK}/image-1.png"

    assert await read(connect, uri) == png(300, 200)
    await anyio.Path(saved_as(folders["output_dir"], TASK, ".png")).unlink()
    assert await read(connect, uri) == png(300, 200), "a deleted copy is fetched again from the URL"
    async with connect(api_key="sk-someone-else-1234") as stranger:
        with pytest.raises(MCPError, match="has no image 1 of task"):
            await stranger.read_resource(uri)


async def test_with_inline_off_no_preview_is_sent_but_the_copy_is_saved(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    finish_with(relay, "a.png", httpx2.Response(200, content=png()))

    result = await generate(connect, inline=False)

    assert previews(result) == []
    assert await anyio.Path(first_image(result)["local_path"]).read_bytes() == png()


async def test_the_file_type_comes_from_the_bytes_not_the_url(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buffer, "JPEG")
    finish_with(relay, "mislabelled.png", httpx2.Response(200, content=buffer.getvalue()))

    result = await generate(connect)

    assert first_image(result)["mime_type"] == "image/jpeg"
    assert first_image(result)["local_path"] == str(saved_as(folders["output_dir"], TASK, ".jpg"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx2.Response(404, text="gone"), "the image server answered HTTP 404"),
        (
            httpx2.Response(200, text="<html>login</html>", headers={"content-type": "text/html"}),
            "the download is not an image (it is an HTML page)",
        ),
        (httpx2.ReadError("reset"), "the download failed (ReadError)"),
    ],
)
async def test_a_failed_download_leaves_the_url_and_says_why(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], answer: httpx2.Response | Exception, reason: str
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([task_detail(TASK, urls=("https://relay.test/files/x.png",))])
    relay.files["x.png"] = answer

    result = await generate(connect)

    assert not result.is_error
    assert first_image(result) == {"url": "https://relay.test/files/x.png", "expires_at": "2026-01-05T12:03:57Z"}
    assert f"Image 1 has no local copy: {reason}. Its URL works (until 2026-01-05T12:03:57Z)." in text_of(result)
    assert TASK in text_of(result)
    assert previews(result) == []
    assert not folders["output_dir"].exists() or list(folders["output_dir"].iterdir()) == []


async def test_an_output_folder_that_cannot_be_written_is_named_and_the_preview_and_type_still_come(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    finish_with(relay, "a.png", httpx2.Response(200, content=png()))

    result = await generate(connect, output_dir=blocker / "images")

    assert first_image(result)["url"] == "https://relay.test/files/a.png"
    assert first_image(result)["mime_type"] == "image/png"
    assert first_image(result).get("local_path") is None
    assert "AIGC_IMAGE_OUTPUT_DIR" in text_of(result)
    assert len(previews(result)) == 1  # the downloaded bytes still make the preview


@pytest.mark.slow
async def test_an_image_no_preview_can_be_made_of_is_still_saved(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    truncated = png(200, 200, noise=True)[:300]
    finish_with(relay, "broken.png", httpx2.Response(200, content=truncated))

    result = await generate(connect)

    assert await anyio.Path(first_image(result)["local_path"]).read_bytes() == truncated
    assert "Image 1: no preview could be made" in text_of(result)
    assert previews(result) == []


@pytest.mark.slow
async def test_a_broken_history_costs_nothing_but_the_history(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.sqlite3").write_bytes(b"this is not a database" * 100)

    async with connect(data_dir=data) as client:
        result = await client.call_tool("generate_image", ARGUMENTS)
        listing = await client.call_tool("list_image_tasks", {})

    assert result.structured_content is not None
    assert result.structured_content["status"] == "SUCCEEDED"
    assert "could not be written to the history, so keep its TaskId" in text_of(result)
    assert listing.is_error
    assert str(data / "history.sqlite3") in text_of(listing)
    assert "AIGC_IMAGE_DATA_DIR" in text_of(listing)


async def test_a_data_folder_that_is_a_file_costs_nothing_but_the_history(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    relay.script.append(accepted(TASK))

    result = await generate(connect, data_dir=blocker)

    assert result.structured_content is not None
    assert (result.structured_content["task_id"], result.structured_content["status"]) == (TASK, "SUCCEEDED")
    assert "could not be written to the history" in text_of(result)


async def test_a_cancelled_call_has_already_named_its_task_and_kept_it_in_the_history(
    connect: Connect, relay: FakeRelay
) -> None:
    """The client gives up mid-wait (as Claude Desktop does after about 60 s): the task is not lost."""
    relay.script.append(accepted(TASK))
    stuck, named = anyio.Event(), anyio.Event()
    messages: list[str] = []

    class Hanging(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if "/query/" in request.url.path:
                stuck.set()
                await anyio.sleep_forever()
            return relay(request)

    async def watch(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")
        named.set()

    async with connect(transport=Hanging()) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: client.call_tool("generate_image", ARGUMENTS, progress_callback=watch))
                await stuck.wait()
                await named.wait()
                scope.cancel()
        listing = await client.call_tool("list_image_tasks", {})

    assert any(TASK in message for message in messages), "the first progress message names the task"
    assert listing.structured_content is not None
    assert [(t["task_id"], t["status"]) for t in listing.structured_content["tasks"]] == [(TASK, "SUBMITTED")]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://relay.test/files/a.png", "/files/a.png"])
async def test_an_image_url_that_is_not_http_is_never_fetched(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], url: str
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([task_detail(TASK, urls=(url,))])

    result = await generate(connect)

    assert "only http(s) URLs are downloaded" in text_of(result)
    assert [r.url.path for r in relay.requests if r.url.path.startswith("/files/")] == []
    assert not folders["output_dir"].exists()


@pytest.mark.parametrize("task_id", [".hidden", "-rf"])  # a `/` is refused at the submit
async def test_a_task_id_from_the_network_cannot_write_outside_the_output_folder(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], tmp_path: Path, task_id: str
) -> None:
    relay.script.append(accepted(task_id))
    relay.queries[task_id] = deque([task_detail(task_id, urls=("https://relay.test/files/a.png",))])

    result = await generate(connect)

    assert not result.is_error
    written = [Path(path) async for path in anyio.Path(tmp_path).rglob("*.png")]
    assert written, "the image is still saved"
    assert all(path.parent == folders["output_dir"] and not path.name.startswith(".") for path in written)


@pytest.mark.slow
@pytest.mark.parametrize("budget", [None, 60_000])
async def test_the_preview_of_a_4096_square_image_stays_under_its_budget(
    connect: Connect, relay: FakeRelay, budget: int | None
) -> None:
    noise = Image.merge("RGB", [Image.effect_noise((4096, 4096), 90) for _ in range(3)])
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=95)  # noise is the worst case for the preview's JPEG
    finish_with(relay, "huge.jpg", httpx2.Response(200, content=buffer.getvalue()))

    async with connect(**({} if budget is None else {"inline_budget": budget})) as client:
        result = await client.call_tool("generate_image", {"model": "GEM-3.0", "prompt": "static"})

    (preview,) = previews(result)
    assert len(preview.data) <= (budget or 300_000)
    with Image.open(io.BytesIO(base64.b64decode(preview.data))) as shown:
        assert shown.size[0] == shown.size[1] <= 1024
