"""Remote use end to end: the server as a subprocess on 127.0.0.1, the SDK's streamable HTTP client, a fake relay
served over real HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from ..conftest import CANARY_KEY
from ..support.fake_relay import SUBMIT_PATH, FakeRelay, accepted, running, serve, task_detail
from ..support.helpers import text_of
from ..support.http_server import (
    INITIALIZE,
    MCP_HEADERS,
    START_TIMEOUT,
    RunningServer,
    Served,
    clean_env,
    command,
    http_server,
    mcp_client,
    served,
)

pytestmark = pytest.mark.anyio

USER_KEYS = ("sk-user-alice-0a1b2c3d4e", "sk-user-bob-5f6a7b8c9d")
TOKEN = "tok-1d5c9a8e2f7b4e60a3c1"  # noqa: S105 - a test token
ARGS = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


@pytest.fixture
def relay_url(relay: FakeRelay) -> Iterator[str]:
    with serve(relay) as url:
        yield url


@pytest.fixture(scope="module")
def pass_through() -> Iterator[Served]:
    """No key on the server: every caller sends its own."""
    with served() as it:
        yield it


@pytest.fixture(scope="module")
def shared_key() -> Iterator[Served]:
    """The server's own key, guarded by tokens; a widened allow-list; a short body deadline."""
    with served(
        QUICKROUTER_API_KEY=CANARY_KEY,
        AIGC_IMAGE_HTTP_TOKENS=f"other-token-0123456789,{TOKEN}",
        AIGC_IMAGE_ALLOWED_HOSTS="mcp.example.com",
        AIGC_IMAGE_ALLOWED_ORIGINS="https://app.example.com",
        AIGC_IMAGE_BODY_TIMEOUT="0.5",
    ) as it:
        yield it


def post(server: RunningServer, body: Any = INITIALIZE, **headers: str) -> httpx2.Response:
    return httpx2.post(server.mcp_url, content=json.dumps(body), headers={**MCP_HEADERS, **headers}, timeout=30)


def refused(message: str) -> pytest.RaisesGroup[MCPError]:
    """The SDK client fails with the server's refusal, wrapped in its task groups."""
    return pytest.RaisesGroup(pytest.RaisesExc(MCPError, match=message), flatten_subgroups=True)


def assert_no_secrets(text: str, *secrets: str) -> None:
    for secret in (CANARY_KEY, TOKEN, *USER_KEYS, *secrets):
        assert secret not in text


@pytest.mark.slow
async def test_pass_through_each_client_pays_with_its_own_key(pass_through: Served) -> None:
    server, relay = pass_through.server, pass_through.relay
    relay.requests.clear()
    results: dict[str, CallToolResult] = {}

    async def call_as(key: str) -> None:
        async with mcp_client(server.mcp_url, key) as client:
            results[key] = await client.call_tool("generate_image", ARGS)

    async with anyio.create_task_group() as group:
        for key in USER_KEYS:
            group.start_soon(call_as, key)

    assert all(not result.is_error for result in results.values()), results
    submits = sorted(request.headers["authorization"] for request in relay.requests if request.method == "POST")
    assert submits == sorted(f"Bearer {key}" for key in USER_KEYS)
    relay_calls = [request for request in relay.requests if not request.url.path.startswith("/files/")]
    assert {request.headers.get("authorization") for request in relay_calls} == {f"Bearer {k}" for k in USER_KEYS}
    task_ids = [result.structured_content["task_id"] for result in results.values() if result.structured_content]
    assert len(set(task_ids)) == 2
    assert_no_secrets(server.log.text)


async def test_pass_through_without_a_bearer_token_is_401_before_any_mcp(pass_through: Served) -> None:
    server, relay = pass_through.server, pass_through.relay
    relay.requests.clear()
    response = post(server)
    basic = post(server, Authorization="Basic dXNlcjpwYXNz")
    with refused("each caller's own QuickRouter API key"):
        async with mcp_client(server.mcp_url) as client:
            await client.list_tools()

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="aigc-image-mcp"'
    assert "Authorization: Bearer" in response.json()["error"]["message"]
    assert basic.status_code == 401
    assert relay.requests == []


