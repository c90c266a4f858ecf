"""Tencent's shapes: CreateAigcImageTask's parameters (`tencent_body`), and its and DescribeTaskDetail's `Response` as
typed models, as the relay passes them through, read into a Submission or a TaskDetail. Lenient where Tencent's
shapes drift (a number where text is documented, a fraction where a whole number is), so that an odd field never
costs a paid task its TaskId."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from .base import Failed, OutputFile, Running, Succeeded, TaskDetail, TaskState

if TYPE_CHECKING:
    from ..catalog.request import SubmitRequest

_FINISHED = ("FINISH", "FAIL", "ABORTED")

UNKNOWN_TASK = ("InvalidParameterValue.TaskId", "ResourceNotFound")
"""Tencent's codes for "this TaskId is unknown here" (or older than the 3 days it can be queried for)."""
REFUSED_CREDENTIALS = (
    "AuthFailure",
    "UnauthorizedOperation",
    "FailedOperation.InvalidAccount",
    "FailedOperation.InvalidVodUser",
)
"""Tencent's codes for credentials it refused, on both backends (the relay passes Tencent's envelope on)."""


def _text(value: object) -> str | None:
    """Text as it is; a number or a boolean as its JSON text; anything else (an object, a list) as absent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _percent(value: object) -> int | None:
    """A progress of 37.5 or "37" as a whole percent from 0 to 100; anything unreadable as unknown."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return None if number != number else min(max(round(number), 0), 100)  # NaN is unknown


def _object(value: object) -> object:
    """An object as it is; anything else (a string, a list) as missing."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


_OBJECT = BeforeValidator(_object)
Text = Annotated[str | None, BeforeValidator(_text)]
Percent = Annotated[int | None, BeforeValidator(_percent)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TencentError(_Wire):
    """`Response.Error`."""

    code: Text = Field(default=None, alias="Code")
    message: Text = Field(default=None, alias="Message")


class SubmitAnswer(_Wire):
    """`Response` of CreateAigcImageTask."""

    task_id: Text = Field(default=None, alias="TaskId")
    request_id: Text = Field(default=None, alias="RequestId")
    error: Annotated[TencentError | None, _OBJECT] = Field(default=None, alias="Error")


class _FileInfo(_Wire):
    url: Text = Field(default=None, alias="FileUrl")
    expires_at: Text = Field(default=None, alias="ExpireTime")
    file_type: Text = Field(default=None, alias="FileType")
    file_id: Text = Field(default=None, alias="FileId")


class _Input(_Wire):
    model_name: Text = Field(default=None, alias="ModelName")
    model_version: Text = Field(default=None, alias="ModelVersion")
    prompt: Text = Field(default=None, alias="Prompt")


class _Output(_Wire):
    file_infos: list[_FileInfo] = Field(default_factory=lambda: [], alias="FileInfos")

    @field_validator("file_infos", mode="before")
    @classmethod
    def _objects_only(cls, value: object) -> object:
        items = cast(list[Any], value) if isinstance(value, list) else []
        return [cast(dict[str, Any], item) for item in items if isinstance(item, dict)]


class _ImageTask(_Wire):
    status: Text = Field(default=None, alias="Status")
    err_code: Text = Field(default=None, alias="ErrCode")
    err_code_ext: Text = Field(default=None, alias="ErrCodeExt")
    message: Text = Field(default=None, alias="Message")
    progress: Percent = Field(default=None, alias="Progress")
    input: Annotated[_Input | None, _OBJECT] = Field(default=None, alias="Input")
    output: Annotated[_Output | None, _OBJECT] = Field(default=None, alias="Output")


class DetailAnswer(_Wire):
    """`Response` of DescribeTaskDetail."""

    status: Text = Field(default=None, alias="Status")
    task_type: Text = Field(default=None, alias="TaskType")
    task: Annotated[_ImageTask | None, _OBJECT] = Field(default=None, alias="AigcImageTask")
    error: Annotated[TencentError | None, _OBJECT] = Field(default=None, alias="Error")
    request_id: Text = Field(default=None, alias="RequestId")


class SubmitEnvelope(_Wire):
    response: SubmitAnswer = Field(alias="Response")


class DetailEnvelope(_Wire):
    response: DetailAnswer = Field(alias="Response")


def detail_of(answer: DetailAnswer) -> TaskDetail:
    """The task an error-free DescribeTaskDetail describes; ValueError for a task that is not an image task."""
    asked = answer.task.input if answer.task and answer.task.input else _Input()
    return TaskDetail(
        state=_state(answer), model_name=asked.model_name, model_version=asked.model_version, prompt=asked.prompt
    )


def _state(answer: DetailAnswer) -> TaskState:
    top = (answer.status or "").upper()
    task = answer.task
    if task is None:
        if answer.task_type not in (None, "AigcImageTask"):
            raise ValueError(f"of type {answer.task_type}, not an image task")
        if top in _FINISHED:
            return Failed(top, "Tencent ended the task without reporting an image.")
        return Running()
    status = (task.status or "").upper()
    if top == "ABORTED":
        return Failed("ABORTED", task.message or "Tencent aborted the task.")
    if status not in _FINISHED and top not in _FINISHED:
        return Running(task.progress)
    infos = task.output.file_infos if task.output else []
    images = tuple(OutputFile(f.url, f.expires_at, f.file_type, f.file_id) for f in infos if f.url)
    failed_code = task.err_code not in (None, "", "0")
    if failed_code or task.err_code_ext or status == "FAIL" or not images:
        code = task.err_code_ext or (task.err_code if failed_code and task.err_code else "NoOutput")
        return Failed(code, task.message or "Tencent finished the task without an image.")
    return Succeeded(images)


def tencent_body(request: SubmitRequest, sub_app_id: int | None) -> dict[str, Any]:
    """CreateAigcImageTask's parameters: the request's fields in Tencent's PascalCase, only those given."""
    body = cast(dict[str, Any], _pascal(request.model_dump(mode="json", exclude_none=True)))
    return body if sub_app_id is None else {"SubAppId": sub_app_id, **body}


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        items = cast(dict[str, Any], value).items()
        return {"".join(part.capitalize() for part in key.split("_")): _pascal(item) for key, item in items}
    if isinstance(value, list):
        return [_pascal(item) for item in cast(list[Any], value)]
    return value
