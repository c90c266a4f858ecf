"""The QuickRouter relay: `POST {submit_path}` creates a task with the request's snake_case fields as they are, and
`GET {query_path}` answers with Tencent's DescribeTaskDetail. One attempt per call; retries belong to the caller."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import httpx2

from ..catalog.request import SubmitRequest
from ..config import Settings
from ..errors import (
    ArgumentsError,
    ConfigError,
    NoSuchTaskError,
    TencentApiError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamProtocolError,
)
from .answers import Call, excerpt, exchange, parse
from .base import AccountQuota, Caller, SpecUsage, Submission, TaskDetail, check_task_id
from .tencent_shapes import (
    REFUSED_CREDENTIALS,
    UNKNOWN_TASK,
    DetailEnvelope,
    SubmitEnvelope,
    TencentError,
    detail_of,
)
from .wording import Wording, may_exist, retry_safely, unread_submit

logger = logging.getLogger(__name__)

_RETRY_SAFELY = retry_safely("the relay")
_BASE64_HINT = (
    " This request carried local pictures as Base64, which the relay does not document (experimental): if the "
    "relay refuses them, upload the picture somewhere and pass its http(s) URL instead."
)
_MAY_EXIST = may_exist("the relay")
_SUBMIT = Wording(
    **unread_submit("The relay", "{base_url}", "the relay"),
    refused_key="The relay refused the API key (HTTP {status}{detail}). Check the key (QUICKROUTER_API_KEY, or over "
    "HTTP the bearer token the client sends): it must be a valid QuickRouter key with enough balance. The task was "
    "not created.",
    rate_limited="The relay is rate-limiting requests (HTTP 429{detail}); the task was not created. {wait} before "
    "submitting again.",
    failed="The relay failed (HTTP {status}{detail}). The task was most likely not created; try again in a minute. "
    + _RETRY_SAFELY,
    refused="The relay refused the request (HTTP {status}{detail}).",
    not_found="The relay refused the request (HTTP {status}{detail}).",
    not_json="The relay answered HTTP {status} with {kind} instead of JSON: {excerpt}. Check that "
    "QUICKROUTER_BASE_URL points at the relay's API, not at a web page.",
    said="The relay refused the request: {message}.",
    unreadable="The relay's answer is not the Tencent response it should be: {excerpt}. " + _MAY_EXIST,
    unsent="Could not connect to the relay at {base_url} ({name}); nothing was submitted. Check QUICKROUTER_BASE_URL "
    "and the network, then try again.",
)
_QUERY = Wording(
    refused_key="The relay refused the API key when asked about task {task_id} (HTTP {status}{detail}). Check "
    "QUICKROUTER_API_KEY: a valid QuickRouter key, and for a task you made, the key it was submitted with.",
    rate_limited="The relay is rate-limiting queries (HTTP 429{detail}).",
    failed="The relay failed to answer about task {task_id} (HTTP {status}{detail}).",
    refused="The relay refused the query of task {task_id} (HTTP {status}{detail}).",
    not_found="The relay answered HTTP 404 to GET {path}{detail}: it has no task-query route there, or it does not "
    "know this TaskId. If every task gets this answer, set AIGC_IMAGE_QUERY_PATH to the relay's query route "
    "(default /tencent-vod/v1/query/{{task_id}}).",
    not_json="The relay answered the query of task {task_id} with {kind} instead of JSON: {excerpt}.",
    said="The relay refused the query of task {task_id}: {message}.",
    unreadable="The relay's answer about task {task_id} is not the Tencent task detail it should be: {excerpt}.",
    too_large="The relay's answer about task {task_id} is over {limit} MB, so it was not read.",
    too_deep="The relay answered the query of task {task_id} with JSON nested too deeply to read.",
    unsent="Could not get an answer from the relay about task {task_id} ({name}).",
    sent="Could not get an answer from the relay about task {task_id} ({name}).",
)


class QuickRouter:
    """The relay, over the process's one shared `httpx2.AsyncClient` (its base URL is the relay's)."""

    name = "quickrouter"

    def __init__(self, settings: Settings, http: httpx2.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        # The submit route never changes: joined to the base URL here, by httpx2 itself, rather than for each request
        # (a parse and a join, about 25 µs warm, half of building the request).
        self._submit_url = http.build_request("POST", settings.submit_path).url

    async def submit(self, request: SubmitRequest, caller: Caller) -> Submission:
        """Create one task. Never retried: the POST is billable and not idempotent."""
        try:
            return await self._submit(request, caller)
        except UpstreamError as exc:
            if any(info.type == "Base64" for info in request.file_infos or []):
                exc.args = (f"{exc}{_BASE64_HINT}",)  # the same error, its message extended: str() reads args
            raise

    async def _submit(self, request: SubmitRequest, caller: Caller) -> Submission:
        call = self._call("POST", self._submit_url, caller, _SUBMIT, body=relay_body(request))
        payload = await exchange(self._http, call)
        answer = parse(payload, SubmitEnvelope, call.reading).response
        if answer.task_id:
            check_task_id(
                answer.task_id, answer.request_id, upstream="The relay", ask="the relay's operator", retry=_RETRY_SAFELY
            )
            if answer.error is not None:
                logger.warning("The relay gave TaskId %s and an error %s: kept the task", answer.task_id, answer.error)
            return Submission(task_id=answer.task_id, request_id=answer.request_id or "")
        if answer.error is not None:
            code, message = answer.error.code or "UnknownError", answer.error.message or ""
            raise TencentApiError(
                f"Tencent Cloud refused the task: {code}: {message} (RequestId {answer.request_id}).",
                code=code,
                request_id=answer.request_id,
            )
        raise UpstreamProtocolError(
            "The relay answered without a TaskId, so the task cannot be followed; its answer was: "
            f"{excerpt(payload)}. {_RETRY_SAFELY}",
            status_code=200,
        )

    async def query(self, task_id: str, caller: Caller) -> TaskDetail:
        """One query of `task_id`. Raises a UpstreamError when the relay's answer says nothing about the task."""
        path = self._settings.query_path.replace("{task_id}", _segment(task_id))
        call = self._call("GET", path, caller, _QUERY, facts={"task_id": task_id, "path": path})
        answer = parse(await exchange(self._http, call), DetailEnvelope, call.reading).response
        if answer.error is not None:
            raise _unknown_or_failed(answer.error, answer.request_id, task_id)
        try:
            return detail_of(answer)
        except ValueError as exc:
            raise UpstreamProtocolError(f"Task {task_id} is {exc}.") from None

    async def usage(self, days: int) -> list[SpecUsage] | None:
        """None: the relay documents no API for an account's figures (its own site shows them)."""
        return None

    async def quotas(self) -> list[AccountQuota] | None:
        """None: the relay documents no API for an account's caps."""
        return None

    async def aclose(self) -> None:
        """Nothing of its own to close: the HTTP client belongs to the server."""

    def _call(
        self,
        method: str,
        target: httpx2.URL | str,
        caller: Caller,
        wording: Wording,
        *,
        body: dict[str, Any] | None = None,
        facts: dict[str, str] | None = None,
    ) -> Call:
        if caller.key is None:
            raise ConfigError("The QuickRouter relay needs an API key: set QUICKROUTER_API_KEY.")
        where = {"base_url": self._settings.base_url, **(facts or {})}
        return Call(method, target, caller.key.get_secret_value(), self._settings.timeout, wording, body, where)