def test_a_bearer_token_that_is_not_printable_ascii_is_refused_at_the_door_saying_why(pass_through: Served) -> None:
    server, relay = pass_through.server, pass_through.relay
    relay.requests.clear()
    call: dict[str, Any] = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
    call["params"] = {"name": "list_image_tasks", "arguments": {}}
    token = "Bearer sk-cl\u00e9-\u043a\u043b\u044e\u0447".encode()  # UTF-8 on the wire, as a client sends it
    headers = [(name.encode(), value.encode()) for name, value in MCP_HEADERS.items()] + [(b"Authorization", token)]
    response = httpx2.post(server.mcp_url, content=json.dumps(call), headers=headers, timeout=30)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "printable ASCII" in response.json()["error"]["message"]
    assert relay.requests == []
    assert "Traceback" not in server.log.text


async def test_a_relay_refusing_the_callers_key_is_a_tool_error_without_the_key(pass_through: Served) -> None:
    server, relay = pass_through.server, pass_through.relay
    relay.script.append(httpx2.Response(401, json={"error": {"message": f"invalid token {USER_KEYS[0]}"}}))
    async with mcp_client(server.mcp_url, USER_KEYS[0]) as client:
        result = await client.call_tool("generate_image", ARGS)

    assert result.is_error
    assert "HTTP 401" in text_of(result)
    assert "bearer token" in text_of(result)
    assert_no_secrets(text_of(result) + server.log.text)


@pytest.mark.slow
async def test_with_a_shared_key_clients_need_a_configured_token(shared_key: Served) -> None:
    server, relay = shared_key.server, shared_key.relay
    relay.requests.clear()
    async with mcp_client(server.mcp_url, TOKEN, mode="auto") as client:
        result = await client.call_tool("generate_image", ARGS)
    missing = post(server)
    wrong = post(server, Authorization=f"Bearer {TOKEN[:-1]}x")
    with refused("not one this server accepts"):
        async with mcp_client(server.mcp_url, "not-a-token-at-all") as client:
            await client.list_tools()

    assert not result.is_error, text_of(result)
    assert [r.headers["authorization"] for r in relay.requests if r.method == "POST"] == [f"Bearer {CANARY_KEY}"]
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="aigc-image-mcp"'
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == 'Bearer realm="aigc-image-mcp", error="invalid_token"'
    assert_no_secrets(server.log.text + wrong.text + missing.text)


def test_healthz_answers_without_auth_whatever_the_host(shared_key: Served) -> None:
    response = httpx2.get(f"{shared_key.server.url}/healthz", headers={"Host": "10.0.0.7:8000"})

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_access_log_records_paths_without_their_query_strings(shared_key: Served) -> None:
    server = shared_key.server
    health = httpx2.get(f"{server.url}/healthz?api_key=sk-in-the-query-0123", timeout=30)
    refused = httpx2.post(f"{server.mcp_url}?key=sk-in-the-query-4567", timeout=30)

    assert (health.status_code, refused.status_code) == (200, 401)
    assert server.log.wait_for('"GET /healthz HTTP/1.1" 200')
    assert server.log.wait_for('"POST /mcp HTTP/1.1" 401')
    assert "sk-in-the-query" not in server.log.text


def test_a_foreign_host_or_origin_is_refused_and_the_allow_list_widens(shared_key: Served) -> None:
    server = shared_key.server
    auth = {"Authorization": f"Bearer {TOKEN}"}

    assert post(server, Host="evil.example.com", **auth).status_code == 421
    assert post(server, Origin="http://evil.example.com", **auth).status_code == 403
    assert post(server, Origin="null", **auth).status_code == 403
    assert post(server, Origin="http://localhost:5173", **auth).status_code == 200
    assert post(server, Host="mcp.example.com:443", Origin="https://app.example.com", **auth).status_code == 200
    assert post(server, Host="evil.example.com").status_code == 421  # before authentication


def test_a_body_over_the_limit_is_refused(shared_key: Served) -> None:
    server = shared_key.server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    padded = {**INITIALIZE, "pad": "x" * 1_048_576}

    def chunks() -> Iterator[bytes]:
        yield json.dumps(padded).encode()

    declared = post(server, padded, **auth)
    streamed = httpx2.post(server.mcp_url, content=chunks(), headers={**MCP_HEADERS, **auth}, timeout=30)
    under = post(server, {**INITIALIZE, "pad": "x" * 1_000_000}, **auth)

    assert declared.status_code == 413
    assert "transfer-encoding" in streamed.request.headers
    assert streamed.status_code == 413
    assert under.status_code == 200


