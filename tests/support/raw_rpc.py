"""A raw JSON-RPC client for 2026-07-28 requests, as a client that speaks extensions sends them: in memory, over the
real process's stdio, and over real HTTP. Each answers with the JSON-RPC response (a `result` or an `error`)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import AsyncGenerator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol

import anyio
import httpx2
from mcp.server.mcpserver import MCPServer
from mcp.server.runner import modern_on_request
from mcp.shared.direct_dispatcher import create_direct_dispatcher_pair
from mcp.shared.exceptions import MCPError

from aigc_image_mcp.protocol.sdk_private import lowlevel_server

VERSION = "2026-07-28"
Extensions = Mapping[str, dict[str, Any]]
TASKS: Extensions = {"io.modelcontextprotocol/tasks": {}}
UI: Extensions = {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}


def envelope(extensions: Extensions | None = None, *, roots: bool = False) -> dict[str, Any]:
    """The `_meta` of a 2026-07-28 request whose client declares `extensions` (and roots, if asked)."""
    capabilities: dict[str, Any] = {"extensions": dict(extensions)} if extensions else {}
    if roots:
        capabilities["roots"] = {}
    return {
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test-client", "version": "1.0"},
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    }


class Raw(Protocol):
    async def __call__(
        self, method: str, params: Mapping[str, Any], extensions: Extensions | None = None, *, roots: bool = False
    ) -> dict[str, Any]: ...


def _params(params: Mapping[str, Any], extensions: Extensions | None, roots: bool) -> dict[str, Any]:
    return {**params, "_meta": {**params.get("_meta", {}), **envelope(extensions, roots=roots)}}


@asynccontextmanager
async def in_memory(server: MCPServer[Any]) -> AsyncGenerator[Raw]:
    """Requests straight into the server's 2026-07-28 entry, with its lifespan running."""
    lowlevel = lowlevel_server(server)  # the SDK's Client does the same
    async with AsyncExitStack() as stack:
        state = await stack.enter_async_context(lowlevel.lifespan(lowlevel))
        client, peer = create_direct_dispatcher_pair()
        group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(peer.close)
        stack.callback(client.close)
        await group.start(peer.run, modern_on_request(lowlevel, state), _no_notifications)
        await group.start(client.run, _no_requests, _no_notifications)

        async def call(
            method: str, params: Mapping[str, Any], extensions: Extensions | None = None, *, roots: bool = False
        ) -> dict[str, Any]:
            try:
                return {"result": await client.send_raw_request(method, _params(params, extensions, roots))}
            except MCPError as exc:
                return {"error": {"code": exc.error.code, "message": exc.error.message}}

        yield call


async def _no_notifications(*_args: Any) -> None:
    """Notifications (progress) are not what these tests look at."""


async def _no_requests(*_args: Any) -> dict[str, Any]:
    raise AssertionError("a 2026-07-28 server sends no requests of its own")


@asynccontextmanager
async def over_stdio(command: list[str], env: Mapping[str, str]) -> AsyncGenerator[Raw]:
    """Line-delimited JSON-RPC to the real process's stdin; answers read from its stdout."""
    process = _start(command, env)
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    counter = iter(range(1, 1_000_000))

    async def call(
        method: str, params: Mapping[str, Any], extensions: Extensions | None = None, *, roots: bool = False
    ) -> dict[str, Any]:
        number = next(counter)
        message = {"jsonrpc": "2.0", "id": number, "method": method, "params": _params(params, extensions, roots)}
        stdin.write(json.dumps(message) + "\n")
        stdin.flush()
        while True:
            line = await anyio.to_thread.run_sync(stdout.readline)
            assert line, "the server closed its stdout"
            answer = json.loads(line)
            if answer.get("id") == number:
                return answer

    try:
        yield call
    finally:
        stdin.close()
        process.wait(timeout=20)
        stdout.close()


def exchange_lines(command: list[str], env: Mapping[str, str], lines: list[str], answers: int) -> list[Any]:
    """Raw `lines` (JSON-RPC or not) to the real process's stdin, and the first `answers` lines of its stdout, read
    before its stdin is closed: at the end of its input the server stops, and may drop what it has not answered. A
    process that answers less is killed after a minute (the test then fails rather than hangs)."""
    process = _start(command, env)
    assert process.stdin is not None
    assert process.stdout is not None
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        process.stdin.write("\n".join(lines) + "\n")
        process.stdin.flush()
        return [json.loads(process.stdout.readline() or "null") for _ in range(answers)]
    finally:
        watchdog.cancel()
        process.stdin.close()
        process.wait(timeout=20)
        process.stdout.close()


def _start(command: list[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(env)
    )


def over_http(http: httpx2.AsyncClient, url: str) -> Raw:
    """POSTs to the streamable HTTP endpoint with the 2026-07-28 headers."""
    counter = iter(range(1, 1_000_000))

    async def call(
        method: str, params: Mapping[str, Any], extensions: Extensions | None = None, *, roots: bool = False
    ) -> dict[str, Any]:
        number = next(counter)
        message = {"jsonrpc": "2.0", "id": number, "method": method, "params": _params(params, extensions, roots)}
        name = params.get("name") or params.get("uri") or params.get("taskId")
        headers = {
            "MCP-Protocol-Version": VERSION,
            "Mcp-Method": method,
            "Accept": "application/json, text/event-stream",
            **({"Mcp-Name": str(name)} if name else {}),
        }
        response = await http.post(url, json=message, headers=headers)
        return _answer(response, number)

    return call


def _answer(response: httpx2.Response, number: int) -> dict[str, Any]:
    """The JSON-RPC answer with id `number`, from a JSON body or an event stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and (answer := json.loads(line[5:])).get("id") == number:
                return answer
        raise AssertionError(f"no answer to request {number} in the stream: {response.text[:500]}")
    return response.json()
