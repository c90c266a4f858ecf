"""How a DescribeTaskDetail answer reads as a task's state (backends/tencent_wire.py), through the relay's room: the
shapes Tencent documents, and the ones it drifts into, never cost a task its state or a paid task its TaskId."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from aigc_image_mcp.backends.base import Failed, OutputFile, Running, Succeeded, TaskDetail
from aigc_image_mcp.callers import caller_of

from ..conftest import make_settings
from ..support.fake_relay import answering, relay_backend
from ..support.helpers import TASK

pytestmark = pytest.mark.anyio

URL = "https://vod.example/fox.png"


async def detail(response: dict[str, Any]) -> TaskDetail:
    """The relay's room's reading of `{"Response": response}` as the answer to a query."""
    settings = make_settings()
    relay = answering(httpx2.Response(200, json={"Response": response}))
    async with relay_backend(relay, settings) as backend:
        return await backend.query(TASK, caller_of(settings, None, remote=False))


def image_task(**fields: Any) -> dict[str, Any]:
    task = {"Status": "FINISH", "ErrCode": 0, "Output": {"FileInfos": [{"FileUrl": URL}]}, **fields}
    return {"TaskType": "AigcImageTask", "Status": task["Status"], "AigcImageTask": task}


async def test_a_finished_task_with_a_file_succeeded_with_its_url_expiry_type_and_file_id() -> None:
    info = {"FileUrl": URL, "ExpireTime": "2026-01-05T12:03:57Z", "FileType": "png", "FileId": "5285890"}

    read = await detail(image_task(Output={"FileInfos": [info]}))

    assert read.state == Succeeded((OutputFile(URL, "2026-01-05T12:03:57Z", "png", "5285890"),))


async def test_what_the_task_was_asked_for_is_read_from_its_input() -> None:
    asked = {"ModelName": "GEM", "ModelVersion": 3.0, "Prompt": "a red fox in snow"}

    read = await detail(image_task(Input=asked))

    assert (read.model_name, read.model_version, read.prompt) == ("GEM", "3.0", "a red fox in snow")


async def test_a_task_without_its_image_block_is_running_until_tencent_says_it_ended() -> None:
    assert (await detail({"TaskType": "AigcImageTask", "Status": "PROCESSING"})).state == Running()
    assert (await detail({"Status": "WAITING"})).state == Running()


@pytest.mark.parametrize("status", ["FINISH", "FAIL", "ABORTED"])
async def test_a_task_that_ended_without_its_image_block_failed_saying_no_image_was_reported(status: str) -> None:
    read = await detail({"TaskType": "AigcImageTask", "Status": status})

    assert read.state == Failed(status, "Tencent ended the task without reporting an image.")
    assert (read.model_name, read.prompt) == (None, None)


async def test_an_aborted_task_failed_with_tencents_message_or_a_plain_one() -> None:
    aborted = image_task(Message="stopped by the operator")
    aborted["Status"] = "ABORTED"

    assert (await detail(aborted)).state == Failed("ABORTED", "stopped by the operator")
    aborted["AigcImageTask"]["Message"] = ""
    assert (await detail(aborted)).state == Failed("ABORTED", "Tencent aborted the task.")


@pytest.mark.parametrize(
    ("progress", "read"),
    [(37.5, 38), ("37", 37), (150, 100), (-5, 0), ("NaN", None), ("soon", None), (True, None), ([40], None)],
)
async def test_a_progress_reads_as_a_whole_percent_from_0_to_100_or_as_unknown(
    progress: object, read: int | None
) -> None:
    answer = await detail(image_task(Status="PROCESSING", Progress=progress))

    assert answer.state == Running(read)


async def test_a_boolean_where_text_is_documented_reads_as_its_json_text_and_an_object_as_absent() -> None:
    read = await detail(image_task(Input={"ModelName": "GEM", "ModelVersion": True, "Prompt": {"text": "a fox"}}))

    assert (read.model_name, read.model_version, read.prompt) == ("GEM", "true", None)


async def test_a_finished_task_with_an_error_code_failed_with_the_most_precise_code_tencent_gave() -> None:
    with_ext = image_task(ErrCode=70000, ErrCodeExt="InvalidParameter.VoilationContent", Message="unsafe")
    plain = image_task(ErrCode=70000, Message="unsafe")

    assert (await detail(with_ext)).state == Failed("InvalidParameter.VoilationContent", "unsafe")
    assert (await detail(plain)).state == Failed("70000", "unsafe")


async def test_a_finished_task_with_no_file_url_failed_as_no_output() -> None:
    odd_files = {"FileInfos": [{"FileId": "1"}, "not an object", {"FileUrl": ""}]}

    read = await detail(image_task(Output=odd_files))

    assert read.state == Failed("NoOutput", "Tencent finished the task without an image.")
    assert (await detail(image_task(Output="gone"))).state == read.state
