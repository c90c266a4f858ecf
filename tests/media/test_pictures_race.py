"""A local picture is read through the descriptor walked from its checked folder: a link swapped in between the check
and the read (the file, or a folder on the way) makes the call refuse, and the outside picture never goes upstream."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from aigc_image_mcp.catalog.request import FileInfo, SubmitRequest
from aigc_image_mcp.errors import ArgumentsError
from aigc_image_mcp.media import pictures
from aigc_image_mcp.media.pictures import embed

from ..support.fake_relay import png

pytestmark = pytest.mark.anyio


def request_for(source: str) -> SubmitRequest:
    infos = [FileInfo(type="Base64", source=source)]
    return SubmitRequest(model_name="GG", model_version="3.0", prompt="p", file_infos=infos)


def size_sent(request: SubmitRequest) -> tuple[int, int]:
    (info,) = request.file_infos or []
    with Image.open(io.BytesIO(base64.b64decode(info.base64 or ""))) as image:
        return image.size


@pytest.mark.parametrize("swapped", ["the file", "a folder on the way"])
async def test_a_link_swapped_in_after_the_check_never_sends_the_picture_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swapped: str
) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "shots").mkdir(parents=True)
    outside.mkdir()
    inside = allowed / "shots" / "fox.png"
    inside.write_bytes(png(64, 48))
    (outside / "fox.png").write_bytes(png(32, 32))  # the secret: another size, to tell which one was sent
    request = request_for(str(inside))
    folders = (allowed.resolve(),)
    assert size_sent(await embed(request, remote=False, folders=folders)) == (64, 48)

    def swap() -> None:
        if swapped == "the file":
            inside.unlink()
            inside.symlink_to(outside / "fox.png")
        else:
            shutil.rmtree(allowed / "shots")
            (allowed / "shots").symlink_to(outside, target_is_directory=True)

    checked_then_read = pictures._encode_all  # pyright: ignore[reportPrivateUsage]

    def swap_first(*args: object) -> object:
        swap()  # after every check passed, before the file is opened
        return checked_then_read(*args)  # pyright: ignore[reportArgumentType]

    monkeypatch.setattr(pictures, "_encode_all", swap_first)

    with pytest.raises(ArgumentsError, match=r"fox\.png changed after it was checked .*, so it was not read"):
        await embed(request, remote=False, folders=folders)
