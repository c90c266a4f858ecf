"""The QuickRouter relay's room (backends/quickrouter.py) over a MockTransport relay: what a submit keeps, what a query
refuses, and what it needs before it sends anything."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from aigc_image_mcp.backends.base import Caller
from aigc_image_mcp.callers import caller_of
from aigc_image_mcp.catalog.request import SubmitRequest
from aigc_image_mcp.errors import ArgumentsError, ConfigError, TencentApiError, UpstreamProtocolError

from ..conftest import CANARY_KEY, make_settings
from ..support.fake_relay import answering, relay_backend
from ..support.helpers import TASK

pytestmark = pytest.mark.anyio

REQUEST = SubmitRequest(model_name="GEM", model_version="3.0", prompt="a red fox in snow")
SETTINGS = make_settings()
CALLER = caller_of(SETTINGS, None, remote=False)


def tencent(response: dict[str, Any]) -> httpx2.Response:
    return httpx2.Response(200, json={"Response": response})


async def test_a_task_id_given_with_an_error_beside_it_is_kept_and_the_oddity_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = {"TaskId": TASK, "RequestId": "req-1", "Error": {"Code": "InternalError", "Message": "late"}}

    async with relay_backend(answering(tencent(answer)), SETTINGS) as backend:
        submission = await backend.submit(REQUEST, CALLER)

    assert (submission.task_id, submission.request_id) == (TASK, "req-1")
    assert f"The relay gave TaskId {TASK} and an error" in caplog.text


async def test_the_submit_sends_the_requests_snake_case_fields_with_the_key_as_bearer() -> None:
    seen: list[httpx2.Request] = []

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return tencent({"TaskId": TASK, "RequestId": "req-1"})

    async with relay_backend(relay, SETTINGS) as backend:
        await backend.submit(REQUEST, CALLER)

    (request,) = seen
    assert (request.method, request.url.path) == ("POST", SETTINGS.submit_path)
    assert request.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert request.read() == b'{"model_name":"GEM","model_version":"3.0","prompt":"a red fox in snow"}'


async def test_both_routes_stay_under_the_path_of_the_base_url() -> None:
    settings = make_settings(base_url="https://relay.test/team/relay/", submit_path="/v1/aigc-image?region=ap")
    seen: list[str] = []

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return tencent({"TaskId": TASK, "RequestId": "req-1", "Status": "PROCESSING"})

    async with relay_backend(relay, settings) as backend:
        await backend.submit(REQUEST, CALLER)
        await backend.query(TASK, CALLER)

    query = settings.query_path.replace("{task_id}", TASK)
    assert seen == ["https://relay.test/team/relay/v1/aigc-image?region=ap", f"https://relay.test/team/relay{query}"]


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:8080", "https://relay.test/", "https://relay.test/a/b", "https://relay.test/a%20b/"]
)
@pytest.mark.parametrize("path", ["/tencent-vod/v1/aigc-image", "/v1/x?y=1&z=%2F", "/caf%C3%A9/t"])
async def test_the_submit_goes_where_httpx2_sends_the_route_on_the_base_url(base: str, path: str) -> None:
    settings = make_settings(base_url=base, submit_path=path)
    seen: list[httpx2.URL] = []

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url)
        return tencent({"TaskId": TASK, "RequestId": "req-1"})

    async with relay_backend(relay, settings) as backend:
        await backend.submit(REQUEST, CALLER)

    async with httpx2.AsyncClient(base_url=settings.base_url) as http:
        assert seen == [http.build_request("POST", path).url]


async def test_a_caller_without_a_key_is_refused_before_anything_is_sent() -> None:
    seen: list[httpx2.Request] = []

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return tencent({"TaskId": TASK})

    async with relay_backend(relay, SETTINGS) as backend:
        with pytest.raises(ConfigError, match="set QUICKROUTER_API_KEY"):
            await backend.submit(REQUEST, Caller(None, "ns", remote=False))
        with pytest.raises(ConfigError, match="set QUICKROUTER_API_KEY"):
            await backend.query(TASK, Caller(None, "ns", remote=False))

    assert seen == []


async def test_a_task_that_is_not_an_image_task_is_refused_naming_its_type() -> None:
    answer = {"TaskType": "AigcVideoTask", "Status": "FINISH", "RequestId": "q-1"}

    async with relay_backend(answering(tencent(answer)), SETTINGS) as backend:
        with pytest.raises(UpstreamProtocolError) as raised:
            await backend.query(TASK, CALLER)

    assert str(raised.value) == f"Task {TASK} is of type AigcVideoTask, not an image task."


@pytest.mark.parametrize("code", ["ResourceNotFound", "InvalidParameterValue.TaskId"])
async def test_a_task_tencent_does_not_know_is_explained_by_key_or_age(code: str) -> None:
    answer = {"Error": {"Code": code, "Message": "no such task"}, "RequestId": "q-1"}

    async with relay_backend(answering(tencent(answer)), SETTINGS) as backend:
        with pytest.raises(TencentApiError) as raised:
            await backend.query(TASK, CALLER)

    assert raised.value.code == code
    assert "not created with this API key, or it is more than 3 days old" in str(raised.value)


async def test_the_query_route_takes_the_task_id_escaped_into_the_configured_path() -> None:
    seen: list[str] = []
    settings = make_settings(query_path="/v2/tasks/{task_id}/detail")

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path.decode())
        return tencent({"TaskType": "AigcImageTask", "Status": "PROCESSING"})

    async with relay_backend(relay, settings) as backend:
        await backend.query("a/b c", caller_of(settings, None, remote=False))

    assert seen == ["/v2/tasks/a%2Fb%20c/detail"]


async def test_the_relay_receives_the_exact_query_path_of_a_task_id_with_dots() -> None:
    seen: list[bytes] = []

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path)
        return tencent({"TaskType": "AigcImageTask", "Status": "PROCESSING"})

    async with relay_backend(relay, SETTINGS) as backend:
        await backend.query(f"{TASK}.v2", CALLER)
        await backend.query(".a", CALLER)

    assert seen == [f"/tencent-vod/v1/query/{TASK}.v2".encode(), b"/tencent-vod/v1/query/.a"]


@pytest.mark.parametrize("task_id", [".", "..", "...", ""])
async def test_a_task_id_that_normalisation_would_drop_from_the_path_is_never_sent(task_id: str) -> None:
    seen: list[bytes] = []

    def relay(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.raw_path)
        return tencent({"TaskType": "AigcImageTask", "Status": "PROCESSING"})

    async with relay_backend(relay, SETTINGS) as backend:
        with pytest.raises(ArgumentsError, match=r"task_id: .* not dots alone"):
            await backend.query(task_id, CALLER)

    assert seen == []


async def test_a_task_tencent_refused_is_an_upstream_error_with_its_code_message_and_request_id() -> None:
    answer = {"Error": {"Code": "InvalidParameter.ModelName", "Message": "no such model"}, "RequestId": "req-9"}

    async with relay_backend(answering(tencent(answer)), SETTINGS) as backend:
        with pytest.raises(TencentApiError) as raised:
            await backend.submit(REQUEST, CALLER)

    assert (raised.value.code, raised.value.request_id) == ("InvalidParameter.ModelName", "req-9")
    assert str(raised.value) == (
        "Tencent Cloud refused the task: InvalidParameter.ModelName: no such model (RequestId req-9)."
    )


async def test_an_answer_without_a_task_id_shows_what_came_and_how_to_retry_without_paying_twice() -> None:
    async with relay_backend(answering(tencent({"RequestId": "req-9"})), SETTINGS) as backend:
        with pytest.raises(UpstreamProtocolError) as raised:
            await backend.submit(REQUEST, CALLER)

    assert 'its answer was: "{\\"Response\\": {\\"RequestId\\": \\"req-9\\"}}".' in str(raised.value)
    assert "pass a session_id" in str(raised.value)


async def test_another_query_error_is_reported_with_tencents_code_and_request_id() -> None:
    answer = {"Error": {"Code": "FailedOperation", "Message": "try later"}, "RequestId": "q-7"}

    async with relay_backend(answering(tencent(answer)), SETTINGS) as backend:
        with pytest.raises(TencentApiError) as raised:
            await backend.query(TASK, CALLER)

    assert (
        str(raised.value)
        == f"Tencent Cloud could not report on task {TASK}: FailedOperation: try later (RequestId q-7)."
    )


@pytest.mark.parametrize(("task_id", "shown"), [("task/1\n", '"task/1\\n"'), ("..", '".."')])
async def test_a_task_id_that_could_not_be_followed_is_refused_at_the_submit_and_shown_escaped(
    task_id: str, shown: str
) -> None:
    async with relay_backend(answering(tencent({"TaskId": task_id, "RequestId": "req-9"})), SETTINGS) as backend:
        with pytest.raises(UpstreamProtocolError) as raised:
            await backend.submit(REQUEST, CALLER)

    assert f"named it {shown} (RequestId req-9)" in str(raised.value)
    assert "keep this TaskId and ask the relay's operator about it" in str(raised.value)
