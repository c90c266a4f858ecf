"""MCP wiring: a task or the history as a CallToolResult. The text is what the model reads; the structured content
is the same facts as data; previews go in image blocks and never in the structured content."""

from __future__ import annotations

import base64

from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from .images import EXTENSIONS
from .results import Delivery, HistoryEntry, ImageFile, TaskResult

IMAGE_URI = "aigc-image://tasks/{task_id}/image-{number}"
"""The resource of a saved image, followed by its extension; served by the server's resource templates."""
LINKED = {kind: EXTENSIONS[kind] for kind in ("image/png", "image/jpeg")}
"""The types Tencent delivers, each with a resource template (one template per type: the type is fixed per
template, and each costs start-up time)."""

_DO_NOT_RESUBMIT = "do not call generate_image again for it, which would start and bill a new task"


def task_result(delivery: Delivery) -> CallToolResult:
    """The task for the model: a summary, the previews, a link per image; an error result when it FAILED."""
    task = delivery.task
    content: list[ContentBlock] = [TextContent(type="text", text=describe(task))]
    content += [
        ImageContent(type="image", data=base64.b64encode(jpeg).decode("ascii"), mime_type="image/jpeg")
        for jpeg in delivery.previews
    ]
    content += [
        _link(task, number, image)
        for number, image in enumerate(task.images, start=1)
        if image.path and image.mime_type
    ]
    return CallToolResult(content=content, structured_content=task.dump(), is_error=task.status == "FAILED")


def task_list(entries: list[HistoryEntry]) -> str:
    """The history as lines the model can quote."""
    if not entries:
        return "No tasks yet for this API key."
    lines = [f"The {len(entries)} newest tasks of this API key, newest first:"]
    for entry in entries:
        saved = [image.path or image.url for image in entry.images]
        where = f" -> {', '.join(saved)}" if saved else ""
        reason = f" ({entry.error.code}: {entry.error.message})" if entry.error else ""
        lines.append(
            f"- {entry.task_id} | {entry.model} | {entry.status}{reason} | {entry.created_at} | {entry.prompt!r}{where}"
        )
    return "\n".join(lines)


def describe(task: TaskResult) -> str:
    """What happened to the task and what to do next, in sentences."""
    lines = [_headline(task)]
    lines += [_image_line(number, image) for number, image in enumerate(task.images, start=1)]
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
        reason = f"{task.error.code}: {task.error.message}" if task.error else "no reason given"
        return (
            f"{name} failed: {reason}. Fix what this points at (often the prompt) before calling generate_image again."
        )
    count = len(task.images)
    return f"{name} succeeded with {count} image{'s' * (count != 1)}. Previews, when shown, are reduced copies."


def _image_line(number: int, image: ImageFile) -> str:
    until = f", valid until {image.expires_at}" if image.expires_at else ""
    saved = f"saved to {image.path}; " if image.path else ""
    return f"- Image {number}: {saved}URL {image.url}{until}."


def _link(task: TaskResult, number: int, image: ImageFile) -> ResourceLink:
    """A link to the saved image as a resource of this server: full size, for clients that cannot open the path."""
    extension = LINKED[image.mime_type or ""]
    return ResourceLink(
        type="resource_link",
        uri=IMAGE_URI.format(task_id=task.task_id, number=number) + extension,
        name=f"{task.task_id}{'' if number == 1 else f'-{number}'}{extension}",
        title=f"Image {number} of task {task.task_id}",
        mime_type=image.mime_type,
    )
