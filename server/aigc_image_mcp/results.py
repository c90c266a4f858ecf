"""What the tools hand back, as data: a task and its images, and the history list. Knows nothing of MCP.

These models are the tools' outputSchema. Optional fields are left out rather than null, and the schema is written
without `$ref`/`$defs` or nullable unions, which some clients cannot read. The schemas ship worked out, in
output_schemas.json (scripts/output_schemas.py writes it; tests/protocol/test_results.py fails when it differs from
the models), and the models' validators are built when a call first uses them: the server's start needs neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, NamedTuple, cast

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

Status = Literal["SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED"]
SHOWN = 8
"""Images one result downloads, previews and links; a task with more (Tencent makes up to 4; a hostile upstream
may claim thousands) says how many more there are, so a result stays within what clients accept."""


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    def dump(self) -> dict[str, Any]:
        """The structured content: JSON, without the fields that are not set."""
        return self.model_dump(mode="json", exclude_none=True)


class ImageFile(_Result):
    """One generated image."""

    url: str = Field(description="Tencent's download URL (it may be plain http); valid until expires_at.")
    expires_at: str | None = Field(default=None, description="When the URL stops working (ISO 8601, UTC).")
    file_id: str | None = Field(default=None, description="The VOD FileId, for storage_mode Permanent.")
    local_path: str | None = Field(default=None, description="The local copy this server saved; absent if none.")
    mime_type: str | None = Field(default=None, description="The image's type, e.g. image/png.")
    saved_as: str | None = Field(default=None, description="The file save_as wrote this image to; absent if none.")


class Cost(_Result):
    """What a task costs: images (the unit Tencent bills) and, with the operator's prices, money."""

    # amount and currency are null, never left out, when no price applies: the one place results hold a null.
    model_config = ConfigDict(frozen=True, json_schema_extra={"required": ["images", "amount", "currency"]})

    images: int = Field(
        ge=0,
        description="Images requested while the task runs; delivered once SUCCEEDED (what Tencent bills); 0 if FAILED.",
    )
    amount: Annotated[float | None, WithJsonSchema({"type": ["number", "null"]})] = Field(
        default=None, description="images x the operator's price per image (AIGC_IMAGE_PRICES); null when unpriced."
    )
    currency: Annotated[str | None, WithJsonSchema({"type": ["string", "null"]})] = Field(
        default=None, description="The currency of amount, e.g. CNY; null when unpriced."
    )

    def settled(self, images: int) -> Cost:
        """The cost once `images` images were delivered, at the price per image quoted for the requested ones."""
        if images == self.images:
            return self
        amount = None if self.amount is None or self.images == 0 else round(self.amount / self.images * images, 6)
        return self.model_copy(update={"images": images, "amount": amount})

    def line(self) -> str:
        """The cost in one line: "1 image", "4 images, about 2.40 CNY"."""
        count = f"{self.images} image{'s' * (self.images != 1)}"
        return count if self.amount is None else f"{count}, about {self.amount:.2f} {self.currency}"


class TaskResult(_Result):
    """A task and, once it has succeeded, its images."""

    task_id: str = Field(description="Tencent's TaskId: the handle of this paid task, which can be queried for 3 days.")
    model: str = Field(description="The model id the task runs on.")
    status: Status = Field(
        description="SUBMITTED: accepted, not checked since; RUNNING: still generating; SUCCEEDED: images ready; "
        "FAILED: finished without an image (see error)."
    )
    request_id: str | None = Field(default=None, description="Tencent's RequestId of the submit, for support.")
    progress: int | None = Field(default=None, description="Tencent's progress, 0 to 100, while RUNNING.")
    images: list[ImageFile] = Field(default_factory=lambda: [], description="The images, once SUCCEEDED.")
    error_code: str | None = Field(
        default=None, description="Tencent's reason code when FAILED, e.g. InvalidParameter.VoilationContent."
    )
    message: str | None = Field(default=None, description="Tencent's explanation when FAILED.")
    notes: list[str] = Field(
        default_factory=lambda: [],
        description="What this call could not do (check on the task, save a copy, record it); the task is unaffected.",
    )
    cost: Cost = Field(
        default_factory=lambda: Cost(images=1),
        description="What the task costs: images, and money when the operator set prices.",
    )

    @model_validator(mode="before")
    @classmethod
    def _counted(cls, data: Any) -> Any:
        # A task recorded before costs were kept: the images it shows, none if it failed, 1 while it runs.
        if not isinstance(data, dict):
            return data
        task = cast(dict[str, Any], data)
        if "cost" in task:
            return task
        status, images = task.get("status"), cast(list[Any], task.get("images") or [])
        count = len(images) if status == "SUCCEEDED" else 0 if status == "FAILED" else 1
        return {**task, "cost": Cost(images=count)}

    def dump(self) -> dict[str, Any]:
        """The structured content; cost always whole, its nulls included."""
        return {**super().dump(), "cost": self.cost.model_dump(mode="json")}


