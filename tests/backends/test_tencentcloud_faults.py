"""Tencent Cloud direct, when the answer is not what Tencent documents: the SDK only signs and sends, and the answer
is read like the relay's (backends/ladder.py). Each fault reaches the user as a message naming what happened and
what to do, never the SDK's KeyError; a TaskId beside an Error is kept; secrets come out as ***."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections import deque
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from mcp.types import CallToolResult

from aigc_image_mcp.backends.answers import ANSWER_LIMIT
from aigc_image_mcp.backends.tencentcloud import TencentCloud
from aigc_image_mcp.callers import caller_of
from aigc_image_mcp.catalog.request import SubmitRequest
from aigc_image_mcp.errors import (
    TencentApiError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimitError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)

from ..support.fake_tencent import SECRET_ID, SECRET_KEY, TASK_ID, FakeTencent, Raw, error, serve
from ..support.helpers import structured, text_of, trickling
from .test_tencentcloud import TOKEN, connected, tencent_settings

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ARGS: dict[str, Any] = {"model": "GG-3.1", "prompt": "a fox"}
DEEP = "[" * 5_000 + "]" * 5_000
RETRY_SAFELY = "To retry without risking a second charge, pass a session_id"
MAY_EXIST = "The task may have been created and billed"
ENDPOINT = "Check that AIGC_IMAGE_TENCENTCLOUD_ENDPOINT is Tencent's VOD API"


def escaped(text: str) -> str:
    """`text` as JSON can spell it, every character escaped: a scrub of the raw bytes would miss it."""
    return "".join(f"\\u{ord(char):04x}" for char in text)


def raw_json(body: str, status: int = 200, **headers: str) -> Raw:
    return Raw(status, body.encode(), {"content-type": "application/json", **headers})


@pytest.fixture
def fake() -> Generator[FakeTencent]:
    tencent = FakeTencent(token=TOKEN)
    with serve(tencent):
        yield tencent


async def generate(fake: FakeTencent, tmp_path: Path) -> CallToolResult:
    async with connected(fake, tmp_path) as client:
        return await client.call_tool("generate_image", ARGS)


async def look_up(fake: FakeTencent, tmp_path: Path) -> CallToolResult:
    async with connected(fake, tmp_path) as client:
        return await client.call_tool("get_image_task", {"task_id": TASK_ID, "wait_seconds": 0})


async def list_tasks(fake: FakeTencent, tmp_path: Path) -> CallToolResult:
    async with connected(fake, tmp_path) as client:
        return await client.call_tool("list_image_tasks", {})


def refused(result: CallToolResult) -> str:
    """The text of a tool error that is ours: a crash would read only "Error executing tool <name>"."""
    text = text_of(result)
    assert result.is_error, text
    assert not re.fullmatch(r"Error executing tool \w+", text.strip()), text
    return text


# (answer to CreateAigcImageTask, what the user must read); {where} is the fake's URL.
SUBMIT_FAULTS: dict[str, tuple[Raw, list[str]]] = {
    "not JSON": (
        Raw(200, b"<html><body>Welcome</body></html>", {"content-type": "text/html"}),
        [
            'Tencent Cloud at {where} answered HTTP 200 with text/html instead of JSON: "<html><body>Welcome',
            ENDPOINT,
            MAY_EXIST,
            RETRY_SAFELY,
        ],
    ),
    "a JSON list": (
        raw_json('[{"TaskId": "x"}]'),
        ["Tencent Cloud's answer is not the CreateAigcImageTask response it should be", MAY_EXIST, RETRY_SAFELY],
    ),
    "no Response": (
        raw_json('{"RequestId": "r-1"}'),
        ["Tencent Cloud's answer is not the CreateAigcImageTask response it should be", MAY_EXIST, RETRY_SAFELY],
    ),
    "Response not an object": (
        raw_json('{"Response": "busy"}'),
        ["Tencent Cloud's answer is not the CreateAigcImageTask response it should be", MAY_EXIST, RETRY_SAFELY],
    ),
    "Error without Code or RequestId": (
        raw_json('{"Response": {"Error": {"Message": "the service is busy"}}}'),
        ["Tencent Cloud refused the task: UnknownError: the service is busy."],
    ),
    "401": (
        raw_json('{"message": "signature expired"}', 401),
        [
            "Tencent Cloud at {where} refused the credentials (HTTP 401: signature expired). Check "
            "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY",
            "The task was not created.",
        ],
    ),
    "403": (
        Raw(403, b"Forbidden", {"content-type": "text/plain"}),
        ["Tencent Cloud at {where} refused the credentials (HTTP 403). Check TENCENTCLOUD_SECRET_ID"],
    ),
    "429": (
        raw_json("{}", 429, **{"retry-after": "7"}),
        [
            "Tencent Cloud at {where} is rate-limiting requests (HTTP 429); the task was not created. Wait 7 s "
            "before submitting again."
        ],
    ),
    "500": (
        raw_json('{"Response": {"Error": {"Code": "InternalError", "Message": "backend down"}}}', 500),
        [
            "Tencent Cloud at {where} failed (HTTP 500: backend down). The task was most likely not created; try "
            "again in a minute.",
            RETRY_SAFELY,
        ],
    ),
    "404": (
        Raw(404, b"<html>Not Found</html>", {"content-type": "text/html"}),
        ["Tencent Cloud at {where} answered HTTP 404. " + ENDPOINT],
    ),
    "over ANSWER_LIMIT": (
        Raw(200, b'{"Response": {"TaskId": "' + TASK_ID.encode() + b'", "Pad": "', filler=2_000),
        ["Tencent Cloud's answer to the submit is over 1 MB, so it was not read.", MAY_EXIST, RETRY_SAFELY],
    ),
    "nested too deeply": (
        raw_json('{"Response": ' + DEEP + "}"),
        ["Tencent Cloud answered HTTP 200 with JSON nested too deeply to read.", MAY_EXIST, RETRY_SAFELY],
    ),
}


@pytest.mark.parametrize(("answer", "said"), SUBMIT_FAULTS.values(), ids=SUBMIT_FAULTS.keys())
async def test_a_submit_answer_tencent_does_not_document_is_a_message_naming_the_fault_and_the_remedy(
    fake: FakeTencent, tmp_path: Path, answer: Raw, said: list[str]
) -> None:
    fake.submits.append(answer)

    text = refused(await generate(fake, tmp_path))

    for part in said:
        assert part.format(where=fake.base_url) in text
    assert fake.refused == []
    assert fake.actions("DescribeTaskDetail") == []


async def test_an_answer_over_the_limit_is_not_read_to_its_end(fake: FakeTencent, tmp_path: Path) -> None:
    fake.submits.append(Raw(200, b'{"Response": {"Pad": "', filler=2_000))  # 131 MB, if anyone read it all

    refused(await generate(fake, tmp_path))

    assert ANSWER_LIMIT <= fake.sent < 20 * ANSWER_LIMIT  # what the client read, and what the sockets buffered


async def test_an_answer_trickling_in_is_cut_off_at_the_deadline_saying_how_to_retry(
    fake: FakeTencent, tmp_path: Path
) -> None:
    submitted = json.dumps({"Response": {"TaskId": TASK_ID, "RequestId": "r-" + "x" * 200}}).encode()
    with trickling(submitted, "application/json", every=0.3) as (url, sent):
        async with connected(fake, tmp_path, tencentcloud_endpoint=url, timeout=1.0) as client:
            result = await client.call_tool("generate_image", {**ARGS, "wait_seconds": 0})

    text = refused(result)
    assert f"Tencent Cloud at {url} did not answer within 1 s after the task was sent" in text
    assert "so it may have been created and billed. Do not resubmit blindly" in text
    assert RETRY_SAFELY in text
    assert 0 < sent[0] < 100, "each byte came within the per-read timeout: only the overall deadline ended it"


# (answer to DescribeTaskDetail, what the user must read).
QUERY_FAULTS: dict[str, tuple[Raw, list[str]]] = {
    "not JSON": (
        Raw(200, b"upstream connect error", {"content-type": "text/plain"}),
        [
            f"Tencent Cloud at {{where}} answered the query of task {TASK_ID} with text/plain instead of JSON: "
            '"upstream connect error".',
            ENDPOINT,
        ],
    ),
    "a JSON list": (
        raw_json("[]"),
        [f'Tencent Cloud\'s answer about task {TASK_ID} is not the DescribeTaskDetail response it should be: "[]".'],
    ),
    "Error without Code": (
        raw_json('{"Response": {"Error": {"Message": "try later"}}}'),
        [f"Tencent Cloud could not report on task {TASK_ID}: UnknownError: try later."],
    ),
    "403": (
        raw_json("{}", 403),
        [f"Tencent Cloud at {{where}} refused the credentials when asked about task {TASK_ID} (HTTP 403). Check"],
    ),
    "429": (
        raw_json("{}", 429, **{"retry-after": "3"}),
        ["Tencent Cloud at {where} is rate-limiting queries (HTTP 429). Wait 3 s before asking again."],
    ),
    "502": (
        Raw(502, b"Bad Gateway", {"content-type": "text/plain"}),
        [f"Tencent Cloud at {{where}} failed to answer about task {TASK_ID} (HTTP 502); ask again in a minute."],
    ),
    "nested too deeply": (
        raw_json(DEEP),
        [f"Tencent Cloud answered the query of task {TASK_ID} with JSON nested too deeply to read."],
    ),
}


@pytest.mark.parametrize(("answer", "said"), QUERY_FAULTS.values(), ids=QUERY_FAULTS.keys())
async def test_a_query_answer_tencent_does_not_document_is_a_message_naming_the_fault(
    fake: FakeTencent, tmp_path: Path, answer: Raw, said: list[str]
) -> None:
    fake.queries[TASK_ID] = deque([answer])

    text = refused(await look_up(fake, tmp_path))

    for part in said:
        assert part.format(where=fake.base_url) in text


async def test_a_task_id_beside_an_error_is_kept_followed_and_recorded(
    fake: FakeTencent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    both = {"TaskId": TASK_ID, "Error": {"Code": "InternalError", "Message": "late"}, "RequestId": "req-both"}
    fake.submits.append({"Response": both})
    caplog.set_level(logging.WARNING)

    async with connected(fake, tmp_path) as client:
        result = await client.call_tool("generate_image", ARGS)
        listed = await client.call_tool("list_image_tasks", {})

    assert (structured(result)["task_id"], structured(result)["status"]) == (TASK_ID, "SUCCEEDED")
    assert TASK_ID in text_of(result)
    assert TASK_ID in text_of(listed) + json.dumps(listed.structured_content)
    assert fake.actions("DescribeTaskDetail") == [{"TaskId": TASK_ID, "SubAppId": 1500012345}]
    assert f"Tencent Cloud gave TaskId {TASK_ID} and an error InternalError: late" in caplog.text


ECHOES: dict[str, Raw | dict[str, Any]] = {
    "in an Error": error("InvalidParameter", f"bad {SECRET_KEY} and {TOKEN}"),
    "escaped in an Error": raw_json(
        '{"Response": {"Error": {"Code": "InvalidParameter", "Message": "bad '
        + escaped(SECRET_KEY)
        + " and "
        + escaped(TOKEN)
        + '"}, "RequestId": "'
        + escaped(TOKEN)
        + '"}}'
    ),
    "in a key": raw_json('{"Response": {"' + escaped(SECRET_KEY) + '": 1, "RequestId": "r"}}'),
    "in a web page": Raw(200, f"<html>{SECRET_KEY} {TOKEN}</html>".encode(), {"content-type": "text/html"}),
    "in a 500": raw_json(json.dumps({"message": f"{SECRET_KEY} {TOKEN}"}), 500),
    "in a 401": raw_json(json.dumps({"Response": {"Error": {"Code": "AuthFailure", "Message": TOKEN}}}), 401),
    "an echoed Authorization header": error(
        "InvalidParameter", f"Authorization: TC3-HMAC-SHA256 Credential={SECRET_ID}/2026-12-06/vod/tc3_request"
    ),
    "upper-cased": error("InvalidParameter", f"{SECRET_KEY.upper()} {TOKEN.upper()} {SECRET_ID.upper()}"),
    "in Base64": error("InvalidParameter", base64.b64encode(f"{SECRET_ID}:{SECRET_KEY} {TOKEN}".encode()).decode()),
}


@pytest.mark.parametrize("answer", ECHOES.values(), ids=ECHOES.keys())
async def test_a_secret_tencent_echoes_comes_out_as_stars_in_the_message_the_log_and_the_history(
    fake: FakeTencent, tmp_path: Path, caplog: pytest.LogCaptureFixture, answer: Raw | dict[str, Any]
) -> None:
    fake.submits.append(answer)
    caplog.set_level(logging.DEBUG)

    text = refused(await generate(fake, tmp_path))

    seen = text + caplog.text
    data = tmp_path / "data"
    seen += b"".join(p.read_bytes() for p in (data.iterdir() if data.exists() else ())).decode("utf-8", "replace")
    assert "***" in text
    for secret in (SECRET_ID, SECRET_KEY, TOKEN):
        for form in (secret, secret.upper(), base64.b64encode(secret.encode()).decode()[4:-4]):
            assert form not in seen


STATUS_FAULTS = {
    401: (UpstreamAuthError, None),
    403: (UpstreamAuthError, None),
    429: (UpstreamRateLimitError, 7.0),
    400: (UpstreamRejectedError, None),
    404: (UpstreamRejectedError, None),
    500: (UpstreamUnavailableError, None),
    503: (UpstreamUnavailableError, None),
}


@pytest.mark.parametrize("status", STATUS_FAULTS)
async def test_each_http_status_is_the_fault_the_server_acts_on(fake: FakeTencent, tmp_path: Path, status: int) -> None:
    kind, retry_after = STATUS_FAULTS[status]
    fake.submits.append(raw_json("{}", status, **{"retry-after": "7"}))
    backend = TencentCloud(tencent_settings(fake, tmp_path))
    caller = caller_of(tencent_settings(fake, tmp_path), None, remote=False)

    try:
        with pytest.raises(UpstreamError) as raised:
            await backend.submit(SubmitRequest(model_name="GG", model_version="3.1", prompt="p"), caller)
    finally:
        await backend.aclose()

    assert type(raised.value) is kind
    assert raised.value.status_code == status
    assert getattr(raised.value, "retry_after", None) == retry_after


async def test_an_error_without_a_task_id_is_tencents_refusal_and_odd_json_is_unreadable(
    fake: FakeTencent, tmp_path: Path
) -> None:
    fake.submits.extend([raw_json('{"Response": {"Error": {}}}'), raw_json('{"Response": []}')])
    backend = TencentCloud(tencent_settings(fake, tmp_path))
    caller = caller_of(tencent_settings(fake, tmp_path), None, remote=False)
    request = SubmitRequest(model_name="GG", model_version="3.1", prompt="p")

    try:
        with pytest.raises(TencentApiError) as refusal:
            await backend.submit(request, caller)
        with pytest.raises(UpstreamProtocolError) as unreadable:
            await backend.submit(request, caller)
    finally:
        await backend.aclose()

    assert str(refusal.value) == "Tencent Cloud refused the task: UnknownError: no message."
    assert refusal.value.code == "UnknownError"
    assert str(unreadable.value).startswith(
        "Tencent Cloud's answer is not the CreateAigcImageTask response it should be: "
        '"{\\"Response\\": []}". The task may have been created and billed'
    )


@pytest.mark.parametrize(
    ("task_id", "shown"),
    [("../../x", '"../../x"'), ("<b>task</b>\n", '"<b>task</b>\\n"'), ("t" * 300_000, "cut to 200 of 300000")],
    ids=["a path", "HTML", "300,000 characters"],
)
async def test_a_task_id_the_server_could_not_follow_is_refused_shown_escaped_and_short(
    fake: FakeTencent, tmp_path: Path, task_id: str, shown: str
) -> None:
    fake.submits.append(raw_json(json.dumps({"Response": {"TaskId": task_id, "RequestId": "req-9"}})))

    result = await generate(fake, tmp_path)
    listing = await list_tasks(fake, tmp_path)

    text = refused(result)
    assert shown in text
    assert "keep this TaskId and ask Tencent Cloud support about it" in text
    assert len(text) < 2_000
    assert fake.actions("DescribeTaskDetail") == []  # never followed, never filed as a task
    assert "0 tasks" in text_of(listing) or "No tasks" in text_of(listing)
