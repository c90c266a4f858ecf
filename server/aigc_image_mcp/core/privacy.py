"""What a server keeps of a remote caller's images, and what it shows them. A caller over HTTP is on another machine:
the server's disk is not theirs, so nothing is saved there unless the operator asks for it, and a path on it means
nothing to them (and tells them about the server)."""

from __future__ import annotations

from pathlib import Path

from ..backends.base import Caller
from ..config import Settings
from ..results import ImageFile


def images_folder(settings: Settings, caller: Caller) -> Path | None:
    """Where this caller's images are saved, or None: not saved. A local caller: the output folder (default: the
    user's Pictures). A remote caller: only when AIGC_IMAGE_OUTPUT_DIR is set, in a subfolder of it named by the
    caller's namespace (a fingerprint, never a key or a token), so callers' images never mix."""
    if not caller.remote:
        return settings.images_dir
    return None if settings.output_dir is None else settings.output_dir / caller.namespace


def visible_to(images: list[ImageFile], caller: Caller) -> list[ImageFile]:
    """The images as this caller may see them: a remote caller is never shown a path on the server's disk."""
    if not caller.remote:
        return images
    return [image.model_copy(update={"local_path": None}) for image in images]
