"""The guard's header rules on the real server, as raw bytes on a socket: what a client or a proxy in front may send
that h11 itself lets through."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ..support.http_server import START_TIMEOUT, RunningServer, clean_env, http_server

pytestmark = pytest.mark.slow

BODY = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with http_server(clean_env()) as running:  # pass-through: any bearer gets past the door, and a ping stays here
        yield running


def exchange(server: RunningServer, request: bytes) -> bytes:
    """Everything the server sends back until it closes the connection (each request asks it to close)."""
    with socket.create_connection(("127.0.0.1", server.log.port or 0), timeout=START_TIMEOUT) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(4096):
            answer += chunk
    return answer


def request(*headers: str, body: bytes = BODY) -> bytes:
    head = ["POST /mcp HTTP/1.1", "Content-Type: application/json", "Accept: application/json, text/event-stream"]
    head.append("Authorization: Bearer sk-any-key-0123456789")
    return "\r\n".join([*head, *headers, "Connection: close", "", ""]).encode("latin-1") + body


def test_a_body_with_both_content_length_and_chunked_transfer_encoding_is_refused(server: RunningServer) -> None:
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    both = request("Host: 127.0.0.1", f"Content-Length: {len(chunked)}", "Transfer-Encoding: chunked", body=chunked)
    plain = request("Host: 127.0.0.1", f"Content-Length: {len(BODY)}")

    assert exchange(server, both).startswith(b"HTTP/1.1 400")
    assert b"not both" in exchange(server, both)
    assert exchange(server, plain).startswith(b"HTTP/1.1 200")


def test_a_host_with_userinfo_and_a_second_origin_are_refused(server: RunningServer) -> None:
    length = f"Content-Length: {len(BODY)}"
    userinfo = request("Host: 127.0.0.1:1@evil.example", length)
    origins = request("Host: 127.0.0.1", "Origin: http://evil.example", "Origin: http://localhost", length)

    assert exchange(server, userinfo).startswith(b"HTTP/1.1 421")
    assert exchange(server, origins).startswith(b"HTTP/1.1 403")
