"""OAuth mode as it runs: the real server over HTTP on 127.0.0.1, its issuer a fake one served over real HTTP (keys
the test made), its relay the fake relay. People are (iss, sub): each has their own history, images folder, daily
limit and rate limit, whatever token they present."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from aigc_image_mcp.callers import Person

from ..conftest import CANARY_KEY
from ..support.fake_issuer import FakeIssuer, make_key
from ..support.fake_relay import FakeRelay, accepted, serve
from ..support.helpers import text_of
from ..support.http_server import (
    INITIALIZE,
    MCP_HEADERS,
    START_TIMEOUT,
    RunningServer,
    clean_env,
    command,
    http_server,
    mcp_client,
)
from ..support.raw_rpc import TASKS, over_http

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

MACHINE = "machine-token-5e1c0a9b7d3f"
ARGS = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


@dataclass
class OAuthServer:
    server: RunningServer
    relay: FakeRelay
    issuer: FakeIssuer
    resource: str
    images: Path

    def token(self, sub: str, **claims: Any) -> str:
        return self.issuer.token(self.resource, sub=sub, **claims)

    def post(self, token: str | None = None, path: str = "/mcp") -> httpx2.Response:
        headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx2.post(self.server.url + path, content=json.dumps(INITIALIZE), headers=headers, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    relay, issuer = FakeRelay(), FakeIssuer(path="/realms/team", keys=[make_key("ec-1", "ES256")])
    images = tmp_path_factory.mktemp("oauth-images")
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with serve(relay) as relay_url, serve(issuer) as issuer_url:
        issuer.base_url = issuer_url
        env = clean_env(
            QUICKROUTER_BASE_URL=relay_url,
            QUICKROUTER_API_KEY=CANARY_KEY,
            AIGC_IMAGE_OAUTH_ISSUER=issuer.issuer,
            AIGC_IMAGE_PUBLIC_URL=resource,
            AIGC_IMAGE_OAUTH_SCOPE="images",
            AIGC_IMAGE_HTTP_TOKENS=MACHINE,
            AIGC_IMAGE_OUTPUT_DIR=str(images),
            AIGC_IMAGE_DAILY_TASK_LIMIT="3",
            AIGC_IMAGE_RATE_LIMIT="12",
            AIGC_IMAGE_LOG_LEVEL="DEBUG",
        )
        with http_server(env, "--port", str(port)) as server:
            yield OAuthServer(server, relay, issuer, resource, images)


def test_the_metadata_is_public_get_only_and_names_the_issuer(oauth: OAuthServer) -> None:
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        answer = httpx2.get(oauth.server.url + path, timeout=30)
        posted = httpx2.post(oauth.server.url + path, timeout=30)

        assert answer.status_code == 200
        assert answer.json()["resource"] == oauth.resource
        assert answer.json()["authorization_servers"] == [oauth.issuer.issuer]
        assert answer.json()["scopes_supported"] == ["images"]
        assert answer.json()["bearer_methods_supported"] == ["header"]
        assert posted.status_code == 405


def test_the_challenges_point_at_the_metadata(oauth: OAuthServer) -> None:
    metadata = f"{oauth.server.url}/.well-known/oauth-protected-resource/mcp"

    none = oauth.post()
    expired = oauth.post(oauth.token("alice", exp=1_000_000))
    narrow = oauth.post(oauth.token("alice", scope="openid"))

    assert none.status_code == 401
    assert none.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata}", scope="images"'
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert narrow.status_code == 403
    assert 'error="insufficient_scope", scope="images"' in narrow.headers["www-authenticate"]
    assert oauth.server.log.wait_for("Refused an access token: expired")


def test_a_token_in_the_query_string_is_refused_and_appears_in_no_log(oauth: OAuthServer) -> None:
    token = oauth.token("alice")

    answer = oauth.post(token, path=f"/mcp?access_token={token}")

    assert answer.status_code == 401
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]
    assert oauth.server.log.wait_for("access token in its query string")
    assert token not in oauth.server.log.text
    assert token.split(".")[2] not in oauth.server.log.text


async def test_each_person_sees_only_their_own_tasks_and_images(oauth: OAuthServer) -> None:
    alice_task, bob_task = "1392336703-AigcImageTask-oauth-alice", "1392336703-AigcImageTask-oauth-bob"
    oauth.relay.script.extend([accepted(alice_task), accepted(bob_task)])
    async with mcp_client(oauth.server.mcp_url, oauth.token("alice")) as alice:
        made = await alice.call_tool("generate_image", ARGS)
    async with mcp_client(oauth.server.mcp_url, oauth.token("bob")) as bob:
        other = await bob.call_tool("generate_image", ARGS)
        listing = await bob.call_tool("list_image_tasks", {})
        peek = await bob.call_tool("get_image_task", {"task_id": alice_task, "wait_seconds": 0})
        with pytest.raises(MCPError, match="has no image 1 of task"):
            await bob.read_resource(f"aigc-image://tasks/{alice_task}/image-1.png")
    # Alice again, with another token (a refreshed one): the same person, the same history.
    async with mcp_client(oauth.server.mcp_url, oauth.token("alice", jti="second")) as alice:
        own = await alice.call_tool("list_image_tasks", {})

    assert not made.is_error, text_of(made)
    assert not other.is_error, text_of(other)
    assert oauth.relay.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert bob_task in json.dumps(listing.structured_content)
    assert alice_task not in json.dumps(listing.structured_content)
    assert peek.is_error
    assert "not in the history of this caller" in text_of(peek)
    assert alice_task in json.dumps(own.structured_content)
    assert bob_task not in json.dumps(own.structured_content)
    issuer = oauth.issuer.issuer
    alice_folder = oauth.images / Person(issuer, "alice").fingerprint
    bob_folder = oauth.images / Person(issuer, "bob").fingerprint
    assert [alice_task in p.name for p in alice_folder.iterdir()] == [True]
    assert [bob_task in p.name for p in bob_folder.iterdir()] == [True]


async def test_tasks_get_never_shows_another_persons_task(oauth: OAuthServer) -> None:
    task = "1392336703-AigcImageTask-oauth-carol"
    oauth.relay.script.append(accepted(task))
    generate = {"name": "generate_image", "arguments": ARGS}
    async with httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {oauth.token('carol')}"}) as http:
        created = await over_http(http, oauth.server.mcp_url)("tools/call", generate, TASKS)
        own = await over_http(http, oauth.server.mcp_url)("tasks/get", {"taskId": task}, TASKS)
    async with httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {oauth.token('dave')}"}) as http:
        other = await over_http(http, oauth.server.mcp_url)("tasks/get", {"taskId": task}, TASKS)

    assert created["result"]["taskId"] == task
    assert own["result"]["taskId"] == task
    assert "error" in other
    assert task not in json.dumps(other.get("result", {}))


async def test_the_daily_limit_and_the_rate_limit_are_per_person(oauth: OAuthServer) -> None:
    async with mcp_client(oauth.server.mcp_url, oauth.token("erin")) as erin:
        results = [await erin.call_tool("generate_image", {**ARGS, "wait_seconds": 0}) for _ in range(4)]
    async with mcp_client(oauth.server.mcp_url, oauth.token("frank")) as frank:
        fresh = await frank.call_tool("generate_image", {**ARGS, "wait_seconds": 0})
    statuses = [oauth.post(oauth.token("grace", jti=str(n))).status_code for n in range(14)]

    assert [r.is_error for r in results] == [False, False, False, True]
    assert "daily" in text_of(results[3]).lower()
    assert not fresh.is_error, text_of(fresh)
    assert statuses[:12] == [200] * 12
    assert 429 in statuses[12:], "12 a minute for grace, whichever of her tokens she sends"
    assert oauth.post(oauth.token("heidi")).status_code == 200


async def test_a_machine_token_keeps_working_beside_oauth(oauth: OAuthServer) -> None:
    async with mcp_client(oauth.server.mcp_url, MACHINE) as machine:
        result = await machine.call_tool("list_image_tasks", {})

    assert not result.is_error, text_of(result)
    assert oauth.post("machine-token-wrong-0000").status_code == 401


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AIGC_IMAGE_OAUTH_ISSUER": "http://login.example.com"}, "AIGC_IMAGE_OAUTH_ISSUER must use https://"),
        ({"AIGC_IMAGE_PUBLIC_URL": ""}, "AIGC_IMAGE_PUBLIC_URL is not"),
        ({"QUICKROUTER_API_KEY": ""}, "the server has no credentials of its own"),
    ],
    ids=["http-issuer-off-loopback", "no-public-url", "no-server-credentials"],
)
def test_a_bad_oauth_combination_stops_the_server_at_start(env: dict[str, str], named: str) -> None:
    base = {
        "QUICKROUTER_API_KEY": CANARY_KEY,
        "AIGC_IMAGE_OAUTH_ISSUER": "https://login.example.com",
        "AIGC_IMAGE_PUBLIC_URL": "https://images.example.com/mcp",
    }
    done = subprocess.run(
        command("--host", "0.0.0.0"),  # noqa: S104 - refused before it binds
        env=clean_env(**{**base, **env}),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )

    assert done.returncode != 0
    assert named in done.stderr
    assert CANARY_KEY not in done.stderr + done.stdout
