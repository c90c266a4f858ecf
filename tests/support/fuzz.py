"""Fuzzed MCP calls for the robustness test and its longer run in bench/: every tool and the image resource, with
arguments drawn from a seeded generator that mixes valid values with hostile ones (integers of thousands of digits,
NaN, nesting a thousand deep, control and non-ASCII characters, wrong types, unknown names).

The measure is "unexplained errors": a call answered only "Error executing tool X", a resource read that failed
with the SDK's generic message, or any log record carrying a traceback. Each is a bug: bad input gets a refusal
that names the field, and a valid call a result."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mcp import Client, MCPError
from mcp.types import TextContent

from aigc_image_mcp.backends.profiles import PROFILES
from aigc_image_mcp.catalog.models import Catalog

CATALOG = PROFILES["quickrouter"].load_catalog()
TASK_IDS = ("task-1", "task-2", "task-3", "1392336703-AigcImageTask-47965947a83db42af4b1e3a74c243531t")
TEXTS = (
    "a red fox in snow",
    "",
    " \t\n",
    "x" * 1001,
    "雪の中の赤い狐 🦊",
    "\x00\x01\x1b[31m",
    "\u202e\u200b\ufeff",
    "../../etc/passwd",
    "${user_config.api_key}",
    "'; DROP TABLE tasks; --",
    "%s%n%x",
)
NUMBERS: tuple[Any, ...] = (0, 1, -1, 10, 11, -11, 55, 56, 2**31, 2**63, 10**400, -(10**400), 3.0, 2.5, 1e308)
ODD: tuple[Any, ...] = (None, True, False, [], {}, float("nan"), float("inf"), -float("inf"), [1, [2]], {"a": 1})


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def strings(rng: random.Random) -> Any:
    choice = rng.randrange(6)
    if choice == 0:
        return "[" * rng.choice((10, 1000, 5000)) + "]" * rng.choice((0, 10, 1000, 5000))
    if choice == 1:
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(1, 40)))
    if choice == 2:
        return '["' + rng.choice(("https://x.test/a.png", "123", "ftp://x", "")) + '"]'
    return rng.choice(TEXTS)


def anything(rng: random.Random) -> Any:
    """A value of any kind, mostly hostile."""
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(NUMBERS)
    if kind == 1:
        return rng.choice(ODD)
    if kind == 2:
        return nested(rng.choice((2, 100, 250)))  # deeper cannot be sent: the client refuses to serialize it
    if kind == 3:
        return [strings(rng) for _ in range(rng.randrange(0, 4))]
    return strings(rng)


def valid(name: str, rng: random.Random, catalog: Catalog = CATALOG) -> Any:
    """A value the argument accepts (for some model of `catalog` at least)."""
    spec = rng.choice([catalog.get(model_id) for model_id in catalog.ids])
    assert spec is not None
    pools: dict[str, tuple[Any, ...]] = {
        "model": catalog.ids,
        "prompt": ("a red fox in snow", "雪の中の赤い狐"),
        "resolution": spec.resolutions or ("1K",),
        "aspect_ratio": spec.aspect_ratios or ("1:1",),
        "reference_images": (["https://x.test/a.png"], ["123456"], '["https://x.test/a.png"]'),
        "reference_image_descriptions": (["the fox"],),
        "tasks_priority": (-10, 0, 10),
        "wait_seconds": (0, 1, 5),
        "task_id": TASK_IDS,
        "status": ("SUBMITTED", "RUNNING", "SUCCEEDED", "FAILED"),
        "limit": (1, 10, 50),
        "session_id": ("s-1",),
        "seed": (0, 7, 4294967295),
    }
    return rng.choice(pools.get(name, ("Enabled", "Disabled", "a note")))


TOOLS: dict[str, tuple[str, ...]] = {
    "generate_image": (
        "model",
        "prompt",
        "negative_prompt",
        "enhance_prompt",
        "person_generation",
        "input_compliance_check",
        "output_compliance_check",
        "storage_mode",
        "session_id",
        "session_context",
        "tasks_priority",
        "ext_info",
        "resolution",
        "aspect_ratio",
        "reference_images",
        "reference_image_descriptions",
        "seed",
        "wait_seconds",
    ),
    "get_image_task": ("task_id", "wait_seconds"),
    "list_image_tasks": ("status", "limit"),
}


def arguments(tool: str, rng: random.Random, catalog: Catalog = CATALOG) -> dict[str, Any]:
    """Arguments for `tool`: each a valid value, a hostile one, or left out; sometimes an unknown name."""
    names = TOOLS[tool]
    chosen = {name for name in names if rng.random() < 0.3}
    if tool == "generate_image" and rng.random() < 0.7:
        chosen |= {"model", "prompt"}
    if tool == "get_image_task" and rng.random() < 0.8:
        chosen.add("task_id")
    hostile = 0.0 if rng.random() < 0.3 else 0.4  # some calls all valid, to reach the submit and the delivery
    result = {name: anything(rng) if rng.random() < hostile else valid(name, rng, catalog) for name in sorted(chosen)}
    if rng.random() < 0.05:
        result[rng.choice(("Model", "wait", "__proto__", "prompt ", ""))] = anything(rng)
    return result


def uri(rng: random.Random) -> str:
    task_id = rng.choice((*TASK_IDS, "a/b", "..", "x" * 200, "t\u00e9", "%2e%2e"))
    number = rng.choice(("1", "2", "0", "01", "-1", "\u0663", "\u00b2", "1" * 5000, "99999", "1e3", ""))
    extension = rng.choice((".png", ".jpg", ".gif", ""))
    return f"aigc-image://tasks/{task_id}/image-{number}{extension}"


Call = tuple[str, str, Any]
"""("tool", name, arguments) or ("resource", uri, None)."""


def calls(seed: int, count: int, catalog: Catalog = CATALOG) -> Iterator[Call]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    for _ in range(count):
        if rng.random() < 0.1:
            yield ("resource", uri(rng), None)
        else:
            tool = rng.choice(tuple(TOOLS))
            yield ("tool", tool, arguments(tool, rng, catalog))


@dataclass
class Tally:
    calls: int = 0
    refused: int = 0
    answered: int = 0
    unexplained: list[str] = field(default_factory=lambda: [])


class Tracebacks(logging.Handler):
    """Every log record that carries a traceback, or comes from the SDK at ERROR: a bug went unhandled."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or (record.levelno >= logging.ERROR and record.name.startswith("mcp")):
            self.records.append(record)


async def run(
    client: Client,
    seed: int,
    count: int,
    on_call: Callable[[int], None] = lambda _: None,
    catalog: Catalog = CATALOG,
) -> Tally:
    """`count` fuzzed calls on `client`, valid values drawn from `catalog`; what came back, and every unexplained
    error."""
    tally = Tally()
    for number, (kind, name, args) in enumerate(calls(seed, count, catalog)):
        tally.calls += 1
        if kind == "resource":
            try:
                await client.read_resource(name)
                tally.answered += 1
            except MCPError as exc:
                tally.refused += 1
                if "Error creating resource" in str(exc) or "Error reading resource" in str(exc):
                    tally.unexplained.append(f"{name[:80]}: {str(exc)[:200]}")
        else:
            result = await client.call_tool(name, args)
            text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
            tally.refused += result.is_error
            tally.answered += not result.is_error
            if result.is_error and text.strip() == f"Error executing tool {name}":
                tally.unexplained.append(f"{name} {str(args)[:160]}")
        on_call(number)
    return tally
