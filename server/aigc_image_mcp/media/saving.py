"""`save_as`: a task's images written where the user's work needs them (`public/hero.webp`). Knows nothing of MCP.

A relative path is taken from the client's first root, or else from the output folder; every path must stay inside
the roots or the output folder (symbolic links resolved). The extension picks the format, converted with Pillow.
An existing file is kept unless `overwrite`. Over HTTP the server's disk is not the caller's, so save_as is refused.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ArgumentsError, ImageError
from ..results import SHOWN, Delivery
from . import images

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
"""The file extensions save_as takes, and Pillow's format for each."""
_REMOTE = (
    "save_as: not available over HTTP, because this server's disk is not yours; leave save_as out and download "
    "the image from its URL instead"
)


@dataclass(frozen=True)
class Target:
    """Where save_as writes: `path` for the first image, `name-2.ext`, … for the others."""

    path: Path
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
    if path.exists() and not overwrite:
        raise ArgumentsError(tool, [f"save_as: {path} exists; pass overwrite: true to replace it, or another path"])
    return Target(path, overwrite)


def write(target: Target, images: Sequence[bytes | None]) -> tuple[list[Path | None], list[str]]:
    """Each image converted to the target's format and written to its file; the paths written (None where not) and
    a note for each image that was not."""
    written: list[Path | None] = []
    notes: list[str] = []
    for number, (path, data) in enumerate(zip(target.paths(len(images)), images, strict=True), start=1):
        try:
            if data is None:
                raise ImageError("this server has no copy of it")
            _write(path, convert(data, FORMATS[path.suffix.lower()]), overwrite=target.overwrite)
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


def _write(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write through a temporary file in the same folder, then move it into place; without `overwrite`, a file
    that appeared meanwhile is kept (os.link refuses an existing name)."""
    partial: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(handle, "wb") as file:
            if os.chmod in os.supports_fd:
                os.chmod(file.fileno(), 0o644)
            file.write(data)
        if overwrite:
            os.replace(partial, path)
        else:
            os.link(partial, path)
    except FileExistsError:
        raise ImageError("that file exists now; pass overwrite: true to replace it") from None
    except OSError as exc:
        raise ImageError(f"{exc.strerror or type(exc).__name__}") from None
    finally:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)


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
