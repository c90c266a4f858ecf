"""The HTTP client for the QuickRouter relay: submit, and the reading of its answers. It knows nothing of MCP."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from typing import Any, cast

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .errors import (
    RelayAuthError,
    RelayConnectionError,
    RelayError,
    RelayProtocolError,
    RelayRateLimitError,
    RelayRejectedError,
    RelayUnavailableError,
    UpstreamError,
)
from .wire import SubmitRequest

logger = logging.getLogger(__name__)
_EXCERPT = 200
_RETRY_SAFELY = "To retry without risking a second charge, pass a session_id: the relay refuses a repeat within 3 days."


class TencentError(BaseModel):
    code: str = Field(alias="Code")
    message: str = Field(default="", alias="Message")


class _SubmitResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str | None = Field(default=None, alias="TaskId")
    request_id: str | None = Field(default=None, alias="RequestId")
    error: TencentError | None = Field(default=None, alias="Error")


class _Envelope(BaseModel):
    response: _SubmitResponse = Field(alias="Response")


class Submission(BaseModel):
    """A task the relay accepted: from here on it is billed, and its TaskId must reach the user."""

    task_id: str
    request_id: str


class RelayClient:
    """Calls the relay over the process's one shared `httpx2.AsyncClient`."""

    def __init__(self, http: httpx2.AsyncClient, *, submit_path: str) -> None:
        self._http = http
        self._submit_path = submit_path

    async def submit(self, request: SubmitRequest, api_key: SecretStr) -> Submission:
        """Create one task. Never retried: the POST is billable and not idempotent."""
        key = api_key.get_secret_value()
        try:
            response = await self._http.post(
                self._submit_path, json=request.body(), headers={"Authorization": f"Bearer {key}"}
            )
        except httpx2.HTTPError as exc:
            raise _connection_error(exc, str(self._http.base_url)) from None
        payload = _check_status(response, key)
        envelope = _parse_envelope(payload, response, key)
        if envelope.error is not None:
            code, message = envelope.error.code, scrub(envelope.error.message, key)
            raise UpstreamError(
                f"Tencent Cloud refused the task: {code}: {message} (RequestId {envelope.request_id}).",
                code=code,
                request_id=envelope.request_id,
            )
        if not envelope.task_id:
            raise RelayProtocolError(
                "The relay answered without a TaskId, so the task cannot be followed; "
                f"its answer was: {excerpt(response.text, key)}. {_RETRY_SAFELY}",
                status_code=response.status_code,
            )
        logger.info("The relay accepted task %s (RequestId %s)", envelope.task_id, envelope.request_id)
        return Submission(task_id=envelope.task_id, request_id=envelope.request_id or "")


def _connection_error(exc: httpx2.HTTPError, base_url: str) -> RelayError:
    # Only a failure before the request left us is sure to have created nothing.
    unsent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
    if unsent:
        return RelayConnectionError(
            f"Could not connect to the relay at {base_url} ({type(exc).__name__}); nothing was submitted. "
            "Check QUICKROUTER_BASE_URL and the network, then try again.",
            request_sent=False,
        )
    if isinstance(exc, httpx2.TimeoutException):
        what = "did not answer in time"
    else:
        what = f"dropped the connection ({type(exc).__name__})"
    return RelayConnectionError(
        f"The relay at {base_url} {what} after the task was sent, so it may have been created and billed. "
        f"Do not resubmit blindly: ask the user first. {_RETRY_SAFELY}",
        request_sent=True,
    )


def _check_status(response: httpx2.Response, key: str) -> Any:
    """The JSON payload of a 2xx answer; a RelayError for anything else."""
    status = response.status_code
    detail = relay_message(response, key)
    if status in (401, 403):
        raise RelayAuthError(
            f"The relay refused the API key (HTTP {status}{detail}). Check the key (QUICKROUTER_API_KEY, or over "
            "HTTP the bearer token the client sends): it must be a valid QuickRouter key with enough balance. "
            "The task was not created.",
            status_code=status,
        )
    if status == 429:
        retry_after = retry_after_seconds(response)
        wait = f"Wait {retry_after:.0f} s" if retry_after is not None else "Wait a little"
        raise RelayRateLimitError(
            f"The relay is rate-limiting requests (HTTP 429{detail}); the task was not created. "
            f"{wait} before submitting again.",
            status_code=status,
            retry_after=retry_after,
        )
    if status >= 500:
        raise RelayUnavailableError(
            f"The relay failed (HTTP {status}{detail}). The task was most likely not created; try again in a "
            f"minute. {_RETRY_SAFELY}",
            status_code=status,
        )
    if status >= 400:
        raise RelayRejectedError(f"The relay refused the request (HTTP {status}{detail}).", status_code=status)
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise RelayProtocolError(
            f"The relay answered HTTP {status} with {kind} instead of JSON: {excerpt(response.text, key)}. "
            "Check that QUICKROUTER_BASE_URL points at the relay's API, not at a web page.",
            status_code=status,
        ) from None


def _parse_envelope(payload: Any, response: httpx2.Response, key: str) -> _SubmitResponse:
    try:
        return _Envelope.model_validate(payload).response
    except ValidationError:
        message = message_in(payload)
        if message is not None:
            raise RelayRejectedError(
                f"The relay refused the request: {scrub(message, key)}.", status_code=response.status_code
            ) from None
        raise RelayProtocolError(
            f"The relay's answer is not the Tencent response it should be: {excerpt(response.text, key)}. "
            f"If a task was created it cannot be followed from here. {_RETRY_SAFELY}",
            status_code=response.status_code,
        ) from None


def relay_message(response: httpx2.Response, key: str) -> str:
    """`: <message>` from an error body in any of the relay shapes, or nothing."""
    try:
        message = message_in(response.json())
    except ValueError:
        message = None
    return f": {scrub(message, key)[:_EXCERPT]}" if message else ""


def message_in(payload: Any) -> str | None:
    """The error text of the three shapes relays use: Tencent's, OpenAI's, and new-api's."""
    for path in (("Response", "Error", "Message"), ("error", "message"), ("message",), ("error",), ("msg",)):
        value: Any = payload
        for part in path:
            value = cast(dict[str, Any], value).get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def retry_after_seconds(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def excerpt(text: str, key: str) -> str:
    flat = " ".join(scrub(text, key).split())
    return json.dumps(flat[:_EXCERPT] + ("…" if len(flat) > _EXCERPT else ""), ensure_ascii=False)


def scrub(text: str, key: str) -> str:
    """Relays sometimes echo the token they refused; it must never travel further."""
    return text.replace(key, "***") if key else text
