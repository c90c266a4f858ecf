"""Sign-in end to end: the server as a subprocess over Streamable HTTP in OAuth mode, a real OpenID provider
(tests/support/idp.py: oidc-provider under the wheel's Node) and the MCP SDK's own OAuth client, which finds its way
from the server's 401 alone: protected resource metadata, the provider's metadata, dynamic client registration, the
code flow with PKCE and the resource indicator, then tools through the fake relay with the server's own key."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import jwt
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from ..clients.servers import node_packages
from ..conftest import CANARY_KEY
from ..support.fake_relay import FakeRelay, accepted, serve
from ..support.helpers import structured, text_of
from ..support.http_server import RunningServer, clean_env, http_server, mcp_client
from ..support.idp import REDIRECT_URI, IdentityProvider, Person, identity_provider, issue_token, oauth_client, sign_in
from ..support.postgres import free_port
from ..support.toolchain import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

TS_CLIENT = Path(__file__).resolve().parents[1] / "clients" / "ts" / "oauth.mjs"

SCOPE = "images"
MACHINE_TOKEN = "tok-machine-5e0c2a9b7d1f43860a"  # noqa: S105 - a test token
ARGS = {"model": "GEM-3.0", "prompt": "a red fox in snow"}


@dataclass
class SignIn:
    """The server in OAuth mode, its relay, the provider it trusts, and where it saves callers' images."""

    server: RunningServer
    relay: FakeRelay
    provider: IdentityProvider
    public_url: str
    images: Path


@contextmanager
def signed_in_server() -> Generator[SignIn]:
    """A provider, a relay, and the server in OAuth mode trusting that provider (machines: MACHINE_TOKEN)."""
    relay = FakeRelay()
    port = free_port()  # the public URL names the port, so it is chosen before the server starts
    public_url = f"http://127.0.0.1:{port}/mcp"
    with (
        identity_provider(scopes=(SCOPE, "other")) as provider,
        serve(relay) as relay_url,
        tempfile.TemporaryDirectory(prefix="aigc-image-oauth-") as folder,
    ):
        env = clean_env(
            QUICKROUTER_BASE_URL=relay_url,
            QUICKROUTER_API_KEY=CANARY_KEY,
            AIGC_IMAGE_OAUTH_ISSUER=provider.issuer,
            AIGC_IMAGE_PUBLIC_URL=public_url,
            AIGC_IMAGE_OAUTH_SCOPE=SCOPE,
            AIGC_IMAGE_HTTP_TOKENS=MACHINE_TOKEN,
            AIGC_IMAGE_OUTPUT_DIR=f"{folder}/images",
            AIGC_IMAGE_LOG_LEVEL="DEBUG",
        )
        with http_server(env, "--port", str(port)) as server:
            yield SignIn(server, relay, provider, public_url, Path(folder) / "images")


@pytest.fixture(scope="module")
def signin() -> Iterator[SignIn]:
    with signed_in_server() as it:
        yield it


def claims(token: str) -> dict[str, object]:
    """What a JWT says, unverified: the client's view of the token it was given."""
    return jwt.decode(token, options={"verify_signature": False})


def assert_no_tokens_in(text: str, *people: Person) -> None:
    for person in people:
        tokens = person.tokens.tokens
        assert tokens is not None
        assert tokens.access_token not in text
        assert tokens.refresh_token is None or tokens.refresh_token not in text


