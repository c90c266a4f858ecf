"""Finished images: tell what the downloaded bytes are, save them in the output folder, and make the small preview
a chat can show. Knows nothing of MCP. Pillow is imported only when an image arrives, to keep it off the stdio cold
start.

The bytes come from the network. Only what Pillow recognises, from its header, as one of the types below is saved
or served, under the type it really is.

Every decode in this server, of a finished image or of a user's own picture, goes through `opened`: the image is
measured from its header and refused above MAX_PIXELS before a pixel is decoded (a decompression bomb is a few KB
that decode to gigabytes). The rule does not rest on Pillow's own process-wide guard, which `_pillow` switches off
so that a huge finished image can still be identified, saved and linked."""

from __future__ import annotations

import base64
import io
import re
import warnings
from collections.abc import Generator
from contextlib import contextmanager
from datetime import date
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from ..errors import ImageError
from . import confined

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

DECODES = 1
"""Decodes at once in one server, previews and the user's own pictures alike: each may take ~130 MB (MAX_PIXELS), so
a burst of calls (over HTTP, from many callers) queues for it instead of adding up."""
MAX_PIXELS = 25_000_000
"""The largest image this server decodes, for a preview, a save_as conversion or a reference picture: above
Tencent's largest output (4096x4096, 6198x2656), and small enough that decoding one (at most 4 bytes a pixel) and
reducing it stays near 130 MB."""
_PREVIEW_STEPS = ((1024, 85), (768, 80), (512, 75), (384, 70), (256, 60))
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
"""Pillow's formats of the types kept (a JPEG with several pictures in it, as some cameras make, is an MPO)."""
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}
"""The image types saved and served, and the extension each is saved with."""
_READERS = ["PNG", "JPEG", "GIF", "WEBP"]
_KINDS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}


class TooLargeError(ImageError):
    """An image whose header declares more than MAX_PIXELS pixels: it is not decoded. `size` says how large."""

    def __init__(self, size: str) -> None:
        self.size = size
        super().__init__(f"too large to decode ({size}; at most {MAX_PIXELS // 1_000_000} million pixels are decoded)")


@contextmanager
def opened(data: bytes, *, formats: list[str] | None = None, draft: int | None = None) -> Generator[Picture]:
    """The image in `data`, opened from its header only and checked against MAX_PIXELS before anything decodes
    it, whatever Pillow's global guard says; TooLargeError above. `draft` lets a JPEG decode at a reduced scale
    (at least `draft` pixels on each side), and the size checked is the one that will be decoded. Pillow's
    other errors on malformed bytes pass through to the caller."""
    from PIL import Image

    _pillow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the check below replaces Pillow's
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
        except Image.DecompressionBombError:  # Pillow's guard switched back on elsewhere: larger than it allows
            raise TooLargeError(f"over {2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels") from None
    with image:
        if draft is not None:
            image.draft("RGB", (draft, draft))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise TooLargeError(f"{width} x {height} pixels")
        yield image


def kind_name(kind: str) -> str:
    """`image/gif` as a person says it: GIF."""
    return _KINDS.get(kind, kind)


def identify(data: bytes) -> str:
    """The MIME type of the image `data` holds, read from its header; ImageError when it is no image we keep."""
    from PIL import Image

    _pillow()
    try:
        with Image.open(io.BytesIO(data), formats=_READERS) as image:
            return MIME_TYPES[image.format or ""]
    except Exception:  # noqa: BLE001 - any failure to read a header from the network means "not an image"
        raise ImageError(f"the download is not an image ({_describe(data)})") from None


def _describe(data: bytes) -> str:
    start = data[:200].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start:
        return "it is an HTML page"
    return f"{len(data)} bytes that no PNG, JPEG, GIF or WebP reader accepts"


def file_stem(day: date, task_id: str, number: int) -> str:
    """`2026-11-23_<TaskId>_1`: sorts by date, and says which task and which of its images."""
    return f"{day.isoformat()}_{task_id}_{number}"


def save(folder: Path, stem: str, data: bytes, kind: str) -> Path:
    """Write `data` as `<folder>/<stem><ext>`, replacing an earlier copy whole; ImageError when it cannot.

    The stem comes partly from the network (the TaskId): it is reduced to a plain file name, and the result must
    still lie in `folder`. The write is confined.write's: a temporary file of a random name created exclusively (a
    link planted in the folder is never followed), then renamed into place."""
    path = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".") + EXTENSIONS[kind])
    if path.resolve().parent != folder.resolve():
        raise ImageError(f"the name {stem!r} would leave {folder}")
    try:
        confined.write(folder.resolve(), PurePath(path.name), data, overwrite=True)
    except OSError as exc:
        raise ImageError(
            f"it could not be saved in {folder} ({exc.strerror or type(exc).__name__}); set AIGC_IMAGE_OUTPUT_DIR "
            "to a folder this server can write to"
        ) from None
    return path


def preview(data: bytes, budget: int) -> bytes:
    """A JPEG copy of the image, as large as fits in `budget` characters of base64; ImageError if none can be made.
    Any failure of the decoder on malformed bytes (Pillow raises OSError, SyntaxError, ValueError and more) is
    an ImageError."""
    try:
        with opened(data, formats=_READERS, draft=_PREVIEW_STEPS[0][0]) as original:
            image = _small(original)
    except TooLargeError as exc:
        raise ImageError(f"too large to preview ({exc.size}); open the saved copy") from None
    except Exception as exc:  # noqa: BLE001 - malformed bytes from the network raise almost anything in Pillow
        raise ImageError(f"no preview could be made ({type(exc).__name__})") from None
    for side, quality in _PREVIEW_STEPS:
        image.thumbnail((side, side))  # in place, each step smaller than the last
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if len(base64.b64encode(buffer.getvalue())) <= budget:
            return buffer.getvalue()
    raise ImageError("no preview fits the size limit")


def _small(image: Picture) -> Picture:
    """The image at most the first preview step on its long side, as RGB with transparency laid on white (JPEG has
    no alpha). It is reduced before it is flattened, so the copies flattening makes are small."""
    from PIL import Image

    side = _PREVIEW_STEPS[0][0]
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        # A palette or 1-bit image is resized in its own mode only by picking pixels: pick down to twice the
        # preview's size, then convert, so that the conversion copies a few MB rather than 4 bytes of every pixel.
        image.thumbnail((2 * side, 2 * side), Image.Resampling.NEAREST)
        image = image.convert("RGBA")
    factor = max(image.size) // (2 * side)
    if factor > 1:
        # Band by band: reduce() and thumbnail() of an image with alpha first copy all of it to premultiply; one
        # band at a time costs a quarter of that, and averaging unpremultiplied is fine for a preview.
        image = Image.merge(image.mode, [image.getchannel(band).reduce(factor) for band in image.getbands()])
    image.thumbnail((side, side))  # in place
    if image.mode == "RGB":
        return image.copy()  # small now; a copy no longer tied to the file
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _pillow() -> None:
    """Pillow's own bomb check warns from 89 million pixels and refuses only from 179 million, on opening: it would
    keep a huge image from being identified and saved. `opened` checks the size instead, before decoding."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
