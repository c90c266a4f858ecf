"""What every backend speaks: a submit that hands back a Submission, a query that hands back a TaskDetail in one of
three states, and the Protocol a backend implements. Plain data, no I/O: the tracker and the poller import it on
the server's start path."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

from ..catalog.fields import TASK_ID, TASK_ID_PATTERN
from ..errors import (
    TencentApiError,
    UpstreamConnectionError,
    UpstreamProtocolError,
    UpstreamRateLimitError,
    UpstreamUnavailableError,
)

if TYPE_CHECKING:
    from ..catalog.request import SubmitRequest

_SHOWN = 200
"""Characters of a TaskId a message shows at most."""
# Tencent's codes for "busy, ask again": a query changes nothing, so it is always safe to repeat.
_TRANSIENT_CODES = ("RequestLimitExceeded", "InternalError")


@dataclass(frozen=True)
class Caller:
    """Who is calling: decided for each call over HTTP, once per process on stdio (AppState.local_caller)."""

    key: SecretStr | None
    """The relay key this call pays with; None when the backend's credentials live in the settings."""
    namespace: str
    """The history (and quota) namespace: an HMAC fingerprint, never a secret."""
    remote: bool
    """The call came over HTTP: the server's disk is not the caller's."""
    shared: bool = False
    """The key is shared by several namespaces (token holders): the upstream would answer about any of their tasks,
    so only tasks in this caller's own history are looked up."""
    local: bool = False
    """The user at the server's own machine, who may see what the server's own account spent (callers.py)."""


@dataclass(frozen=True)
class Submission:
    """A task the upstream accepted: from here on it is billed, and its TaskId must reach the user."""

    task_id: str
    request_id: str


@dataclass(frozen=True)
class OutputFile:
    """One generated image."""

    url: str | None = None
    expires_at: str | None = None
    file_type: str | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class Running:
    """Tencent is still working on the task; `progress` in percent when it says."""

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


@dataclass(frozen=True)
class SpecUsage:
    """The upstream account's own figures for one billing specification on one day (the upstream's calendar)."""

    date: str
    specification: str
    tasks: int
    images: int


@dataclass(frozen=True)
class AccountQuota:
    """A cap the upstream account has set on its own use: `limit` of `unit` (e.g. images), `used` so far."""

    kind: str
    limit: int
    used: int


class Backend(Protocol):
    """One upstream. Every upstream string in what it returns or raises is already scrubbed of `caller.key`."""

    name: str

    async def submit(self, request: SubmitRequest, caller: Caller) -> Submission:
        """Create one task. Never retried: it is billable and not idempotent."""
        ...

    async def query(self, task_id: str, caller: Caller) -> TaskDetail:
        """One look at a task; raises a UpstreamError when the answer says nothing about it."""
        ...

    async def usage(self, days: int) -> list[SpecUsage] | None:
        """The account's own image figures for the last `days` days of the upstream's own calendar, today included,
        per day and specification; None when the upstream has no API for them. Free: it starts no task."""
        ...

    async def quotas(self) -> list[AccountQuota] | None:
        """The caps set on the account's AIGC use; None when the upstream has no API for them."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds of its own (not the shared HTTP client)."""
        ...


def is_transient(exc: BaseException) -> bool:
    """Whether asking again later may succeed."""
    if isinstance(exc, TencentApiError):
        return exc.code.startswith(_TRANSIENT_CODES)
    return isinstance(exc, UpstreamConnectionError | UpstreamUnavailableError | UpstreamRateLimitError)


def check_task_id(task_id: str, request_id: str | None, *, upstream: str, ask: str, retry: str) -> None:
    """On every backend, a TaskId get_image_task would refuse (a `/`, a control character, only dots, over its
    length) is refused as the upstream's fault, shown escaped and cut short, so that the paid task is not lost:
    the message keeps what can be kept of it. `upstream` names who answered, `ask` whom to ask about the task, `retry`
    how to retry safely."""
    if re.search(TASK_ID_PATTERN, task_id) and len(task_id) <= (TASK_ID.max_length or 128):
        return
    shown = json.dumps(task_id[:_SHOWN], ensure_ascii=True) + (
        f" (cut to {_SHOWN} of {len(task_id)} characters)" * (len(task_id) > _SHOWN)
    )
    raise UpstreamProtocolError(
        f"{upstream} accepted a task but named it {shown} (RequestId {request_id}), which is not a TaskId this "
        "server can follow (letters, digits, '.', '_' and '-' only, at most 128). The task may have been created and "
        f"billed: keep this TaskId and ask {ask} about it. {retry}",
        status_code=200,
    )
