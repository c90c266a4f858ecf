"""Tencent Cloud direct: CreateAigcImageTask and DescribeTaskDetail (VOD, API 2018-07-17) with the user's own
credentials, signed TC3-HMAC-SHA256 by Tencent's official SDK (its async client, on httpx).

The SDK's CommonClient is used rather than its VodClient: the same signing and transport, without importing the
100,000-line models module (~0.5 s). Requests and answers are plain JSON, read with tencent_wire like the relay's.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
import httpx
from tencentcloud.common.common_client_async import CommonClient  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.credential import Credential  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.profile.client_profile import ClientProfile  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.profile.http_profile import HttpProfile  # pyright: ignore[reportMissingTypeStubs]

from ..callers import Caller
from ..config import Settings
from ..errors import (
    ConfigError,
    RelayAuthError,
    RelayConnectionError,
    RelayError,
    RelayProtocolError,
    RelayRateLimitError,
    RelayUnavailableError,
    UpstreamError,
)
from ..wire import SubmitRequest
from .base import Submission, TaskDetail
from .ladder import excerpt, scrub, scrubbed
from .tencent_wire import DetailEnvelope, SubmitEnvelope, detail_of

logger = logging.getLogger(__name__)
# At DEBUG the SDK logs each request with its X-TC-Token header and each answer as sent (with any secret Tencent
# echoes): never below WARNING here, whatever AIGC_IMAGE_LOG_LEVEL says.
_SDK_LOGGER = "tencentcloud_sdk_common"

VERSION = "2018-07-17"
_UNKNOWN_TASK = ("InvalidParameterValue.TaskId", "ResourceNotFound")
_RETRY_SAFELY = "To retry without risking a second charge, pass a session_id: Tencent refuses a repeat within 3 days."
_CREDENTIALS = "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary keys)"


class TencentCloud:
    """Tencent's VOD API over the SDK's own HTTP client (httpx), opened once per process."""

    name = "tencentcloud"

    def __init__(self, settings: Settings) -> None:
        if settings.secret_id is None or settings.secret_key is None:
            raise ConfigError(f"The tencentcloud backend needs {_CREDENTIALS}; set them and restart the server.")
        token = settings.session_token.get_secret_value() if settings.session_token else None
        self._secrets = [s for s in (settings.secret_key.get_secret_value(), token) if s]
        scheme, host = endpoint_parts(settings.tencentcloud_endpoint)
        profile = ClientProfile(
            httpProfile=HttpProfile(protocol=scheme, endpoint=host, reqTimeout=math.ceil(settings.timeout))
        )
        try:
            credential = Credential(
                settings.secret_id.get_secret_value(), settings.secret_key.get_secret_value(), token
            )
        except TencentCloudSDKException as exc:
            reason = getattr(exc, "message", "")  # the SDK's own words, never the secret itself
            raise ConfigError(f"The Tencent Cloud credentials are malformed: {reason}. Check {_CREDENTIALS}.") from None
        self._client = CommonClient("vod", VERSION, credential, settings.region, profile)
        logging.getLogger(_SDK_LOGGER).setLevel(logging.WARNING)
        self._settings = settings
        self._where = f"{scheme}://{host}"

    async def submit(self, request: SubmitRequest, caller: Caller) -> Submission:
        """Create one task. Never retried: it is billable and not idempotent."""
        payload = await self._call("CreateAigcImageTask", tencent_body(request, self._settings.vod_subapp_id), None)
        try:
            answer = SubmitEnvelope.model_validate(payload).response
        except ValueError:
            answer = None
        if answer is not None and answer.error is not None and not answer.task_id:
            raise _refused(answer.error.code, answer.error.message, answer.request_id, None)
        if answer is None or not answer.task_id:
            raise RelayProtocolError(
                f"Tencent Cloud answered without a TaskId: {excerpt(payload)}. The task may have been created and "
                f"billed, but it cannot be followed from here. {_RETRY_SAFELY}",
                status_code=200,
            )
        logger.info("Tencent Cloud accepted task %s (RequestId %s)", answer.task_id, answer.request_id)
        return Submission(task_id=answer.task_id, request_id=answer.request_id or "")

    async def query(self, task_id: str, caller: Caller) -> TaskDetail:
        """One DescribeTaskDetail of `task_id`."""
        params: dict[str, Any] = {"TaskId": task_id}
        if self._settings.vod_subapp_id is not None:
            params["SubAppId"] = self._settings.vod_subapp_id
        payload = await self._call("DescribeTaskDetail", params, task_id)
        try:
            answer = DetailEnvelope.model_validate(payload).response
        except ValueError:
            raise RelayProtocolError(
                f"Tencent Cloud's answer about task {task_id} is unreadable: {excerpt(payload)}."
            ) from None
        if answer.error is not None:
            raise _refused(answer.error.code, answer.error.message, answer.request_id, task_id)
        try:
            return detail_of(answer)
        except ValueError as exc:
            raise RelayProtocolError(f"Task {task_id} is {exc}.") from None

    async def aclose(self) -> None:
        """Close the SDK's HTTP client."""
        await self._client.close()

    async def _call(self, action: str, params: dict[str, Any], task_id: str | None) -> Any:
        """The scrubbed JSON answer to `action`; a RelayError, scrubbed, for anything else."""
        with anyio.move_on_after(self._settings.timeout):
            try:
                answer = cast(Any, await self._client.call_and_deserialize(action, params, dict))  # pyright: ignore[reportUnknownMemberType]
            except TencentCloudSDKException as exc:
                raise self._sdk_error(exc, task_id) from None
            except httpx.HTTPError as exc:
                raise self._connection_error(exc, task_id) from None
            except ValueError:
                raise RelayProtocolError(f"Tencent Cloud answered {action} with something that is not JSON.") from None
            return self._scrub(answer)
        raise self._connection_error(httpx.ReadTimeout("overall deadline"), task_id)

    def _sdk_error(self, exc: TencentCloudSDKException, task_id: str | None) -> RelayError:
        # The SDK's exception is untyped: read its three fields as plain objects.
        code = str(getattr(exc, "code", None) or "UnknownError")
        message = self._scrub(_text(getattr(exc, "message", None)))
        if code == "ServerNetworkError":  # the SDK's name for an HTTP status other than 200
            return RelayUnavailableError(
                f"Tencent Cloud at {self._where} answered with an HTTP error: {excerpt(message)}."
            )
        return _refused(code, message, self._scrub(_text(getattr(exc, "requestId", None))) or None, task_id)

    def _connection_error(self, exc: httpx.HTTPError, task_id: str | None) -> RelayConnectionError:
        name = type(exc).__name__
        if task_id is not None:
            return RelayConnectionError(
                f"Could not get an answer from Tencent Cloud about task {task_id} ({name}).", request_sent=True
            )
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return RelayConnectionError(
                f"Could not connect to Tencent Cloud at {self._where} ({name}); nothing was submitted. Check "
                "AIGC_IMAGE_TENCENTCLOUD_ENDPOINT and the network, then try again.",
                request_sent=False,
            )
        return RelayConnectionError(
            f"Tencent Cloud at {self._where} did not answer in time ({name}) after the task was sent, so it may have "
            f"been created and billed. Do not resubmit blindly: ask the user first. {_RETRY_SAFELY}",
            request_sent=True,
        )

    def _scrub(self, value: Any) -> Any:
        for secret in self._secrets:
            value = scrubbed(value, secret) if not isinstance(value, str) else scrub(value, secret)
        return value