async def test_the_sdk_client_signs_in_from_the_401_and_generates_an_image(signin: SignIn) -> None:
    server, relay = signin.server, signin.relay
    task = "1392336703-AigcImageTask-0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0at"
    relay.script.append(accepted(task))
    alice = Person("alice")
    async with oauth_client(server.mcp_url, alice) as client:
        tools = await client.list_tools()
        made = await client.call_tool("generate_image", {**ARGS, "wait_seconds": 0})

    assert "generate_image" in [tool.name for tool in tools.tools]
    assert not made.is_error, text_of(made)
    assert structured(made)["task_id"] == task
    assert task in text_of(made)
    # One sign-in: the code flow with PKCE, for this server's resource and the scope it names.
    [visit] = alice.visits
    query = {name: values[0] for name, values in parse_qs(urlsplit(visit).query).items()}
    assert visit.startswith(signin.provider.issuer)
    assert (query["resource"], query["code_challenge_method"], query["response_type"]) == (
        signin.public_url,
        "S256",
        "code",
    )
    assert SCOPE in query["scope"].split()
    # The client registered itself with the provider, and holds a token for this server, as alice.
    assert alice.tokens.client_info is not None
    assert alice.tokens.client_info.client_id == query["client_id"]
    assert alice.tokens.tokens is not None
    given = claims(alice.tokens.tokens.access_token)
    assert (given["iss"], given["aud"], given["sub"]) == (signin.provider.issuer, signin.public_url, "alice")
    # The server paid with its own key; the token went no further than the server, and it logged none.
    [submit] = [request for request in relay.requests if request.method == "POST"]
    assert submit.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert all(request.headers.get("authorization") == f"Bearer {CANARY_KEY}" for request in relay.requests)
    assert_no_tokens_in(server.log.text, alice)


async def test_a_signed_in_client_comes_back_without_signing_in_again(signin: SignIn) -> None:
    bob = Person("bob")
    for _ in range(2):
        async with oauth_client(signin.server.mcp_url, bob) as client:
            await client.list_tools()
    assert len(bob.visits) == 1


async def test_two_people_see_only_their_own_tasks_and_images(signin: SignIn) -> None:
    server, relay = signin.server, signin.relay
    tasks = {"carol": "1392336703-AigcImageTask-c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0t"}
    tasks["dave"] = "1392336703-AigcImageTask-d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0t"
    people = {login: Person(login) for login in tasks}
    listings: dict[str, str] = {}
    for login, person in people.items():
        relay.script.append(accepted(tasks[login]))
        async with oauth_client(server.mcp_url, person) as client:
            made = await client.call_tool("generate_image", ARGS)  # waits: the relay finishes it at once
            assert not made.is_error, text_of(made)
            listing = await client.call_tool("list_image_tasks", {})
            assert not listing.is_error, text_of(listing)
            listings[login] = json.dumps(listing.structured_content)
    async with oauth_client(server.mcp_url, people["dave"]) as dave:
        peek = await dave.call_tool("get_image_task", {"task_id": tasks["carol"], "wait_seconds": 0})

    assert tasks["carol"] in listings["carol"]
    assert tasks["dave"] not in listings["carol"]
    assert tasks["dave"] in listings["dave"]
    assert tasks["carol"] not in listings["dave"]
    assert peek.is_error, "dave read carol's task"
    # Each person's images are saved in a folder of their own (named by a fingerprint, not by who they are).
    folders = {login: {path.parent for path in signin.images.rglob(f"*{task}*")} for login, task in tasks.items()}
    assert all(len(found) == 1 for found in folders.values()), folders
    [carols], [daves] = folders["carol"], folders["dave"]
    assert carols != daves
    assert {carols.parent, daves.parent} == {signin.images}
    assert all(login not in folder.name for login in tasks for folder in (carols, daves))
    assert_no_tokens_in(server.log.text, *people.values())


async def test_machines_keep_their_static_token_beside_oauth(signin: SignIn) -> None:
    async with mcp_client(signin.server.mcp_url, MACHINE_TOKEN) as client:
        tools = await client.list_tools()
    assert "generate_image" in [tool.name for tool in tools.tools]


