"""Files read and written inside a folder that was checked earlier: each folder on the way is opened relative to the
one before it, by descriptor, and no symbolic link is followed. A link swapped in after the check (a folder on the
way, or the file itself) then makes the open fail instead of leading outside. Failures are OSError, whose strerror
says what went wrong in words.

Where the system opens nothing relative to a descriptor (Windows), the path is resolved again just before the open
and must still lie inside the folder: a narrower window, not none.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Generator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path, PurePath

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted in the folder must not block the open
_BINARY = getattr(os, "O_BINARY", 0)
BY_DESCRIPTOR = bool(_NOFOLLOW and _DIRECTORY) and {os.open, os.mkdir, os.link, os.rename, os.unlink} <= (
    os.supports_dir_fd
)
"""Whether this system can walk folders by descriptor (POSIX); otherwise the fallback above."""


def read(root: Path, relative: PurePath, limit: int) -> bytes:
    """The regular file `root/relative`, read through the one descriptor that was checked. OSError: ELOOP or ENOTDIR
    for a link on the way, EINVAL for what is not a regular file, EFBIG for more than `limit` bytes."""
    *folders, name = relative.parts
    if BY_DESCRIPTOR:
        with _folder(root, folders, create=False) as parent:
            handle = _open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, parent)
    else:
        handle = os.open(_rechecked(root, relative), os.O_RDONLY | _BINARY)
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        if not (info.st_mode & 0o170000 == 0o100000):  # S_ISREG, on what was opened rather than on the path
            raise OSError(errno.EINVAL, "not a regular file")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes")
    return data


def write(root: Path, relative: PurePath, data: bytes, *, overwrite: bool) -> None:
    """Write `data` as `root/relative`, creating the folders on the way: through a temporary file in the same folder,
    then moved into place. Without `overwrite`, a file that appeared meanwhile is kept (FileExistsError)."""
    *folders, name = relative.parts
    root.mkdir(parents=True, exist_ok=True)  # the folder itself (the output folder, a root) may not exist yet
    if not BY_DESCRIPTOR:
        root.joinpath(*folders).mkdir(parents=True, exist_ok=True)
        _place(_rechecked(root, PurePath(*folders, name)).parent, name, data, overwrite, None)
        return
    with _folder(root, folders, create=True) as parent:
        _place(Path(), name, data, overwrite, parent)


def _place(folder: Path, name: str, data: bytes, overwrite: bool, parent: int | None) -> None:
    """Write through a temporary file in `folder` (relative to the descriptor `parent`, if any)."""
    partial = folder / f".aigc-image-{secrets.token_hex(6)}.part"  # short: a name near the length limit still fits
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    handle = os.open(partial, flags, 0o644, dir_fd=parent)
    try:
        with os.fdopen(handle, "wb") as file:
            if os.chmod in os.supports_fd:  # as readable as any file the user saves, whatever the umask
                os.chmod(file.fileno(), 0o644)
            file.write(data)
        if overwrite:  # replaces a link at `name` itself, never writes through it
            os.replace(partial, folder / name, src_dir_fd=parent, dst_dir_fd=parent)
        else:  # refuses an existing name, a link included
            os.link(partial, folder / name, src_dir_fd=parent, dst_dir_fd=parent)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(partial, dir_fd=parent)


@contextmanager
def _folder(root: Path, parts: Sequence[str], *, create: bool) -> Generator[int]:
    """A descriptor of `root/parts…`, each step opened without following a link; missing folders made if `create`."""
    current = _open(root, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, None)
    try:
        for part in parts:
            inner = _step(current, part, create)
            os.close(current)
            current = inner
        yield current
    finally:
        os.close(current)


def _step(parent: int, part: str, create: bool) -> int:
    if part in ("", ".", ".."):
        raise OSError(errno.EINVAL, f"{part!r} is not a folder's name")
    flags = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
    try:
        return _open(part, flags, parent)
    except FileNotFoundError:
        if not create:
            raise
    with suppress(FileExistsError):
        os.mkdir(part, 0o777, dir_fd=parent)
    return _open(part, flags, parent)


def _open(name: str | Path, flags: int, parent: int | None) -> int:
    try:
        return os.open(name, flags, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, f"{name} is a symbolic link now") from None
        if exc.errno == errno.ENOTDIR:
            raise OSError(exc.errno, f"{name} is not a folder now (a symbolic link, or a file)") from None
        raise


def _rechecked(root: Path, relative: PurePath) -> Path:
    """`root/relative` resolved again (its folder when the file does not exist yet), still inside `root`."""
    path = root.joinpath(relative)
    if not path.resolve().is_relative_to(root):
        raise OSError(errno.ELOOP, f"{path} leads outside {root} now")
    return path
