"""What OAuth costs the front door, side by side with today's shared-token check in the same run:

    uv run python bench/oauth_tokens.py [--requests 1000] [--soak 10000]

1. Per request, with the JWKS cache warm: the guard (transport/guard.py) admitting one request, called as uvicorn
   calls it, in "tokens" mode (AIGC_IMAGE_HTTP_TOKENS, the reference) and in OAuth mode with an access token signed
   RS256, ES256 and EdDSA; median and p99 of `--requests`, the modes interleaved request by request.
2. The JWKS fetches over a soak of `--soak` admitted requests, the issuer (tests/support/fake_issuer.py) served over
   real HTTP on 127.0.0.1. Time is simulated (0.1 s per request, so 10,000 requests span about 17 minutes, as at a
   busy team's rate): a key rotation half way (the new key published a tenth of the soak before the issuer signs with
   it), and, at 70%, a flood of 1,000 tokens naming kids the issuer never had. Expected: 1, plus 1 for the rotation,
   plus one a minute while the flood lasts.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aigc_image_mcp.auth.keys import IssuerKeys
from aigc_image_mcp.auth.rules import oauth_config
from aigc_image_mcp.auth.tokens import JwtVerifier
from aigc_image_mcp.config import Settings
from aigc_image_mcp.transport.asgi import Message, Receive, Scope, Send
from aigc_image_mcp.transport.guard import Guard, Policy
from aigc_image_mcp.transport.oauth import OAuthDoor
from tests.support.fake_issuer import FakeIssuer, make_key
from tests.support.fake_relay import serve

RESOURCE = "https://images.example.com/mcp"
MACHINE = "machine-token-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.time = 0.0

    def __call__(self) -> float:
        return self.time


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def guard_for(issuer: FakeIssuer | None, clock: Clock | None = None) -> Guard:
    values: dict[str, Any] = {"api_key": "sk-bench", "http_tokens": MACHINE, "allowed_hosts": "images.example.com"}
    if issuer is not None:
        values |= {"oauth_issuer": issuer.issuer, "public_url": RESOURCE}
    settings = Settings.model_validate(values)
    policy = Policy.from_settings(settings)
    config = oauth_config(settings)
    if config is None:
        return Guard(app, policy)
    keys = IssuerKeys(config.issuer, clock=clock) if clock is not None else IssuerKeys(config.issuer)
    return Guard(app, replace(policy, oauth=OAuthDoor(config, JwtVerifier(config, keys))))


async def admit(guard: Guard, token: str) -> int:
    """One request through the guard as uvicorn hands it over; its status."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "query_string": b"",
        "headers": [
            (b"host", b"images.example.com"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", b"2"),
        ],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    return sent[0]["status"]


async def per_request(issuer: FakeIssuer, count: int) -> None:
    reference = guard_for(None)
    oauth = guard_for(issuer)
    tokens = {alg: issuer.token(RESOURCE, kid=f"{alg}-1", lifetime=3600) for alg in ("RS256", "ES256", "EdDSA")}
    runs: dict[str, tuple[Guard, str]] = {"shared token (today)": (reference, MACHINE)}
    runs |= {f"OAuth {alg}": (oauth, token) for alg, token in tokens.items()}
    for guard, token in runs.values():  # warm: the JWKS fetched, every code path run once
        for _ in range(20):
            assert await admit(guard, token) == 200
    gc.collect()
    gc.freeze()  # as the server's warm_up does before serving
    took: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(count):
        for name, (guard, token) in runs.items():
            started = time.perf_counter()
            await admit(guard, token)
            took[name].append(time.perf_counter() - started)
    base = statistics.median(took["shared token (today)"])
    print(f"Per request through the guard, warm JWKS cache (median and p99 of {count}):")
    for name, values in took.items():
        ordered = sorted(values)
        median, p99 = statistics.median(values), ordered[round(0.99 * (len(ordered) - 1))]
        extra = "" if name.startswith("shared") else f"   +{(median - base) * 1e6:7.1f} µs"
        print(f"  {name:22} median {median * 1e6:8.1f} µs   p99 {p99 * 1e6:8.1f} µs{extra}")


async def soak(issuer: FakeIssuer, count: int) -> None:
    clock = Clock()
    guard = guard_for(issuer, clock)
    issuer.published = ["RS256-1"]
    publish, rotate, flood = count * 4 // 10, count // 2, count * 7 // 10
    admitted = refused = 0
    for number in range(count):
        clock.time = number * 0.1
        if number == publish:
            issuer.published = ["RS256-1", "RS256-2"]
        kid = "RS256-1" if number < rotate else "RS256-2"
        token = issuer.token(RESOURCE, kid=kid, sub=f"person-{number % 50}")
        if flood <= number < flood + 1000:
            token = issuer.token(RESOURCE, kid="RS256-1", headers={"kid": f"made-up-{number}"})
        status = await admit(guard, token)
        admitted += status == 200
        refused += status != 200
    minutes = count * 0.1 / 60
    print(f"Soak: {count} requests over {minutes:.1f} simulated minutes ({admitted} admitted, {refused} refused):")
    jwks = issuer.fetched["/jwks"]
    print(f"  JWKS fetches {jwks}, metadata fetches {sum(issuer.fetched.values()) - jwks}")
    print(f"  (flood of 1000 made-up kids over {1000 * 0.1 / 60:.1f} minutes; rotation at request {rotate})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--soak", type=int, default=10_000)
    args = parser.parse_args()
    keys = [make_key(f"{alg}-1", alg) for alg in ("RS256", "ES256", "EdDSA")] + [make_key("RS256-2", "RS256")]
    issuer = FakeIssuer(keys=keys)
    with serve(issuer) as url:
        issuer.base_url = url
        await per_request(issuer, args.requests)
        issuer.fetched.clear()
        await soak(issuer, args.soak)


if __name__ == "__main__":
    anyio.run(main)
