"""Request bodies sent slowly cannot take the HTTP server offline in pass-through mode (where any bearer gets past
the door): the real server on 127.0.0.1, raw sockets dripping a body one byte at a time."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Generator
from contextlib import ExitStack, contextmanager, suppress

import httpx2
import pytest

from ..support.http_server import START_TIMEOUT, RunningServer, clean_env, http_server, mcp_client

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

DRIP = 0.2
"""Seconds between two bytes of a slow body."""
HEAD = (
    "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Accept: application/json, text/event-stream\r\nAuthorization: Bearer sk-made-up-0123456789\r\n"
    "Content-Length: 1000\r\n\r\n"
)


@contextmanager
def dripping(server: RunningServer, count: int, source: str = "127.0.0.1") -> Generator[list[socket.socket]]:
    """`count` connections from `source` that send a request's headers, then its body a byte every DRIP seconds
    (each opened after the one before has started its body), until the block ends."""
    stop = threading.Event()
    with ExitStack() as stack:
        sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", server.log.port or 0), source_address=(source, 0))
            stack.enter_context(sock)
            sock.settimeout(START_TIMEOUT)
            sock.sendall(HEAD.encode() + b"{")
            sockets.append(sock)

        def drip() -> None:
            while not stop.wait(DRIP):
                for sock in sockets:
                    with suppress(OSError):  # closed by the server: the others keep dripping
                        sock.sendall(b" ")

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            yield sockets
        finally:
            stop.set()
            dripper.join(START_TIMEOUT)


def answer_of(sock: socket.socket) -> bytes:
    """What the server sent on `sock` before closing it; a read waits at most START_TIMEOUT."""
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def closed(sockets: list[socket.socket], within: float = 1.0) -> list[bool]:
    """For each socket, whether the server closed it (without an answer) within `within` seconds; the server may
    still be taking in the last connections when this starts, so it waits the whole time for those still open."""
    ended: set[socket.socket] = set()
    answered: set[socket.socket] = set()
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0 and len(ended | answered) < len(sockets):
        readable, _, _ = select.select([sock for sock in sockets if sock not in ended | answered], [], [], left)
        for sock in readable:
            (ended if answer_of(sock) == b"" else answered).add(sock)
    return [sock in ended for sock in sockets]


async def test_slow_bodies_past_the_cap_do_not_lock_out_a_client() -> None:
    # A long header deadline and no per-client cap: only the cap's eviction of the longest-waiting can make room.
    env = clean_env(
        AIGC_IMAGE_MAX_CONNECTIONS="10", AIGC_IMAGE_HEADER_TIMEOUT="600", AIGC_IMAGE_MAX_CONNECTIONS_PER_CLIENT="0"
    )
    with http_server(env) as server, dripping(server, 12) as slow:
        health = httpx2.get(f"{server.url}/healthz", timeout=START_TIMEOUT)
        assert health.status_code == 200
        async with mcp_client(server.mcp_url, "sk-any-key-0123") as client:
            tools = await client.list_tools()

        assert "generate_image" in {tool.name for tool in tools.tools}
        assert closed(slow[:3]) == [True] * 3, "the slow bodies waiting longest made room"


def test_a_body_slower_than_the_minimum_rate_is_cut_off_long_before_the_body_timeout() -> None:
    env = clean_env(AIGC_IMAGE_HEADER_TIMEOUT="1", AIGC_IMAGE_BODY_MIN_RATE="100", AIGC_IMAGE_BODY_TIMEOUT="600")
    with http_server(env) as server, dripping(server, 1) as (slow,):
        answer = answer_of(slow)  # about 1 s of grace, then 100 bytes/s behind: well within START_TIMEOUT

    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"at least 100 bytes per second" in answer


def test_one_address_holds_at_most_its_share_of_connections_and_others_are_not_affected() -> None:
    env = clean_env(AIGC_IMAGE_MAX_CONNECTIONS_PER_CLIENT="4", AIGC_IMAGE_HEADER_TIMEOUT="600")
    with http_server(env) as server, dripping(server, 7) as greedy, dripping(server, 3, "127.0.0.2") as others:
        # Each connection past the cap closed that address's longest-waiting one, and no other.
        assert closed(greedy) == [True] * 3 + [False] * 4
        assert closed(others) == [False] * 3
