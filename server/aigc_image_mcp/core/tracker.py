"""A paid task from its submit to its images: submit once, wait, download, keep the history. Knows nothing of MCP.

Whatever fails after the submit (the query, the download, the history file) becomes a note on the task, never an
exception: the TaskId the user paid for always comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from functools import partial

import anyio

from ..backends.base import Backend, Caller, Failed, Running, Succeeded, TaskDetail
from ..catalog.models import Catalog, ModelSpec
from ..catalog.request import SubmitRequest, images_asked
from ..config import Settings
from ..errors import HistoryError, ImageError, UnknownTaskError, UpstreamConnectionError, UpstreamError
from ..history.base import HistoryStore, Record
from ..results import Cost, Delivery, HistoryEntry, ImageFile, TaskList, TaskResult, Usage
from .delivery import Delivered, Keeper
from .polling import GRACE, Clock, Outcome, wait_for
from .prices import Prices, quote
from .privacy import images_folder, visible_to
from .quota import Quota, nothing_created
from .usage import usage

logger = logging.getLogger(__name__)

Report = Callable[[float, str], Awaitable[None]]
"""Told Tencent's progress in percent and a sentence about the task."""
_UNRECORDED = "This task could not be written to the history, so keep its TaskId"


class Tracker:
    """Submits and follows tasks on one backend, keeps their images (`keeper`), and remembers them in each caller's
    own history, counted against the daily `quota`. state.py wires it; whoever opened the history closes it."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        *,
        backend: Backend,
        history: HistoryStore,
        quota: Quota,
        keeper: Keeper,
        clock: Clock,
        prices: Prices | None = None,
    ) -> None:
        self._settings = settings
        self._catalog = catalog
        self._backend = backend
        self._history = history
        self._quota = quota
        self._keeper = keeper
        self._clock = clock
        self._prices = prices

    async def submit(self, spec: ModelSpec, request: SubmitRequest, caller: Caller, cost: Cost) -> TaskResult:
        """Submit once and record the task at `cost`, the quote the call was checked against. Once sent, the task
        may be billed: a cancellation (a cancelled call, an HTTP client that disconnects) waits until the answer is
        read and recorded, so the TaskId is kept. The backend's overall deadline for the submit bounds the wait."""
        with anyio.CancelScope(shield=True):
            asked = images_asked(request)
            day = await self._quota.take(caller.namespace, asked)
            try:
                return await self._submit(spec, request, caller, cost)
            except UpstreamError as exc:
                if day is not None and nothing_created(exc):
                    await self._quota.give_back(caller.namespace, day, asked)
                raise
        raise AssertionError("unreachable: nothing cancels a shielded scope")

    async def _submit(self, spec: ModelSpec, request: SubmitRequest, caller: Caller, cost: Cost) -> TaskResult:
        submission = await self._backend.submit(request, caller)
        logger.info(
            "Submitted task %s on %s to %s (RequestId %s)",
            submission.task_id,
            spec.id,
            self._backend.name,
            submission.request_id or "none",
        )
        task = TaskResult(
            task_id=submission.task_id,
            model=spec.id,
            status="SUBMITTED",
            request_id=submission.request_id or None,
            cost=cost,
        )
        return await self._record(caller, task, request.prompt)

    async def follow(self, task: TaskResult, caller: Caller, wait: int, report: Report) -> Delivery:
        """Wait up to `wait` s for the task to finish; hand back what is known by then."""
        start = self._clock.now()
        outcome = await self._watch(task.task_id, caller, wait, report)
        return await self._settle(task, outcome, caller, wait - (self._clock.now() - start))

    async def lookup(self, task_id: str, caller: Caller, wait: int, report: Report) -> Delivery:
        """A task by id: from the history when it is finished, otherwise from the backend, waiting up to `wait` s."""
        known = await self._load(caller, task_id)
        if known is None and caller.shared:
            raise UnknownTaskError(
                f"Task {task_id} is not in the history of this caller. On this server several callers (tokens, or "
                "people signed in) share one key, so each sees only the tasks it started itself."
            )
        if known is not None and known.status in ("SUCCEEDED", "FAILED"):
            return await self._deliver(known, caller, wait)
        start = self._clock.now()
        outcome = await self._watch(task_id, caller, wait, report)
        prompt = ""
        if known is None:
            if outcome.detail is None:
                raise outcome.problem or UpstreamConnectionError(
                    f"The relay gave no answer about task {task_id} in time; try again.", request_sent=True
                )
            model = self._model_of(outcome.detail)
            known = TaskResult(task_id=task_id, model=model, status="SUBMITTED", cost=quote(self._prices, model))
            prompt = outcome.detail.prompt or ""
        return await self._settle(known, outcome, caller, wait - (self._clock.now() - start), prompt)

    async def image(self, task_id: str, number: int, caller: Caller) -> tuple[bytes, str]:
        """Image `number` of a finished task of this caller and its type: its local copy, or downloaded again if that
        is gone; ImageError saying why when neither can be had."""
        known = await self._history.get(caller.namespace, task_id)
        if known is None or not 1 <= number <= len(known.images):
            raise ImageError(f"This caller has no image {number} of task {task_id} in its history.")
        image = known.images[number - 1]
        kept = await self._keeper.keep(task_id, number, image, images_folder(self._settings, caller))
        if kept.data is None or kept.image.mime_type is None:
            raise ImageError(kept.note.replace(f"Image {number}", f"Image {number} of task {task_id}", 1))
        if kept.image != image:
            images = [kept.image if index == number - 1 else other for index, other in enumerate(known.images)]
            await self._record(caller, known.model_copy(update={"images": images}))
        return kept.data, kept.image.mime_type

    async def recent(self, caller: Caller, limit: int, status: str | None = None) -> TaskList:
        """The newest tasks of this caller, of one status if given, and today's count when a daily limit is set;
        HistoryError when the history cannot be read. A record this version cannot read is left out, with a note."""
        found = await self._history.recent(caller.namespace, limit, status)
        notes = [found.note(self._history.where)] if found.unreadable else []
        today, most = await self._quota.today(caller.namespace)
        entries = [entry.model_copy(update={"images": visible_to(entry.images, caller)}) for entry in found.entries]
        spent = await self._spent_today(caller)
        return TaskList(tasks=entries, notes=notes, tasks_today=today, daily_limit=most, spent_today=spent)

    async def _spent_today(self, caller: Caller) -> Cost | None:
        """What this caller's tasks of today (UTC) cost, when there are prices."""
        if self._prices is None:
            return None
        midnight = datetime.combine(datetime.now(UTC).date(), time(), UTC).isoformat(timespec="seconds")
        costs = [kept.task.cost for kept in await self._history.since(caller.namespace, midnight)]
        amount = round(sum(cost.amount for cost in costs if cost.amount is not None), 6)
        return Cost(images=sum(cost.images for cost in costs), amount=amount, currency=self._prices.currency)

    async def usage(self, caller: Caller, days: int) -> Usage:
        """This caller's usage over the last `days` UTC days (core/usage.py); HistoryError when the history cannot
        be read."""
        return await usage(self._settings, self._history, self._backend, self._quota, caller, days, self._prices)

    async def kept(self, caller: Caller, limit: int) -> list[HistoryEntry]:
        """This caller's newest finished tasks with their images as the history keeps them, local copies included:
        for this server to know which images it can serve (resources/list), never to be shown to a caller as they
        are. HistoryError when the history cannot be read; a record this version cannot read is left out."""
        return (await self._history.recent(caller.namespace, limit, "SUCCEEDED")).entries

    async def record(self, caller: Caller, task_id: str) -> Record | None:
        """The task as last recorded for this caller, with its dates; HistoryError when the history cannot be read."""
        return await self._history.record(caller.namespace, task_id)

    async def cancel(self, caller: Caller, task_id: str) -> None:
        """Record that this caller's MCP task for `task_id` is cancelled; Tencent's task runs on regardless."""
        await self._history.cancel(caller.namespace, task_id)

    async def _watch(self, task_id: str, caller: Caller, wait: int, report: Report) -> Outcome:
        async def heartbeat(state: Running, waited: float) -> None:
            done = f" ({state.progress}% done)" if state.progress is not None else ""
            await report(state.progress or 0, f"Task {task_id} is RUNNING{done}; waited {waited:.0f} of {wait} s.")

        query = partial(self._backend.query, task_id, caller)
        longest = self._settings.poll_interval
        return await wait_for(query, wait=wait, longest=longest, clock=self._clock, report=heartbeat)

    async def _settle(
        self, task: TaskResult, outcome: Outcome, caller: Caller, left: float, prompt: str = ""
    ) -> Delivery:
        notes = list(task.notes)
        if outcome.problem is not None:
            notes.append(
                f"Could not check on the task: {outcome.problem} The task itself is not affected: call "
                "get_image_task with this task_id later."
            )
        task = _apply(task.model_copy(update={"notes": notes}), outcome.detail)
        task = await self._record(caller, task, prompt)
        if task.status != "SUCCEEDED":
            return Delivery(task)
        return await self._deliver(task, caller, left)

    async def _deliver(self, task: TaskResult, caller: Caller, left: float) -> Delivery:
        """Make sure each image shown has a local copy (downloading within `left` s plus grace), then preview them."""
        done = Delivered(list(task.images), notes=list(task.notes))
        with anyio.move_on_after(max(left, 0) + GRACE) as scope:
            await self._keeper.deliver(task, done, images_folder(self._settings, caller))
        if scope.cancelled_caught:
            done.notes.append("Saving the images took too long; call get_image_task with this task_id to save them.")
        delivered = task.model_copy(update={"images": done.images, "notes": done.notes})
        if done.images != task.images:
            delivered = await self._record(caller, delivered)
        return Delivery(
            delivered.model_copy(update={"images": visible_to(delivered.images, caller)}), tuple(done.previews)
        )

    @property
    def decoding(self) -> anyio.CapacityLimiter:
        """The server's one limit on image decodes at once (media.images.DECODES)."""
        return self._keeper.decoding

    async def _load(self, caller: Caller, task_id: str) -> TaskResult | None:
        try:
            return await self._history.get(caller.namespace, task_id)
        except HistoryError as exc:
            logger.warning("%s", exc)
            return None

    async def _record(self, caller: Caller, task: TaskResult, prompt: str = "") -> TaskResult:
        """Save the task in the caller's history; when that fails, say so on the task instead (once per result)."""
        try:
            await self._history.save(caller.namespace, task, prompt)
        except HistoryError as exc:
            logger.warning("Task %s is not in the history: %s", task.task_id, exc)
            if any(note.startswith(_UNRECORDED) for note in task.notes):
                return task
            return task.model_copy(update={"notes": [*task.notes, f"{_UNRECORDED}: {exc}"]})
        return task

    def _model_of(self, detail: TaskDetail) -> str:
        """The catalog id of a task this server did not submit, from the model it reports."""
        spec = self._catalog.find(detail.model_name, detail.model_version)
        if spec is not None:
            return spec.id
        return "-".join(part for part in (detail.model_name, detail.model_version) if part) or "unknown"


def _apply(task: TaskResult, detail: TaskDetail | None) -> TaskResult:
    """The task as the relay's last answer describes it."""
    if detail is None:
        return task
    state = detail.state
    if isinstance(state, Running):
        return task.model_copy(update={"status": "RUNNING", "progress": state.progress})
    if isinstance(state, Failed):
        failure = {"error_code": state.code, "message": state.message, "cost": task.cost.settled(0)}
        return task.model_copy(update={"status": "FAILED", "progress": None, **failure})
    images = _images(state)
    return task.model_copy(
        update={"status": "SUCCEEDED", "progress": None, "images": images, "cost": task.cost.settled(len(images))}
    )


def _images(state: Succeeded) -> list[ImageFile]:
    return [ImageFile(url=file.url or "", expires_at=file.expires_at, file_id=file.file_id) for file in state.files]
