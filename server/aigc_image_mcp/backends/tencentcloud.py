"""Tencent Cloud direct: CreateAigcImageTask and DescribeTaskDetail (VOD, API 2018-07-17) with the user's own
credentials, signed TC3-HMAC-SHA256 by Tencent's official SDK (its async client, on httpx).

The SDK's CommonClient is used rather than its VodClient: the same signing and transport, without importing the
100,000-line models module (~0.5 s). The SDK signs and sends; it never reads an answer. A response hook on its HTTP
client takes each answer as it arrives, read with answers.py as the relay's are (bounded, within the deadline,
depth-guarded, scrubbed of the SecretKey and session token, every status classified) and then with tencent_shapes.py,
so that a TaskId beside an Error still reaches the user and an odd answer gets a message rather than the SDK's KeyError.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from tencentcloud.common.common_client_async import CommonClient  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.credential import Credential  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.profile.client_profile import ClientProfile  # pyright: ignore[reportMissingTypeStubs]
from tencentcloud.common.profile.http_profile import HttpProfile  # pyright: ignore[reportMissingTypeStubs]

from ..catalog.request import SubmitRequest
from ..config import Settings
from ..errors import (
    ConfigError,
    NoSuchTaskError,
    TencentApiError,
    UpstreamAuthError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamRateLimitError,
)
from . import tencent_account as account
from .answers import (
    Reading,
    connection_error,
    excerpt,
    forms_of,
    longest_first,
    missed_deadline,
    parse,
    payload_of,
    read_bounded,
    scrub,
)
from .base import AccountQuota, Caller, SpecUsage, Submission, TaskDetail, check_task_id
from .tencent_shapes import REFUSED_CREDENTIALS, UNKNOWN_TASK, DetailEnvelope, SubmitEnvelope, detail_of, tencent_body
from .wording import Wording, may_exist, retry_safely, unread_submit

logger = logging.getLogger(__name__)
# At DEBUG the SDK logs each request with its X-TC-Token header and each answer as sent (with any secret Tencent
# echoes): never below WARNING here, whatever AIGC_IMAGE_LOG_LEVEL says.
_SDK_LOGGER = "tencentcloud_sdk_common"

VERSION = "2018-07-17"
_RETRY_SAFELY = retry_safely("Tencent")
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""httpx's failures before a request left us."""
_CREDENTIALS = "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN for temporary keys)"
_MAY_EXIST = may_exist("Tencent")
_NOT_TENCENT = (
    "Check that AIGC_IMAGE_TENCENTCLOUD_ENDPOINT is Tencent's VOD API (vod.tencentcloudapi.com, or "
    "vod.intl.tencentcloudapi.com for international accounts)."
)
_SUBMIT = Wording(
    **unread_submit("Tencent Cloud", "{where}", "Tencent"),
    refused_key="Tencent Cloud at {where} refused the credentials (HTTP {status}{detail}). Check "
    + _CREDENTIALS
    + ", and that the key may use VOD. The task was not created.",
    rate_limited="Tencent Cloud at {where} is rate-limiting requests (HTTP 429{detail}); the task was not created. "
    "{wait} before submitting again.",
    failed="Tencent Cloud at {where} failed (HTTP {status}{detail}). The task was most likely not created; try "
    "again in a minute. " + _RETRY_SAFELY,
    refused="Tencent Cloud at {where} refused the request (HTTP {status}{detail}). " + _NOT_TENCENT,
    not_found="Tencent Cloud at {where} answered HTTP 404{detail}. " + _NOT_TENCENT,
    not_json="Tencent Cloud at {where} answered HTTP {status} with {kind} instead of JSON: {excerpt}. "
    + _NOT_TENCENT
    + " "
    + _MAY_EXIST,
    said="Tencent Cloud refused the task: {message}.",
    unreadable="Tencent Cloud's answer is not the CreateAigcImageTask response it should be: {excerpt}. " + _MAY_EXIST,
    unsent="Could not connect to Tencent Cloud at {where} ({name}); nothing was submitted. Check "
    "AIGC_IMAGE_TENCENTCLOUD_ENDPOINT and the network, then try again.",
)
_QUERY = Wording(
    refused_key="Tencent Cloud at {where} refused the credentials when asked about task {task_id} (HTTP "
    "{status}{detail}). Check " + _CREDENTIALS + ": they must be those of the account the task was created with.",
    rate_limited="Tencent Cloud at {where} is rate-limiting queries (HTTP 429{detail}). {wait} before asking again.",
    failed="Tencent Cloud at {where} failed to answer about task {task_id} (HTTP {status}{detail}); ask again in a "
    "minute.",
    refused="Tencent Cloud at {where} refused the query of task {task_id} (HTTP {status}{detail}). " + _NOT_TENCENT,
    not_found="Tencent Cloud at {where} answered HTTP 404{detail} to the query of task {task_id}. " + _NOT_TENCENT,
    not_json="Tencent Cloud at {where} answered the query of task {task_id} with {kind} instead of JSON: {excerpt}. "
    + _NOT_TENCENT,
    said="Tencent Cloud refused the query of task {task_id}: {message}.",
    unreadable="Tencent Cloud's answer about task {task_id} is not the DescribeTaskDetail response it should be: "
    "{excerpt}.",
    too_large="Tencent Cloud's answer about task {task_id} is over {limit} MB, so it was not read.",
    too_deep="Tencent Cloud answered the query of task {task_id} with JSON nested too deeply to read.",
    unsent="Could not get an answer from Tencent Cloud about task {task_id} ({name}).",
    sent="Could not get an answer from Tencent Cloud about task {task_id} ({name}).",
)


