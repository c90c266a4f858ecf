"""`save_as`: a task's images written where the user's work needs them (`public/hero.webp`). Knows nothing of MCP.

A relative path is taken from the client's first root, or else from the output folder; every path must stay inside
the roots or the output folder (symbolic links resolved). The extension picks the format, converted with Pillow.
An existing file is kept unless `overwrite`. Over HTTP the server's disk is not the caller's, so save_as is refused.
The path is checked before anything is paid, and the write after the wait follows no link (see confined.py): a folder
replaced by a link meanwhile makes the write fail rather than land outside.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ArgumentsError, ImageError
from ..results import SHOWN, Delivery
from . import confined, images

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
"""The file extensions save_as takes, and Pillow's format for each."""
NAME_MAX = 255
"""Bytes of one file or folder name (Linux, macOS, Windows); the `-2` … `-8` of further images take 2 more."""
PATH_MAX = 4096
"""Bytes of a whole path, its final NUL included (Linux)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_REMOTE = (
    "save_as: not available over HTTP, because this server's disk is not yours; leave save_as out and download "
    "the image from its URL instead"
)


@dataclass(frozen=True)
class Target:
    """Where save_as writes: `path` for the first image, `name-2.ext`, … for the others; all inside `root`."""

    path: Path
    root: Path
    overwrite: bool = False

    def paths(self, count: int) -> list[Path]:
        """The file of each of `count` images."""
        stem, suffix = self.path.stem, self.path.suffix
        return [self.path, *(self.path.with_name(f"{stem}-{n}{suffix}") for n in range(2, count + 1))]


def target(
    tool: str, save_as: str, *, roots: Sequence[Path] | None, output_dir: Path, remote: bool, overwrite: bool = False
) -> Target:
    """The checked target of `save_as`; ArgumentsError saying what is allowed otherwise (before anything is paid)."""
    if remote:
        raise ArgumentsError(tool, [_REMOTE])
    if (control := _CONTROL.search(save_as)) is not None:
        shown = repr(control.group())[1:-1]
        raise ArgumentsError(tool, [f"save_as: {save_as!r} holds a control character ({shown}); use printable ones"])
    allowed = [Path(root).resolve() for root in roots or ()] + [output_dir.resolve()]
    base = Path(roots[0]) if roots else output_dir
    path = (base / Path(save_as).expanduser()).resolve()
    if path.suffix.lower() not in FORMATS:
        formats = ", ".join(FORMATS)
        raise ArgumentsError(
            tool, [f"save_as: {save_as!r} must end in one of {formats}; the extension picks the format"]
        )
    if not any(path.is_relative_to(folder) for folder in allowed) or path in allowed:
        places = ", ".join(str(folder) for folder in allowed)
        raise ArgumentsError(tool, [f"save_as: {save_as!r} is outside the folders this server may write to: {places}"])
    if (too_long := _too_long(path)) is not None:
        raise ArgumentsError(tool, [too_long])
    if path.exists() and not overwrite:
        raise ArgumentsError(tool, [f"save_as: {path} exists; pass overwrite: true to replace it, or another path"])
    root = max((folder for folder in allowed if path.is_relative_to(folder)), key=lambda folder: len(folder.parts))
    return Target(path, root, overwrite)


def _too_long(path: Path) -> str | None:
    """Why the file system would refuse `path` for its length (counted in bytes, as the system counts), or None."""
    parts = path.parts[1:]
    for number, part in enumerate(parts, start=1):
        last = number == len(parts)
        size, most = len(os.fsencode(part)), NAME_MAX - 2 * last
        if size > most:
            shown = part if len(part) <= 24 else f"{part[:24]}…"
            also = " (less 2 for the -2 … -8 of further images)" * last
            return f"save_as: the name '{shown}' is {size} bytes; a file name takes at most {NAME_MAX}{also}"
    size = len(os.fsencode(str(path))) + 2
    if size >= PATH_MAX:
        return f"save_as: '{str(path)[:24]}…' is {size - 2} bytes in all; a path takes at most {PATH_MAX - 1}"
    return None


def write(target: Target, images: Sequence[bytes | None]) -> tuple[list[Path | None], list[str]]:
    """Each image converted to the target's format and written to its file; the paths written (None where not) and
    a note for each image that was not."""
    written: list[Path | None] = []
    notes: list[str] = []
    for number, (path, data) in enumerate(zip(target.paths(len(images)), images, strict=True), start=1):
        try:
            if data is None:
                raise ImageError("this server has no copy of it")
            _write(target, path, convert(data, FORMATS[path.suffix.lower()]))
        except ImageError as exc:
            notes.append(f"save_as: image {number} was not written to {path}: {exc}.")
            written.append(None)
        else:
            written.append(path)
    return written, notes


def convert(data: bytes, kind: str) -> bytes:
    """The image re-encoded as Pillow's format `kind` (JPEG drops transparency onto white); the bytes unchanged
    when they already are that format. Decoding is bounded by images.MAX_PIXELS (see images.opened)."""
    from PIL import Image

    if images.identify(data) == images.MIME_TYPES[kind]:
        return data
    try:
        with images.opened(data) as image:
            picture = image.convert("RGBA")
    except images.TooLargeError as exc:
        raise ImageError(f"{exc}; download it from its URL instead") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on malformed bytes
        raise ImageError(f"it is not an image Pillow can read ({type(exc).__name__})") from None
    if kind == "JPEG":
        flat = Image.new("RGB", picture.size, (255, 255, 255))
        flat.paste(picture, mask=picture.getchannel("A"))
        picture = flat
    out = io.BytesIO()
    picture.save(out, kind, **({"quality": 92} if kind in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def _write(target: Target, path: Path, data: bytes) -> None:
    """Write `path` inside the target's root, following no link on the way; without `overwrite`, a file that
    appeared meanwhile is kept."""
    try:
        confined.write(target.root, path.relative_to(target.root), data, overwrite=target.overwrite)
    except FileExistsError:
        raise ImageError("that file exists now; pass overwrite: true to replace it") from None
    except OSError as exc:
        raise ImageError(f"{exc.strerror or type(exc).__name__}; nothing was written there") from None


def apply(delivery: Delivery, target: Target) -> Delivery:
    """The delivery with its images also written to the target (each image says where), or a note saying why not."""
    task = delivery.task
    if task.status == "FAILED":
        return delivery
    if task.status != "SUCCEEDED":
        note = "save_as: the image is not ready yet; call get_image_task with this task_id and save_as once it is."
        return replace(delivery, task=task.model_copy(update={"notes": [*task.notes, note]}))
    shown = task.images[:SHOWN]  # the images a result downloads: the others have no copy to write
    written, notes = write(target, [_read(image.local_path) for image in shown])
    images = [
        image.model_copy(update={"saved_as": str(path)}) if path is not None else image
        for image, path in zip(shown, written, strict=True)
    ]
    if len(task.images) > SHOWN:
        images += task.images[SHOWN:]
        notes.append(
            f"save_as: images {SHOWN + 1} to {len(task.images)} were not written: one call writes the first {SHOWN} "
            f"(read image n as the resource aigc-image://tasks/{task.task_id}/image-n.png)."
        )
    return replace(delivery, task=task.model_copy(update={"images": images, "notes": [*task.notes, *notes]}))


def _read(local_path: str | None) -> bytes | None:
    """The local copy's bytes; None when there is none (the note then says so)."""
    if local_path is None:
        return None
    try:
        return Path(local_path).read_bytes()
    except OSError:
        return None
