"""What a hostile or broken image host can do to a finished, paid task: nothing worse than a note beside the TaskId.
Bombs are saved but not decoded, malformed files and URLs become notes, non-images are neither saved nor served, and
the server fetches nothing on a private address other than its own upstream."""

from __future__ import annotations

import base64
import io
import os
from collections import deque
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.types import BlobResourceContents, ImageContent
from PIL import Image

from aigc_image_mcp.server import build_server

from ..conftest import Connect, FakeClock, make_settings, saved_as
from ..support.fake_relay import FakeRelay, accepted, png, serve, task_detail
from ..support.helpers import TASK, structured, text_of
from ..support.hostile import bomb_png, gradient_png, mutations

pytestmark = pytest.mark.anyio

ARGUMENTS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


def finish_with(relay: FakeRelay, *urls: str, task: str = TASK) -> None:
    relay.script.append(accepted(task))
    relay.queries[task] = deque([task_detail(task, urls=urls)])


def fetched(relay: FakeRelay) -> list[str]:
    return [str(r.url) for r in relay.requests if r.method == "GET" and "/query/" not in str(r.url)]


async def refusal(client: Client, uri: str) -> str:
    """Why reading `uri` was refused; empty when it was read."""
    try:
        await client.read_resource(uri)
    except MCPError as exc:
        return str(exc)
    return ""


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (30, 20), 3).save(buffer, "GIF")
    return buffer.getvalue()


