"""The HTTP front door's rules, request by request, in process: which Host, Origin and token get through."""

from __future__ import annotations

import httpx2
import pytest

from aigc_image_mcp.callers import bearer_token
from aigc_image_mcp.config import Settings
from aigc_image_mcp.transport.asgi import Message, Receive, Scope, Send
from aigc_image_mcp.transport.guard import Guard, Policy

from ..conftest import CANARY_KEY, make_settings

pytestmark = pytest.mark.anyio

TOKEN = "tok-0123456789abcdef"  # noqa: S105 - a test token


async def reached(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands for the MCP app: says it was reached, with the body it got."""
    message: Message = await receive()
    body = b"reached:" + message.get("body", b"")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


async def status(settings: Settings, headers: dict[str, str], body: bytes = b"{}") -> int:
    transport = httpx2.ASGITransport(app=Guard(reached, Policy.from_settings(settings)))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        response = await client.post("/mcp", content=body, headers=headers)
    if response.status_code == 200:
        assert response.content == b"reached:" + body
    return response.status_code


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1:8000", 200),
        ("localhost", 200),
        ("[::1]:9000", 200),
        ("mcp.example.com", 200),
        ("mcp.example.com:443", 200),
        ("pinned.example.com:8443", 200),
        ("pinned.example.com:8444", 421),
        ("any.example.net:1", 200),
        ("localhost.evil.example.com", 421),
        ("evil.example.com", 421),
        ("127.0.0.2", 421),
        ("", 421),
    ],
)
async def test_the_host_header_must_be_loopback_or_allowed(host: str, expected: int) -> None:
    settings = make_settings(allowed_hosts="mcp.example.com,pinned.example.com:8443,any.example.net:*")

    assert await status(settings, {"Host": host}) == expected


async def test_a_star_allows_any_host_and_the_bind_address_is_allowed() -> None:
    assert await status(make_settings(allowed_hosts="*"), {"Host": "whatever.example"}) == 200
    assert await status(make_settings(host="10.1.2.3"), {"Host": "10.1.2.3:8000"}) == 200
    assert await status(make_settings(host="0.0.0.0"), {"Host": "0.0.0.0:8000"}) == 421  # noqa: S104


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (None, 200),
        ("http://localhost:3000", 200),
        ("https://127.0.0.1", 200),
        ("https://app.example.com", 200),
        ("https://app.example.com/", 200),
        ("http://app.example.com", 403),
        ("https://app.example.com.evil.example", 403),
        ("null", 403),
    ],
)
async def test_a_browser_origin_must_be_loopback_or_allowed(origin: str | None, expected: int) -> None:
    headers = {"Origin": origin} if origin is not None else {}

    assert await status(make_settings(allowed_origins="https://app.example.com"), headers) == expected


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (f"Bearer {TOKEN}", 200),
        (f"bearer   {TOKEN}  ", 200),
        (f"Bearer {TOKEN}x", 401),
        (f"Bearer {TOKEN[:-1]}", 401),
        (f"Basic {TOKEN}", 401),
        ("Bearer", 401),
        (None, 401),
    ],
)
async def test_with_the_servers_key_only_a_known_token_gets_through(authorization: str | None, expected: int) -> None:
    settings = make_settings(http_tokens=f"another-token-000000,{TOKEN}")
    headers = {"Authorization": authorization} if authorization is not None else {}

    assert await status(settings, headers) == expected


async def test_pass_through_needs_a_bearer_token_and_open_mode_needs_none() -> None:
    pass_through = make_settings(api_key=None)

    assert await status(pass_through, {}) == 401
    assert await status(pass_through, {"Authorization": "Bearer sk-anything"}) == 200
    assert await status(make_settings(), {}) == 200


async def test_the_body_limit_counts_what_arrives_not_what_is_declared() -> None:
    settings = make_settings(max_body_bytes=10)

    assert await status(settings, {}, b"0123456789") == 200
    assert await status(settings, {}, b"0123456789!") == 413


def test_bearer_tokens_are_read_from_the_authorization_header_only() -> None:
    assert bearer_token({"authorization": f"Bearer {CANARY_KEY}"}) == CANARY_KEY
    assert bearer_token({"authorization": "Token abc"}) is None
    assert bearer_token({}) is None
    assert bearer_token(None) is None


async def raw_status(settings: Settings, headers: list[tuple[bytes, bytes]]) -> int:
    """The guard's answer to a request whose header list is given as received: repeated names kept, in order."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
    await Guard(reached, Policy.from_settings(settings))(scope, receive, send)
    return int(sent[0]["status"])


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:1@evil.example",
        "localhost@evil.example",
        "mcp.example.com@evil.example:443",
        "127.0.0.1:8000/evil",
        "127.0.0.1:8000 evil.example",
        "127.0.0.1:80:80",
        "127.0.0.1:",
        "127.0.0.1:port",
    ],
)
async def test_a_host_that_is_not_a_name_and_port_is_refused_whatever_it_starts_with(host: str) -> None:
    settings = make_settings(allowed_hosts="mcp.example.com")

    assert await status(settings, {"Host": host}) == 421


@pytest.mark.parametrize(
    "origin", ["http://localhost:1@evil.example", "http://127.0.0.1@evil.example", "https://app.example.com/x"]
)
async def test_an_origin_that_is_not_scheme_name_and_port_is_refused(origin: str) -> None:
    assert await status(make_settings(allowed_origins="https://app.example.com"), {"Origin": origin}) == 403


async def test_two_origin_headers_are_refused_whichever_comes_last() -> None:
    settings = make_settings()
    host = (b"host", b"127.0.0.1:8000")
    one = [host, (b"origin", b"http://localhost:3000")]
    two = [host, (b"origin", b"http://evil.example"), (b"origin", b"http://localhost:3000")]

    assert await raw_status(settings, one) == 200
    assert await raw_status(settings, two) == 403


async def test_two_host_headers_are_refused() -> None:
    two = [(b"host", b"evil.example"), (b"host", b"127.0.0.1:8000")]

    assert await raw_status(make_settings(), two) == 400


async def test_a_body_framed_both_by_length_and_by_chunks_is_refused() -> None:
    framed = [(b"host", b"127.0.0.1:8000"), (b"content-length", b"2"), (b"transfer-encoding", b"chunked")]

    assert await raw_status(make_settings(), framed) == 400
    assert await raw_status(make_settings(), framed[:2]) == 200
