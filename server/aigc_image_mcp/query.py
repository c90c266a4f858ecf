"""The relay's task query: `GET {query_path}` answers with Tencent's DescribeTaskDetail, read here as one of three
states (Running, Succeeded, Failed). One attempt per call; retries belong to the caller. Knows nothing of MCP."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

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
from .relay import TencentError, excerpt, message_in, relay_message, retry_after_seconds, scrub

# Tencent's codes for "this TaskId is unknown here" (or older than the 3 days it can be queried for).
_UNKNOWN_TASK = ("InvalidParameterValue.TaskId", "ResourceNotFound")
_BUSY = ("RequestLimitExceeded", "InternalError")
_FINISHED = ("FINISH", "FAIL", "ABORTED")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OutputFile(_Wire):
    """One generated image: `Output.FileInfos[]`."""

    url: str | None = Field(default=None, alias="FileUrl")
    expires_at: str | None = Field(default=None, alias="ExpireTime")
    file_type: str | None = Field(default=None, alias="FileType")
    file_id: str | None = Field(default=None, alias="FileId")


class _Input(_Wire):
    model_name: str | None = Field(default=None, alias="ModelName")
    model_version: str | None = Field(default=None, alias="ModelVersion")
    prompt: str | None = Field(default=None, alias="Prompt")


class _Output(_Wire):
    file_infos: list[OutputFile] = Field(default_factory=lambda: [], alias="FileInfos")

    @field_validator("file_infos", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class _ImageTask(_Wire):
    status: str = Field(default="", alias="Status")
    err_code: int = Field(default=0, alias="ErrCode")
    err_code_ext: str = Field(default="", alias="ErrCodeExt")
    message: str = Field(default="", alias="Message")
    progress: int | None = Field(default=None, alias="Progress")
    input: _Input | None = Field(default=None, alias="Input")
    output: _Output | None = Field(default=None, alias="Output")

    @field_validator("status", "err_code_ext", "message", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("err_code", mode="before")
    @classmethod
    def _null_is_zero(cls, value: object) -> object:
        return 0 if value is None else value


class _Detail(_Wire):
    status: str | None = Field(default=None, alias="Status")
    task_type: str | None = Field(default=None, alias="TaskType")
    task: _ImageTask | None = Field(default=None, alias="AigcImageTask")
    error: TencentError | None = Field(default=None, alias="Error")
    request_id: str | None = Field(default=None, alias="RequestId")


class _Envelope(_Wire):
    response: _Detail = Field(alias="Response")


@dataclass(frozen=True)
class Running:
    """Tencent is still working on the task."""

    progress: int | None = None


@dataclass(frozen=True)
class Succeeded:
    """The task finished with at least one image."""

    files: tuple[OutputFile, ...]


@dataclass(frozen=True)
class Failed:
    """The task finished without an image; `code` and `message` are Tencent's reason."""

    code: str
    message: str


TaskState = Running | Succeeded | Failed


@dataclass(frozen=True)
class TaskDetail:
    """A task's state, and what it was asked for (for a task this server did not submit)."""

    state: TaskState
    model_name: str | None = None
    model_version: str | None = None
    prompt: str | None = None


async def query_task(http: httpx2.AsyncClient, path_template: str, task_id: str, api_key: SecretStr) -> TaskDetail:
    """One query of `task_id`. Raises a RelayError when the relay's answer says nothing about the task."""
    key = api_key.get_secret_value()
    path = path_template.replace("{task_id}", quote(task_id, safe=""))
    try:
        response = await http.get(path, headers={"Authorization": f"Bearer {key}"})
    except httpx2.HTTPError as exc:
        raise RelayConnectionError(
            f"Could not get an answer from the relay about task {task_id} ({type(exc).__name__}).",
            request_sent=True,
        ) from None
    detail = _read(response, key, task_id, path)
    if detail.error is not None:
        raise _upstream(detail.error, detail.request_id, task_id, key)
    asked = detail.task.input if detail.task and detail.task.input else _Input()
    return TaskDetail(
        state=_state(detail, task_id),
        model_name=asked.model_name,
        model_version=asked.model_version,
        prompt=asked.prompt,
    )


