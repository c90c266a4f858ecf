"""The tools' handlers: generate_image, get_image_task, list_image_tasks and get_image_usage. Each checks its
arguments, asks the tracker, and renders what it hands back; server.py registers them. The argument checks, the
pictures, the saving and the usage's rendering are imported by the handlers that use them, with the first call: the
server's start does not need them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult

from ..catalog.fields import (
    DAYS,
    DEFAULT_DAYS,
    DEFAULT_LIMIT,
    DEFAULT_WAIT,
    LIMIT,
    OVERWRITE,
    SAVE_AS,
    STATUS,
    TASK_ID,
    WAIT_AGAIN,
)
from ..errors import AigcImageError
from ..results import Delivery
from .caller import caller_in
from .render import list_result, tool_result
from .tasks import Submitted, makes_task

if TYPE_CHECKING:
    from ..backends.base import Caller
    from ..catalog.request import SubmitRequest
    from ..state import AppState

logger = logging.getLogger(__name__)

GET_ARGUMENTS = (TASK_ID, WAIT_AGAIN, SAVE_AS, OVERWRITE)


GET_DESCRIPTION = (
    "Check on a task that generate_image started, wait up to wait_seconds for it, and hand back its image: URL, "
    "saved file and preview. Free: it never starts a new task. Use it when generate_image answered SUBMITTED or "
    "RUNNING, or mentioned trouble after the submit, and to show an earlier result again."
)
LIST_DESCRIPTION = (
    "List your newest image tasks (also from before a restart), optionally only those in one status: "
    "TaskId, model, status, prompt, and where each image was saved. Free, and reads only this server's local history."
)

USAGE_DESCRIPTION = (
    "Count what you spent: per UTC day and model, the tasks started and the images they made (and the amount "
    "at the operator's prices, when set), over the last `days` days. For the user at the server's own machine on "
    "Tencent Cloud direct, also Tencent's own figures for the whole account. Free: it never starts a task."
)


async def generate_image(
    arguments: dict[str, Any], ctx: Context[AppState, Any]
) -> CallToolResult | InputRequiredResult:
    """Validate, submit one task, and wait a bounded time for its image; the TaskId always comes back."""
    from ..catalog.validation import parse_present, present, wait_seconds
    from ..core.prices import quote
    from .confirm import ConfirmationNeeded, confirm, over_threshold
    from .roots import RootsNeeded
    from .save_as import save_target, saved

    state = ctx.request_context.lifespan_context
    arguments = present(arguments, state.catalog)  # null, "" and [] are not given, for every step below
    confirmed: str | None = None  # a 2026-07-28 yes, kept through a later round (roots) in request_state
    try:
        spec, request = parse_present(arguments, state.catalog)
        caller = caller_in(ctx.request_context)
        estimate = quote(state.prices, spec.id, request)
        if over_threshold(estimate, state.settings.confirm_above, state.prices):  # asked before anything is paid
            confirmed = await confirm(ctx, estimate, spec.id, arguments)
        save = await save_target("generate_image", arguments, ctx, caller)  # refused before anything is paid
        request = await _with_pictures(ctx, request, caller)
        task = await state.tracker.submit(spec, request, caller, estimate)
    except ConfirmationNeeded as needed:
        return needed.result
    except RootsNeeded as needed:
        return needed.result.model_copy(update={"request_state": confirmed})
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    if makes_task(ctx.request_context, arguments):  # the client follows it through tasks/get
        return Submitted.of(task)
    wait = wait_seconds(arguments)
    if wait == 0:
        return tool_result(await saved(Delivery(task), save), ctx.request_context)
    try:
        report = _reporter(ctx)
        await report(0, f"Submitted task {task.task_id} on {task.model}; waiting up to {wait} s for the image.")
        delivery = await state.tracker.follow(task, caller, wait, report)
        return tool_result(await saved(delivery, save), ctx.request_context)
    except Exception:  # a bug past this point must not cost the user the task they paid for
        logger.exception("Following task %s failed", task.task_id)
        note = "This server failed while waiting for the task (see its log); call get_image_task with this task_id."
        return tool_result(Delivery(task.model_copy(update={"notes": [*task.notes, note]})), ctx.request_context)


async def get_image_task(
    arguments: dict[str, Any], ctx: Context[AppState, Any]
) -> CallToolResult | InputRequiredResult:
    """A task's state and, once finished, its image; waits up to wait_seconds while it runs."""
    from ..catalog.validation import parse_plain
    from .roots import RootsNeeded
    from .save_as import save_target, saved

    state = ctx.request_context.lifespan_context
    try:
        values = parse_plain("get_image_task", arguments, GET_ARGUMENTS, required=(TASK_ID.name,))
        wait = int(values.get(WAIT_AGAIN.name, DEFAULT_WAIT))
        caller = caller_in(ctx.request_context)
        save = await save_target("get_image_task", values, ctx, caller)
        delivery = await state.tracker.lookup(values[TASK_ID.name], caller, wait, _reporter(ctx))
    except RootsNeeded as needed:
        return needed.result
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    return tool_result(await saved(delivery, save), ctx.request_context)


async def list_image_tasks(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
    """The caller's newest tasks, from the local history."""
    from ..catalog.validation import parse_plain

    state = ctx.request_context.lifespan_context
    try:
        values = parse_plain("list_image_tasks", arguments, (STATUS, LIMIT))
        limit = int(values.get(LIMIT.name, DEFAULT_LIMIT))
        listing = await state.tracker.recent(caller_in(ctx.request_context), limit, values.get(STATUS.name))
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    return list_result(listing)


async def get_image_usage(arguments: dict[str, Any], ctx: Context[AppState, Any]) -> CallToolResult:
    """The caller's usage per UTC day and model, and the upstream's own figures for the local user."""
    from ..catalog.validation import parse_plain
    from .usage import usage_result

    state = ctx.request_context.lifespan_context
    try:
        values = parse_plain("get_image_usage", arguments, (DAYS,))
        days = int(values.get(DAYS.name, DEFAULT_DAYS))
        found = await state.tracker.usage(caller_in(ctx.request_context), days)
    except AigcImageError as exc:
        raise ToolError(str(exc)) from exc
    return usage_result(found)


def _reporter(ctx: Context[AppState, Any]) -> Callable[[float, str], Awaitable[None]]:
    """MCP progress out of 100: Tencent's percentage, nudged up when it has not moved, since the protocol wants each
    notification higher than the last. A no-op for a client that sent no progress token."""
    last = -1.0

    async def report(percent: float, message: str) -> None:
        nonlocal last
        last = min(max(percent, last + 0.1), 99.9)
        await ctx.report_progress(last, 100, message)

    return report


async def _with_pictures(ctx: Context[AppState, Any], request: SubmitRequest, caller: Caller) -> SubmitRequest:
    """The request with the user's local pictures read and re-encoded (media/pictures.py); the client's roots are asked
    for only when there is a path to check."""
    from ..media.pictures import allowed_folders, embed, has_local
    from .roots import client_roots

    if not has_local(request):
        return request
    state = ctx.request_context.lifespan_context
    roots = None if caller.remote else await client_roots(ctx)
    folders = allowed_folders(state.settings.input_dirs, Path.home(), roots)
    return await embed(request, remote=caller.remote, folders=folders, limiter=state.tracker.decoding)
