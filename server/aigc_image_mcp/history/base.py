"""The task history: every task this server submitted or fetched, kept apart per caller, and each caller's daily task
count: the interface both stores share (opener.py picks one: an SQLite file by default, one machine; or PostgreSQL,
replicas sharing it).

A task is filed under its caller's namespace (callers.py: a fingerprint, never a key or a token). Each store
brings an older history up to date when it opens it (schema.py). A store's every fault is a HistoryError.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from pydantic import ValidationError

from ..errors import HistoryError
from ..results import HistoryEntry, TaskResult
from . import schema

_PROMPT_SHOWN = 200
_NO_LIMIT = 2**62
"""A limit no count reaches: what take_slot compares with when a limit is not set (one statement serves all)."""


@dataclass(frozen=True)
class Listing:
    """A caller's newest tasks, and how many records among them this version could not read (left out)."""

    entries: list[HistoryEntry]
    unreadable: int = 0

    def note(self, where: str) -> str:
        """What the list leaves out, for the caller."""
        records = "1 record" if self.unreadable == 1 else f"{self.unreadable} records"
        return (
            f"{records} of the task history at {where} could not be read by this version and "
            f"{'is' if self.unreadable == 1 else 'are'} left out of this list; the other tasks are shown."
        )


@dataclass(frozen=True)
class Used:
    """What one owner has counted on one day: tasks started, and the images they asked for."""

    tasks: int = 0
    images: int = 0


@dataclass(frozen=True)
class Kept:
    """A task and when it was first recorded (ISO 8601, UTC): what today's spend and get_image_usage count."""

    created_at: str
    task: TaskResult


@dataclass(frozen=True)
class Record:
    """A task with its dates, and whether its MCP task was cancelled (which stops following it, not the task)."""

    task: TaskResult
    created_at: str
    updated_at: str
    cancelled: bool


class HistoryStore(Protocol):
    """Where the history lives. The tracker knows only this."""

    @property
    def where(self) -> str:
        """The history's place, for messages: a file path, or a PostgreSQL host and database (never a password)."""
        ...

    async def save(self, owner: str, task: TaskResult, prompt: str = "") -> None:
        """Add the task, or update its status and result; the first prompt and date stay."""
        ...

    async def get(self, owner: str, task_id: str) -> TaskResult | None:
        """The task as last saved, if this owner has it."""
        ...

    async def record(self, owner: str, task_id: str) -> Record | None:
        """The task with its dates and whether its MCP task was cancelled, if this owner has it."""
        ...

    async def cancel(self, owner: str, task_id: str) -> None:
        """Remember that this owner cancelled the MCP task of `task_id` (again is harmless)."""
        ...

    async def recent(self, owner: str, limit: int, status: str | None = None) -> Listing:
        """This owner's newest tasks, newest first; only those in `status` when it is given."""
        ...

    async def take_slot(
        self, owner: str, day: str, limit: int | None, images: int = 1, image_limit: int | None = None
    ) -> int | None:
        """Count one more task and its `images` for this owner on `day` unless that would pass `limit` tasks or
        `image_limit` images (None: no such limit): the task count after it, or None when it was full. Atomic,
        across every process sharing the store."""
        ...

    async def give_back(self, owner: str, day: str, images: int = 1) -> None:
        """Undo one take_slot of `images`: the submit it was for sent nothing."""
        ...

    async def used(self, owner: str, day: str) -> Used:
        """The tasks and images this owner has counted on `day`."""
        ...

    async def since(self, owner: str, since: str) -> list[Kept]:
        """This owner's tasks first recorded at or after `since` (ISO 8601, UTC), oldest first; a record this
        version cannot read is left out."""
        ...

    async def count_request(self, caller: str, window_start: int, limit: int) -> int | None:
        """Count one more HTTP request of `caller` in the minute that starts at `window_start` (Unix seconds) unless
        `limit` are counted already: the count after it, or None when it was full. Atomic, across every process
        sharing the store."""
        ...

    async def forget_requests(self, before: int) -> None:
        """Drop the request counts of minutes that started before `before`."""
        ...

    async def aclose(self) -> None:
        """Close the store's connections."""
        ...


@dataclass(frozen=True)
class Statements:
    """The statements of schema.py, in one driver's parameter style."""

    save: str
    get: str
    record: str
    cancel: str
    recent: str
    recent_in: str
    since: str
    take_slot: str
    give_back: str
    used: str
    since: str
    count_request: str
    forget_requests: str

    @classmethod
    def of(cls, translate: Callable[[str], str] = str) -> Statements:
        """schema.py's statements, each passed through `translate` (e.g. to the driver's parameter style)."""
        return cls(**{item.name: translate(getattr(schema, item.name.upper())) for item in fields(cls)})


