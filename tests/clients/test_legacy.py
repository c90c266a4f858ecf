"""The clients that still require mcp<2, in their own environment (tests/clients/legacy: its own pyproject.toml and
uv.lock, synced by the test), over stdio and Streamable HTTP:

- langchain-mcp-adapters: MultiServerMCPClient's tools, each call made as LangChain's agents make it (a tool call
  in, a ToolMessage out); the ToolMessage is what the model reads.
- mcp-use's raw MCPClient: a session's call_tool, a CallToolResult (what a program on it gets).
- mcp-use's LangChainAdapter: the tools MCPAgent hands its model; their ToolMessage is what the model reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from .servers import (
    GOOD,
    TRANSPORTS,
    UNKNOWN_MODEL,
    Run,
    Seen,
    Target,
    assert_call_succeeds,
    assert_refusal_names,
    assert_task_reaches_the_model,
    run_legacy,
    started,
    text_blocks,
)

pytestmark = pytest.mark.slow

CLIENTS = ("langchain", "mcp-use", "mcp-use-adapter")
CASES = [(client, transport) for client in CLIENTS for transport in TRANSPORTS]


def seen(client: str, answer: dict[str, Any]) -> Seen:
    if client == "mcp-use":  # a CallToolResult, as JSON
        return Seen(ok=not answer.get("isError", False), text=text_blocks(answer["content"]), raw=answer)
    # A ToolMessage. mcp-use's adapter turns an error into a JSON text with status "success": no flag, only text.
    ok = None if client == "mcp-use-adapter" else answer["status"] == "success"
    return Seen(ok=ok, text=str(answer["text"]), raw=answer)


def converse(client: str, target: Target, folder: Path) -> Run:
    task_id, url = target.new_task()
    if target.transport == "stdio":
        server = {"transport": "stdio", "command": target.command, "args": target.args, "env": target.env}
    else:
        server = {"transport": "http", "url": target.url}
    calls = [GOOD, UNKNOWN_MODEL]
    answers = cast(list[dict[str, Any]], run_legacy(client, {"server": server, "calls": calls}, folder))
    good, bad = (seen(client, answer) for answer in answers)
    return Run(good, bad, task_id, url, target.prompts())


@pytest.fixture(scope="module", params=CASES, ids=[f"{client}-{transport}" for client, transport in CASES])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    client, transport = request.param
    folder = tmp_path_factory.mktemp(client)
    with started(transport, folder) as target:
        return converse(client, target, folder)


def test_a_finished_task_is_a_successful_result(run: Run) -> None:
    assert_call_succeeds(run)


def test_the_task_id_and_the_image_url_reach_the_model(run: Run) -> None:
    assert_task_reaches_the_model(run)


def test_an_unknown_model_comes_back_as_an_error_naming_the_field(run: Run) -> None:
    assert_refusal_names(run, "model", "Nope-1")
