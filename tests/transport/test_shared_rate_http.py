"""The rate limit as it runs across processes: two replicas (real server processes) on one PostgreSQL never together
let a caller past AIGC_IMAGE_RATE_LIMIT, each signed-in person (OAuth) has their own allowance across both, two
workers on one SQLite file share the count, and a database that is down lets requests through at each process's own
rate, with one warning."""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from ..conftest import CANARY_KEY
from ..support.fake_issuer import FakeIssuer, make_key
from ..support.fake_relay import FakeRelay, serve
from ..support.http_server import INITIALIZE, MCP_HEADERS, RunningServer, clean_env, http_server

pytestmark = pytest.mark.slow

RATE = 6
MACHINE = "machine-token-0c4f2b7e9a1d"


def post(url: str, token: str) -> httpx2.Response:
    """One request on a connection of its own (so workers of one process share them out)."""
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    return httpx2.post(url + "/mcp", content=json.dumps(INITIALIZE), headers=headers, timeout=30)


def at_once(requests: list[tuple[str, str]]) -> list[httpx2.Response]:
    """Each (server URL, token) sent concurrently."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(post, *zip(*requests, strict=True)))


def room_in_the_minute(seconds: float = 20.0) -> None:
    """Wait, if need be, until the wall clock's minute (the shared count's window) has `seconds` left, so that the
    requests a test sends all fall in one window."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Replicas:
    servers: list[RunningServer]
    issuer: FakeIssuer
    resource: str

    def token(self, sub: str, number: int) -> str:
        return self.issuer.token(self.resource, sub=sub, jti=f"{sub}-{number}")


@pytest.fixture
def replicas(postgres_url: str, tmp_path: Path) -> Iterator[Replicas]:
    relay, issuer = FakeRelay(), FakeIssuer(path="/realms/team", keys=[make_key("ec-1", "ES256")])
    resource = "https://images.example.test/mcp"  # the load balancer's URL, the same for both replicas
    with serve(relay) as relay_url, serve(issuer) as issuer_url, ExitStack() as stack:
        issuer.base_url = issuer_url
        env = clean_env(
            HOME=str(tmp_path / "home"),
            QUICKROUTER_BASE_URL=relay_url,
            QUICKROUTER_API_KEY=CANARY_KEY,
            AIGC_IMAGE_OAUTH_ISSUER=issuer.issuer,
            AIGC_IMAGE_PUBLIC_URL=resource,
            AIGC_IMAGE_HTTP_TOKENS=MACHINE,
            AIGC_IMAGE_DATABASE_URL=postgres_url,
            AIGC_IMAGE_RATE_LIMIT=str(RATE),
        )
        servers = [stack.enter_context(http_server(env)) for _ in range(2)]
        yield Replicas(servers, issuer, resource)


def test_two_replicas_never_together_let_one_caller_past_the_rate(replicas: Replicas) -> None:
    room_in_the_minute()
    answers = at_once([(replicas.servers[n % 2].url, MACHINE) for n in range(20)])
    left = 60 - time.time() % 60

    statuses = [answer.status_code for answer in answers]
    assert sorted(statuses) == [200] * RATE + [429] * (20 - RATE)
    served = {n % 2 for n, status in enumerate(statuses) if status == 200}
    refused = {n % 2 for n, status in enumerate(statuses) if status == 429}
    assert served | refused == {0, 1}
    waits = {int(answer.headers["retry-after"]) for answer in answers if answer.status_code == 429}
    assert all(math.floor(left) <= wait <= math.ceil(left) + 20 for wait in waits), (waits, left)


def test_each_person_has_their_own_allowance_across_both_replicas(replicas: Replicas) -> None:
    room_in_the_minute()
    # Alice presents a new token with each request; Bob too: they count as people, not tokens.
    requests = [(replicas.servers[n % 2].url, replicas.token(sub, n)) for n in range(10) for sub in ("alice", "bob")]
    answers = at_once(requests)

    admitted = {"alice": 0, "bob": 0}
    for n, answer in enumerate(answers):
        assert answer.status_code in (200, 429), answer.text
        admitted["alice" if n % 2 == 0 else "bob"] += answer.status_code == 200
    assert admitted == {"alice": RATE, "bob": RATE}
    assert post(replicas.servers[1].url, replicas.token("carol", 0)).status_code == 200


def test_two_workers_on_one_sqlite_file_share_the_count(tmp_path: Path) -> None:
    env = clean_env(HOME=str(tmp_path / "home"), AIGC_IMAGE_RATE_LIMIT=str(RATE), AIGC_IMAGE_LOG_LEVEL="DEBUG")
    with http_server(env, "--workers", "2", workers=2) as server:
        room_in_the_minute()
        answers = at_once([(server.url, "sk-one-caller-0001") for _ in range(24)])
        log = server.log.text

    assert sorted(answer.status_code for answer in answers) == [200] * RATE + [429] * (24 - RATE)
    assert log.count("Started server process") == 2


def test_a_database_that_is_down_lets_requests_through_at_each_process_rate(tmp_path: Path) -> None:
    down = f"postgresql://aigc@127.0.0.1:{free_port()}/images"  # nothing listens there
    env = clean_env(HOME=str(tmp_path / "home"), AIGC_IMAGE_RATE_LIMIT="3", AIGC_IMAGE_DATABASE_URL=down)
    with http_server(env) as server:
        statuses = [post(server.url, "sk-one-caller-0001").status_code for _ in range(5)]
        other = post(server.url, "sk-another-caller-02").status_code
        log = server.log.text

    assert statuses == [200, 200, 200, 429, 429]
    assert other == 200
    assert log.count("The rate limit cannot be counted in the task history") == 1
    assert "sk-one-caller" not in log
