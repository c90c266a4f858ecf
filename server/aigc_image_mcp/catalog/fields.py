"""The arguments of generate_image as one table: schema.py renders it, validation.py enforces it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# `$(?!\n)`: Python's `$` also matches before a final newline; ECMA-262's never does. This keeps both strict.
REFERENCE_PATTERN = r"^(?:https?://\S+|[0-9]+|data:image/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=]+|(?:~|[A-Za-z]:)?[\\/][^\x00-\x1f]*)$(?!\n)"
"""An http(s) URL, a VOD FileId (digits), a data: URI of an image, or a local path (absolute, ~/…, C:\\…)."""
NON_BLANK_PATTERN = r"\S"
SEED_MAX = 2**32 - 1
"""Tencent types Seed as an integer without a documented range: a seed is at most 32 bits wide in the models it
serves, and anything larger would be cut or refused somewhere we cannot see."""


@dataclass(frozen=True)
class Argument:
    """One flat argument: its JSON type, its limits, and the copy the model reads."""

    name: str
    kind: Literal["string", "integer", "array", "boolean"]
    description: str
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    option: str | None = None
    """The key in the catalog's `options` whose values close this argument."""
    choices: tuple[str, ...] = ()
    """Fixed values that close this argument, for one that does not come from the catalog."""
    output: bool = False
    """Sent inside `output_config` rather than at the top of the request."""

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


# Arguments whose rules differ per model; schema.py and validation.py handle them from the catalog.
MODEL = "model"
RESOLUTION = "resolution"
ASPECT_RATIO = "aspect_ratio"
REFERENCE_IMAGES = "reference_images"
REFERENCE_DESCRIPTIONS = "reference_image_descriptions"
OUTPUT_IMAGE_COUNT = "output_image_count"
SCENE_TYPE = "scene_type"
MASK_IMAGE = "mask_image"
REQUIRED = (MODEL, "prompt")

PER_MODEL: tuple[Argument, ...] = (
    Argument(MODEL, "string", ""),
    Argument(RESOLUTION, "string", ""),
    Argument(ASPECT_RATIO, "string", ""),
    Argument(REFERENCE_IMAGES, "array", ""),
    Argument(REFERENCE_DESCRIPTIONS, "array", ""),
    Argument(OUTPUT_IMAGE_COUNT, "integer", ""),
    Argument(SCENE_TYPE, "string", ""),
    Argument(MASK_IMAGE, "string", ""),
)
"""The kinds of the arguments whose rules differ per model; schema.py writes their copy and limits from the catalog."""

SHARED: tuple[Argument, ...] = (
    Argument("prompt", "string", "What the image should show. Required and not blank.", min_length=1),
    Argument("negative_prompt", "string", "What the image must not show, e.g. 'blur, distorted'."),
    Argument(
        "enhance_prompt",
        "string",
        "Enabled lets the service improve the prompt; Disabled sends it as written.",
        option="enhance_prompt",
    ),
    Argument(
        "person_generation",
        "string",
        "AllowAdult allows adults in the image; Disallowed forbids people and faces.",
        option="person_generation",
        output=True,
    ),
    Argument(
        "input_compliance_check",
        "string",
        "Enabled runs Tencent's content-policy check on the prompt and reference images.",
        option="input_compliance_check",
        output=True,
    ),
    Argument(
        "output_compliance_check",
        "string",
        "Enabled runs Tencent's content-policy check on the generated image.",
        option="output_compliance_check",
        output=True,
    ),
    Argument(
        "storage_mode",
        "string",
        "Temporary (the default): a download URL valid for 7 days. Permanent: also kept in VOD, with its FileId.",
        option="storage_mode",
        output=True,
    ),
    Argument(
        "session_id",
        "string",
        "Dedupe key (up to 50 characters): a second task with the same one within 3 days is refused, so a retry "
        "reusing it is never billed twice.",
        max_length=50,
    ),
    Argument(
        "session_context",
        "string",
        "Free text of up to 1000 characters, stored with the task and returned with its result.",
        max_length=1000,
    ),
    Argument(
        "tasks_priority",
        "integer",
        "Queue priority, -10 to 10 (default 0); higher runs first.",
        minimum=-10,
        maximum=10,
    ),
    Argument(
        "seed",
        "integer",
        "Random seed: the same seed and arguments repeat an image.",
        minimum=0,
        maximum=SEED_MAX,
        option="seed",
    ),
    Argument(
        "output_format",
        "string",
        "The image's file type; left out: the model's default.",
        option="output_format",
        output=True,
    ),
    Argument(
        "logo_add",
        "string",
        "Enabled adds Tencent's logo watermark; default Disabled.",
        option="logo_add",
        output=True,
    ),
    Argument(
        "input_region",
        "string",
        "Where reference URLs are fetched from: Oversea (or OverseaUSWest) outside mainland China; default Mainland.",
        option="input_region",
    ),
    Argument(
        "ext_info",
        "string",
        "Reserved: passed to Tencent as is. Leave it out unless the operator says what to put here.",
    ),
)

# Arguments that steer this server rather than the task: never sent to the relay.
DEFAULT_WAIT = 45
WAIT_SECONDS = Argument(
    "wait_seconds",
    "integer",
    f"Seconds to wait for the image (default {DEFAULT_WAIT}, at most 55: clients give up on longer calls). 0 returns "
    "the TaskId at once; get_image_task fetches the image later.",
    minimum=0,
    maximum=55,
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
)
OVERWRITE = Argument(
    "overwrite",
    "boolean",
    "true replaces an existing file at save_as; otherwise such a call is refused before anything is paid.",
)
CONFIRM_COST = Argument(
    "confirm_cost",
    "boolean",
    "true only after the user said yes to the cost this tool asked about; never on your own.",
)
TASK_ID = Argument(
    "task_id",
    "string",
    "The TaskId that generate_image handed back, e.g. 1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t.",
    min_length=1,
    max_length=128,
)
TASK_ID_PATTERN = r"^(?!\.+$)[A-Za-z0-9._-]+$(?!\n)"
"""Letters, digits, '.', '_' and '-', not dots alone: a TaskId is a path segment in the relay's query URL, and `.`
or `..` there would be normalised away (the relay would be asked about another route with the caller's key)."""
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