class SqlStore:
    """What both stores do alike: each operation of HistoryStore is one statement of schema.py, run by the store's
    own `_run` (a store's every fault a HistoryError)."""

    _sql: ClassVar[Statements]

    @property
    def where(self) -> str:
        raise NotImplementedError

    async def _run(self, statement: str, values: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    async def save(self, owner: str, task: TaskResult, prompt: str = "") -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        values = {"owner": owner, "task_id": task.task_id, "prompt": prompt, "now": now}
        await self._run(self._sql.save, values | {"status": task.status, "result": stored_form(task)})

    async def get(self, owner: str, task_id: str) -> TaskResult | None:
        rows = await self._run(self._sql.get, {"owner": owner, "task_id": task_id})
        return None if not rows else parse_task(rows[0][0], self.where)

    async def record(self, owner: str, task_id: str) -> Record | None:
        rows = await self._run(self._sql.record, {"owner": owner, "task_id": task_id})
        return None if not rows else record_of(rows[0], self.where)

    async def cancel(self, owner: str, task_id: str) -> None:
        await self._run(self._sql.cancel, {"owner": owner, "task_id": task_id})

    async def recent(self, owner: str, limit: int, status: str | None = None) -> Listing:
        values: dict[str, Any] = {"owner": owner, "limit": limit, "status": status}
        statement = self._sql.recent if status is None else self._sql.recent_in
        return listing(await self._run(statement, values))

    async def take_slot(
        self, owner: str, day: str, limit: int | None, images: int = 1, image_limit: int | None = None
    ) -> int | None:
        limits = {
            "limit": _NO_LIMIT if limit is None else limit,
            "image_limit": _NO_LIMIT if image_limit is None else image_limit,
        }
        rows = await self._run(self._sql.take_slot, {"owner": owner, "day": day, "images": images} | limits)
        return int(rows[0][0]) if rows else None

    async def give_back(self, owner: str, day: str, images: int = 1) -> None:
        await self._run(self._sql.give_back, {"owner": owner, "day": day, "images": images})

    async def used(self, owner: str, day: str) -> Used:
        rows = await self._run(self._sql.used, {"owner": owner, "day": day})
        return Used(int(rows[0][0]), int(rows[0][1])) if rows else Used()

    async def since(self, owner: str, since: str) -> list[Kept]:
        rows = await self._run(self._sql.since, {"owner": owner, "since": since})
        kept: list[Kept] = []
        for created_at, result in rows:
            with suppress(HistoryError):
                kept.append(Kept(created_at, parse_task(result, self.where)))
        return kept

    async def count_request(self, caller: str, window_start: int, limit: int) -> int | None:
        values = {"caller": caller, "window_start": window_start, "limit": limit}
        rows = await self._run(self._sql.count_request, values)
        return int(rows[0][0]) if rows else None

    async def forget_requests(self, before: int) -> None:
        await self._run(self._sql.forget_requests, {"before": before})


def parse_task(text: str, where: str) -> TaskResult:
    """A stored task; HistoryError when this version cannot read it."""
    try:
        return TaskResult.model_validate_json(text)
    except ValidationError as exc:
        raise HistoryError(f"The task history at {where} holds a record this version cannot read.") from exc


def record_of(row: tuple[str, str, str, object], where: str) -> Record:
    """A row of RECORD (result, created_at, updated_at, cancelled) as a Record."""
    result, created_at, updated_at, cancelled = row
    return Record(parse_task(result, where), created_at, updated_at, bool(cancelled))


def stored_form(task: TaskResult) -> str:
    """The task as the history keeps it: without the notes of the call that saved it."""
    return task.model_dump_json(exclude_none=True, exclude={"notes"})


def listing(rows: list[tuple[str, str, str]]) -> Listing:
    """Rows of (result, prompt, created_at) as entries; a record this version cannot read is counted, not shown."""
    entries: list[HistoryEntry] = []
    unreadable = 0
    for result, prompt, created_at in rows:
        try:
            task = TaskResult.model_validate_json(result)
        except ValidationError:
            unreadable += 1
            continue
        shown = prompt if len(prompt) <= _PROMPT_SHOWN else prompt[: _PROMPT_SHOWN - 1] + "…"
        entries.append(
            HistoryEntry(
                task_id=task.task_id,
                model=task.model,
                status=task.status,
                created_at=created_at,
                prompt=shown,
                images=task.images,
                error_code=task.error_code,
                message=task.message,
            )
        )
    return Listing(entries, unreadable)
