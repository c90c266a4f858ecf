"""stdio over pipes without threads (transport/pipes.py): the lines as the SDK reads them, the wire kept from stray
output, answers that wait for a client that is not reading, a client that closes stdin or stops reading, and the
SDK's own transport where stdin or stdout is no pipe."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCRequest, JSONRPCResponse

from aigc_image_mcp.transport.pipes import LineTooLong, _next_line, pipe_stdio  # pyright: ignore[reportPrivateUsage]

from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, serve

SCRIPT = str(Path(sys.executable).with_name("aigc-image-mcp"))
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
# A process that serves pipe_stdio itself: prints and writes to fd 1 while serving, sends back `count` copies of the
# first message it reads (each about 10 kB, so together far more than a pipe holds), then writes to fd 1 again.
ECHO = """
import os, sys, anyio
from aigc_image_mcp.transport.pipes import pipe_stdio

async def main(count):
    serving = pipe_stdio()
    assert serving is not None, "not on pipes"
    async with serving as (received, send):
        print("a stray print")
        os.write(1, b"a stray write to fd 1\\n")
        first = await received.receive()
        for _ in range(count):
            await send.send(first)
    os.write(1, b"fd 1 is the wire again\\n")
    print("stdin blocking:", os.get_blocking(0), "stdout blocking:", os.get_blocking(1), file=sys.stderr)