async def test_a_decompression_bomb_is_saved_and_linked_but_not_previewed(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    bomb = bomb_png(13000, 13000)  # 21 KB on the wire, 169 million pixels
    finish_with(relay, "https://relay.test/files/bomb.png")
    relay.files["bomb.png"] = httpx2.Response(200, content=bomb)

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    assert structured(result)["status"] == "SUCCEEDED"
    assert saved_as(folders["output_dir"], TASK, ".png").read_bytes() == bomb
    assert [block for block in result.content if isinstance(block, ImageContent)] == []
    assert "URL https://relay.test/files/bomb.png" in text_of(result)
    assert "Image 1: too large to preview (13000 x 13000 pixels); open the saved copy" in text_of(result)


@pytest.mark.slow
async def test_no_mutation_of_a_png_makes_a_finished_task_unusable(connect: Connect, relay: FakeRelay) -> None:
    """Pillow raises SyntaxError, ValueError and more on malformed files: each must end as a note."""
    copies = mutations(gradient_png(), 300, seed=0)  # this seed makes both SyntaxError and ValueError
    for number, copy in enumerate(copies):
        task = f"1-AigcImageTask-mutant{number}"
        finish_with(relay, f"https://relay.test/files/m{number}.png", task=task)
        relay.files[f"m{number}.png"] = httpx2.Response(200, content=copy)

    refusals: list[str] = []
    async with connect() as client:
        for number in range(len(copies)):
            task = f"1-AigcImageTask-mutant{number}"
            for result in (
                await client.call_tool("generate_image", ARGUMENTS),
                await client.call_tool("get_image_task", {"task_id": task}),
            ):
                assert not result.is_error, text_of(result)
                assert (structured(result)["task_id"], structured(result)["status"]) == (task, "SUCCEEDED")
                assert task in text_of(result)
            refusals.append(await refusal(client, f"aigc-image://tasks/{task}/image-1.png"))

    unexplained = [message for message in refusals if message and "no local copy" not in message]
    assert unexplained == []


async def test_an_invalid_image_url_costs_only_that_image(connect: Connect, relay: FakeRelay) -> None:
    finish_with(relay, "http://127.0.0.1:bad/x.png")

    async with connect() as client:
        first = await client.call_tool("generate_image", ARGUMENTS)
        again = await client.call_tool("get_image_task", {"task_id": TASK})
        with pytest.raises(MCPError, match=r"Image 1 of task .* has no local copy"):
            await client.read_resource(f"aigc-image://tasks/{TASK}/image-1.png")

    for result in (first, again):
        assert (structured(result)["task_id"], structured(result)["status"]) == (TASK, "SUCCEEDED")
        assert "Image 1 has no local copy: the URL is not valid" in text_of(result)


@pytest.mark.slow
async def test_five_thousand_images_make_a_result_that_fits_a_client(connect: Connect, relay: FakeRelay) -> None:
    urls = tuple(f"https://relay.test/files/{number}.png" for number in range(5000))
    finish_with(relay, *urls)

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    size = len(result.model_dump_json(by_alias=True, exclude_none=True))
    assert size < 700_000
    assert len(result.content) <= 1 + 2 * 8
    assert len(structured(result)["images"]) == 8
    assert "This task has 5000 images; this result shows the first 8" in text_of(result)
    assert len(fetched(relay)) == 8, "only the images shown are downloaded"
    async with connect() as client:
        (contents,) = (await client.read_resource(f"aigc-image://tasks/{TASK}/image-5000.png")).contents
    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == png(), "an image beyond the first 8 is still a resource"


async def test_a_result_with_enormous_urls_is_cut_down_to_the_task(connect: Connect, relay: FakeRelay) -> None:
    finish_with(relay, "https://relay.test/files/a.png?" + "x" * 500_000)  # in the text and the structured content

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    assert len(result.model_dump_json(by_alias=True, exclude_none=True)) < 100_000
    assert (structured(result)["task_id"], structured(result)["status"]) == (TASK, "SUCCEEDED")
    assert "is more than a client accepts, so only the task is shown" in text_of(result)
    assert structured(result)["cost"] == {"images": 1, "amount": None, "currency": None}, "the cost stays whole"
    assert "Cost: 1 image." in text_of(result)


async def test_html_sent_as_png_is_neither_saved_nor_served(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    finish_with(relay, "https://relay.test/files/login.png")
    page = b"\x89PNG\r\n\x1a\n<html>sign in</html>"
    relay.files["login.png"] = httpx2.Response(200, content=page, headers={"content-type": "image/png"})

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)
        with pytest.raises(MCPError, match="not an image"):
            await client.read_resource(f"aigc-image://tasks/{TASK}/image-1.png")

    assert "Image 1 has no local copy: the download is not an image" in text_of(result)
    assert not folders["output_dir"].exists() or list(folders["output_dir"].iterdir()) == []


@pytest.mark.parametrize(
    ("pillow_format", "kind", "extension"),
    [("WEBP", "image/webp", ".webp"), ("MPO", "image/jpeg", ".jpg")],
)
async def test_each_kept_type_is_saved_under_its_own_type(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], pillow_format: str, kind: str, extension: str
) -> None:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    frames[0].save(buffer, pillow_format, save_all=True, append_images=frames[1:])  # MPO: a camera's multi-picture JPEG
    finish_with(relay, "https://relay.test/files/a.png")
    relay.files["a.png"] = httpx2.Response(200, content=buffer.getvalue(), headers={"content-type": "image/png"})

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    assert structured(result)["images"][0]["mime_type"] == kind
    assert saved_as(folders["output_dir"], TASK, extension).read_bytes() == buffer.getvalue()
    assert len([block for block in result.content if isinstance(block, ImageContent)]) == 1


