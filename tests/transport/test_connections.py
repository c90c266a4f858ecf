"""Connections that send no request cannot take the HTTP server offline: the real server on 127.0.0.1, raw sockets."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Generator
from contextlib import ExitStack, contextmanager

import anyio
import httpx2
import pytest

from ..support.http_server import START_TIMEOUT, RunningServer, clean_env, http_server, mcp_client

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

IDLE = 200


@contextmanager
def idle_sockets(server: RunningServer, count: int) -> Generator[list[socket.socket]]:
    """`count` connections that send nothing; each read waits at most START_TIMEOUT (a guard against a hang)."""
    with ExitStack() as stack:
        address = ("127.0.0.1", server.log.port or 0)
        sockets = [stack.enter_context(socket.create_connection(address)) for _ in range(count)]
        for sock in sockets:
            sock.settimeout(START_TIMEOUT)
        yield sockets


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (end of stream) before START_TIMEOUT."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_a_flood_of_idle_connections_past_the_cap_does_not_lock_out_a_client() -> None:
    # The deadline is long here: only the cap's eviction of the longest idle can make room.
    env = clean_env(AIGC_IMAGE_MAX_CONNECTIONS="50", AIGC_IMAGE_HEADER_TIMEOUT="600")
    with http_server(env) as server, idle_sockets(server, IDLE) as sockets:
        health = httpx2.get(f"{server.url}/healthz", timeout=START_TIMEOUT)
        async with mcp_client(server.mcp_url, "sk-any-key-0123") as client:
            tools = await client.list_tools()

        assert health.status_code == 200
        assert "generate_image" in {tool.name for tool in tools.tools}
        assert all(closed_by_server(sock) for sock in sockets[:100]), "the oldest idle connections make room"


async def test_idle_and_slow_header_connections_are_closed_after_the_header_timeout() -> None:
    env = clean_env(AIGC_IMAGE_HEADER_TIMEOUT="1")
    with http_server(env) as server, idle_sockets(server, IDLE) as sockets:
        dripping = sockets[0]
        dripping.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        lines = 0
        while lines < START_TIMEOUT / 0.1:  # a header line every 0.1 s: each byte must not extend the deadline
            try:
                dripping.sendall(b"X-Slow: %d\r\n" % lines)
            except (BrokenPipeError, ConnectionResetError):
                break
            lines += 1
            await anyio.sleep(0.1)
        health = httpx2.get(f"{server.url}/healthz", timeout=START_TIMEOUT)

        assert lines < START_TIMEOUT / 0.1, "the slow-header connection was never closed"
        assert all(closed_by_server(sock) for sock in sockets[1:])
        assert health.status_code == 200


def test_a_kept_alive_connection_serves_requests_then_is_closed_when_idle() -> None:
    with http_server(clean_env(AIGC_IMAGE_HEADER_TIMEOUT="1")) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.log.port or 0, timeout=START_TIMEOUT)
        statuses: list[int] = []
        for _ in range(2):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        sock = connection.sock
        assert isinstance(sock, socket.socket)

        assert statuses == [200, 200], "one connection, kept alive"
        assert closed_by_server(sock)
        connection.close()
