"""The user's own pictures as reference images: a local file or a data: URI, decoded with Pillow, re-encoded (and
downsized when needed) so that all pictures of one task stay within Tencent's Base64 limit, and sent as Base64.
Only re-encoded pixels leave the machine, never a file's own bytes. Knows nothing of MCP.

A path is read only for a local (stdio) caller, and only inside the allowed folders: AIGC_IMAGE_INPUT_DIRS (default:
the home folder), narrowed to the client's MCP roots when it sends them. The file is then read through one
descriptor, walked from the allowed folder with no link followed (confined.py): a link swapped in after the check
makes the read fail, and the size and type are checked on what that descriptor read.
"""

from __future__ import annotations

import base64
import binascii
import errno
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from ..catalog.request import SubmitRequest
from ..errors import ArgumentsError
from . import confined, images

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

BUDGET = 7_000_000
"""Bytes all Base64 pictures of one task may take, decoded: Tencent's limit (7 MB, so that the Base64 text fits the
API's 10 MB request)."""
MAX_FILE = 64 * 1024 * 1024
"""A larger file is refused before it is read."""
LONGEST_SIDE = 4096
"""Pictures are scaled down to this first: no model takes a larger reference."""
_TOOL = "generate_image"
_WHERE = "reference_images/mask_image"


@dataclass(frozen=True)
class _Checked:
    """A picture that passed the checks: a data: URI, or a file at `relative` inside the allowed `folder`."""

    source: str
    folder: Path | None = None
    relative: PurePath | None = None


def allowed_folders(input_dirs: Sequence[Path], home: Path, roots: Sequence[Path] | None) -> tuple[Path, ...]:
    """The folders pictures may be read from: the configured ones (or home), narrowed to the client's roots."""
    configured = [folder.expanduser().resolve() for folder in (input_dirs or (home,))]
    if roots is None:
        return tuple(configured)
    narrowed: list[Path] = []
    for root in (root.resolve() for root in roots):
        narrowed += [root if root.is_relative_to(folder) else folder for folder in configured if _overlap(root, folder)]
    return tuple(dict.fromkeys(narrowed))


def has_local(request: SubmitRequest) -> bool:
    """Whether the request names a local picture (a path or a data: URI) still to be read."""
    return any(info.source is not None for info in request.file_infos or [])


async def embed(
    request: SubmitRequest, *, remote: bool, folders: Sequence[Path], limiter: anyio.CapacityLimiter | None = None
) -> SubmitRequest:
    """The request with each local picture read, checked and re-encoded as Base64; ArgumentsError naming each
    picture refused and the rule it broke. `limiter` bounds the decodes at once (the server's: images.DECODES)."""
    infos = request.file_infos or []
    local = [index for index, info in enumerate(infos) if info.source is not None]
    if not local:
        return request
    checked = [_check(str(infos[index].source), remote, folders) for index in local]
    problems = [item for item in checked if isinstance(item, str)]
    if problems:
        raise ArgumentsError(_TOOL, problems)
    checked_only = [item for item in checked if isinstance(item, _Checked)]
    encoded = await anyio.to_thread.run_sync(_encode_all, checked_only, limiter=limiter)
    replaced = list(infos)
    for index, data in zip(local, encoded, strict=True):
        replaced[index] = infos[index].model_copy(update={"base64": base64.b64encode(data).decode("ascii")})
    return request.model_copy(update={"file_infos": replaced})


def _check(source: str, remote: bool, folders: Sequence[Path]) -> _Checked | str:
    """The picture where it may be read, or what forbids reading it; checked before any file is opened."""
    if source.startswith("data:"):
        return _Checked(source)
    if remote:
        return (
            f"{_WHERE}: {source} is a local path, and over HTTP this server never reads its own disk; send an "
            "http(s) URL or a data:image/…;base64, URI instead"
        )
    path = Path(source).expanduser()
    if not path.is_absolute():
        return f"{_WHERE}: {source} is not an absolute path; give the full path or one starting with ~/"
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return f"{_WHERE}: {source} does not exist or cannot be reached"
    inside = [folder for folder in folders if real.is_relative_to(folder)]
    if not inside:
        shown = ", ".join(str(folder) for folder in folders) or "none"
        return (
            f"{_WHERE}: {source} is outside the folders this server may read pictures from ({shown}: "
            "AIGC_IMAGE_INPUT_DIRS, default the home folder, narrowed to the client's roots)"
        )
    if not real.is_file():
        return f"{_WHERE}: {source} is not a file"
    if real.stat().st_size > MAX_FILE:
        return f"{_WHERE}: {source} is larger than {MAX_FILE // 1_048_576} MB"
    return _Checked(source, inside[0], real.relative_to(inside[0]))