async def test_a_local_copy_replaced_by_something_else_is_not_served(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    finish_with(relay, "https://relay.test/files/a.png")
    async with connect() as client:
        await client.call_tool("generate_image", ARGUMENTS)
        saved_as(folders["output_dir"], TASK, ".png").write_bytes(b"<html>not the image</html>")
        (contents,) = (await client.read_resource(f"aigc-image://tasks/{TASK}/image-1.png")).contents

    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == png(), "fetched again from its URL"


async def test_a_gif_is_saved_and_served_as_a_gif(connect: Connect, relay: FakeRelay, folders: dict[str, Path]) -> None:
    finish_with(relay, "https://relay.test/files/a.png")
    relay.files["a.png"] = httpx2.Response(200, content=gif(), headers={"content-type": "image/png"})

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)
        (contents,) = (await client.read_resource(f"aigc-image://tasks/{TASK}/image-1.gif")).contents
        with pytest.raises(MCPError, match=r"a GIF: read it as aigc-image://tasks/.*/image-1\.gif"):
            await client.read_resource(f"aigc-image://tasks/{TASK}/image-1.png")

    assert structured(result)["images"][0]["mime_type"] == "image/gif"
    assert saved_as(folders["output_dir"], TASK, ".gif").read_bytes() == gif()
    assert isinstance(contents, BlobResourceContents)
    assert (contents.mime_type, base64.b64decode(contents.blob)) == ("image/gif", gif())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8123/admin/secret.png",
        "http://[::1]/admin/secret.png",
        "http://169.254.169.254/latest/meta-data.png",
        "http://10.1.2.3/admin/secret.png",
        "http://[::ffff:192.168.1.1]/admin/secret.png",
        "http://localhost/admin/secret.png",
    ],
)
async def test_an_image_on_a_private_address_is_not_fetched(connect: Connect, relay: FakeRelay, url: str) -> None:
    finish_with(relay, url)

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    assert fetched(relay) == []
    assert structured(result)["status"] == "SUCCEEDED"
    assert "is not fetched: it is on a private or local address" in text_of(result)
    assert "AIGC_IMAGE_ALLOW_PRIVATE_URLS" in text_of(result)


async def test_the_operator_can_allow_private_addresses(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    finish_with(relay, "http://10.1.2.3/files/a.png")

    async with connect(allow_private_urls=True) as client:
        await client.call_tool("generate_image", ARGUMENTS)

    assert fetched(relay) == ["http://10.1.2.3/files/a.png"]
    assert saved_as(folders["output_dir"], TASK, ".png").read_bytes() == png()


@pytest.mark.parametrize(
    ("target", "saved"),
    [("https://relay.test/files/real.png", True), ("http://127.0.0.1:9/admin/secret.png", False)],
)
async def test_each_redirect_is_checked_before_it_is_followed(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], target: str, saved: bool
) -> None:
    finish_with(relay, "https://relay.test/files/moved.png")
    relay.files["moved.png"] = httpx2.Response(302, headers={"location": target})

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS)

    assert fetched(relay) == ["https://relay.test/files/moved.png", *([target] if saved else [])]
    assert saved_as(folders["output_dir"], TASK, ".png").exists() == saved
    assert ("is not fetched: it is on a private or local address" in text_of(result)) != saved


@pytest.mark.slow
async def test_over_real_http_the_relay_s_own_files_are_fetched_but_another_loopback_port_is_not(
    relay: FakeRelay, folders: dict[str, Path]
) -> None:
    secrets = FakeRelay()
    secrets.files["secret.png"] = httpx2.Response(200, content=b"password=hunter2")
    with serve(relay) as relay_url, serve(secrets) as secret_url:
        relay.script.extend([accepted("1-AigcImageTask-own"), accepted("1-AigcImageTask-other")])
        relay.queries["1-AigcImageTask-own"] = deque([task_detail("x", urls=(f"{relay_url}/files/own.png",))])
        relay.queries["1-AigcImageTask-other"] = deque([task_detail("x", urls=(f"{secret_url}/files/secret.png",))])
        server = build_server(make_settings(base_url=relay_url, **folders), clock=FakeClock())
        async with Client(server, mode="legacy") as client:
            own = await client.call_tool("generate_image", ARGUMENTS)
            other = await client.call_tool("generate_image", ARGUMENTS)

    assert structured(own)["images"][0]["local_path"]
    assert "local_path" not in structured(other)["images"][0]
    assert secrets.requests == []


@pytest.mark.skipif(os.name != "posix", reason="symlinks need a POSIX file system")
async def test_saving_never_follows_a_link_planted_at_the_temporary_name(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    final = saved_as(folders["output_dir"], TASK, ".png")
    final.parent.mkdir(parents=True)
    final.with_name(final.name + ".part").symlink_to(victim)
    finish_with(relay, "https://relay.test/files/a.png")

    async with connect() as client:
        await client.call_tool("generate_image", ARGUMENTS)

    assert victim.read_text() == "precious"
    assert final.read_bytes() == png()
    assert not final.is_symlink()
    assert final.stat().st_mode & 0o777 == 0o644
