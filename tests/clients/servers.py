"""The server each client of the matrix talks to, as a user runs it: `python -m aigc_image_mcp` over stdio (the
client starts it from a command) or over Streamable HTTP (a subprocess on 127.0.0.1), its relay a FakeRelay over
real HTTP on loopback. Also: what every run of the matrix keeps off the network, and the outside tools it needs.

The only module of tests/clients that imports the suite's support modules (tests.conftest, tests.support.fake_relay,
tests.support.http_server, tests.support.toolchain)."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from mcp import Client

from aigc_image_mcp.server import build_server
from tests.conftest import CANARY_KEY, make_settings
from tests.support.fake_relay import FakeRelay, accepted, serve
from tests.support.http_server import ROOT, clean_env, http_server
from tests.support.toolchain import missing, node, uv

Transport = Literal["stdio", "http"]
TRANSPORTS: tuple[Transport, ...] = ("stdio", "http")
TIMEOUT = 60.0
"""Seconds one client's whole conversation with the server may take (each takes a few)."""

# A proxy on a closed loopback port: whatever a library sends beyond loopback (telemetry, a default API host) fails
# at once instead of leaving the machine. Loopback itself goes direct.
_NOWHERE = "http://127.0.0.1:9"
OFFLINE = {
    **dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"), _NOWHERE),
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "MCP_USE_ANONYMIZED_TELEMETRY": "false",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "ANONYMIZED_TELEMETRY": "false",
}

GOOD = {"model": "Hunyuan-3.0", "prompt": "a lighthouse at dusk"}
"""The call that succeeds: one task, finished at once by the fake relay with one image."""
REFUSED = "a harbour at night"
"""The prompt of each call the server must refuse: it must never reach the relay."""
UNKNOWN_MODEL = {"model": "Nope-1", "prompt": REFUSED}
"""A bad argument every client can send: the refusal must name `model` and the value."""


@dataclass
class Target:
    """A running server: how a client reaches it (a command for stdio, a URL for HTTP) and the relay behind it."""

    transport: Transport
    relay: FakeRelay
    relay_url: str
    env: dict[str, str]
    url: str = ""
    """The MCP endpoint, over HTTP."""
    command: str = sys.executable
    args: list[str] = field(default_factory=lambda: ["-m", "aigc_image_mcp"])

    def new_task(self) -> tuple[str, str]:
        """The TaskId the relay gives the next submit, and the URL of its image, as the server will report them."""
        task_id = f"1392336703-AigcImageTask-{uuid.uuid4().hex}t"
        self.relay.script.append(accepted(task_id))
        return task_id, f"{self.relay_url}/files/{task_id}.png"

    def prompts(self) -> tuple[str, ...]:
        """The prompt of each task the relay was asked for."""
        return tuple(str(submit.get("prompt")) for submit in self.relay.submits)


def server_env(folder: Path, relay_url: str, **settings: str) -> dict[str, str]:
    """The server's environment: this one's (kept off the network) without our settings, its relay, its own folders
    under `folder` (never the real home's), and `settings`."""
    return clean_env(
        **OFFLINE,
        HOME=str(folder / "home"),
        QUICKROUTER_API_KEY=CANARY_KEY,
        QUICKROUTER_BASE_URL=relay_url,
        AIGC_IMAGE_OUTPUT_DIR=str(folder / "images"),
        AIGC_IMAGE_DATA_DIR=str(folder / "data"),
        **settings,
    )


@contextmanager
def started(transport: Transport, folder: Path, **settings: str) -> Generator[Target]:
    """A relay on loopback and, over HTTP, the server serving it; over stdio the client starts the server itself
    from the target's command and environment."""
    relay = FakeRelay()
    with serve(relay) as relay_url:
        env = server_env(folder, relay_url, **settings)
        if transport == "stdio":
            yield Target(transport, relay, relay_url, env)
            return
        with http_server(env) as server:
            yield Target(transport, relay, relay_url, env, url=server.mcp_url)


