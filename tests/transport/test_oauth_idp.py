"""The identity provider the OAuth tests run against (tests/support/idp.py), checked on its own: it must behave as the
MCP authorization flow needs before the server's tests can lean on it. Open registration of a native client with a
loopback redirect URI, the code flow with PKCE (S256, required), a JWT access token for the resource indicator
(RFC 8707) with the scope asked for, its keys at jwks_uri, and refresh tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import jwt
import pytest
from mcp.client.auth import PKCEParameters

from ..support.idp import (
    REDIRECT_URI,
    IdentityProvider,
    authorization_result,
    discovery,
    identity_provider,
    issue_token,
    register,
    sign_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

RESOURCE = "https://images.example.com/mcp"
SCOPE = "images"


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    with identity_provider(scopes=(SCOPE, "other")) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30) as client:
        yield client


async def verified(
    http: httpx2.AsyncClient, provider: IdentityProvider, token: str, *, audience: str
) -> dict[str, Any]:
    """The claims of a JWT access token, its signature checked against the provider's published keys."""
    keys = jwt.PyJWKSet.from_dict((await http.get(str((await discovery(http, provider))["jwks_uri"]))).json())
    key = next(key for key in keys.keys if key.key_id == jwt.get_unverified_header(token)["kid"])
    return jwt.decode(
        token, key, algorithms=[str(key.algorithm_name)], audience=audience, issuer=provider.issuer, leeway=0
    )


def authorization_url(metadata: dict[str, Any], client_id: str, **changes: str | None) -> str:
    """An authorization request for RESOURCE and SCOPE with PKCE; `changes` replace (or with None, drop) parameters."""
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "resource": RESOURCE,
        "state": "s1",
        "code_challenge": PKCEParameters.generate().code_challenge,
        "code_challenge_method": "S256",
        **changes,
    }
    return f"{metadata['authorization_endpoint']}?{urlencode({k: v for k, v in query.items() if v is not None})}"


async def test_discovery_names_what_the_mcp_client_needs(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    metadata = await discovery(http, provider)
    assert metadata["issuer"] == provider.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["registration_endpoint"].startswith(provider.issuer)
    assert "authorization_code" in metadata["grant_types_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    jwks = (await http.get(metadata["jwks_uri"])).json()
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"]
    assert all("d" not in key for key in jwks["keys"]), "the provider published a private key"


async def test_code_flow_gives_a_jwt_for_the_resource(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    tokens = await issue_token(http, provider, "alice", resource=RESOURCE, scope=SCOPE)
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["scope"] == SCOPE
    assert jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"
    claims = await verified(http, provider, tokens["access_token"], audience=RESOURCE)
    assert (claims["iss"], claims["sub"], claims["aud"], claims["scope"]) == (provider.issuer, "alice", RESOURCE, SCOPE)
    with pytest.raises(jwt.InvalidAudienceError):
        await verified(http, provider, tokens["access_token"], audience="https://elsewhere.example.com/mcp")


async def test_two_logins_are_two_subjects(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    alice = await issue_token(http, provider, "alice", resource=RESOURCE, scope=SCOPE)
    bob = await issue_token(http, provider, "bob", resource=RESOURCE, scope=SCOPE)
    subjects = [(await verified(http, provider, t["access_token"], audience=RESOURCE))["sub"] for t in (alice, bob)]
    assert subjects == ["alice", "bob"]


async def test_native_client_may_use_any_loopback_port(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    """RFC 8252 7.3: a native client registers its loopback redirect URI and listens on whatever port is free."""
    registered = {"redirect_uris": ["http://127.0.0.1/callback"], "scope": f"{SCOPE} offline_access"}
    client = await register(http, provider, **registered)
    moved = "http://127.0.0.1:49152/callback"
    url = authorization_url(await discovery(http, provider), client["client_id"], redirect_uri=moved)
    result = authorization_result(await sign_in(url, "alice", redirect_uri=moved))
    assert result.state == "s1"
    assert result.iss == provider.issuer


async def test_pkce_is_required(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    client = await register(http, provider)
    url = authorization_url(await discovery(http, provider), client["client_id"], code_challenge=None)
    refused = parse_qs(urlsplit(await sign_in(url, "alice")).query)
    assert refused["error"] == ["invalid_request"]
    assert "code_challenge" in refused["error_description"][0]


async def test_a_wrong_code_verifier_is_refused(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    metadata = await discovery(http, provider)
    client = await register(http, provider)
    code = authorization_result(await sign_in(authorization_url(metadata, client["client_id"]), "alice")).code
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": PKCEParameters.generate().code_verifier,
        "redirect_uri": REDIRECT_URI,
        "client_id": client["client_id"],
        "resource": RESOURCE,
    }
    response = await http.post(metadata["token_endpoint"], data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_refresh_keeps_the_audience(http: httpx2.AsyncClient, provider: IdentityProvider) -> None:
    metadata = await discovery(http, provider)
    tokens = await issue_token(http, provider, "alice", resource=RESOURCE, scope=SCOPE)
    client_id = (await verified(http, provider, tokens["access_token"], audience=RESOURCE))["client_id"]
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}
    refreshed = (await http.post(metadata["token_endpoint"], data=form | {"resource": RESOURCE})).json()
    claims = await verified(http, provider, refreshed["access_token"], audience=RESOURCE)
    assert (claims["sub"], claims["scope"]) == ("alice", SCOPE)


async def test_a_rotation_signs_with_a_new_key_and_keeps_the_old_one(http: httpx2.AsyncClient) -> None:
    with identity_provider(scopes=(SCOPE,)) as provider:
        before = await issue_token(http, provider, "alice", resource=RESOURCE, scope=SCOPE)
        client = await register(http, provider)
        fetches = provider.jwks_fetches
        kid = provider.rotate()
        # What the provider knew (its clients) outlives the rotation.
        url = authorization_url(await discovery(http, provider), client["client_id"])
        assert authorization_result(await sign_in(url, "alice")).code
        after = await issue_token(http, provider, "alice", resource=RESOURCE, scope=SCOPE)
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        assert (jwt.get_unverified_header(after["access_token"])["kid"], old_kid != kid) == (kid, True)
        for tokens in (before, after):
            assert (await verified(http, provider, tokens["access_token"], audience=RESOURCE))["sub"] == "alice"
        assert provider.jwks_fetches == fetches + 2


@pytest.mark.parametrize("alg", ["PS256", "ES256", "EdDSA"])
async def test_other_signing_algorithms(http: httpx2.AsyncClient, alg: str) -> None:
    with identity_provider(scopes=(SCOPE,), alg=alg) as provider:
        tokens = await issue_token(http, provider, "alice", resource=RESOURCE, scope=SCOPE)
        assert jwt.get_unverified_header(tokens["access_token"])["alg"] == alg
        assert (await verified(http, provider, tokens["access_token"], audience=RESOURCE))["sub"] == "alice"
