"""How an upstream's HTTP answer is classified and worded (backends/ladder.py), through the relay's room over a
MockTransport relay: the status, Retry-After, the error text of the shapes relays use, and faults before an answer."""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from aigc_image_mcp.backends.answers import excerpt
from aigc_image_mcp.callers import caller_of
from aigc_image_mcp.catalog.request import SubmitRequest
from aigc_image_mcp.errors import (
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimitError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)

from ..conftest import make_settings
from ..support.fake_relay import Handler, answering, relay_backend
from ..support.helpers import TASK

pytestmark = pytest.mark.anyio

REQUEST = SubmitRequest(model_name="GEM", model_version="3.0", prompt="a red fox in snow")
SETTINGS = make_settings()
CALLER = caller_of(SETTINGS, None, remote=False)
DEEP = "[" * 5_000 + "]" * 5_000


async def submit_fault(relay: Handler) -> UpstreamError:
    async with relay_backend(relay, SETTINGS) as backend:
        with pytest.raises(UpstreamError) as raised:
            await backend.submit(REQUEST, CALLER)
    return raised.value


async def query_fault(relay: Handler) -> UpstreamError:
    async with relay_backend(relay, SETTINGS) as backend:
        with pytest.raises(UpstreamError) as raised:
            await backend.query(TASK, CALLER)
    return raised.value


def too_many(retry_after: str | None) -> Handler:
    headers = {} if retry_after is None else {"retry-after": retry_after}
    return answering(httpx2.Response(429, headers=headers))


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize(("retry_after", "seconds"), [("7", 7.0), ("-3", 0.0), (None, None), ("soon", None)])
async def test_a_rate_limited_submit_says_how_long_to_wait_as_the_relay_said_it(
    retry_after: str | None, seconds: float | None
) -> None:
    fault = await submit_fault(too_many(retry_after))

    assert isinstance(fault, UpstreamRateLimitError)
    assert fault.retry_after == seconds
    wait = "Wait a little" if seconds is None else f"Wait {seconds:.0f} s"
    assert str(fault) == (
        f"The relay is rate-limiting requests (HTTP 429); the task was not created. {wait} before submitting again."
    )


async def test_a_retry_after_given_as_a_date_is_the_seconds_until_then_and_a_past_date_is_no_wait() -> None:
    ahead = await query_fault(too_many(http_date(120)))
    behind = await query_fault(too_many(http_date(-120)))

    assert isinstance(ahead, UpstreamRateLimitError)
    assert ahead.retry_after is not None
    assert 100 < ahead.retry_after <= 120
    assert isinstance(behind, UpstreamRateLimitError)
    assert behind.retry_after == 0.0


@pytest.mark.parametrize(
    "body",
    [
        {"Response": {"Error": {"Code": "InvalidParameter", "Message": "no such model"}}},
        {"error": {"message": "no such model", "type": "invalid_request_error"}},
        {"message": "no such model"},
        {"error": "no such model"},
        {"msg": "no such model"},
    ],
    ids=["tencent", "openai", "message", "error", "msg"],
)
async def test_the_error_text_of_every_shape_relays_use_is_shown_with_the_status(body: dict[str, object]) -> None:
    fault = await submit_fault(answering(httpx2.Response(400, json=body)))

    assert isinstance(fault, UpstreamRejectedError)
    assert str(fault) == "The relay refused the request (HTTP 400: no such model)."


async def test_a_relay_failure_shows_its_reason_cut_to_200_characters() -> None:
    fault = await query_fault(answering(httpx2.Response(502, json={"message": "x" * 300})))

    assert isinstance(fault, UpstreamUnavailableError)
    assert str(fault) == f"The relay failed to answer about task {TASK} (HTTP 502: {'x' * 200})."


