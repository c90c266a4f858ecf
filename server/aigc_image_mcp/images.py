"""Finished images: download one, save it in the output folder, and make the small preview a chat can show.
Knows nothing of MCP. Pillow is imported only when a preview is made, to keep it off the stdio cold start."""

from __future__ import annotations

import base64
import contextlib
import io
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ImageError

if TYPE_CHECKING:
    import httpx2
    from PIL.Image import Image as Picture

MAX_BYTES = 50 * 1024 * 1024
_PREVIEW_STEPS = ((1024, 85), (768, 80), (512, 75), (384, 70), (256, 60))
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF8", "image/gif", ".gif"),
)
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
"""The image types saved, and the extension each is saved with."""


async def download(http: httpx2.AsyncClient, url: str) -> tuple[bytes, str]:
    """The image at `url` and its MIME type; ImageError when it cannot be had or is not an image."""
    import httpx2  # here, like Pillow below: render.py imports this module on the server's start path

    if not url.lower().startswith(("http://", "https://")):
        raise ImageError(f"only http(s) URLs are downloaded, not {url[:60]!r}")
    try:
        async with http.stream("GET", url, headers={"Accept": "image/*"}) as response:
            if response.status_code != 200:
                raise ImageError(f"the image server answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ImageError(f"the image is larger than {MAX_BYTES // (1024 * 1024)} MB")
                chunks.append(chunk)
            declared = response.headers.get("content-type", "")
    except httpx2.HTTPError as exc:
        raise ImageError(f"the download failed ({type(exc).__name__})") from None
    data = b"".join(chunks)
    return data, mime_type(data, declared)


def mime_type(data: bytes, declared: str) -> str:
    """The type the bytes show, else the declared one; ImageError when neither is an image type we save."""
    for signature, kind, _ in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    declared = declared.split(";")[0].strip().lower()
    if declared in EXTENSIONS:
        return declared
    raise ImageError(f"the download is not an image (content type {declared or 'none'})")


def file_stem(day: date, task_id: str, number: int) -> str:
    """`2026-11-23_<TaskId>_1`: sorts by date, and says which task and which of its images."""
    return f"{day.isoformat()}_{task_id}_{number}"


def save(folder: Path, stem: str, data: bytes, kind: str) -> Path:
    """Write `data` as `<folder>/<stem><ext>`, replacing an earlier copy whole; ImageError when it cannot.

    The stem comes partly from the network (the TaskId): it is reduced to a plain file name, and the result must
    still lie in `folder`."""
    path = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".") + EXTENSIONS[kind])
    if path.resolve().parent != folder.resolve():
        raise ImageError(f"the name {stem!r} would leave {folder}")
    partial = path.with_name(path.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what is broken
            partial.unlink(missing_ok=True)
        raise ImageError(
            f"it could not be saved in {folder} ({exc.strerror or type(exc).__name__}); set AIGC_IMAGE_OUTPUT_DIR "
            "to a folder this server can write to"
        ) from None
    return path


def preview(data: bytes, budget: int) -> bytes:
    """A JPEG copy of the image, as large as fits in `budget` characters of base64; ImageError if none fits."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as original:
            original.draft(
                "RGB", (_PREVIEW_STEPS[0][0], _PREVIEW_STEPS[0][0])
            )  # JPEG: decode at reduced size, much faster
            image = _flatten(original)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageError(f"no preview could be made ({type(exc).__name__})") from None
    for side, quality in _PREVIEW_STEPS:
        image.thumbnail((side, side))  # in place, each step smaller than the last
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if len(base64.b64encode(buffer.getvalue())) <= budget:
            return buffer.getvalue()
    raise ImageError("no preview fits the size limit")


def _flatten(image: Picture) -> Picture:
    """The pixels as RGB, transparency laid on white: JPEG has no alpha."""
    from PIL import Image

    if image.mode == "RGB":
        return image.copy()
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
