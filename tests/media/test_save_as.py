"""save_as: the image written where the user asked, inside the client's roots or the output folder, in the format its
extension names; never over an existing file unless overwrite; never for an HTTP caller."""

from __future__ import annotations

import io
from collections import deque
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import CallToolResult, ListRootsResult, Root, TextContent
from PIL import Image

from aigc_image_mcp.errors import ArgumentsError, ImageError
from aigc_image_mcp.media.saving import FORMATS, convert, target
from aigc_image_mcp.server import build_server

from ..conftest import CANARY_KEY, Connect, FakeClock, make_settings
from ..support.fake_relay import FakeRelay, accepted, running, task_detail
from ..support.hostile import bomb_png
from ..support.http_server import mcp_client, served
from ..support.raw_rpc import in_memory

pytestmark = pytest.mark.anyio

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
ARGUMENTS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def image_format(path: Path) -> tuple[str | None, tuple[int, int]]:
    with Image.open(path) as image:
        return image.format, image.size


async def test_a_relative_path_lands_in_the_output_folder_without_roots_in_the_format_of_its_extension(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "public/hero.webp"})

    written = folders["output_dir"] / "public" / "hero.webp"
    assert image_format(written) == ("WEBP", (64, 48))
    assert result.structured_content is not None
    assert result.structured_content["images"][0]["saved_as"] == str(written)
    assert f"written to {written}" in text_of(result)


async def test_several_images_are_name_then_name_2(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    urls = ("https://relay.test/files/a.png", "https://relay.test/files/b.png")
    relay.queries[TASK] = deque([task_detail(TASK, urls=urls)])
    async with connect() as client:
        await client.call_tool("generate_image", ARGUMENTS | {"save_as": "shots/fox.jpg"})

    shots = folders["output_dir"] / "shots"
    assert sorted(path.name for path in shots.iterdir()) == ["fox-2.jpg", "fox.jpg"]
    assert image_format(shots / "fox-2.jpg")[0] == "JPEG"


async def test_an_existing_file_is_kept_and_nothing_is_paid_unless_overwrite(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    existing = folders["output_dir"] / "hero.png"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"the user's own file")
    async with connect() as client:
        refused = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "hero.png"})
        replaced = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "hero.png", "overwrite": True})

    assert refused.is_error
    assert "overwrite: true" in text_of(refused)
    assert len(relay.submits) == 1  # only the second call
    assert not replaced.is_error
    assert image_format(existing)[0] == "PNG"


@pytest.mark.parametrize(
    ("save_as", "says"),
    [
        ("../elsewhere.png", "outside the folders"),
        ("/etc/hero.png", "outside the folders"),
        ("hero.gif", "must end in one of .png, .jpg, .jpeg, .webp"),
        ("hero", "must end in"),
        ("x\n.png", "save_as: 'x\\n.png' holds a control character (\\n)"),
        ("x\x00.png", "save_as: holds a NUL character (\\u0000)"),
        ("shots/\x7f/x.png", "holds a control character (\\x7f)"),
        ("a" * 300 + ".png", f"save_as: the name '{'a' * 24}…' is 304 bytes; a file name takes at most 255"),
        ("\u00e9" * 130 + "/x.png", "is 260 bytes; a file name takes at most 255"),
        ("x" * 250 + ".png", "is 254 bytes; a file name takes at most 255 (less 2 for the -2 … -8 of further images)"),
    ],
)
async def test_a_path_not_allowed_is_refused_before_anything_is_paid(
    connect: Connect, relay: FakeRelay, save_as: str, says: str
) -> None:
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": save_as})

    assert result.is_error
    assert says in text_of(result)
    assert relay.submits == []


def test_a_path_longer_than_the_file_system_takes_is_refused_naming_save_as(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d" * 200] * 19)  # 3,800 bytes and more

    with pytest.raises(ArgumentsError, match=r"- save_as: '/.*…' is 42\d\d bytes in all; a path takes at most 4095"):
        target("generate_image", f"{'e' * 200}/{'f' * 200}.png", roots=None, output_dir=deep, remote=False)


async def test_get_image_task_saves_a_finished_task_and_says_when_the_image_is_not_ready(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.queries[TASK] = deque([running(TASK, 50)])
    async with connect() as client:
        early = await client.call_tool("get_image_task", {"task_id": TASK, "wait_seconds": 0, "save_as": "a.png"})
        written_early = (folders["output_dir"] / "a.png").exists()
        del relay.queries[TASK]
        done = await client.call_tool("get_image_task", {"task_id": TASK, "save_as": "a.png"})

    assert "save_as: the image is not ready yet" in text_of(early)
    assert not written_early
    assert done.structured_content is not None
    assert done.structured_content["images"][0]["saved_as"] == str(folders["output_dir"] / "a.png")


async def test_a_relative_path_starts_at_the_clients_first_root_after_the_handshake(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path], tmp_path: Path
) -> None:
    project, other = tmp_path / "project", tmp_path / "other"

    async def roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=project.as_uri()), Root(uri=other.as_uri())])  # pyright: ignore[reportArgumentType]

    relay.script.append(accepted(TASK))
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "public/hero.png"})
        outside = await client.call_tool("generate_image", ARGUMENTS | {"save_as": str(tmp_path / "x.png")})

    assert not result.is_error, text_of(result)
    assert (project / "public" / "hero.png").is_file()
    assert outside.is_error
    assert str(project) in text_of(outside)


