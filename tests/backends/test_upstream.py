"""Where upstream answers enter the server (backends/ladder.py): every string scrubbed of the key once, answers read
up to a bound and within one deadline, odd JSON refused readably, odd fields accepted so no paid TaskId is lost."""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.types import CallToolResult

from ..conftest import CANARY_KEY, Connect
from ..support.fake_relay import FakeRelay, accepted, running, task_detail
from ..support.helpers import TASK, structured, text_of, trickling

pytestmark = pytest.mark.anyio

ARGS: dict[str, Any] = {"model": "GEM-3.0", "prompt": "a red fox in snow"}
ESCAPED_KEY = "".join(f"\\u{ord(char):04x}" for char in CANARY_KEY)
"""The key as JSON can spell it, every character escaped: a scrub of the raw text would miss it."""


def everything(result: CallToolResult) -> str:
    return text_of(result) + json.dumps(result.structured_content)


def raw(body: str, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, content=body.encode(), headers={"content-type": "application/json"})


def history_bytes(folders: dict[str, Path]) -> bytes:
    data = folders["data_dir"]
    return b"".join(path.read_bytes() for path in data.iterdir()) if data.exists() else b""


ECHOES = {
    "submit error Code": (raw(f'{{"Response": {{"Error": {{"Code": "{ESCAPED_KEY}", "Message": "x"}}}}}}'), None),
    "submit error Message": (
        httpx2.Response(200, json={"Response": {"Error": {"Code": "AuthFailure", "Message": f"bad {CANARY_KEY}"}}}),
        None,
    ),
    "submit error RequestId": (
        httpx2.Response(200, json={"Response": {"Error": {"Code": "AuthFailure"}, "RequestId": CANARY_KEY}}),
        None,
    ),
    "submit RequestId": (httpx2.Response(200, json={"Response": {"TaskId": TASK, "RequestId": CANARY_KEY}}), None),
    "submit excerpt": (httpx2.Response(200, text=f"<html>{CANARY_KEY}</html>"), None),
    "submit key in a field name": (raw(f'{{"Response": {{"RequestId": "r", "{ESCAPED_KEY}": 1}}}}'), None),
    "query error Code and RequestId": (
        accepted(TASK),
        httpx2.Response(200, json={"Response": {"Error": {"Code": CANARY_KEY}, "RequestId": CANARY_KEY}}),
    ),
    "query error Message": (
        accepted(TASK),
        httpx2.Response(200, json={"Response": {"Error": {"Code": "InternalError.X", "Message": CANARY_KEY}}}),
    ),
    "task ErrCodeExt": (accepted(TASK), task_detail(TASK, err_code=1, err_code_ext=CANARY_KEY)),
    "task Message": (accepted(TASK), task_detail(TASK, message=f"refused {CANARY_KEY}")),
    "query excerpt": (accepted(TASK), httpx2.Response(200, json={"Response": [CANARY_KEY]})),
    "query 500 detail": (accepted(TASK), httpx2.Response(500, json={"message": CANARY_KEY})),
}


@pytest.mark.parametrize(("submit", "query"), ECHOES.values(), ids=ECHOES.keys())
async def test_a_key_the_upstream_echoes_reaches_no_result_log_or_history(
    connect: Connect,
    relay: FakeRelay,
    folders: dict[str, Path],
    caplog: pytest.LogCaptureFixture,
    submit: httpx2.Response,
    query: httpx2.Response | None,
) -> None:
    caplog.set_level("DEBUG")
    relay.script.append(submit)
    if query is not None:
        relay.queries[TASK] = deque([query])

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGS)
        listing = await client.call_tool("list_image_tasks", {})

    assert "***" in everything(result) + everything(listing) + caplog.text
    assert CANARY_KEY not in everything(result) + everything(listing)
    assert CANARY_KEY not in caplog.text
    assert CANARY_KEY.encode() not in history_bytes(folders)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


ENCODED_ECHOES = {
    "upper-cased": CANARY_KEY.upper(),
    "lower-cased": CANARY_KEY.lower(),
    "Base64": _b64(CANARY_KEY),
    "Base64 of Bearer <key>": _b64(f"Bearer {CANARY_KEY}"),
    "Base64 of Basic user:<key>": _b64(f"user:{CANARY_KEY}"),
    "URL-safe Base64 inside JSON": base64.urlsafe_b64encode(f'{{"k": "{CANARY_KEY}"}}'.encode()).decode(),
}


@pytest.mark.parametrize("echo", ENCODED_ECHOES.values(), ids=ENCODED_ECHOES.keys())
async def test_a_key_echoed_in_another_case_or_in_base64_is_scrubbed_too(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], caplog: pytest.LogCaptureFixture, echo: str
) -> None:
    caplog.set_level("DEBUG")
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([task_detail(TASK, message=f"Authorization: {echo} was refused")])

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGS)

    core = echo[4:-4]  # what is left of any form once its edges (which depend on its neighbours) are cut
    assert "***" in everything(result)
    assert core not in everything(result)
    assert core not in caplog.text
    assert core.encode() not in history_bytes(folders)


class Endless(httpx2.AsyncByteStream):
    """A JSON answer that never ends; counts what was read of it."""

    def __init__(self, opening: bytes) -> None:
        self.opening = opening
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.opening
        chunk = b"a" * 65_536
        for _ in range(2_000):  # 131 MB, if anyone read it all
            self.sent += len(chunk)
            yield chunk