def is_transient(exc: BaseException) -> bool:
    """Whether asking again later may succeed: a query changes nothing, so it is always safe to repeat."""
    if isinstance(exc, UpstreamError):
        return exc.code.startswith(_BUSY)
    return isinstance(exc, RelayConnectionError | RelayUnavailableError | RelayRateLimitError)


def _state(detail: _Detail, task_id: str) -> TaskState:
    top = (detail.status or "").upper()
    task = detail.task
    if task is None:
        if detail.task_type not in (None, "AigcImageTask"):
            raise RelayProtocolError(f"Task {task_id} is a {detail.task_type}, not an image task.")
        if top in _FINISHED:
            return Failed(top, "Tencent ended the task without reporting an image.")
        return Running()
    if top == "ABORTED":
        return Failed("ABORTED", task.message or "Tencent aborted the task.")
    if task.status.upper() not in _FINISHED and top not in _FINISHED:
        return Running(task.progress)
    images = tuple(file for file in (task.output or _Output()).file_infos if file.url)
    if task.err_code or task.err_code_ext or task.status.upper() == "FAIL" or not images:
        code = task.err_code_ext or (str(task.err_code) if task.err_code else "NoOutput")
        return Failed(code, task.message or "Tencent finished the task without an image.")
    return Succeeded(images)


def _read(response: httpx2.Response, key: str, task_id: str, path: str) -> _Detail:
    """The DescribeTaskDetail of a 2xx answer; a RelayError for anything else."""
    status = response.status_code
    detail = relay_message(response, key)
    if status >= 400:
        raise _status_error(response, status, detail, task_id, path)
    try:
        payload = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise RelayProtocolError(
            f"The relay answered the query of task {task_id} with {kind} instead of JSON: "
            f"{excerpt(response.text, key)}.",
            status_code=status,
        ) from None
    try:
        return _Envelope.model_validate(payload).response
    except ValidationError:
        message = message_in(payload)
        if message is not None:
            raise RelayRejectedError(
                f"The relay refused the query of task {task_id}: {scrub(message, key)}.", status_code=status
            ) from None
        raise RelayProtocolError(
            f"The relay's answer about task {task_id} is not the Tencent task detail it should be: "
            f"{excerpt(response.text, key)}.",
            status_code=status,
        ) from None


def _status_error(response: httpx2.Response, status: int, detail: str, task_id: str, path: str) -> RelayError:
    if status in (401, 403):
        return RelayAuthError(
            f"The relay refused the API key when asked about task {task_id} (HTTP {status}{detail}). "
            "Check QUICKROUTER_API_KEY: it must be the key the task was submitted with.",
            status_code=status,
        )
    if status == 429:
        return RelayRateLimitError(
            f"The relay is rate-limiting queries (HTTP 429{detail}).",
            status_code=status,
            retry_after=retry_after_seconds(response),
        )
    if status >= 500:
        return RelayUnavailableError(f"The relay failed to answer about task {task_id} (HTTP {status}{detail}).")
    if status == 404:
        return RelayRejectedError(
            f"The relay answered HTTP 404 to GET {path}{detail}: it has no task-query route there, or it does not "
            "know this TaskId. If every task gets this answer, set AIGC_IMAGE_QUERY_PATH to the relay's query "
            "route (default /tencent-vod/v1/query/{task_id}).",
            status_code=status,
        )
    return RelayRejectedError(f"The relay refused the query of task {task_id} (HTTP {status}{detail}).")


def _upstream(error: TencentError, request_id: str | None, task_id: str, key: str) -> UpstreamError:
    message = scrub(error.message, key)
    if error.code.startswith(_UNKNOWN_TASK):
        text = (
            f"Tencent Cloud does not know task {task_id} ({error.code}: {message}): it was not created with this "
            "API key, or it is more than 3 days old (tasks can be queried for 3 days)."
        )
    else:
        text = f"Tencent Cloud could not report on task {task_id}: {error.code}: {message} (RequestId {request_id})."
    return UpstreamError(text, code=error.code, request_id=request_id)