class HistoryEntry(_Result):
    """A task in the history."""

    task_id: str
    model: str
    status: Status
    created_at: str = Field(description="When this server first saw the task (ISO 8601, UTC).")
    prompt: str = Field(description="The prompt, shortened to 200 characters.")
    images: list[ImageFile] = Field(default_factory=lambda: [])
    error_code: str | None = None
    message: str | None = None


class TaskList(_Result):
    """The caller's newest tasks, newest first."""

    tasks: list[HistoryEntry]
    tasks_today: int | None = Field(
        default=None, description="Tasks this caller started today (UTC day); present when a daily limit is set."
    )
    daily_limit: int | None = Field(default=None, description="The tasks a caller may start per UTC day, if limited.")
    spent_today: Cost | None = Field(
        default=None,
        description="What this caller's tasks of today (UTC day) cost, running ones as requested; present when the "
        "operator set prices (amount counts the priced models).",
    )
    notes: list[str] = Field(default_factory=lambda: [], description="What could not be listed, and why.")


class UsageRow(_Result):
    """The caller's own tasks of one model on one UTC day, from this server's history."""

    date: str = Field(description="The UTC day, YYYY-MM-DD.")
    model: str
    tasks: int = Field(description="Tasks started.")
    images: int = Field(description="Images: delivered when SUCCEEDED, 0 when FAILED, asked for while running.")
    amount: float | None = Field(default=None, description="What they cost at the operator's prices; absent unpriced.")


class TencentUsageRow(_Result):
    """Tencent's own count for the whole account, one billing specification on one of Tencent's days."""

    date: str = Field(description="Tencent's day (Beijing time, UTC+8), YYYY-MM-DD.")
    specification: str = Field(description="Tencent's billing specification, e.g. Hunyuan3.0_2K.")
    tasks: int
    images: int


class Usage(_Result):
    """What the caller spent per UTC day and model (and, for the local user on Tencent Cloud, what Tencent counted)."""

    days: int = Field(description="The UTC days covered, today included.")
    since: str = Field(description="The first day covered (UTC), YYYY-MM-DD.")
    local: list[UsageRow] = Field(description="This caller's tasks in this server's history, newest day first.")
    currency: str | None = Field(default=None, description="The currency of `amount`, when prices are set.")
    images_today: int | None = Field(
        default=None, description="Images asked for today (UTC); present when a daily image budget is set."
    )
    daily_image_limit: int | None = Field(default=None, description="Images a caller may ask for per UTC day.")
    tencent: list[TencentUsageRow] | None = Field(
        default=None,
        description="Tencent's own figures for the whole account (DescribeAigcUsageData); only for the local user on "
        "the tencentcloud backend.",
    )
    notes: list[str] = Field(
        default_factory=lambda: [], description="What could not be counted, and where else to look."
    )


class Preview(NamedTuple):
    """A JPEG preview of image `number` (from 1) of a task: an image may have none, so the number says which."""

    number: int
    jpeg: bytes


@dataclass(frozen=True)
class Delivery:
    """A task as a tool hands it back, with JPEG previews of its images when there are any."""

    task: TaskResult
    previews: tuple[Preview, ...] = ()


SHIPPED = "output_schemas.json"
"""The output schemas, by model name, as `derived_schema` works them out."""


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s output schema, as shipped: the same as `derived_schema(model)`, read rather than worked out."""
    return cast(dict[str, Any], _shipped()[model.__name__])


@cache
def _shipped() -> dict[str, Any]:
    return json.loads(resources.files(__name__.rpartition(".")[0]).joinpath(SHIPPED).read_text(encoding="utf-8"))


def derived_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema, with every `$ref` replaced by its definition and `T | None` written as `T`."""
    schema = model.model_json_schema()
    definitions = cast(dict[str, Any], schema.pop("$defs", {}))
    return cast(dict[str, Any], _plain(schema, definitions))


def _plain(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_plain(item, definitions) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    node = cast(dict[str, Any], node)
    if "$ref" in node:
        return _plain(definitions[str(node["$ref"]).rpartition("/")[2]], definitions)
    options = cast(list[Any], node.get("anyOf", []))
    if len(options) == 2 and {"type": "null"} in options:
        (kept,) = [option for option in options if option != {"type": "null"}]
        rest = {key: value for key, value in node.items() if key not in ("anyOf", "default")}
        return _plain({**kept, **rest}, definitions)
    return {key: _plain(value, definitions) for key, value in node.items()}