async def test_a_huge_submit_answer_is_read_only_up_to_a_bound_and_the_error_says_retry_safely(
    connect: Connect, relay: FakeRelay
) -> None:
    stream = Endless(b'{"Response": {"TaskId": "' + TASK.encode() + b'", "Pad": "')
    relay.script.append(httpx2.Response(200, stream=stream))

    result = await await_call(connect, ARGS)

    assert result.is_error
    assert "over 1 MB" in text_of(result)
    assert "may have been created and billed" in text_of(result)
    assert "session_id" in text_of(result)
    assert stream.sent <= 2 * 1_048_576


async def test_a_huge_query_answer_is_read_only_up_to_a_bound_and_the_task_id_comes_back(
    connect: Connect, relay: FakeRelay
) -> None:
    stream = Endless(b'{"Response": {"Status": "')
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([httpx2.Response(200, stream=stream)])

    result = await await_call(connect, ARGS)

    assert not result.is_error
    assert structured(result)["task_id"] == TASK
    assert f"The relay's answer about task {TASK} is over 1 MB" in text_of(result)
    assert stream.sent <= 2 * 1_048_576


DEEP = "[" * 5_000 + "]" * 5_000


async def test_deeply_nested_json_after_a_submit_is_a_readable_error_saying_retry_safely(
    connect: Connect, relay: FakeRelay
) -> None:
    relay.script.append(raw('{"Response": ' + DEEP + "}"))

    result = await await_call(connect, ARGS)

    assert result.is_error
    assert "answered HTTP 200 with JSON nested too deeply to read" in text_of(result)
    assert "may have been created and billed" in text_of(result)
    assert "pass a session_id" in text_of(result)


async def test_deeply_nested_json_on_a_query_is_a_readable_error(connect: Connect, relay: FakeRelay) -> None:
    relay.queries["1-AigcImageTask-deep"] = deque([raw(DEEP)])

    async with connect() as client:
        result = await client.call_tool("get_image_task", {"task_id": "1-AigcImageTask-deep", "wait_seconds": 0})

    assert result.is_error
    assert "query of task 1-AigcImageTask-deep with JSON nested too deeply to read" in text_of(result)


async def await_call(connect: Connect, arguments: dict[str, Any], **settings: Any) -> CallToolResult:
    async with connect(**settings) as client:
        return await client.call_tool("generate_image", arguments)


@pytest.mark.slow
async def test_a_relay_trickling_its_submit_answer_is_cut_off_at_the_deadline_saying_how_to_retry(
    connect: Connect,
) -> None:
    submitted = json.dumps({"Response": {"TaskId": TASK, "RequestId": "r-" + "x" * 200}}).encode()
    with trickling(submitted, "application/json", every=0.3) as (url, sent):
        real = httpx2.AsyncHTTPTransport()
        result = await await_call(connect, {**ARGS, "wait_seconds": 0}, base_url=url, timeout=1.0, transport=real)

    assert result.is_error
    assert "did not answer within 1 s after the task was sent" in text_of(result)
    assert "may have been created and billed" in text_of(result)
    assert "pass a session_id" in text_of(result)
    assert 0 < sent[0] < 100, "each byte came within the per-read timeout: only the overall deadline ended it"


async def test_odd_scalars_in_a_submit_answer_keep_the_task(connect: Connect, relay: FakeRelay) -> None:
    relay.script.append(httpx2.Response(200, json={"Response": {"TaskId": TASK, "RequestId": 12345}}))

    result = await await_call(connect, {**ARGS, "wait_seconds": 0})

    assert structured(result)["task_id"] == TASK
    assert structured(result)["request_id"] == "12345"


async def test_a_fractional_progress_and_a_numeric_expiry_are_followed(connect: Connect, relay: FakeRelay) -> None:
    finished = task_detail(TASK, urls=("https://relay.test/files/a.png",))
    body = json.loads(finished.content)
    body["Response"]["AigcImageTask"]["Output"]["FileInfos"][0]["ExpireTime"] = 1767614637
    fractional = json.loads(running(TASK).content)
    fractional["Response"]["AigcImageTask"]["Progress"] = 37.6
    relay.script.append(accepted(TASK))
    relay.queries[TASK] = deque([httpx2.Response(200, json=fractional), httpx2.Response(200, json=body)])
    seen: list[float] = []

    async def record(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGS, progress_callback=record)

    assert structured(result)["status"] == "SUCCEEDED", text_of(result)
    assert structured(result)["images"][0]["expires_at"] == "1767614637"
    assert 38 in seen


@pytest.mark.parametrize("task_id", ["a/../../b", "/etc/cron.d/x", "task\x1b[2Jx", "line\nbreak"])
async def test_a_task_id_get_image_task_would_refuse_is_refused_at_the_submit_and_still_shown(
    connect: Connect, relay: FakeRelay, folders: dict[str, Path], task_id: str
) -> None:
    relay.script.append(accepted(task_id))

    async with connect() as client:
        result = await client.call_tool("generate_image", ARGS)
        listing = await client.call_tool("list_image_tasks", {})

    assert result.is_error
    assert json.dumps(task_id) in text_of(result), "the TaskId, escaped, so nothing paid for is lost"
    assert "may have been created and billed" in text_of(result)
    assert relay.queried == []
    assert structured(listing)["tasks"] == []


async def test_a_history_that_cannot_be_written_is_noted_once_per_result(
    connect: Connect, relay: FakeRelay, tmp_path: Path
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")

    result = await await_call(connect, ARGS, data_dir=blocker)

    assert structured(result)["status"] == "SUCCEEDED"
    notes: list[str] = structured(result)["notes"]
    assert len([note for note in notes if "could not be written to the history" in note]) == 1
