"""Privacy for remote callers, through the real HTTP server process: without AIGC_IMAGE_OUTPUT_DIR nothing is saved
on the server; with it, each caller's images go in a subfolder named by its fingerprint; a path on the server's disk
is never shown to a remote caller."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from mcp.types import BlobResourceContents, CallToolResult, ImageContent
from pydantic import SecretStr

from aigc_image_mcp.callers import fingerprint

from ..support.fake_relay import png
from ..support.helpers import structured, text_of
from ..support.http_server import mcp_client, served

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

KEY, OTHER_KEY = "sk-remote-caller-0001", "sk-remote-caller-0002"
GENERATE = {"model": "GEM-3.0", "prompt": "fox", "wait_seconds": 10}


def files_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


async def test_without_an_output_dir_a_remote_callers_images_are_not_saved_and_no_path_is_shown(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with served(HOME=str(home), AIGC_IMAGE_DATA_DIR=str(tmp_path / "data")) as running:
        async with mcp_client(running.server.mcp_url, KEY) as client:
            result = await client.call_tool("generate_image", GENERATE)
            listing = await client.call_tool("list_image_tasks", {})
            task_id = structured(result)["task_id"]
            read = await client.read_resource(f"aigc-image://tasks/{task_id}/image-1.png")

    (image,) = structured(result)["images"]
    assert structured(result)["status"] == "SUCCEEDED"
    assert "local_path" not in image
    assert [block.mime_type for block in result.content if isinstance(block, ImageContent)] == ["image/jpeg"]
    assert "local_path" not in structured(listing)["tasks"][0]["images"][0]
    assert str(home) not in text_of(result) + text_of(listing)
    assert files_in(home) == []
    (contents,) = read.contents
    assert isinstance(contents, BlobResourceContents)
    assert base64.b64decode(contents.blob) == png()
    assert files_in(home) == [], "read again from its URL, not saved"


async def test_with_an_output_dir_each_remote_caller_has_a_subfolder_named_by_its_fingerprint(tmp_path: Path) -> None:
    output = tmp_path / "out"
    environment = {"HOME": str(tmp_path / "home"), "AIGC_IMAGE_OUTPUT_DIR": str(output)}
    with served(AIGC_IMAGE_DATA_DIR=str(tmp_path / "data"), **environment) as running:
        results: list[CallToolResult] = []
        for key in (KEY, OTHER_KEY):
            async with mcp_client(running.server.mcp_url, key) as client:
                results.append(await client.call_tool("generate_image", GENERATE))

    mine, theirs = (output / fingerprint(SecretStr(key)) for key in (KEY, OTHER_KEY))
    assert [path.parent for path in files_in(output)] == sorted([mine, theirs])
    assert all(path.read_bytes() == png() for path in files_in(output))
    for result in results:
        assert "local_path" not in structured(result)["images"][0]
        assert str(output) not in text_of(result)
    assert KEY not in " ".join(str(path) for path in files_in(output))