anyio.run(main, int(sys.argv[1]))
"""


def environment(**values: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), **values}


def ping(number: int) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": number, "method": "ping"})


async def read_lines(data: bytes, limit: int) -> list[str | Exception]:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    lines: list[str | Exception] = []
    while (line := await _next_line(reader)) is not None:
        lines.append(line)
    return lines


@pytest.mark.anyio
async def test_lines_are_read_as_the_sdk_reads_them_and_one_over_the_limit_is_dropped_whole() -> None:
    data = b'{"a": 1}\n' + b"x" * 100 + b"\n" + b"\xff\xfe not utf-8\n" + b"y" * 40 + b'\n{"last": "no newline"}'

    lines = await read_lines(data, limit=32)

    assert lines[0] == '{"a": 1}\n'
    assert isinstance(lines[1], LineTooLong)
    assert lines[2] == "\ufffd\ufffd not utf-8\n"  # replaced, as the SDK's UTF-8 reader with errors="replace"
    assert isinstance(lines[3], LineTooLong)
    assert lines[4:] == ['{"last": "no newline"}']


@pytest.mark.anyio
async def test_a_line_over_the_limit_at_the_end_of_stdin_ends_the_lines() -> None:
    lines = await read_lines(b'{"a": 1}\n' + b"z" * 100, limit=32)

    assert lines[0] == '{"a": 1}\n'
    assert [type(line) for line in lines[1:]] == [LineTooLong]


@pytest.mark.slow
def test_stray_output_misses_the_wire_a_full_pipe_loses_nothing_and_the_fds_come_back_blocking() -> None:
    message = json.dumps({"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "x" * 10_000}})
    with subprocess.Popen(
        [sys.executable, "-c", ECHO, "200"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdin.write(message.encode() + b"\n")
        process.stdin.close()
        time.sleep(1)  # the server fills the pipe (64 kB here) and waits, its loop free, until this side reads
        out, err = process.stdout.read(), process.stderr.read()
        process.wait(timeout=60)

    lines = out.decode().splitlines()
    assert process.returncode == 0, err.decode()
    assert [json.loads(line) for line in lines[:200]] == [json.loads(message)] * 200
    assert lines[200:] == ["fd 1 is the wire again"]
    assert "a stray print" in err.decode()
    assert "a stray write to fd 1" in err.decode()
    assert "stdin blocking: True stdout blocking: True" in err.decode()


@pytest.mark.slow
def test_a_client_that_writes_its_requests_and_closes_stdin_gets_every_answer() -> None:
    relay = FakeRelay()
    submit = {"name": "generate_image", "arguments": {"model": "GEM-3.0", "prompt": "a fox", "wait_seconds": 0}}
    lines = [
        json.dumps(INITIALIZE),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        *(ping(number) for number in range(1, 20)),
        json.dumps({"jsonrpc": "2.0", "id": 20, "method": "tools/call", "params": submit}),
    ]
    with serve(relay) as base_url:
        done = subprocess.run(
            [SCRIPT],
            env=environment(QUICKROUTER_API_KEY=CANARY_KEY, QUICKROUTER_BASE_URL=base_url),
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    answers = {answer["id"]: answer for answer in map(json.loads, done.stdout.splitlines())}
    assert sorted(answers) == list(range(21)), done.stderr
    assert answers[20]["result"]["structuredContent"]["task_id"] == "task-1"
    assert done.returncode == 0
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_client_that_stops_reading_ends_the_server_without_a_traceback() -> None:
    with subprocess.Popen(
        [SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(QUICKROUTER_API_KEY=CANARY_KEY),
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 0
        process.stdout.close()  # the client stops reading: the next answer finds the pipe closed
        process.stdin.write(ping(1).encode() + b"\n")
        process.stdin.close()
        err = process.stderr.read()
        process.wait(timeout=30)

    assert process.returncode == 0
    assert b"Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("regular", ["stdin", "stdout"])
def test_where_stdin_or_stdout_is_a_file_the_sdks_transport_serves(tmp_path: Path, regular: str) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text(json.dumps(INITIALIZE) + "\n" + ping(1) + "\n")
    answers = tmp_path / "answers.jsonl"
    with requests.open("rb") as stdin_file, answers.open("wb") as stdout_file:
        done = subprocess.run(
            [SCRIPT],
            env=environment(QUICKROUTER_API_KEY=CANARY_KEY),
            stdin=stdin_file if regular == "stdin" else None,
            input=None if regular == "stdin" else requests.read_bytes(),
            stdout=stdout_file if regular == "stdout" else subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    out = answers.read_text() if regular == "stdout" else done.stdout.decode()

    assert [json.loads(line)["id"] for line in out.splitlines()][:1] == [0]
    assert b"Traceback" not in done.stderr


@pytest.mark.anyio
async def test_in_process_a_request_read_before_the_end_of_stdin_is_answered_and_the_fds_come_back() -> None:
    to_server, from_client = os.pipe()  # what the client writes, what the server's fd 0 reads
    to_client, from_server = os.pipe()
    saved = os.dup(0), os.dup(1)
    try:
        os.dup2(to_server, 0)
        os.dup2(from_server, 1)
        serving = pipe_stdio()
        assert serving is not None
        async with serving as (received, send):
            os.write(1, b"a stray write\n")  # fd 1 is stderr while serving, not the wire
            os.write(from_client, ping(7).encode() + b"\n")
            os.close(from_client)  # the end of stdin, with the ping not answered yet
            item = await received.receive()
            assert isinstance(item, SessionMessage)
            assert isinstance(item.message, JSONRPCRequest)
            await send.send(SessionMessage(JSONRPCResponse(jsonrpc="2.0", id=item.message.id, result={})))
            with pytest.raises(anyio.EndOfStream):  # only now, with the ping answered, does the read side end
                await received.receive()
        assert os.path.samestat(os.fstat(0), os.fstat(to_server))
        assert os.path.samestat(os.fstat(1), os.fstat(from_server))
        assert os.get_blocking(0)
        assert os.get_blocking(1)
    finally:
        os.dup2(saved[0], 0)
        os.dup2(saved[1], 1)
        for fd in (*saved, to_server, from_server):
            os.close(fd)
    with os.fdopen(to_client, "rb") as answers:
        assert [json.loads(line) for line in answers.read().splitlines()] == [{"jsonrpc": "2.0", "id": 7, "result": {}}]


@pytest.mark.slow
def test_a_server_started_without_stderr_serves_over_pipes() -> None:
    lines = [json.dumps(INITIALIZE), ping(1)]
    with subprocess.Popen(
        [SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment(QUICKROUTER_API_KEY=CANARY_KEY),
        preexec_fn=lambda: os.close(2),  # the child's stderr only, closed before it runs
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(("\n".join(lines) + "\n").encode())
        process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for _ in lines]
        process.stdin.close()
        process.wait(timeout=30)

    assert [answer["id"] for answer in answers] == [0, 1]
    assert process.returncode == 0
