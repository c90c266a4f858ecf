"""MCP wiring: a task or the history as a CallToolResult. The text is what the model reads; the structured content
is the same facts as data; previews go in image blocks and never in the structured content.

A result holds only text and JPEG image blocks unless AIGC_IMAGE_RESOURCE_LINKS asks for a `resource_link` per image
URL as well: some clients fail the whole result on one (the Anthropic SDK's MCP helper raises, so a paid task's
TaskId never reaches the model), and the URL is in the text and the structured content either way."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, cast

from mcp.server.context import ServerRequestContext
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import ValidationError

from ..media.images import EXTENSIONS
from ..results import SHOWN, Delivery, ImageFile, TaskList, TaskResult
from .gallery import for_view_clients
from .resources import image_uri

if TYPE_CHECKING:
    from ..state import AppState

_DO_NOT_RESUBMIT = "do not call generate_image again for it, which would start and bill a new task"


PREVIEW_OF = "aigc-image/image"
"""The `_meta` key of a preview's image block: the number of the image it shows (the gallery pairs them by it)."""
RESULT_LIMIT = 950_000
"""Characters of JSON one tool result may take: clients refuse results over 1 MB."""


def tool_result(delivery: Delivery, request: ServerRequestContext[AppState, Any]) -> CallToolResult:
    """The task as generate_image and get_image_task hand it back, and tasks/get once it is done, for the client of
    `request`: resource links only when the operator asked for them, and none for a client that renders the view."""
    return for_view_clients(task_result(delivery, links=request.lifespan_context.settings.resource_links), request)


def task_result(delivery: Delivery, *, links: bool = False) -> CallToolResult:
    """The task for the model: a summary, the previews and, with `links`, a link per image; an error result when it
    FAILED. At most SHOWN images appear (a note counts the rest); a result still too large for a client is cut down
    to the task."""
    result = _full(delivery, links)
    if _at_most(result) <= RESULT_LIMIT:  # nearly every result: no need to serialize it once more to measure it
        return result
    size = len(result.model_dump_json(by_alias=True, exclude_none=True))
    if size <= RESULT_LIMIT:
        return result
    note = (
        f"The full result ({size} characters) is more than a client accepts, so only the task is shown: its image "
        "URLs or notes are unusually long. The task is not affected, and its images are saved when they could be."
    )
    task = delivery.task
    short = TaskResult(task_id=task.task_id, model=task.model, status=task.status, notes=[note], cost=task.cost)
    text = f"{_headline(short)}\nCost: {task.cost.line()}.\nNote: {note}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=short.dump(), is_error=task.status == "FAILED"
    )


def _full(delivery: Delivery, links: bool) -> CallToolResult:
    task = delivery.task
    content: list[ContentBlock] = [TextContent(type="text", text=describe(task))]
    content += [
        ImageContent(
            type="image",
            data=base64.b64encode(jpeg).decode("ascii"),
            mime_type="image/jpeg",
            _meta={PREVIEW_OF: number},
        )
        for number, jpeg in delivery.previews[:SHOWN]
    ]
    content += [
        link
        for number, image in enumerate(task.images[:SHOWN], start=1)
        if links and (link := _link(task, number, image))
    ]
    shown = task if len(task.images) <= SHOWN else task.model_copy(update={"images": task.images[:SHOWN]})
    return CallToolResult(content=content, structured_content=shown.dump(), is_error=task.status == "FAILED")


def _at_most(result: CallToolResult) -> int:
    """An upper bound of the characters `result` takes as JSON, without writing it: every character of a string at
    most 6 (an escape such as \\u001f), the previews' Base64 as it is, and room for every name and bracket."""
    size = _ENVELOPE + 6 * _characters(result.structured_content)
    for block in result.content:
        size += _ENVELOPE
        if isinstance(block, TextContent):
            size += 6 * len(block.text)
        elif isinstance(block, ImageContent):
            size += len(block.data)
        else:  # a resource_link: its few fields, measured exactly
            size += len(block.model_dump_json(by_alias=True, exclude_none=True))
    return size


_ENVELOPE = 200
"""Characters enough for a block's or an object's names, brackets and numbers."""