@pytest.mark.slow
def test_a_client_too_slow_to_send_its_body_is_cut_off(shared_key: Served) -> None:
    port = shared_key.server.log.port or 0
    head = (
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: 500\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT) as conn:
        conn.sendall(head.encode() + b'{"jsonrpc": ')
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 408")


def test_a_client_that_leaves_mid_call_does_not_lose_the_paid_task(pass_through: Served) -> None:
    server, relay = pass_through.server, pass_through.relay
    arrived, release = threading.Event(), threading.Event()

    def slow_submit(request: httpx2.Request) -> httpx2.Response:
        arrived.set()
        release.wait(START_TIMEOUT)
        return accepted("task-left-behind")

    body = json.dumps(
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "generate_image", "arguments": ARGS}}
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in {**MCP_HEADERS, "Authorization": f"Bearer {USER_KEYS[0]}"}.items())
    ended = server.log.count("Terminating session")
    relay.routes[("POST", SUBMIT_PATH)] = slow_submit
    try:
        with socket.create_connection(("127.0.0.1", server.log.port or 0), timeout=START_TIMEOUT) as conn:
            request = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}"
            conn.sendall(request.encode())
            assert arrived.wait(START_TIMEOUT)
        assert server.log.wait_for("Terminating session", ended + 1)  # the server saw the client leave
        release.set()
        assert server.log.wait_for("Submitted task task-left-behind")
    finally:
        del relay.routes[("POST", SUBMIT_PATH)]