def relay_body(request: SubmitRequest) -> dict[str, Any]:
    """The relay's JSON body: the request's snake_case fields as they are, only those the caller gave."""
    return request.model_dump(mode="json", exclude_none=True)


def _segment(task_id: str) -> str:
    """`task_id` as one path segment that no normalisation changes: percent-encoded, and never empty or dots alone
    (which escaping cannot protect: `%2E` means `.`)."""
    if not task_id.strip("."):
        shown = json.dumps(task_id, ensure_ascii=True)
        raise ArgumentsError(
            "get_image_task",
            [
                f"task_id: {shown} is not a TaskId (letters, digits, '.', '_' and '-', not dots alone); pass it "
                "exactly as generate_image returned it"
            ],
        )
    return quote(task_id, safe="")


def _unknown_or_failed(error: TencentError, request_id: str | None, task_id: str) -> UpstreamError:
    code, message = error.code or "UnknownError", error.message or ""
    if code.startswith(UNKNOWN_TASK):
        text = (
            f"Tencent Cloud does not know task {task_id} ({code}: {message}): it was not created with this "
            "API key, or it is more than 3 days old (tasks can be queried for 3 days)."
        )
        return NoSuchTaskError(text, code=code, request_id=request_id)
    if code.startswith(REFUSED_CREDENTIALS):
        return UpstreamAuthError(
            f"Tencent Cloud, behind the relay, refused the credentials when asked about task {task_id} ({code}: "
            f"{message}). Check QUICKROUTER_API_KEY with the relay's operator.",
            status_code=200,
        )
    text = f"Tencent Cloud could not report on task {task_id}: {code}: {message} (RequestId {request_id})."
    return TencentApiError(text, code=code, request_id=request_id)
