"""The user's own pictures as reference images: read only from allowed folders over stdio, decoded, re-encoded within
7 MB for all of a task, and sent as Base64 without a data: prefix."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.types import ImageContent, ListRootsResult, Root
from PIL import Image
from pydantic import FileUrl

from aigc_image_mcp.catalog.request import FileInfo, SubmitRequest
from aigc_image_mcp.errors import ArgumentsError
from aigc_image_mcp.media import pictures
from aigc_image_mcp.media.pictures import BUDGET, allowed_folders, embed
from aigc_image_mcp.server import build_server

from ..conftest import CANARY_KEY, Connect, FakeClock, make_settings
from ..support.fake_relay import FakeRelay, png
from ..support.helpers import text_of
from ..support.hostile import bomb_png
from ..support.http_server import mcp_client, served
from ..support.raw_rpc import in_memory


def photo(path: Path, megabytes: int) -> Path:
    """A noisy PNG of about `megabytes` MB (noise does not compress): a worst case for the 7 MB budget."""
    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    size = (side, side)
    Image.merge("RGB", [Image.effect_noise(size, 100) for _ in range(3)]).save(path, "PNG", compress_level=0)
    return path


def request_for(*sources: str) -> SubmitRequest:
    infos = [FileInfo(type="Base64", source=source) for source in sources]
    return SubmitRequest(model_name="GG", model_version="3.0", prompt="p", file_infos=infos)


def decoded(text: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(text, validate=True)))
    image.load()
    return image


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_30_mb_photo_is_re_encoded_under_the_7_mb_total_and_the_bytes_sent_decode_to_an_image(
    tmp_path: Path,
) -> None:
    big = photo(tmp_path / "big.png", 30)
    small = tmp_path / "small.png"
    small.write_bytes(png())
    assert big.stat().st_size > 25_000_000

    folder = Path(await anyio.Path(tmp_path).resolve())
    sent = await embed(request_for(str(big), str(small)), remote=False, folders=(folder,))

    infos = sent.file_infos or []
    assert sum(len(base64.b64decode(info.base64 or "")) for info in infos) <= BUDGET
    assert all(not (info.base64 or "").startswith("data:") for info in infos)
    assert [decoded(info.base64 or "").format for info in infos] == ["JPEG", "PNG"]  # small.png has an alpha channel
    assert "source" not in sent.model_dump(exclude_none=True)["file_infos"][0]


@pytest.mark.anyio
async def test_a_data_uri_is_decoded_and_sent_without_its_prefix(tmp_path: Path) -> None:
    uri = "data:image/png;base64," + base64.b64encode(png()).decode()

    sent = await embed(request_for(uri), remote=False, folders=())

    assert decoded((sent.file_infos or [])[0].base64 or "").size == (64, 48)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "remote", "rule"),
    [
        ("../elsewhere.png", False, "is outside the folders this server may read pictures from"),
        ("notes.png", False, "is not an image this server can decode"),
        ("missing.png", False, "does not exist"),
        ("ok.png", True, "over HTTP this server never reads its own disk"),
    ],
)
async def test_a_refused_picture_names_the_path_and_the_rule(
    tmp_path: Path, name: str, remote: bool, rule: str
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "notes.png").write_text("not a picture, only text")
    (allowed / "ok.png").write_bytes(png())
    (tmp_path / "elsewhere.png").write_bytes(png())
    path = allowed / name

    with pytest.raises(ArgumentsError) as raised:
        await embed(request_for(str(path)), remote=remote, folders=(allowed.resolve(),))

    assert str(path) in str(raised.value)
    assert rule in str(raised.value)


def test_the_allowed_folders_are_the_configured_ones_narrowed_to_the_clients_roots(tmp_path: Path) -> None:
    home, project, other = tmp_path / "home", tmp_path / "home" / "project", tmp_path / "other"

    assert allowed_folders((), home, None) == (home.resolve(),)
    assert allowed_folders((), home, (project, other)) == (project.resolve(),)
    assert allowed_folders((project,), home, (home,)) == (project.resolve(),)
    assert allowed_folders((other,), home, (project,)) == ()


@pytest.mark.anyio
async def test_over_stdio_a_local_picture_inside_the_clients_roots_reaches_the_relay_as_base64(
    tmp_path: Path, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    inside, outside = tmp_path / "project", tmp_path / "other"
    for folder in (inside, outside):
        folder.mkdir()
        (folder / "cat.png").write_bytes(png())

    async def roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=FileUrl(inside.resolve().as_uri()))])

    settings = make_settings(**folders, input_dirs=(tmp_path,))
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        ask = {"model": "GEM-2.5", "prompt": "p", "wait_seconds": 0}
        sent = await client.call_tool("generate_image", ask | {"reference_images": [str(inside / "cat.png")]})
        refused = await client.call_tool("generate_image", ask | {"reference_images": [str(outside / "cat.png")]})

    assert not sent.is_error
    (info,) = relay.submits[0]["file_infos"]
    assert set(info) == {"type", "base64"}
    assert info["type"] == "Base64"
    assert decoded(info["base64"]).size == (64, 48)
    assert refused.is_error
    assert "is outside the folders" in refused.content[0].model_dump()["text"]
    assert len(relay.submits) == 1


@pytest.mark.anyio
async def test_on_2026_07_28_a_local_pictures_roots_come_through_an_input_request_before_anything_is_paid(
    tmp_path: Path, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    inside, outside = tmp_path / "project", tmp_path / "other"
    for folder in (inside, outside):
        folder.mkdir()
        (folder / "cat.png").write_bytes(png())
    settings = make_settings(**folders, input_dirs=(tmp_path,))
    server = build_server(settings, transport=relay.transport(), clock=FakeClock())
    ask = {"model": "GEM-2.5", "prompt": "p", "wait_seconds": 0}
    params = {"name": "generate_image", "arguments": ask | {"reference_images": [str(inside / "cat.png")]}}
    other = {"name": "generate_image", "arguments": ask | {"reference_images": [str(outside / "cat.png")]}}
    answer = {"inputResponses": {"roots": {"roots": [{"uri": inside.resolve().as_uri(), "name": "project"}]}}}
    async with in_memory(server) as call:
        first = (await call("tools/call", params, roots=True))["result"]
        submitted_before = len(relay.submits)
        second = (await call("tools/call", params | answer, roots=True))["result"]
        refused = (await call("tools/call", other | answer, roots=True))["result"]

    assert first["resultType"] == "input_required"
    assert first["inputRequests"]["roots"]["method"] == "roots/list"
    assert submitted_before == 0
    assert not second.get("isError"), second
    assert len(relay.submits) == 1
    assert decoded(relay.submits[0]["file_infos"][0]["base64"]).size == (64, 48)
    assert refused["isError"]
    assert "is outside the folders" in refused["content"][0]["text"]


@pytest.mark.anyio
async def test_a_relay_refusing_base64_says_so_and_suggests_a_url(connect: Connect, relay: FakeRelay) -> None:
    import httpx2

    relay.script.append(httpx2.Response(400, json={"error": {"message": "file_infos.0.type: Base64 not supported"}}))
    uri = "data:image/png;base64," + base64.b64encode(png()).decode()
    async with connect() as client:
        result = await client.call_tool(
            "generate_image", {"model": "GEM-3.0", "prompt": "p", "reference_images": [uri]}
        )

    text = result.content[0].model_dump()["text"]
    assert result.is_error
    assert "Base64 not supported" in text
    assert "experimental" in text
    assert "http(s) URL" in text


@pytest.mark.slow
@pytest.mark.anyio
async def test_an_http_caller_cannot_make_the_server_read_its_own_disk(tmp_path: Path) -> None:
    picture = tmp_path / "home" / "secret.png"
    picture.parent.mkdir()
    picture.write_bytes(png())
    with served(AIGC_IMAGE_INPUT_DIRS=str(tmp_path)) as it:
        async with mcp_client(it.server.mcp_url, CANARY_KEY) as client:
            arguments = {"model": "GEM-2.5", "prompt": "p", "reference_images": [str(picture)]}
            result = await client.call_tool("generate_image", arguments)

    assert result.is_error
    assert f"{picture} is a local path, and over HTTP this server never reads its own disk" in str(result.content)
    assert it.relay.submits == []


@pytest.mark.anyio
@pytest.mark.parametrize("pillow_guard", [None, Image.MAX_IMAGE_PIXELS], ids=["pillow-guard-off", "pillow-guard-on"])
async def test_a_picture_declaring_too_many_pixels_is_refused_from_its_header_whatever_pillows_guard_says(
    monkeypatch: pytest.MonkeyPatch, pillow_guard: int | None
) -> None:
    # Making any preview switches Pillow's process-wide guard off; the bound must not rest on it.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_guard)
    bomb = bomb_png(12000, 12000, "L")  # 140 KB that decode to 144 million pixels
    uri = "data:image/png;base64," + base64.b64encode(bomb).decode()

    with pytest.raises(ArgumentsError) as raised:
        await embed(request_for(uri), remote=False, folders=())

    assert "a data: URI is 12000 x 12000 pixels; scale it down to at most 25,000,000 pixels" in str(raised.value)


@pytest.mark.anyio
async def test_after_a_previewed_task_a_bomb_picture_is_still_refused_and_nothing_is_paid(
    connect: Connect, relay: FakeRelay
) -> None:
    bomb = bomb_png(12000, 12000, "L")
    uri = "data:image/png;base64," + base64.b64encode(bomb).decode()
    arguments = {"model": "GEM-3.0", "prompt": "a red fox in snow"}

    async with connect() as client:
        first = await client.call_tool("generate_image", arguments)
        second = await client.call_tool("generate_image", arguments | {"reference_images": [uri]})

    assert any(isinstance(block, ImageContent) for block in first.content)  # a preview was made first
    assert second.is_error
    assert "12000 x 12000 pixels" in text_of(second)
    assert len(relay.submits) == 1


@pytest.mark.anyio
async def test_a_jpeg_photo_over_the_bound_is_decoded_at_a_reduced_scale_and_sent() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8000, 6000), "teal").save(buffer, "JPEG")  # 48 million pixels, as a phone takes them
    uri = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()

    sent = await embed(request_for(uri), remote=False, folders=())

    assert max(decoded((sent.file_infos or [])[0].base64 or "").size) <= 4096


@pytest.mark.anyio
async def test_pictures_of_concurrent_calls_are_decoded_one_at_a_time(
    connect: Connect, relay: FakeRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each decode may take ~130 MB: a burst of calls (over HTTP, many callers) must queue, not add up.
    encode, active, peak, other = pictures._encode, [0], [0], threading.Event()  # pyright: ignore[reportPrivateUsage]

    def counted(source: Any, budget: int) -> bytes:
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        if active[0] > 1:
            other.set()
        other.wait(0.5)  # long enough for a second decode to start, were it allowed to
        try:
            return encode(source, budget)
        finally:
            active[0] -= 1

    monkeypatch.setattr(pictures, "_encode", counted)
    uri = "data:image/png;base64," + base64.b64encode(png()).decode()
    arguments = {"model": "GEM-3.0", "prompt": "a red fox in snow", "reference_images": [uri], "wait_seconds": 0}

    async with connect() as client, anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(client.call_tool, "generate_image", arguments)

    assert peak[0] == 1
    assert len(relay.submits) == 3