class _Answered(Exception):
    """Not a fault: an answer as the response hook read it, carried past the SDK (which never reads it) to `_call`."""

    def __init__(self, response: httpx.Response, data: bytes, whole: bool) -> None:
        super().__init__("an answer from Tencent Cloud")
        self.response, self.data, self.whole = response, data, whole


async def _carry(response: httpx.Response) -> None:
    """The response hook: read the body (up to ANSWER_LIMIT) and take it past the SDK, which never sees it."""
    data, whole = await read_bounded(response)
    raise _Answered(response, data, whole)


class TencentCloud:
    """Tencent's VOD API over the SDK's own HTTP client (httpx), opened once per process."""

    name = "tencentcloud"

    def __init__(self, settings: Settings) -> None:
        if settings.secret_id is None or settings.secret_key is None:
            raise ConfigError(f"The tencentcloud backend needs {_CREDENTIALS}; set them and restart the server.")
        token = settings.session_token.get_secret_value() if settings.session_token else None
        self._sent = (settings.secret_id.get_secret_value(), settings.secret_key.get_secret_value(), token or "")
        self._secrets = longest_first(form for secret in self._sent for form in forms_of(secret))
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
        http: httpx.AsyncClient = self._client.http_client
        http.event_hooks["response"].append(_carry)
        logging.getLogger(_SDK_LOGGER).setLevel(logging.WARNING)
        self._settings = settings
        self._where = f"{scheme}://{host}"

    async def submit(self, request: SubmitRequest, caller: Caller) -> Submission:
        """Create one task. Never retried: it is billable and not idempotent."""
        reading = self._reading(_SUBMIT)
        payload = await self._call("CreateAigcImageTask", tencent_body(request, self._settings.vod_subapp_id), reading)
        answer = parse(payload, SubmitEnvelope, reading).response
        if answer.task_id and answer.error is not None:
            # The task exists and is billed: it is followed, and DescribeTaskDetail will say how it went.
            logger.warning(
                "Tencent Cloud gave TaskId %s and an error %s: %s (RequestId %s); kept the task",
                answer.task_id,
                answer.error.code,
                answer.error.message,
                answer.request_id,
            )
        elif answer.error is not None:
            raise _refused(answer.error.code, answer.error.message, answer.request_id, None)
        if not answer.task_id:
            raise UpstreamProtocolError(
                f"Tencent Cloud answered without a TaskId: {excerpt(payload)}. {_MAY_EXIST}",
                status_code=200,
            )
        check_task_id(
            answer.task_id,
            answer.request_id,
            upstream="Tencent Cloud",
            ask="Tencent Cloud support",
            retry=_RETRY_SAFELY,
        )
        return Submission(task_id=answer.task_id, request_id=answer.request_id or "")

    async def query(self, task_id: str, caller: Caller) -> TaskDetail:
        """One DescribeTaskDetail of `task_id`."""
        params: dict[str, Any] = {"TaskId": task_id}
        if self._settings.vod_subapp_id is not None:
            params["SubAppId"] = self._settings.vod_subapp_id
        reading = self._reading(_QUERY, task_id=task_id)
        answer = parse(await self._call("DescribeTaskDetail", params, reading), DetailEnvelope, reading).response
        if answer.error is not None:
            raise _refused(answer.error.code, answer.error.message, answer.request_id, task_id)
        try:
            return detail_of(answer)
        except ValueError as exc:
            raise UpstreamProtocolError(f"Task {task_id} is {exc}.") from None

    async def usage(self, days: int) -> list[SpecUsage] | None:
        """Tencent's own image figures for the account (DescribeAigcUsageData), per day and specification."""
        params = account.usage_params(days, self._settings.vod_subapp_id)
        return account.usage_rows(await self._account("DescribeAigcUsageData", params, account.UsageEnvelope))

    async def quotas(self) -> list[AccountQuota] | None:
        """The caps set on the account's AIGC images (DescribeAigcQuotas)."""
        params = account.quota_params(self._settings.vod_subapp_id)
        return account.quota_rows(await self._account("DescribeAigcQuotas", params, account.QuotaEnvelope))

    async def _account(self, action: str, params: dict[str, Any], shape: type[account.Envelope]) -> account.Envelope:
        reading = self._reading(account.ACCOUNT, action=action)
        return account.checked(parse(await self._call(action, params, reading), shape, reading), action)

    async def aclose(self) -> None:
        """Close the SDK's HTTP client."""
        await self._client.close()

    async def _call(self, action: str, params: dict[str, Any], reading: Reading) -> Any:
        """The scrubbed JSON answer to `action`; a UpstreamError, scrubbed, for anything else."""
        with anyio.move_on_after(self._settings.timeout):
            try:
                await self._client.call_and_deserialize(action, params, dict)  # pyright: ignore[reportUnknownMemberType]
            except _Answered as answer:
                return payload_of(answer.response, answer.data, answer.whole, reading)
            except TencentCloudSDKException as exc:
                raise self._sdk_error(exc) from None
            except httpx.HTTPError as exc:
                raise connection_error(exc, reading, _UNSENT, httpx.TimeoutException) from None
            raise RuntimeError("Tencent's SDK returned an answer its HTTP client's response hook did not see")
        raise missed_deadline(reading, self._settings.timeout)  # only the deadline leaves without an answer

    def _reading(self, wording: Wording, **facts: str) -> Reading:
        return Reading(wording, self._sent, {"where": self._where, **facts})  # it scrubs every form of each

    def _sdk_error(self, exc: TencentCloudSDKException) -> UpstreamError:
        # Every answer leaves through the response hook, so the SDK's own exceptions come before anything is sent.
        # The exception is untyped: read its fields as plain objects.
        code = str(getattr(exc, "code", None) or "UnknownError")
        message = scrub(_text(getattr(exc, "message", None)), *self._secrets)
        return UpstreamConnectionError(
            f"Tencent's SDK could not send the request to {self._where} ({code}: {message}); nothing was submitted.",
            request_sent=False,
        )


