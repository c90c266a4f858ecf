"""AIGC_IMAGE_RATE_LIMIT: per-caller requests per minute over HTTP, answered past it with 429 and Retry-After."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from aigc_image_mcp.transport.asgi import Message, Receive, Scope, Send
from aigc_image_mcp.transport.buckets import Buckets
from aigc_image_mcp.transport.ratelimit import RateLimit

from ..support.http_server import served

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.mark.slow
def test_past_its_rate_a_caller_gets_429_with_retry_after_and_others_are_still_served() -> None:
    with served(AIGC_IMAGE_RATE_LIMIT="2") as running, httpx2.Client(base_url=running.server.url) as http:

        def post(key: str) -> httpx2.Response:
            return http.post("/mcp", json=INITIALIZE, headers=HEADERS | {"authorization": f"Bearer {key}"})

        mine = [post("sk-caller-one-000").status_code for _ in range(3)]
        refused = post("sk-caller-one-000")
        theirs = post("sk-caller-two-000")
        health = http.get("/healthz")

    assert mine == [200, 200, 429]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
    assert "Too many requests" in refused.json()["error"]["message"]
    assert theirs.status_code == 200
    assert health.status_code == 200
    assert running.relay.requests == []


async def test_a_callers_bucket_refills_at_the_rate_per_minute() -> None:
    now = 0.0
    passed: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        passed.append(scope["path"])

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    limited = RateLimit(app, Buckets(60, clock=lambda: now))
    scope: dict[str, Any] = {"type": "http", "path": "/mcp", "headers": [(b"authorization", b"Bearer sk-x")]}
    for _ in range(61):
        await limited(scope, receive, send)
    refused = [message for message in sent if message["type"] == "http.response.start"]
    now = 1.0
    await limited(scope, receive, send)

    assert len(passed) == 61
    assert [message["status"] for message in refused] == [429]
    assert (b"retry-after", b"1") in refused[0]["headers"]
