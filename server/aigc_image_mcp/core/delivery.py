"""A finished task's images as a result hands them over: a local copy of each, and previews. Knows nothing of MCP.

Nothing that goes wrong with an image (its URL, its host, its bytes, the disk) may cost the task that was paid for:
`_attempt` is the one place where any failure of keeping or previewing an image becomes a sentence for a note."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread
import httpx2

from ..backends.profiles import PROFILES
from ..config import Settings
from ..errors import ImageError
from ..media.downloads import UrlPolicy, download, origin
from ..media.images import DECODES, file_stem, identify, preview, save
from ..results import SHOWN, ImageFile, Preview, TaskResult

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Kept:
    """An image after an attempt to keep a local copy: its bytes and type, or a sentence saying why not."""

    image: ImageFile
    data: bytes | None = None
    note: str = ""


@dataclass
class Delivered:
    """What a delivery has done so far: the task's images (kept ones replaced), previews, notes."""

    images: list[ImageFile]
    previews: list[Preview] = field(default_factory=lambda: [])
    notes: list[str] = field(default_factory=lambda: [])


class Keeper:
    """Keeps local copies of images and previews them, over the process's one HTTP client."""

    def __init__(self, settings: Settings, http: httpx2.AsyncClient, trusted: tuple[str, ...] = ()) -> None:
        """`trusted`: URLs of upstreams whose own origin may be fetched even on a private address (besides each
        backend's endpoint given as a URL: Profile.own_url)."""
        self._settings = settings
        self._http = http
        upstreams = (url for profile in PROFILES.values() if (url := profile.own_url(settings)) is not None)
        origins = frozenset(origin(url) for url in (*upstreams, *trusted))
        self._policy = UrlPolicy(trusted=origins, allow_private=settings.allow_private_urls)
        self.decoding = anyio.CapacityLimiter(DECODES)
        """The server's one limit on decodes at once: previews here, the user's pictures (media.pictures) too."""

    async def deliver(self, task: TaskResult, into: Delivered, folder: Path | None) -> None:
        """Keep a local copy of each of the first SHOWN images in `folder` (None: fetch them, save none) and preview
        them, filling `into` as it goes, so that what is done counts when the caller's deadline cuts it short."""
        shown = task.images[:SHOWN]
        for number, image in enumerate(shown, start=1):
            kept = await self.keep(task.task_id, number, image, folder)
            into.images[number - 1] = kept.image
            into.notes += [kept.note] if kept.note else []
            if kept.data is not None and self._settings.inline:
                budget = self._settings.inline_budget // len(shown)
                jpeg, problem = await _attempt(partial(self._preview, kept.data, budget))
                into.previews += [Preview(number, jpeg)] if jpeg is not None else []
                into.notes += [f"Image {number}: {problem}."] if problem else []

    async def keep(self, task_id: str, number: int, image: ImageFile, folder: Path | None) -> Kept:
        """The image with a local copy in `folder` (None: fetched, not saved) and its bytes; or as it was, with a
        sentence saying what went wrong."""
        if image.local_path is not None:
            copy, _ = await _attempt(partial(self._read, Path(image.local_path)))
            if copy is not None:
                return Kept(image.model_copy(update={"mime_type": copy[1]}), copy[0])
            # moved, deleted or replaced since: fetch it again
        fetched, problem = await _attempt(partial(self._fetch, image.url))
        until = f" Its URL works (until {image.expires_at})." if image.expires_at else " Its URL works."
        if fetched is None:
            lost = image.model_copy(update={"local_path": None})
            return Kept(lost, note=f"Image {number} has no local copy: {problem}.{until}")
        data, kind = fetched
        typed = image.model_copy(update={"local_path": None, "mime_type": kind})
        if folder is None:
            return Kept(typed, data)
        stem = file_stem(datetime.now(UTC).date(), task_id, number)
        path, problem = await _attempt(partial(self._save, folder, stem, data, kind))
        if path is None:  # the bytes are here all the same: the preview and the type still come with the result
            return Kept(typed, data, f"Image {number} has no local copy: {problem}.{until}")
        return Kept(typed.model_copy(update={"local_path": str(path)}), data)

    async def _read(self, path: Path) -> tuple[bytes, str]:
        try:
            data = await anyio.to_thread.run_sync(path.read_bytes)
        except OSError as exc:
            raise ImageError(f"the local copy cannot be read ({exc.strerror or type(exc).__name__})") from None
        return data, await anyio.to_thread.run_sync(identify, data)

    async def _fetch(self, url: str) -> tuple[bytes, str]:
        data = await download(self._http, url, self._policy, deadline=self._settings.download_timeout)
        return data, await anyio.to_thread.run_sync(identify, data)

    async def _save(self, folder: Path, stem: str, data: bytes, kind: str) -> Path:
        return await anyio.to_thread.run_sync(save, folder, stem, data, kind)

    async def _preview(self, data: bytes, budget: int) -> bytes:
        return await anyio.to_thread.run_sync(preview, data, budget, limiter=self.decoding)


async def _attempt(action: Callable[[], Awaitable[T]]) -> tuple[T | None, str]:
    """The action's value; or None and why it failed, whatever it raised. An ImageError says why in words; anything
    else is a bug or a library's undocumented failure on hostile input, logged with its traceback."""
    try:
        return await action(), ""
    except ImageError as exc:
        return None, str(exc)
    except Exception as exc:
        logger.exception("Keeping or previewing an image failed")
        return None, f"it failed unexpectedly ({type(exc).__name__}; see the server's log)"
