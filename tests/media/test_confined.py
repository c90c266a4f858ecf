"""Writes and reads inside a checked folder follow no link swapped in after the check: save_as after the wait, and
confined.py's own rules (a FIFO does not block, a size bound is kept on what is read)."""

from __future__ import annotations

import errno
import os
from collections import deque
from pathlib import Path, PurePath
from typing import Any

import httpx2
import pytest

from aigc_image_mcp.media import confined

from ..conftest import Connect
from ..support.fake_relay import QUERY_PREFIX, FakeRelay, accepted, task_detail
from ..support.helpers import text_of

pytestmark = pytest.mark.anyio

TASK = "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t"
ARGUMENTS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}
needs_descriptors = pytest.mark.skipif(not confined.BY_DESCRIPTOR, reason="walks folders by descriptor (POSIX)")


def swap_during_the_wait(relay: FakeRelay, swap: Any) -> None:
    """The task's query, which comes after save_as was checked and before it is written, first runs `swap`."""

    def query(request: httpx2.Request) -> httpx2.Response:
        swap()
        return task_detail(TASK, urls=("https://relay.test/files/a.png",))

    relay.script.append(accepted(TASK))
    relay.routes[("GET", f"{QUERY_PREFIX}{TASK}")] = query


async def test_a_folder_replaced_by_a_link_during_the_wait_is_not_written_through(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], tmp_path: Path
) -> None:
    shots, outside = folders["output_dir"] / "shots", tmp_path / "outside"
    shots.mkdir(parents=True)
    outside.mkdir()

    def swap() -> None:
        shots.rmdir()
        shots.symlink_to(outside, target_is_directory=True)

    swap_during_the_wait(relay, swap)
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "shots/fox.png"})

    assert list(outside.iterdir()) == []
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["task_id"] == TASK
    assert "saved_as" not in result.structured_content["images"][0]
    assert f"save_as: image 1 was not written to {shots / 'fox.png'}: shots is not a folder now" in text_of(result)


async def test_a_file_replaced_by_a_link_during_the_wait_is_replaced_and_its_target_kept(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], tmp_path: Path
) -> None:
    hero, victim = folders["output_dir"] / "hero.png", tmp_path / "victim.png"
    hero.parent.mkdir(parents=True)
    hero.write_bytes(b"the user's old hero")
    victim.write_bytes(b"a file outside")

    def swap() -> None:
        hero.unlink()
        hero.symlink_to(victim)

    swap_during_the_wait(relay, swap)
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": "hero.png", "overwrite": True})

    assert victim.read_bytes() == b"a file outside"
    assert not hero.is_symlink()
    assert hero.read_bytes().startswith(b"\x89PNG")
    assert result.structured_content is not None
    assert result.structured_content["images"][0]["saved_as"] == str(hero)


@needs_descriptors
def test_a_read_refuses_a_link_anywhere_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(b"inside")
    (tmp_path / "folder").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "file.png").symlink_to(tmp_path / "real" / "a.png")

    assert confined.read(tmp_path, PurePath("real", "a.png"), 100) == b"inside"
    with pytest.raises(OSError, match="folder is not a folder now") as through_folder:
        confined.read(tmp_path, PurePath("folder", "a.png"), 100)
    with pytest.raises(OSError, match=r"file\.png is a symbolic link now") as through_file:
        confined.read(tmp_path, PurePath("file.png"), 100)

    assert (through_folder.value.errno, through_file.value.errno) == (errno.ENOTDIR, errno.ELOOP)


@needs_descriptors
def test_a_read_keeps_its_bound_on_what_it_read_and_never_waits_on_a_fifo(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"x" * 101)
    os.mkfifo(tmp_path / "pipe.png")

    with pytest.raises(OSError, match="larger than 100 bytes"):
        confined.read(tmp_path, PurePath("big.png"), 100)
    with pytest.raises(OSError, match="not a regular file"):
        confined.read(tmp_path, PurePath("pipe.png"), 100)


async def test_a_name_at_the_length_limit_is_written_with_its_further_images(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path]
) -> None:
    relay.script.append(accepted(TASK))
    urls = ("https://relay.test/files/a.png", "https://relay.test/files/b.png")
    relay.queries[TASK] = deque([task_detail(TASK, urls=urls)])
    name = "x" * 249 + ".png"  # 253 bytes: with "-2", the 255 a file system takes
    async with connect() as client:
        result = await client.call_tool("generate_image", ARGUMENTS | {"save_as": name})

    assert sorted(path.name for path in folders["output_dir"].iterdir() if path.name.startswith("x")) == [
        "x" * 249 + "-2.png",
        name,
    ], text_of(result)