@contextmanager
def offline() -> Generator[None]:
    """This process's environment kept off the network (see OFFLINE) for a client run in it."""
    saved = {name: os.environ.get(name) for name in OFFLINE}
    os.environ.update(OFFLINE)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def text_blocks(content: object) -> str:
    """The text of what a library hands its model: a string, or a list of blocks some of which carry text."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(cast(dict[str, object], content).get("text", ""))
    if isinstance(content, list):
        return "\n".join(text_blocks(block) for block in cast(list[object], content))
    return ""


def node_packages(*packages: str) -> str:
    """Node from the wheel, once the npm packages are installed (npm ci); skipped locally, failed under CI=true."""
    for package in packages:
        if not (ROOT / "node_modules" / package / "package.json").exists():
            missing(f"npm package {package}", "run npm ci (see .ci/run)")
    return node()


@dataclass(frozen=True)
class Seen:
    """What a library handed its model (or its caller) after one tool call."""

    ok: bool | None
    """Whether the library presented the result as a success (no is_error, no error status, no exception); None
    where it hands the model no such flag, only the text."""
    text: str
    """The text of what the model read."""
    raw: object = None
    """The library's own form of it, for the report of a failed assertion."""


@dataclass(frozen=True)
class Run:
    """One client's conversation: a good call of generate_image, then one with a bad argument."""

    call: Seen
    refusal: Seen
    task_id: str
    """The TaskId the relay gave the good call."""
    url: str
    """Its image's URL."""
    prompts: tuple[str, ...]
    """The prompt of each task the relay was asked for in the whole conversation, in order."""


def in_order(seen: list[Seen]) -> tuple[Seen, Seen]:
    """The good call's and the bad call's results; one the library never handed the model is an empty failure."""
    nothing = Seen(ok=False, text="", raw="(the library handed the model nothing for this call)")
    padded = [*seen, nothing, nothing]
    return padded[0], padded[1]


def assert_call_succeeds(run: Run) -> None:
    assert run.prompts.count(GOOD["prompt"]) == 1, run.call.raw
    assert run.call.ok is not False, f"the library presented a paid, finished task as a failure: {run.call.raw!r}"


def assert_task_reaches_the_model(run: Run) -> None:
    assert run.task_id in run.call.text, run.call.raw
    assert run.url in run.call.text, run.call.raw


def assert_refusal_names(run: Run, name: str, value: str) -> None:
    """The bad argument came back as an error the model can read and act on: the field and its value named."""
    assert run.refusal.ok is not True, run.refusal.raw
    assert re.search(rf"\b{name}\b", run.refusal.text), run.refusal.raw
    assert value in run.refusal.text, run.refusal.raw
    assert REFUSED not in run.prompts


LEGACY = Path(__file__).parent / "legacy"
"""The clients that cannot share the main uv.lock (they require mcp<2, or would move the server's own
dependencies): a uv project of their own, with its own lock, and the script that drives them."""
LEGACY_SYNC_TIMEOUT = 300.0
"""A first sync on a fresh machine downloads ~70 packages; later ones take well under a second."""


@functools.cache
def legacy_python() -> Path:
    """The legacy project's interpreter, its environment synced exactly to its lock (once per test run). Without uv,
    or when the sync fails (no registry in reach), skipped locally and failed under CI=true."""
    command = [uv(), "sync", "--locked", "--project", str(LEGACY), "--python", sys.executable]
    # A first sync fetches from the package registry: without the proxy that keeps the clients off the network.
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV" and key not in OFFLINE}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=LEGACY_SYNC_TIMEOUT, check=False)
    if done.returncode != 0:
        missing("the legacy clients' environment", f"`{' '.join(command)}` failed:\n{done.stderr}")
    return LEGACY / ".venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def run_legacy(client: str, spec: dict[str, object], folder: Path) -> object:
    """Runs tests/clients/legacy/clients.py for `client` with `spec`; its answer (see that script)."""
    spec_file, answer_file = folder / f"{client}-spec.json", folder / f"{client}-answer.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    command = [str(legacy_python()), str(LEGACY / "clients.py"), client, str(spec_file), str(answer_file)]
    env = {key: value for key, value in clean_env(**OFFLINE).items() if key != "VIRTUAL_ENV"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=2 * TIMEOUT, check=False)
    assert done.returncode == 0, f"{client} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return json.loads(answer_file.read_text(encoding="utf-8"))


async def input_schemas(folder: Path, profile: str) -> dict[str, dict[str, object]]:
    """Each tool's inputSchema as the server lists it with the schema profile `profile` (in memory: the same
    tools/list)."""
    server = build_server(
        make_settings(output_dir=folder / "images", data_dir=folder / "data", schema_profile=profile),
        transport=FakeRelay().transport(),
    )
    async with Client(server) as client:
        listed = await client.list_tools()
    return {tool.name: tool.input_schema for tool in listed.tools}
