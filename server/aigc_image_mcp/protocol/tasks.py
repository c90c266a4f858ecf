"""MCP Tasks (`io.modelcontextprotocol/tasks`, SEP-2663) for generate_image, for clients that declare them.

generate_image decides whether a call becomes a task (`makes_task`) and, if it does, answers `Submitted` at once;
`Tasks` turns that into the flat `CreateTaskResult`, with Tencent's TaskId as the taskId. The client polls `tasks/get`;
each poll asks Tencent once (the history answers for a finished task). The tasks live in the history, so they
survive a restart, and get_image_task keeps working for the same ids. Tencent cannot stop a running task: a
cancelled task is only no longer followed. The SDK's `CreateTaskResult` is the older nested shape, so the wire
shapes are written here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolRequestParams, CallToolResult, RequestParams
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ConfigDict, Field

from ..catalog.fields import SAVE_AS
from ..errors import AigcImageError
from ..results import TaskResult
from .caller import caller_in
from .render import tool_result

if TYPE_CHECKING:
    from ..backends.base import Caller
    from ..core.polling import ProgressPoint
    from ..history.base import Record
    from ..state import AppState

logger = logging.getLogger(__name__)

EXTENSION_ID = "io.modelcontextprotocol/tasks"
TTL_MS = 3 * 24 * 3600 * 1000
"""Tencent answers about a task for 3 days."""
TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
PACES_KEPT = 1024
"""Tasks whose polling pace this process remembers, the least recently polled forgotten first. The pace only tunes
the pollIntervalMs hint: a task this process forgot, or never saw (another replica answered its earlier polls),
starts the schedule again at 1 s, which costs its client a few early polls and never a result. So it is kept here,
bounded, rather than written to the history at every poll."""
NOT_STOPPED = (
    "Tencent offers no way to stop a running task: it may still finish and be billed. This server no longer follows "
    "it; get_image_task still fetches its image."
)


class TaskParams(RequestParams):
    """The params of tasks/get and tasks/cancel."""

    model_config = ConfigDict(defer_build=True)  # built at the first tasks/get, not at the server's start

    task_id: str = Field(alias="taskId", min_length=1, max_length=256)


def makes_task(request: ServerRequestContext[Any, Any], arguments: Mapping[str, Any]) -> bool:
    """Whether this call becomes a task: the client declared the Tasks extension on a 2026-07-28 request (a task
    result cannot travel over the older handshake's wire, even to a client that declares the extension there), and
    no save_as asks for a file (a task's answer could not say where it went; such a call waits, as any other)."""
    capabilities = request.session.client_capabilities
    extensions = capabilities.extensions if capabilities is not None else None
    declared = bool(extensions) and EXTENSION_ID in cast(Mapping[str, Any], extensions)
    no_file = SAVE_AS.not_given(arguments.get(SAVE_AS.name))
    return declared and request.protocol_version in MODERN_PROTOCOL_VERSIONS and no_file


class Submitted(CallToolResult):
    """generate_image's answer to a call that makes a task: the task as submitted, which `Tasks` turns into the
    CreateTaskResult. The SDK hands a tool's CallToolResult on as it is, so this reaches `Tasks` whole; its
    structured content (the task) is what the tool's output check wants, and no client sees it."""

    model_config = ConfigDict(defer_build=True)  # built at the first task, not at the server's start

    task: TaskResult = Field(exclude=True)

    @classmethod
    def of(cls, task: TaskResult) -> Submitted:
        return cls(content=[], structured_content=task.dump(), task=task)


@dataclass(frozen=True)
class TaskView:
    """A task as the Tasks extension shows it."""

    task_id: str
    status: TaskStatus
    created_at: str
    updated_at: str
    message: str | None = None
    poll_ms: int | None = None
    result: CallToolResult | None = None

    def wire(self, result_type: str) -> dict[str, Any]:
        """The SEP-2663 task object, flat in a result of `result_type`."""
        shown: dict[str, Any] = {
            "resultType": result_type,
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": self.created_at,
            "lastUpdatedAt": self.updated_at,
            "ttlMs": TTL_MS,
        }
        if self.message is not None:
            shown["statusMessage"] = self.message
        if self.poll_ms is not None:
            shown["pollIntervalMs"] = self.poll_ms
        if self.result is not None:
            shown["result"] = self.result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return shown


@dataclass
class _Pace:
    """Progress readings of one task, for the next poll interval (the bounded wait's schedule)."""

    step: int = 0
    first: ProgressPoint | None = None


class Tasks(Extension):
    """The Tasks extension: turns a tool's `Submitted` answer into a task, and serves tasks/get and tasks/cancel."""

    identifier = EXTENSION_ID

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._paces: dict[str, _Pace] = {}

    def methods(self) -> Sequence[MethodBinding]:
        return (
            MethodBinding("tasks/get", TaskParams, self._get),
            MethodBinding("tasks/cancel", TaskParams, self._cancel),
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        from ..core.polling import FIRST_PAUSE  # the poller comes with the first task: it is not needed to start

        result = await call_next(ctx)
        if not isinstance(result, Submitted):
            return result  # not a task: refused before any submit, or a client that waits
        task = result.task
        created, updated = await _dates(ctx, task.task_id)
        # A note (the history could not keep the task) must reach the client with the TaskId: tasks/get may not find it.
        message = " ".join([f"Submitted to Tencent as task {task.task_id} on {task.model}.", *task.notes])
        return TaskView(task.task_id, "working", created, updated, message, int(FIRST_PAUSE * 1000)).wire("task")

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        state, caller, record = await _find(ctx, params.task_id)
        if record.cancelled:
            return _view(record, "cancelled", NOT_STOPPED).wire("complete")
        try:
            delivery = await state.tracker.lookup(params.task_id, caller, 0, _ignore)
        except AigcImageError as exc:  # the history answered above, so this is a passing fault: poll again
            return _view(record, "working", f"Could not check on the task: {exc}", 1000).wire("complete")
        except Exception:  # a bug of ours: SEP-2663's `failed`, with a JSON-RPC error; the TaskId stays valid
            logger.exception("tasks/get of %s failed", params.task_id)
            view = _view(record, "failed", "This server failed; get_image_task with this task_id may still work.")
            return view.wire("complete") | {"error": {"code": INTERNAL_ERROR, "message": view.message}}
        task = delivery.task
        if task.status in ("SUCCEEDED", "FAILED"):  # Tencent's refusal is a tool error: `completed`, isError
            self._paces.pop(task.task_id, None)
            message = f"Tencent failed the task: {task.error_code}: {task.message}" if task.status == "FAILED" else None
            return _view(record, "completed", message, result=tool_result(delivery, ctx)).wire("complete")
        done = f"{task.progress}% done" if task.progress is not None else "not started yet"
        message = f"Tencent is generating the image ({done})."
        return _view(record, "working", message, self._poll_ms(task, state.settings.poll_interval)).wire("complete")

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        """An empty acknowledgement (SEP-2663); tasks/get then says `cancelled` and why Tencent's task runs on. A
        finished task stays as it is."""
        state, caller, record = await _find(ctx, params.task_id)
        if record.task.status not in ("SUCCEEDED", "FAILED"):
            await state.tracker.cancel(caller, params.task_id)
            self._paces.pop(params.task_id, None)
        return {}

    def _poll_ms(self, task: TaskResult, longest: float) -> int:
        """The next pause of the bounded wait's schedule: growing from 1 s, then aimed at the expected end."""
        from ..core.polling import ProgressPoint, next_pause

        pace = self._pace(task.task_id)
        latest = None if task.progress is None else ProgressPoint(self._now(), task.progress)
        pace.first = pace.first or latest
        seconds = next_pause(pace.step, pace.first, latest, longest)
        pace.step += 1
        return round(seconds * 1000)

    def _pace(self, task_id: str) -> _Pace:
        """The task's pace, now the most recently polled; past PACES_KEPT the least recently polled is forgotten."""
        pace = self._paces.pop(task_id, None) or _Pace()
        self._paces[task_id] = pace  # a dict keeps its order: the first is the least recently polled
        if len(self._paces) > PACES_KEPT:
            del self._paces[next(iter(self._paces))]
        return pace


async def _find(ctx: ServerRequestContext[Any, Any], task_id: str) -> tuple[AppState, Caller, Record]:
    """The app, the caller and the caller's task `task_id` from the history; -32602 when there is none."""
    state = cast("AppState", ctx.lifespan_context)
    try:
        caller = caller_in(ctx)
        record = await state.tracker.record(caller, task_id)
    except AigcImageError as exc:
        raise MCPError(code=INVALID_PARAMS, message=f"Task {task_id} cannot be looked up: {exc}") from exc
    if record is None:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown task {task_id}: no task of this caller has that id.")
    return state, caller, record


async def _dates(ctx: ServerRequestContext[Any, Any], task_id: str) -> tuple[str, str]:
    """The task's createdAt and lastUpdatedAt as tasks/get shows them: from its record in the history, the one place
    a task's dates are kept; the present moment only when the submit could not be recorded (its notes say so)."""
    try:
        _, _, record = await _find(ctx, task_id)
    except MCPError:
        now = _iso(datetime.now(UTC))
        return now, now
    return _iso_of(record.created_at), _iso_of(record.updated_at)


def _view(
    record: Record, status: TaskStatus, message: str | None, poll_ms: int | None = None, result: Any = None
) -> TaskView:
    updated = _iso(datetime.now(UTC)) if status != "cancelled" else _iso_of(record.updated_at)
    return TaskView(record.task.task_id, status, _iso_of(record.created_at), updated, message, poll_ms, result)


async def _ignore(_percent: float, _message: str) -> None:
    """tasks/get reports no progress: its answer carries the status."""


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_of(stamp: str) -> str:
    return _iso(datetime.fromisoformat(stamp))
