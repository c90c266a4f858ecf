"""The real console script over stdio, as Claude Desktop runs it, against a fake relay on 127.0.0.1."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import TextContent

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, serve
from ..support.raw_rpc import exchange_lines

pytestmark = pytest.mark.slow

SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))


def environment(**values: str) -> dict[str, str]:
    """A clean environment: the developer's own QUICKROUTER_*/AIGC_IMAGE_* never leak into the server."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **values}


@pytest.mark.anyio
async def test_the_console_script_serves_generate_image_over_stdio_against_a_real_http_relay() -> None:
    relay = FakeRelay()
    with serve(relay) as base_url:
        server = StdioServerParameters(
            command=SCRIPT, env=environment(QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=base_url)
        )
        async with Client(server, mode="legacy") as client:
            tools = await client.list_tools()
            result = await client.call_tool("generate_image", {"model": "Hunyuan-3.0", "prompt": "a lighthouse"})

    assert [tool.name for tool in tools.tools] == [
        "generate_image",
        "get_image_task",
        "list_image_tasks",
        "get_image_usage",
    ]
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["task_id"] == "task-1"
    assert relay.submits == [{"model_name": "Hunyuan", "model_version": "3.0", "prompt": "a lighthouse"}]
    assert relay.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert isinstance(result.content[0], TextContent)


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args], env=environment(**env), input="", capture_output=True, text=True, timeout=60, check=False
    )


def test_a_malformed_models_file_stops_the_server_at_start_with_a_clear_message(tmp_path: Path) -> None:
    models = tmp_path / "models.json"
    models.write_text(json.dumps({"models": [{"id": "GG-3.1", "model_name": "GG", "model_version": "3.1"}]}))

    finished = run_script(AIGC_IMAGE_MODELS_FILE=str(models))

    assert finished.returncode != 0
    assert finished.stdout == ""
    assert "AIGC_IMAGE_MODELS_FILE" in finished.stderr
    assert "models.0.max_reference_images: Field required" in finished.stderr


def test_an_invalid_setting_names_the_variable_and_what_is_allowed() -> None:
    finished = run_script(AIGC_IMAGE_SCHEMA="fancy")

    assert finished.returncode != 0
    assert "AIGC_IMAGE_SCHEMA: Input should be 'portable', 'full' or 'strict'" in finished.stderr


def test_python_dash_m_runs_the_same_program() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "aigc_image_mcp", "--version"], capture_output=True, text=True, timeout=60, check=False
    )

    assert finished.returncode == 0
    assert finished.stdout.startswith("aigc-image-mcp ")


def test_a_line_that_is_no_json_rpc_message_is_answered_with_an_error_and_the_server_serves_on() -> None:
    initialize = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize}),
        "this is not JSON",
        '{"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"note": "\\ud800"}}',  # a lone surrogate
        '{"jsonrpc": "2.0", "id": 3}',  # JSON, but no message: neither a method nor a result
        "",
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
    ]
    done = subprocess.run(
        [SCRIPT],
        env=environment(QUICKROUTER_API_KEY=CANARY_KEY),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    errors = [(answer["id"], answer["error"]["code"]) for answer in answers if "error" in answer]

    assert sorted(errors, key=str) == [(2, -32700), (3, -32600), (None, -32700)], done.stdout
    assert {answer["id"] for answer in answers if "result" in answer} == {1, 4}
    assert "Traceback" not in done.stderr


def test_an_unreadable_request_whose_id_can_be_read_is_answered_with_that_id_naming_the_problem() -> None:
    deep = '{"a": ' * 300 + "1" + "}" * 300
    lines = [
        '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_image_tasks", "x": "\\ud800"}}',
        '{"jsonrpc": "2.0", "id": "deep", "method": "ping", "params": ' + deep + "}",
        '{"jsonrpc": "2.0", "method": "ping", "params": {"nest": ' + "[" * 300 + "]" * 300 + '}, "id": 4}',
        '{"jsonrpc": "2.0", "method": "ping", "params": {"id": 99, "x": "\\udfff"}}',  # an id, but not the request's
        '{"jsonrpc": "2.0", "id": 1.5, "method": "ping", "params": {"x": "\\ud800"}}',  # not an id JSON-RPC allows
        json.dumps({"jsonrpc": "2.0", "id": 5, "method": "ping"}),
    ]
    answers = exchange_lines([SCRIPT], environment(QUICKROUTER_API_KEY=CANARY_KEY), lines, 6)
    errors = [(answer["id"], answer["error"]["code"], answer["error"]["message"]) for answer in answers[:-1]]

    assert [(number, code) for number, code, _ in errors] == [
        (2, -32700),
        ("deep", -32700),
        (4, -32700),
        (None, -32700),
        (None, -32700),
    ], answers
    assert "a lone surrogate" in errors[0][2]
    assert "nested deeper than the 200 levels" in errors[1][2]
    assert "nested deeper than the 200 levels" in errors[2][2]
    assert answers[-1] == {"jsonrpc": "2.0", "id": 5, "result": {}}


def fuzzed_lines(seed: int, count: int) -> list[tuple[int | str, str]]:
    """Requests whose id comes first and can be read, each damaged after it: a lone surrogate, nesting past the
    parser's depth, a bad escape, a raw control character, a number of thousands of digits, or a cut-off line."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    damages = [
        lambda: '"\\ud800"',
        lambda: '"x\\udfffy"',
        lambda: "[" * rng.randint(201, 3000),
        lambda: '{"a": ' * rng.randint(201, 2000) + "1" + "}" * rng.randint(0, 2000),
        lambda: '"\\x41"',
        lambda: '"a\x01b"',
        lambda: "1" * rng.randint(5000, 20000),
        lambda: '"cut',
    ]
    lines: list[tuple[int | str, str]] = []
    for number in range(count):
        request_id: int | str = number if rng.random() < 0.5 else f"r-{number}"
        head = f'{{"jsonrpc": "2.0", "id": {json.dumps(request_id)}, "method": "ping", "params": {{"x": '
        lines.append((request_id, head + rng.choice(damages)() + "}}"))
    return lines


@pytest.mark.slow
def test_three_hundred_damaged_requests_whose_id_is_readable_are_each_answered_to_that_id() -> None:
    fuzzed = fuzzed_lines(20261206, 300)

    answers = exchange_lines([SCRIPT], environment(QUICKROUTER_API_KEY=CANARY_KEY), [line for _, line in fuzzed], 300)

    assert None not in answers  # every line was answered
    assert [answer for answer in answers if answer["id"] is None] == []
    assert sorted((answer["id"] for answer in answers), key=str) == sorted((i for i, _ in fuzzed), key=str)
    assert {answer["error"]["code"] for answer in answers} == {-32700}
