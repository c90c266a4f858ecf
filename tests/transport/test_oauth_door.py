"""The front door in OAuth mode, in process (the guard over httpx2's ASGI transport, the issuer's keys from a fake
issuer): the Protected Resource Metadata, the challenges, who gets through, and the settings' combination rules."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from aigc_image_mcp.auth.keys import IssuerKeys
from aigc_image_mcp.auth.rules import oauth_config
from aigc_image_mcp.auth.tokens import JwtVerifier
from aigc_image_mcp.config import Settings
from aigc_image_mcp.errors import ConfigError
from aigc_image_mcp.protocol.caller import person_of
from aigc_image_mcp.transport.asgi import Receive, Scope, Send
from aigc_image_mcp.transport.guard import Guard, Policy
from aigc_image_mcp.transport.oauth import OAuthDoor

from ..conftest import make_settings
from ..support.fake_issuer import FakeIssuer

pytestmark = pytest.mark.anyio

ISSUER = "https://login.example.com/realms/team"
RESOURCE = "https://images.example.com/mcp"
MACHINE = "machine-token-0123456789"
METADATA = "https://images.example.com/.well-known/oauth-protected-resource/mcp"
OAUTH = {"oauth_issuer": ISSUER, "public_url": RESOURCE}


class Reached:
    """Stands for the MCP app: records the person each request reached it as."""

    def __init__(self) -> None:
        self.people: list[Any] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        self.people.append(person_of(scope.get("user")))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def guard_with(settings: Settings, issuer: FakeIssuer, app: Reached) -> Guard:
    policy = Policy.from_settings(settings)
    config = oauth_config(settings)
    assert config is not None
    keys = IssuerKeys(config.issuer, client=lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(issuer)))
    return Guard(app, replace(policy, oauth=OAuthDoor(config, JwtVerifier(config, keys))))


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer(base_url="https://login.example.com", path="/realms/team")


async def request(
    guard: Guard, method: str, path: str, token: str | None = None, host: str = "images.example.com"
) -> httpx2.Response:
    headers = {"Host": host, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
    transport = httpx2.ASGITransport(app=guard)
    async with httpx2.AsyncClient(transport=transport, base_url="https://images.example.com") as client:
        return await client.request(method, path, headers=headers, content=b"{}" if method == "POST" else None)


@pytest.mark.parametrize("path", ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"])
async def test_the_resource_metadata_is_served_without_auth_at_both_paths(issuer: FakeIssuer, path: str) -> None:
    guard = guard_with(make_settings(**OAUTH, oauth_scope="images"), issuer, Reached())

    answer = await request(guard, "GET", path)

    assert answer.status_code == 200
    assert answer.json() == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["images"],
        "bearer_methods_supported": ["header"],
        "resource_name": "aigc-image-mcp",
    }
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "HEAD"):
        refused = await request(guard, method, path)
        assert refused.status_code == 405, method
        assert refused.headers["allow"] == "GET"


async def test_without_a_token_the_challenge_points_at_the_metadata(issuer: FakeIssuer) -> None:
    app = Reached()
    guard = guard_with(make_settings(**OAUTH), issuer, app)

    answer = await request(guard, "POST", "/mcp")

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == f'Bearer resource_metadata="{METADATA}"'
    assert app.people == []


async def test_a_bad_token_is_401_invalid_token_and_a_token_without_the_scope_403(issuer: FakeIssuer) -> None:
    app = Reached()
    guard = guard_with(make_settings(**OAUTH, oauth_scope="images generate"), issuer, app)

    bad = await request(guard, "POST", "/mcp", issuer.token("https://other.example.com/mcp"))
    narrow = await request(guard, "POST", "/mcp", issuer.token(RESOURCE, scope="images openid"))

    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{METADATA}", error="invalid_token", scope="images generate"'
    )
    assert narrow.status_code == 403
    assert narrow.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{METADATA}", error="insufficient_scope", scope="images generate"'
    )
    assert "generate" in narrow.json()["error"]["message"]
    assert app.people == []


async def test_a_valid_token_reaches_the_app_as_its_person(issuer: FakeIssuer) -> None:
    app = Reached()
    guard = guard_with(make_settings(**OAUTH, oauth_scope="images"), issuer, app)

    answer = await request(guard, "POST", "/mcp", issuer.token(RESOURCE, sub="bob"))

    assert answer.status_code == 200
    assert [(p.issuer, p.subject) for p in app.people] == [(ISSUER, "bob")]


async def test_a_machine_token_still_gets_in_beside_oauth(issuer: FakeIssuer) -> None:
    app = Reached()
    guard = guard_with(make_settings(**OAUTH, http_tokens=MACHINE), issuer, app)

    assert (await request(guard, "POST", "/mcp", MACHINE)).status_code == 200
    assert (await request(guard, "POST", f"/mcp?access_token={MACHINE}", MACHINE)).status_code == 401
    assert (await request(guard, "POST", "/mcp", "machine-token-wrong-0123")).status_code == 401
    assert app.people == [None]


async def test_a_token_in_the_query_string_is_refused_and_never_logged(
    issuer: FakeIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    app = Reached()
    guard = guard_with(make_settings(**OAUTH), issuer, app)
    token = issuer.token(RESOURCE)

    with caplog.at_level(logging.DEBUG, logger="aigc_image_mcp"):
        answer = await request(guard, "POST", f"/mcp?access_token={token}", token)
    ours = "".join(r.getMessage() for r in caplog.records if r.name.startswith("aigc_image_mcp"))

    assert answer.status_code == 401
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]
    assert app.people == []
    assert token not in ours
    assert "query string" in ours


async def test_the_public_urls_host_is_allowed_and_others_are_not(issuer: FakeIssuer) -> None:
    guard = guard_with(make_settings(**OAUTH), issuer, Reached())

    assert (await request(guard, "GET", "/.well-known/oauth-protected-resource")).status_code == 200
    assert (
        await request(guard, "GET", "/.well-known/oauth-protected-resource", host="evil.example")
    ).status_code == 421


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"oauth_issuer": ISSUER}, "AIGC_IMAGE_PUBLIC_URL is not"),
        ({"public_url": RESOURCE}, "AIGC_IMAGE_OAUTH_ISSUER is not"),
        ({"oauth_scope": "images"}, "AIGC_IMAGE_OAUTH_ISSUER is not"),
        ({**OAUTH, "oauth_issuer": "http://login.example.com"}, "AIGC_IMAGE_OAUTH_ISSUER must use https://"),
        ({**OAUTH, "public_url": "http://images.example.com/mcp"}, "AIGC_IMAGE_PUBLIC_URL must use https://"),
        ({**OAUTH, "oauth_issuer": "login.example.com"}, "AIGC_IMAGE_OAUTH_ISSUER must be an https:// URL"),
        ({**OAUTH, "public_url": "https://images.example.com/mcp?x=1"}, "AIGC_IMAGE_PUBLIC_URL must have no query"),
        ({**OAUTH, "api_key": None}, "AIGC_IMAGE_OAUTH_ISSUER is set but the server has no credentials"),
    ],
)
def test_a_bad_combination_is_refused_naming_the_variable(values: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("?", r"\?")):
        oauth_config(make_settings(**values))


def test_a_loopback_issuer_and_public_url_may_use_http() -> None:
    config = oauth_config(
        make_settings(oauth_issuer="http://127.0.0.1:9000", public_url="http://localhost:8000/mcp", oauth_scope="a b a")
    )

    assert config is not None
    assert config.scopes == ("a", "b")
    assert config.metadata_url == "http://localhost:8000/.well-known/oauth-protected-resource/mcp"
    assert oauth_config(make_settings()) is None