def _characters(value: object) -> int:
    """The characters of the strings in `value` (JSON data), plus room for the names, brackets and numbers."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        items = cast("dict[str, object]", value).items()
        return 2 + sum(_characters(key) + _characters(item) for key, item in items)
    if isinstance(value, list):
        return 2 + sum(_characters(item) for item in cast("list[object]", value))
    return 24  # a number, a boolean or null


def list_result(listing: TaskList) -> CallToolResult:
    """The history as a result a client accepts: each task with at most SHOWN images, and the oldest tasks left out
    (with a note saying how many) while it is over RESULT_LIMIT, e.g. when their URLs are unusually long."""
    tasks = [entry.model_copy(update={"images": entry.images[:SHOWN]}) for entry in listing.tasks]
    shown = listing.model_copy(update={"tasks": tasks})
    while len(shown.model_dump_json(exclude_none=True)) > RESULT_LIMIT // 2 and shown.tasks:  # text + structured
        kept = shown.tasks[: len(shown.tasks) // 2]
        left = len(listing.tasks) - len(kept)
        note = f"The {left} oldest of these tasks are left out: the list would be more than a client accepts."
        shown = shown.model_copy(update={"tasks": kept, "notes": [*listing.notes, note]})
    return CallToolResult(content=[TextContent(type="text", text=task_list(shown))], structured_content=shown.dump())


def task_list(listing: TaskList) -> str:
    """The history as lines the model can quote."""
    entries = listing.tasks
    lines = [f"Your {len(entries)} newest tasks, newest first:" if entries else "No tasks of yours yet."]
    if listing.daily_limit is not None:
        lines.append(f"Tasks started today (UTC): {listing.tasks_today or 0} of {listing.daily_limit}.")
    if listing.spent_today is not None:
        lines.append(f"Spent today (UTC): {listing.spent_today.line()}.")
    lines += [f"Note: {note}" for note in listing.notes]
    for entry in entries:
        saved = [image.local_path or image.url for image in entry.images]
        where = f" -> {', '.join(saved)}" if saved else ""
        reason = f" ({entry.error_code}: {entry.message})" if entry.error_code else ""
        lines.append(
            f"- {entry.task_id} | {entry.model} | {entry.status}{reason} | {entry.created_at} | {entry.prompt!r}{where}"
        )
    return "\n".join(lines)


def describe(task: TaskResult) -> str:
    """What happened to the task and what to do next, in sentences."""
    lines = [_headline(task), f"Cost: {task.cost.line()}."]
    lines += [_image_line(number, image) for number, image in enumerate(task.images[:SHOWN], start=1)]
    if len(task.images) > SHOWN:
        lines.append(
            f"Note: This task has {len(task.images)} images; this result shows the first {SHOWN}. Image n of them can "
            f"be read as the resource {image_uri(task.task_id, 'n', '.png')} (.jpg, .gif, .webp by its type)."
        )
    lines += [f"Note: {note}" for note in task.notes]
    return "\n".join(lines)


def _headline(task: TaskResult) -> str:
    name = f"Task {task.task_id} on {task.model}"
    again = f'call get_image_task with task_id "{task.task_id}" to wait for the image; {_DO_NOT_RESUBMIT}.'
    if task.status == "SUBMITTED":
        return f"Submitted {name}; it has not been checked yet. Give the user the TaskId, and {again}"
    if task.status == "RUNNING":
        done = f" ({task.progress}% done)" if task.progress is not None else ""
        return f"{name} is still running{done}. Give the user the TaskId, and {again}"
    if task.status == "FAILED":
        reason = f"{task.error_code}: {task.message}" if task.error_code else "no reason given"
        return f"{name} failed: {reason}. {advice(task.error_code)}"
    count = len(task.images)
    return (
        f"{name} succeeded with {count} image{'s' * (count != 1)}. Previews, when for_view_clients, are reduced copies."
    )


_POLICY = (
    "The prompt or a reference image broke Tencent's content policy: rephrase the prompt (leave out violent, "
    "sexual or real-person requests) or use another image, then call generate_image again."
)
_TRY_LATER = (
    "The model is busy (a limit on concurrent tasks or a backlog): wait a minute, then call generate_image again."
)
_ADVICE = {
    "InvalidParameter.VoilationContent": _POLICY,  # sic: Tencent's own spelling
    "InvalidParameter.ViolationContent": _POLICY,
    "ContentModerationFailed": _POLICY,
    "RequestLimitExceeded": _TRY_LATER,
    "FailedOperation": _TRY_LATER,
    "ResourceInsufficient": _TRY_LATER,
    "InvalidParameter.MediaFormat": "A reference image is not a usable jpeg, png or webp under 7 MB: use another.",
    "ResourceNotFound": "A reference image could not be fetched: check that its URL is public, or its FileId.",
    "InvalidParameterValue": "Tencent refused a value: check resolution, aspect_ratio and the reference images.",
    "InvalidParameter": "Tencent refused a value: check resolution, aspect_ratio and the reference images.",
    "ModelGenerateFailed": "The model produced no image: try again, perhaps with a simpler prompt.",
    "TaskTimeout": "The task ran out of time at Tencent: try again.",
    "InternalError": "Tencent failed internally: try again later.",
    "OperationCanceled": "The task was cancelled at Tencent.",
}


def advice(code: str | None) -> str:
    """What the user can change after Tencent finished a task with reason `code`."""
    return _ADVICE.get(
        code or "", "Fix what the reason points at (often the prompt) before calling generate_image again."
    )


def _image_line(number: int, image: ImageFile) -> str:
    until = f", valid until {image.expires_at}" if image.expires_at else ""
    saved = f"saved to {image.local_path}; " if image.local_path else ""
    saved += f"written to {image.saved_as} (save_as); " if image.saved_as else ""
    stored = f"; stored in VOD as FileId {image.file_id}" if image.file_id else ""
    return f"- Image {number}: {saved}URL {image.url}{until}{stored}."


def _link(task: TaskResult, number: int, image: ImageFile) -> ResourceLink | None:
    """A link to the image's URL, full size, which a client can open or fetch until it expires; None when the URL
    is not one a client can use (not http(s), or malformed)."""
    if not image.url.lower().startswith(("http://", "https://")):
        return None
    extension = EXTENSIONS.get(image.mime_type or "", "")
    until = f"; valid until {image.expires_at}" if image.expires_at else ""
    try:
        return ResourceLink(
            type="resource_link",
            uri=image.url,
            name=f"{task.task_id}_{number}{extension}",
            title=f"Image {number} of task {task.task_id}",
            description=f"The generated image, full size{until}.",
            mime_type=image.mime_type,
        )
    except ValidationError:
        return None