def _encode_all(pictures: list[_Checked]) -> list[bytes]:
    """Each picture decoded and re-encoded in turn, sharing BUDGET: each gets an equal part of what the others
    left. One picture is decoded at a time."""
    encoded: list[bytes] = []
    for number, picture in enumerate(pictures):
        share = (BUDGET - sum(map(len, encoded))) // (len(pictures) - number)
        encoded.append(_encode(picture, share))
    return encoded


def _encode(picture: _Checked, budget: int) -> bytes:
    """The picture decoded (bounded by images.MAX_PIXELS, checked from its header) and re-encoded within `budget`."""
    from PIL import UnidentifiedImageError  # Pillow is imported on the first local picture only

    data, shown = _read(picture)
    try:
        # A JPEG decodes at the smallest scale that keeps both sides at least half of LONGEST_SIDE: a 48-million
        # pixel photo decodes at half size, under images.MAX_PIXELS, and still well above what a model reads.
        with images.opened(data, draft=LONGEST_SIDE // 2) as image:
            image.load()
            return _fit(shown, image, budget)
    except images.TooLargeError as exc:
        raise ArgumentsError(
            _TOOL, [f"{_WHERE}: {shown} is {exc.size}; scale it down to at most {images.MAX_PIXELS:,} pixels"]
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ArgumentsError(
            _TOOL, [f"{_WHERE}: {shown} is not an image this server can decode (jpeg, png, webp, gif, bmp, tiff …)"]
        ) from None


def _read(picture: _Checked) -> tuple[bytes, str]:
    """The bytes of a data: URI or a file, and how to name it in a message."""
    source = picture.source
    if picture.folder is None or picture.relative is None:
        try:
            return base64.b64decode(source.partition(",")[2], validate=True), "a data: URI"
        except (binascii.Error, ValueError):
            raise ArgumentsError(_TOOL, [f"{_WHERE}: a data: URI whose Base64 does not decode"]) from None
    try:
        return confined.read(picture.folder, picture.relative, MAX_FILE), source
    except OSError as exc:
        problem = {
            errno.EFBIG: f"is larger than {MAX_FILE // 1_048_576} MB",
            errno.EINVAL: "is not a file",
            errno.ELOOP: f"changed after it was checked ({exc.strerror}), so it was not read",
            errno.ENOTDIR: f"changed after it was checked ({exc.strerror}), so it was not read",
        }.get(exc.errno or 0, f"cannot be read ({exc.strerror or type(exc).__name__})")
        raise ArgumentsError(_TOOL, [f"{_WHERE}: {source} {problem}"]) from None


def _fit(shown: str, picture: Picture, budget: int) -> bytes:
    """The picture as PNG (when it has transparency, as masks do) or JPEG, scaled down until it fits `budget`."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(picture)
    alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if alpha else "RGB")
    scale = min(1.0, LONGEST_SIDE / max(image.size))
    for _ in range(8):
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        buffer = io.BytesIO()
        sized = image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image  # pyright: ignore[reportUnknownMemberType]
        sized.save(buffer, "PNG" if alpha else "JPEG", **({"optimize": True} if alpha else {"quality": 90}))
        if buffer.tell() <= budget:
            return buffer.getvalue()
        scale *= math.sqrt(budget / buffer.tell()) * 0.9
    raise ArgumentsError(_TOOL, [f"{_WHERE}: {shown} cannot be made small enough for the 7 MB all pictures share"])


def _overlap(one: Path, other: Path) -> bool:
    return one.is_relative_to(other) or other.is_relative_to(one)