def _refused(code: str | None, message: str | None, request_id: str | None, task_id: str | None) -> UpstreamError:
    """Tencent's Response.Error, worded for what the user can do about it."""
    code, where = code or "UnknownError", f" (RequestId {request_id})" if request_id else ""
    message = message or "no message"
    if code.startswith(REFUSED_CREDENTIALS):
        return UpstreamAuthError(
            f"Tencent Cloud refused the credentials: {code}: {message}{where}. Check {_CREDENTIALS}, that the key may "
            "use VOD, and AIGC_IMAGE_VOD_SUBAPP_ID. Nothing was created.",
            status_code=200,
        )
    if code.startswith("RequestLimitExceeded"):
        return UpstreamRateLimitError(
            f"Tencent Cloud is rate-limiting requests: {code}: {message}{where}.", status_code=200
        )
    if task_id is not None and code.startswith(UNKNOWN_TASK):
        return NoSuchTaskError(
            f"Tencent Cloud does not know task {task_id} ({code}: {message}): it was not created with these "
            "credentials (and SubAppId), or it is more than 3 days old (tasks can be queried for 3 days).",
            code=code,
            request_id=request_id,
        )
    if code.startswith("InvalidParameterValue.SubAppId") or code == "FailedOperation.InvalidVodUser":
        message += ". Set AIGC_IMAGE_VOD_SUBAPP_ID to your VOD application's ID (VOD console, Application management)"
    what = f"could not report on task {task_id}" if task_id else "refused the task"
    return TencentApiError(f"Tencent Cloud {what}: {code}: {message}{where}.", code=code, request_id=request_id)


def endpoint_parts(endpoint: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a host name (https) or a full URL such as http://127.0.0.1:8123."""
    if "://" not in endpoint:
        return "https", endpoint.strip("/")
    parts = urlsplit(endpoint)
    return parts.scheme, parts.netloc


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