async def test_the_provider_s_tokens_for_another_resource_or_scope_are_refused(signin: SignIn) -> None:
    """Real tokens from the trusted provider, but not for this server (401) or without its scope (403)."""
    async with httpx2.AsyncClient(timeout=30) as http:
        elsewhere = await issue_token(
            http, signin.provider, "erin", resource="https://elsewhere.example.com/mcp", scope=SCOPE
        )
        narrow = await issue_token(http, signin.provider, "erin", resource=signin.public_url, scope="other")
        nothing = await http.post(signin.server.mcp_url, json={})
        answers = [
            await http.post(signin.server.mcp_url, json={}, headers={"Authorization": f"Bearer {t['access_token']}"})
            for t in (elsewhere, narrow)
        ]

    metadata = f'resource_metadata="http://127.0.0.1:{signin.server.log.port}/.well-known/oauth-protected-resource/mcp"'
    assert nothing.status_code == 401
    assert metadata in nothing.headers["www-authenticate"]
    assert "invalid_token" not in nothing.headers["www-authenticate"]
    assert answers[0].status_code == 401
    assert 'error="invalid_token"' in answers[0].headers["www-authenticate"]
    assert answers[1].status_code == 403
    assert 'error="insufficient_scope"' in answers[1].headers["www-authenticate"]
    assert f'scope="{SCOPE}"' in answers[1].headers["www-authenticate"]
    for token in (elsewhere, narrow):
        assert token["access_token"] not in signin.server.log.text


async def test_the_server_fetches_the_keys_once_and_again_after_the_provider_rotates_them() -> None:
    with signed_in_server() as fresh:
        alice, bob = Person("alice"), Person("bob")
        async with oauth_client(fresh.server.mcp_url, alice) as client:
            for _ in range(20):
                await client.list_tools()
        once = fresh.provider.jwks_fetches
        fresh.provider.rotate()
        async with oauth_client(fresh.server.mcp_url, bob) as client:  # bob's token: signed by the new key
            for _ in range(20):
                await client.list_tools()
        async with oauth_client(fresh.server.mcp_url, alice) as client:  # alice's: by the old one, still published
            await client.list_tools()
        twice = fresh.provider.jwks_fetches

    assert (len(alice.visits), len(bob.visits)) == (1, 1), "a valid token was refused"
    assert (once, twice) == (1, 2)


async def typescript_client(url: str, login: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    """tests/clients/ts/oauth.mjs (the TypeScript SDK's client and its OAuth support) against `url`; `login` signs in
    when it asks. Its last line: the tools, the calls' results and the access token it was given."""
    node = node_packages("@modelcontextprotocol/client")
    spec = {"url": url, "redirectUri": REDIRECT_URI, "calls": calls}
    command = [node, str(TS_CLIENT), json.dumps(spec)]
    # Its stderr is the test's: pytest shows it when the test fails.
    with anyio.fail_after(120):
        async with await anyio.open_process(command, cwd=ROOT, stderr=None) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            lines = BufferedByteReceiveStream(process.stdout)
            signed_in = 0
            while True:
                try:
                    line = json.loads(await lines.receive_until(b"\n", 1 << 22))
                except (anyio.IncompleteRead, anyio.EndOfStream):
                    raise AssertionError("the TypeScript client ended without its result (see its stderr)") from None
                if "authorize" not in line:
                    return {**line, "signed_in": signed_in}
                signed_in += 1
                await process.stdin.send(f"{await sign_in(line['authorize'], login)}\n".encode())


async def test_the_typescript_sdk_client_signs_in_and_generates_an_image(signin: SignIn) -> None:
    task = "1392336703-AigcImageTask-e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0t"
    signin.relay.script.append(accepted(task))
    done = await typescript_client(
        signin.server.mcp_url, "frank", [{"name": "generate_image", "arguments": {**ARGS, "wait_seconds": 0}}]
    )

    assert done["signed_in"] == 1
    assert "generate_image" in done["tools"]
    [call] = done["calls"]
    assert not call["result"].get("isError"), call
    assert call["result"]["structuredContent"]["task_id"] == task
    given = claims(done["accessToken"])
    assert (given["iss"], given["aud"], given["sub"]) == (signin.provider.issuer, signin.public_url, "frank")
    assert done["accessToken"] not in signin.server.log.text
