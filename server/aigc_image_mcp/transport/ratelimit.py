"""An optional per-caller request rate limit for the HTTP transport (AIGC_IMAGE_RATE_LIMIT, requests per minute):
past it, 429 with Retry-After, before any MCP processing. Pure ASGI, behind the guard (so only authenticated
requests count, and /healthz never does).

A caller is its bearer token (a relay key in pass-through mode, a token in shared-key mode), kept only as a
fingerprint; in OAuth mode a signed-in person, (iss, sub), whichever token they present; without one (open mode,
loopback only) all requests are one caller.

Where several processes answer (AIGC_IMAGE_DATABASE_URL: replicas sharing PostgreSQL; or AIGC_IMAGE_WORKERS above 1 on
the one SQLite file), the count is kept in the history store, so the rate holds across all of them (shared.py: `rate`
requests per caller per one-minute window). Where one process answers alone, a token bucket in the process counts
(`rate` requests at once, refilled at `rate` per minute): nothing to share, and no write to the file per request.
"""

from __future__ import annotations

import math
from typing import Protocol

from pydantic import SecretStr

from ..callers import bearer_token, fingerprint
from ..config import Settings
from ..protocol.caller import person_of
from .asgi import ASGIApp, HttpMiddleware, Message, Receive, Scope, Send, refuse
from .buckets import Buckets


class Counter(Protocol):
    """Counts each caller's requests."""

    async def take(self, caller: str) -> float:
        """Count one request of `caller`: 0 when it may go on, else the seconds until it may."""
        ...

    async def aclose(self) -> None:
        """Close what the counter opened."""
        ...


class RateLimit(HttpMiddleware):
    """ASGI middleware: at most the counter's rate of requests per caller; the counter is closed with the app's
    lifespan."""

    def __init__(self, app: ASGIApp, counter: Counter) -> None:
        super().__init__(app)
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await super().__call__(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.counter.aclose()
            await send(message)

        await self.app(scope, receive, closing)

    async def handle(self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send) -> None:
        wait = await self.counter.take(_caller(scope, headers))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            message = f"Too many requests from this caller: this server allows a limited rate. Retry in {seconds} s."
            await refuse(send, 429, message, ((b"retry-after", str(seconds).encode()),))
            return
        await self.app(scope, receive, send)


def rate_limited(app: ASGIApp, settings: Settings) -> ASGIApp:
    """`app` behind the rate limit the settings ask for (none without AIGC_IMAGE_RATE_LIMIT), counted where every
    process answering requests can see it."""
    if settings.rate_limit is None:
        return app
    if settings.database_url is None and settings.workers == 1:
        return RateLimit(app, Buckets(settings.rate_limit))
    from ..history.opener import open_history
    from .shared import SharedCount

    return RateLimit(app, SharedCount(open_history(settings, durable=False), settings.rate_limit))


def _caller(scope: Scope, headers: dict[str, str]) -> str:
    person = person_of(scope.get("user"))
    if person is not None:
        return "person:" + person.fingerprint
    token = bearer_token(headers)
    return "" if token is None else fingerprint(SecretStr(token))