@pytest.mark.slow
async def test_on_loopback_a_shared_key_without_tokens_needs_no_auth() -> None:
    with served(QUICKROUTER_API_KEY=CANARY_KEY) as it:
        async with mcp_client(it.server.mcp_url) as client:
            result = await client.call_tool("generate_image", ARGS)

    assert not result.is_error, text_of(result)
    assert it.relay.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"QUICKROUTER_API_KEY": CANARY_KEY}, "AIGC_IMAGE_HTTP_TOKENS"),
        ({"AIGC_IMAGE_HTTP_TOKENS": TOKEN}, "QUICKROUTER_API_KEY is not"),
    ],
    ids=["shared-key-without-tokens-off-loopback", "tokens-without-a-key"],
)
def test_an_unsafe_configuration_refuses_to_start_saying_why(env: dict[str, str], needle: str) -> None:
    unsafe = command("--host", "0.0.0.0")  # noqa: S104 - refused before it binds
    done = subprocess.run(unsafe, env=clean_env(**env), capture_output=True, text=True, timeout=START_TIMEOUT)

    assert done.returncode != 0
    assert needle in done.stderr
    assert_no_secrets(done.stderr + done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_progress_notifications_reach_an_http_client(mode: str) -> None:
    cmd = [sys.executable, "-m", "tests.support.progress_server"]
    with http_server(clean_env(QUICKROUTER_API_KEY=CANARY_KEY, AIGC_IMAGE_PORT="0"), cmd=cmd) as server:
        seen: list[tuple[float, float | None, str | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append((progress, total, message))

        async with mcp_client(server.mcp_url, mode=mode) as client:
            result = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)

    assert text_of(result) == "counted to 3"
    assert seen == [(1, 3, "step 1 of 3"), (2, 3, "step 2 of 3"), (3, 3, "step 3 of 3")]


@pytest.mark.slow
async def test_shutdown_lets_an_in_flight_call_finish(relay: FakeRelay, relay_url: str) -> None:
    arrived, release = threading.Event(), threading.Event()

    def slow_submit(request: httpx2.Request) -> httpx2.Response:
        arrived.set()
        release.wait(START_TIMEOUT)
        # The call outlives the first second of the shutdown: an SSE stream cut when shutdown begins (sse-starlette
        # ends every stream within its 0.5 s poll unless told not to) would lose this paid task's TaskId.
        time.sleep(2)
        return accepted("task-in-flight")

    relay.routes[("POST", SUBMIT_PATH)] = slow_submit
    results: list[CallToolResult] = []
    with http_server(clean_env(QUICKROUTER_BASE_URL=relay_url)) as server:
        async with mcp_client(server.mcp_url, USER_KEYS[0]) as client, anyio.create_task_group() as group:

            async def call() -> None:
                results.append(await client.call_tool("generate_image", ARGS))

            await client.list_tools()  # as clients do; the call's result is then checked without another request
            group.start_soon(call)
            assert await anyio.to_thread.run_sync(arrived.wait, START_TIMEOUT)
            server.process.terminate()
            assert await anyio.to_thread.run_sync(server.log.draining.wait, START_TIMEOUT)
            release.set()
        exit_code = server.stop()

    assert not results[0].is_error, text_of(results[0])
    assert results[0].structured_content is not None
    assert results[0].structured_content["task_id"] == "task-in-flight"
    assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down cleanly


@pytest.mark.slow
async def test_several_workers_serve_calls(relay: FakeRelay, relay_url: str) -> None:
    with http_server(clean_env(QUICKROUTER_BASE_URL=relay_url), "--workers", "2", workers=2) as server:
        for key in USER_KEYS:
            async with mcp_client(server.mcp_url, key) as client:
                result = await client.call_tool("generate_image", ARGS)
            assert not result.is_error, text_of(result)
        assert server.stop() == 0

    assert [r.headers["authorization"] for r in relay.requests if r.method == "POST"] == [
        f"Bearer {k}" for k in USER_KEYS
    ]


@pytest.mark.slow
async def test_generate_image_reports_its_progress_to_an_http_client(relay: FakeRelay, relay_url: str) -> None:
    task = "1392336703-AigcImageTask-http-progress"
    relay.script.append(accepted(task))
    relay.queries[task] = deque(
        [running(task, 30), running(task, 70), task_detail(task, urls=(f"{relay_url}/files/p.png",))]
    )
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    environment = clean_env(QUICKROUTER_BASE_URL=relay_url, AIGC_IMAGE_POLL_INTERVAL="0.05")
    with http_server(environment) as server:
        async with mcp_client(server.mcp_url, USER_KEYS[0]) as client:
            result = await client.call_tool("generate_image", ARGS, progress_callback=on_progress)
        assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown

    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "SUCCEEDED"
    assert [(value, total) for value, total, _ in seen] == [(0, 100), (30, 100), (70, 100)]
    assert all(task in (message or "") for _, _, message in seen)


async def test_with_a_shared_key_each_token_holder_sees_only_its_own_tasks(shared_key: Served) -> None:
    server, relay = shared_key.server, shared_key.relay
    task = "1392336703-AigcImageTask-token-alice"
    relay.script.append(accepted(task))
    async with mcp_client(server.mcp_url, TOKEN) as alice:
        made = await alice.call_tool("generate_image", {**ARGS, "wait_seconds": 0})
        own = await alice.call_tool("list_image_tasks", {})
    relay.requests.clear()
    async with mcp_client(server.mcp_url, "other-token-0123456789") as bob:
        listing = await bob.call_tool("list_image_tasks", {})
        peek = await bob.call_tool("get_image_task", {"task_id": task, "wait_seconds": 0})
        with pytest.raises(MCPError, match="has no image 1 of task"):
            await bob.read_resource(f"aigc-image://tasks/{task}/image-1.png")

    assert not made.is_error, text_of(made)
    assert task in json.dumps(own.structured_content)
    assert not listing.is_error, text_of(listing)
    assert task not in json.dumps(listing.structured_content)
    assert peek.is_error
    assert "not in the history of this caller" in text_of(peek)
    assert relay.requests == [], "the shared key is not used to look at another holder's task"
    assert_no_secrets(server.log.text + text_of(peek))


@pytest.mark.slow
def test_before_serving_the_server_loads_what_a_call_needs_and_freezes_its_heap(tmp_path: Path) -> None:
    # In a process of its own: freezing the heap of the test process would outlive this test.
    script = (
        "import gc, sys\n"
        "from aigc_image_mcp.config import Settings\n"
        "from aigc_image_mcp.transport.http import warm_up\n"
        "warm_up(Settings())\n"
        "names = ('core.tracker', 'backends.quickrouter', 'history.sqlite', 'backends.tencentcloud',"
        " 'history.postgres')\n"
        "print([n for n in names if 'aigc_image_mcp.' + n in sys.modules], gc.get_freeze_count() > 10_000)\n"
    )
    env = clean_env(QUICKROUTER_API_KEY=CANARY_KEY, AIGC_IMAGE_DATA_DIR=str(tmp_path))
    found = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert found.stdout.strip() == "['core.tracker', 'backends.quickrouter', 'history.sqlite'] True", found.stderr
