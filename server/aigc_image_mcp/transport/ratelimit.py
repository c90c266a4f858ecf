"""An optional per-caller request rate limit for the HTTP transport (AIGC_IMAGE_RATE_LIMIT, requests per minute):
past it, 429 with Retry-After, before any MCP processing. Pure ASGI, behind the guard (so only authenticated
requests count, and /healthz never does).

A caller is its bearer token (a relay key in pass-through mode, a token in shared-key mode), kept only as a
fingerprint; in OAuth mode a signed-in person, (iss, sub), whichever token they present; without one (open mode,
loopback only) all requests are one caller. Each caller has a token bucket:
`rate` requests at once, refilled at `rate` per minute. The buckets live in the worker process: with several
workers or replicas, each allows the rate (the daily task limit, which guards money, is the one shared across them).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable

from ..callers import bearer_token
from ..protocol.caller import person_of
from .guard import ASGIApp, Receive, Scope, Send

_MOST_CALLERS = 10_000
"""Buckets kept at most; past it, the full ones (callers idle for a minute or more) are forgotten."""


class RateLimit:
    """ASGI middleware: at most `rate` requests per minute per caller; `clock` tells the time in tests."""

    def __init__(self, app: ASGIApp, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._rate = float(rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when counted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        wait = self._take(_caller(scope, headers))
        if wait > 0:
            await _too_many(send, wait)
            return
        await self.app(scope, receive, send)

    def _take(self, caller: str) -> float:
        """Spend one request of the caller's bucket: 0, or the seconds until one is there again."""
        now = self._clock()
        tokens, then = self._buckets.get(caller, (self._rate, now))
        tokens = min(self._rate, tokens + (now - then) * self._rate / 60)
        if tokens < 1:
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) * 60 / self._rate
        if len(self._buckets) >= _MOST_CALLERS and caller not in self._buckets:
            self._forget_idle(now)
        self._buckets[caller] = (tokens - 1, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        idle = [name for name, (_, then) in self._buckets.items() if now - then >= 60]
        for name in idle:
            del self._buckets[name]


def _caller(scope: Scope, headers: dict[str, str]) -> str:
    person = person_of(scope.get("user"))
    if person is not None:
        return "person:" + person.fingerprint
    token = bearer_token(headers)
    return "" if token is None else hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def _too_many(send: Send, wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    message = f"Too many requests from this caller: this server allows a limited rate. Retry in {seconds} s."
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