def _refused(code: str | None, message: str | None, request_id: str | None, task_id: str | None) -> RelayError:
    """Tencent's Response.Error, worded for what the user can do about it."""
    code, message, where = code or "UnknownError", message or "", f" (RequestId {request_id})"
    if code.startswith(("AuthFailure", "UnauthorizedOperation")):
        return RelayAuthError(
            f"Tencent Cloud refused the credentials: {code}: {message}{where}. Check {_CREDENTIALS}, that the key may "
            "use VOD, and AIGC_IMAGE_VOD_SUBAPP_ID. Nothing was created.",
            status_code=200,
        )
    if code.startswith("RequestLimitExceeded"):
        return RelayRateLimitError(
            f"Tencent Cloud is rate-limiting requests: {code}: {message}{where}.", status_code=200
        )
    if task_id is not None and code.startswith(_UNKNOWN_TASK):
        return UpstreamError(
            f"Tencent Cloud does not know task {task_id} ({code}: {message}): it was not created with these "
            "credentials (and SubAppId), or it is more than 3 days old (tasks can be queried for 3 days).",
            code=code,
            request_id=request_id,
        )
    if code.startswith("InvalidParameterValue.SubAppId") or code == "FailedOperation.InvalidVodUser":
        message += ". Set AIGC_IMAGE_VOD_SUBAPP_ID to your VOD application's ID (VOD console, Application management)"
    what = f"could not report on task {task_id}" if task_id else "refused the task"
    return UpstreamError(f"Tencent Cloud {what}: {code}: {message}{where}.", code=code, request_id=request_id)


def tencent_body(request: SubmitRequest, sub_app_id: int | None) -> dict[str, Any]:
    """CreateAigcImageTask's parameters: the request's fields in Tencent's PascalCase, only those given."""
    body = cast(dict[str, Any], _pascal(request.model_dump(mode="json", exclude_none=True)))
    return body if sub_app_id is None else {"SubAppId": sub_app_id, **body}


def endpoint_parts(endpoint: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a host name (https) or a full URL such as http://127.0.0.1:8123."""
    if "://" not in endpoint:
        return "https", endpoint.strip("/")
    parts = urlsplit(endpoint)
    return parts.scheme, parts.netloc


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        items = cast(dict[str, Any], value).items()
        return {"".join(part.capitalize() for part in key.split("_")): _pascal(item) for key, item in items}
    if isinstance(value, list):
        return [_pascal(item) for item in cast(list[Any], value)]
    return value


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
