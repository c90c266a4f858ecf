"""The argument type, with the rules it carries (rules.py), and the arguments of the tools that do not use the catalog.
generate.py declares generate_image's; schema.py renders every declaration, validation.py enforces it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .rules import Pattern, PerModel

# `$(?!\n)`: Python's `$` also matches before a final newline; ECMA-262's never does. This keeps both strict.
REFERENCE_PATTERN = r"^(?:https?://\S+|[0-9]+|data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=]+|(?:~|[A-Za-z]:)?[\\/][^\x00-\x1f]*)$(?!\n)"
"""An http(s) URL, a VOD FileId (digits), a data: URI of an image, or a local path (absolute, ~/…, C:\\…)."""
NON_BLANK_PATTERN = r"\S"
TASK_ID_PATTERN = r"^(?!\.+$)[A-Za-z0-9._-]+$(?!\n)"
"""Letters, digits, '.', '_' and '-', not dots alone: a TaskId is a path segment in the relay's query URL, and `.`
or `..` there would be normalised away (the relay would be asked about another route with the caller's key)."""
SEED_MAX = 2**32 - 1
"""Tencent types Seed as an integer without a documented range: a seed is at most 32 bits wide in the models it
serves, and anything larger would be cut or refused somewhere we cannot see."""


@dataclass(frozen=True)
class Argument:
    """One flat argument: its JSON type, its rules, the copy the model reads, and where the request carries it."""

    name: str
    kind: Literal["string", "integer", "array", "boolean"]
    description: str
    """The copy; for a per-model argument `{models}` stands for which models take it and what each takes."""
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    option: str | None = None
    """The key in the catalog's `options` whose values close this argument."""
    choices: tuple[str, ...] = ()
    """Fixed values that close this argument, for one that does not come from the catalog."""
    pattern: Pattern | None = None
    """What each string (of an array: each item) must match."""
    per_model: PerModel | None = None
    """The rule that differs per model, from the catalog's models."""
    required: bool = False
    sent: Literal["top", "output", "file", "no"] = "top"
    """Where the request carries it: at its top, inside `output_config`, as a `file_infos` entry, or not at all (it
    steers this server, or picks the model)."""

    def not_given(self, value: Any) -> bool:
        """Whether `value` stands for leaving this argument out: null, or the empty value of its kind ("" for a
        string, [] for an array). Clients that fill in every property (OpenAI strict mode, LangChain adapters) send
        these for what they leave out; none of them is ever sent upstream."""
        return value is None or (self.kind == "string" and value == "") or (self.kind == "array" and value == [])


def given(raw: Mapping[str, Any], accepted: Mapping[str, Argument], required: tuple[str, ...]) -> dict[str, Any]:
    """`raw` without the optional arguments of `accepted` that are not given (`Argument.not_given`); a required or
    unknown one stays, to be refused by name."""
    return {
        name: value
        for name, value in raw.items()
        if name in required or name not in accepted or not accepted[name].not_given(value)
    }


# Arguments that steer this server rather than the task: never sent upstream.
DEFAULT_WAIT = 45
WAIT_SECONDS = Argument(
    "wait_seconds",
    "integer",
    f"Seconds to wait for the image (default {DEFAULT_WAIT}, at most 55: clients give up on longer calls). 0 returns "
    "the TaskId at once; get_image_task fetches the image later.",
    minimum=0,
    maximum=55,
    sent="no",
)
WAIT_AGAIN = Argument(
    "wait_seconds",
    "integer",
    f"Seconds to wait for a running task to finish (default {DEFAULT_WAIT}, at most 55). 0 checks once.",
    minimum=0,
    maximum=55,
)
SAVE_AS = Argument(
    "save_as",
    "string",
    "Also write the image to this file (e.g. public/hero.webp; .png, .jpg, .jpeg or .webp picks the format), "
    "relative to the client's first root (its project), else to the output folder, and inside them. More images: "
    "name-2.png, name-3.png. Local (stdio) use only.",
    min_length=1,
    max_length=1024,
    sent="no",
)
OVERWRITE = Argument(
    "overwrite",
    "boolean",
    "true replaces an existing file at save_as; otherwise such a call is refused before anything is paid.",
    sent="no",
)
TASK_ID = Argument(
    "task_id",
    "string",
    "The TaskId that generate_image handed back, e.g. 1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t.",
    min_length=1,
    max_length=128,
    pattern=Pattern(TASK_ID_PATTERN, "{name}: {value} is not a TaskId; pass it exactly as generate_image returned it"),
)
DEFAULT_LIMIT = 10
STATUS = Argument(
    "status",
    "string",
    "Only tasks in this state: SUBMITTED (not checked since), RUNNING, SUCCEEDED or FAILED. Leave out for all.",
    choices=("SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED"),
)
LIMIT = Argument(
    "limit",
    "integer",
    f"How many tasks to list, newest first (default {DEFAULT_LIMIT}, at most 50).",
    minimum=1,
    maximum=50,
)

DEFAULT_DAYS = 1
DAYS = Argument(
    "days",
    "integer",
    f"How many UTC days to count, today included (default {DEFAULT_DAYS}: today; at most 31).",
    minimum=1,
    maximum=31,
)


def unkeepable(text: str) -> str:
    """Why `text` could not be kept or sent, or "": checked before the submit, so that a paid task never fails to
    reach the history (PostgreSQL keeps no NUL in text; no UTF-8 store or upstream takes a lone surrogate, which JSON
    can still escape as "\\ud800")."""
    if "\x00" in text:
        return "holds a NUL character (\\u0000), which no file name, history or upstream can take; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds a lone surrogate (half of a UTF-16 pair), which is not text; send valid Unicode"
    return ""