async def test_on_2026_07_28_the_roots_come_through_an_input_request_before_anything_is_paid(
    relay: FakeRelay, clock: FakeClock, folders: dict[str, Path], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    relay.script.append(accepted(TASK))
    server = build_server(make_settings(**folders), transport=relay.transport(), clock=clock)
    params = {"name": "generate_image", "arguments": ARGUMENTS | {"save_as": "hero.png"}}
    answer = {"roots": {"roots": [{"uri": project.as_uri(), "name": "project"}]}}
    async with in_memory(server) as call:
        first = (await call("tools/call", params, roots=True))["result"]
        submitted_before = len(relay.submits)
        second = (await call("tools/call", params | {"inputResponses": answer}, roots=True))["result"]

    assert first["resultType"] == "input_required"
    assert first["inputRequests"]["roots"]["method"] == "roots/list"
    assert submitted_before == 0
    assert second["structuredContent"]["images"][0]["saved_as"] == str(project / "hero.png")


@pytest.mark.slow
async def test_save_as_is_refused_for_an_http_caller_with_a_clear_error() -> None:
    with served(QUICKROUTER_API_KEY=CANARY_KEY) as it:
        async with mcp_client(it.server.mcp_url) as client:
            result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "hero.png"})

    assert result.is_error
    assert "not available over HTTP" in text_of(result)
    assert it.relay.submits == []


@pytest.mark.parametrize("extension", sorted(FORMATS))
def test_conversion_writes_the_format_the_extension_names(extension: str) -> None:
    source = io.BytesIO()
    Image.new("RGBA", (8, 6), (10, 20, 30, 128)).save(source, "PNG")

    converted = convert(source.getvalue(), FORMATS[extension])

    with Image.open(io.BytesIO(converted)) as image:
        assert (image.format, image.size) == (FORMATS[extension], (8, 6))


@pytest.mark.parametrize("pillow_guard", [None, Image.MAX_IMAGE_PIXELS], ids=["pillow-guard-off", "pillow-guard-on"])
def test_converting_a_bomb_is_refused_from_its_header_before_any_decode(
    monkeypatch: pytest.MonkeyPatch, pillow_guard: int | None
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_guard)

    with pytest.raises(ImageError, match=r"too large to decode \(13000 x 13000 pixels"):
        convert(bomb_png(13000, 13000), "JPEG")  # 21 KB, 169 million 1-bit pixels


def test_an_image_already_in_the_target_format_is_written_as_it_came() -> None:
    bomb = bomb_png(13000, 13000)

    assert convert(bomb, "PNG") is bomb  # nothing decoded, the user gets the original bytes


async def test_save_as_of_a_bomb_keeps_the_task_and_says_why_the_file_was_not_written(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([task_detail(TASK, urls=("https://relay.test/files/bomb.png",))])
    relay.files["bomb.png"] = httpx2.Response(200, content=bomb_png(13000, 13000))

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "hero.webp"})

    assert not result.is_error
    assert TASK in text_of(result)
    assert "save_as: image 1 was not written" in text_of(result)
    assert "too large to decode (13000 x 13000 pixels" in text_of(result)


async def test_save_as_of_a_task_with_thousands_of_images_writes_the_first_eight_with_one_note_for_the_rest(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    urls = tuple(f"https://relay.test/files/{number}.png" for number in range(5000))
    relay.queries[TASK] = deque([task_detail(TASK, urls=urls)])
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "many/shot.png"})

    assert result.structured_content is not None
    folder = folders["output_dir"] / "many"
    names = ["shot.png", *(f"shot-{number}.png" for number in range(2, 9))]
    saved = [image.get("saved_as") for image in result.structured_content["images"]]
    notes = [note for note in result.structured_content["notes"] if note.startswith("save_as")]
    assert saved == [str(folder / name) for name in names]
    assert sorted(path.name for path in folder.iterdir()) == sorted(names)
    assert notes == [
        "save_as: images 9 to 5000 were not written: one call writes the first 8 "
        f"(read image n as the resource aigc-image://tasks/{TASK}/image-n.png)."
    ]