async def test_a_relay_failure_with_a_body_too_deep_to_read_is_still_a_relay_failure_by_its_status() -> None:
    answer = httpx2.Response(503, content=DEEP.encode(), headers={"content-type": "application/json"})

    fault = await query_fault(answering(answer))

    assert isinstance(fault, UpstreamUnavailableError)
    assert fault.status_code == 503
    assert str(fault) == f"The relay failed to answer about task {TASK} (HTTP 503)."


def raising(exc: Exception) -> Handler:
    def relay(request: httpx2.Request) -> httpx2.Response:
        raise exc

    return relay


async def test_a_submit_that_never_reached_the_relay_says_nothing_was_submitted() -> None:
    fault = await submit_fault(raising(httpx2.ConnectError("refused")))

    assert isinstance(fault, UpstreamConnectionError)
    assert not fault.request_sent
    assert "Could not connect to the relay at https://relay.test (ConnectError); nothing was submitted" in str(fault)


@pytest.mark.parametrize(
    ("exc", "what"),
    [
        (httpx2.ReadTimeout("slow"), "did not answer in time"),
        (httpx2.RemoteProtocolError("gone"), "dropped the connection (RemoteProtocolError)"),
    ],
)
async def test_a_submit_lost_after_it_was_sent_warns_that_it_may_be_billed(exc: Exception, what: str) -> None:
    fault = await submit_fault(raising(exc))

    assert isinstance(fault, UpstreamConnectionError)
    assert fault.request_sent
    assert f"The relay at https://relay.test {what} after the task was sent" in str(fault)
    assert "Do not resubmit blindly" in str(fault)


def test_an_excerpt_is_one_quoted_line_of_at_most_200_characters() -> None:
    shown = excerpt("a  long\n\tanswer " * 40)

    assert json.loads(shown).startswith("a long answer a long answer")
    assert len(json.loads(shown)) == 201
    assert shown.endswith('…"')
    assert excerpt({"Response": "ok"}) == '"{\\"Response\\": \\"ok\\"}"'


@pytest.mark.slow
def test_an_excerpt_of_json_nested_too_deeply_to_show_says_so() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]

    assert excerpt(deep) == '"(JSON nested too deeply to show)"'


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_says_which_setting_to_check_and_that_nothing_was_created(status: int) -> None:
    fault = await submit_fault(answering(httpx2.Response(status, json={"message": "invalid token"})))

    assert isinstance(fault, UpstreamAuthError)
    assert str(fault).startswith(f"The relay refused the API key (HTTP {status}: invalid token). Check the key")
    assert "The task was not created." in str(fault)


async def test_a_404_to_a_query_points_at_the_query_route_setting() -> None:
    fault = await query_fault(answering(httpx2.Response(404)))

    assert isinstance(fault, UpstreamRejectedError)
    assert f"HTTP 404 to GET /tencent-vod/v1/query/{TASK}: it has no task-query route there" in str(fault)
    assert "set AIGC_IMAGE_QUERY_PATH" in str(fault)


async def test_a_web_page_instead_of_json_points_at_the_base_url_setting() -> None:
    page = httpx2.Response(200, text="<html><body>Welcome</body></html>", headers={"content-type": "text/html"})

    fault = await submit_fault(answering(page))

    assert isinstance(fault, UpstreamProtocolError)
    assert 'answered HTTP 200 with text/html instead of JSON: "<html><body>Welcome</body></html>"' in str(fault)
    assert "Check that QUICKROUTER_BASE_URL points at the relay's API" in str(fault)


async def test_json_of_another_shape_is_shown_and_a_message_in_it_is_quoted() -> None:
    odd = await query_fault(answering(httpx2.Response(200, json={"Response": ["odd"]})))
    said = await query_fault(answering(httpx2.Response(200, json={"message": "quota used up"})))

    assert isinstance(odd, UpstreamProtocolError)
    assert str(odd) == (
        f"The relay's answer about task {TASK} is not the Tencent task detail it should be: "
        '"{\\"Response\\": [\\"odd\\"]}".'
    )
    assert isinstance(said, UpstreamRejectedError)
    assert str(said) == f"The relay refused the query of task {TASK}: quota used up."
