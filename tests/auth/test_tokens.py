"""Access-token validation (auth/tokens.py, auth/keys.py) against a fake issuer with keys the test makes:
each refusal of the issue's list, the key cache and its refresh rule, discovery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping

import httpx2
import jwt
import pytest

from aigc_image_mcp.auth import keys as keys_module
from aigc_image_mcp.auth.keys import IssuerKeys, discovery_urls
from aigc_image_mcp.auth.rules import OAuthConfig
from aigc_image_mcp.auth.tokens import JwtVerifier, Refused

from ..support.fake_issuer import FakeIssuer, SigningKey, make_key

pytestmark = pytest.mark.anyio

RESOURCE = "https://images.example.com/mcp"
BASE = "https://login.example.com"


class Clock:
    def __init__(self) -> None:
        self.time = 5000.0

    def __call__(self) -> float:
        return self.time


def verifier_for(issuer: FakeIssuer, clock: Clock | None = None, scopes: tuple[str, ...] = ()) -> JwtVerifier:
    config = OAuthConfig(issuer=issuer.issuer, resource=RESOURCE, scopes=scopes)
    keys = IssuerKeys(
        issuer.issuer,
        client=lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(issuer)),
        clock=clock or Clock(),
    )
    return JwtVerifier(config, keys)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with(secret: bytes, claims: Mapping[str, object], kid: str) -> str:
    """The classic confusion attack: an HMAC keyed with the issuer's public key. PyJWT refuses to make one (it will
    not take a PEM key as an HMAC secret), so the test signs it by hand."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer(
        base_url=BASE,
        keys=[
            make_key("rsa-1", "RS256"),
            make_key("ps-1", "PS256"),
            make_key("ec-1", "ES256"),
            make_key("ed-1", "EdDSA"),
        ],
    )


@pytest.mark.parametrize("kid", ["rsa-1", "ps-1", "ec-1", "ed-1"])
async def test_a_token_signed_with_each_asymmetric_algorithm_passes(issuer: FakeIssuer, kid: str) -> None:
    verifier = verifier_for(issuer)
    token = issuer.token(RESOURCE, kid=kid, sub="alice@example.com", scope="images openid")

    checked = await verifier.check(token)

    assert (checked.issuer, checked.subject) == (BASE, "alice@example.com")
    assert checked.scopes == ("images", "openid")
    access = await verifier.verify_token(token)
    assert access is not None
    assert access.subject == "alice@example.com"
    assert access.resource == RESOURCE


async def test_an_audience_list_naming_the_resource_passes_and_scp_is_read(issuer: FakeIssuer) -> None:
    verifier = verifier_for(issuer)
    token = issuer.token(RESOURCE, aud=["https://other.example.com", RESOURCE], scope=None, scp=["images", "x"])

    assert (await verifier.check(token)).scopes == ("images", "x")


async def test_clock_skew_within_a_minute_is_forgiven(issuer: FakeIssuer) -> None:
    now = int(time.time())
    token = issuer.token(RESOURCE, exp=now - 30, nbf=now + 30, iat=now + 30)

    assert (await verifier_for(issuer).check(token)).subject == "alice"


def refusals(issuer: FakeIssuer) -> dict[str, tuple[str, str]]:
    """Each bad token the issue names, and the word its reason starts with."""
    now = int(time.time())
    claims = {"iss": BASE, "sub": "alice", "aud": RESOURCE, "exp": now + 300, "iat": now}
    stranger = SigningKey("rsa-1", "RS256", make_key("stranger", "RS256").private)  # the issuer's kid, another key
    return {
        "expired": (issuer.token(RESOURCE, exp=now - 120), "expired"),
        "nbf in the future": (issuer.token(RESOURCE, nbf=now + 300), "not yet valid"),
        "iat in the future": (issuer.token(RESOURCE, iat=now + 300), "not yet valid"),
        "wrong issuer": (issuer.token(RESOURCE, iss="https://evil.example.com"), "issuer"),
        "wrong audience": (issuer.token("https://other.example.com/mcp"), "audience"),
        "audience list without us": (
            issuer.token(RESOURCE, aud=["https://a.example", "https://b.example"]),
            "audience",
        ),
        "no audience": (issuer.token(RESOURCE, aud=None), "missing claim"),
        "no expiry": (issuer.token(RESOURCE, exp=None), "missing claim"),
        "no subject": (issuer.token(RESOURCE, sub=None), "missing claim"),
        "alg none": (jwt.encode(claims, "", algorithm="none", headers={"kid": "rsa-1"}), "algorithm"),
        "HS256 keyed with the public key": (hs256_with(issuer.key("rsa-1").public_pem(), claims, "rsa-1"), "algorithm"),
        "forged signature": (jwt.encode(claims, stranger.private, "RS256", headers={"kid": "rsa-1"}), "signature"),
        "alg of another key type": (jwt.encode(claims, stranger.private, "RS256", headers={"kid": "ec-1"}), "key"),
        "PS256 by a stranger": (jwt.encode(claims, stranger.private, "PS256", headers={"kid": "rsa-1"}), "signature"),
        "unknown kid": (issuer.token(RESOURCE, headers={"kid": "nobody"}), "key"),
        "not a JWT": ("opaque-token-0123456789", "malformed"),
        "a header nested past the parser": (b64(b"[" * 100_000) + ".e30.AAAA", "malformed"),
        "not ASCII": ("é.é.é", "malformed"),
        "HS512": (jwt.encode(claims, "secret" * 11, "HS512"), "algorithm"),
    }


CASES = list(refusals(FakeIssuer(base_url=BASE)).keys())


@pytest.mark.parametrize("case", CASES)
async def test_each_bad_token_is_refused_and_only_its_reason_is_logged(
    issuer: FakeIssuer, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    token, reason = refusals(issuer)[case]
    verifier = verifier_for(issuer)

    with pytest.raises(Refused) as refused:
        await verifier.check(token)
    with caplog.at_level(logging.DEBUG, logger="aigc_image_mcp"):
        assert await verifier.verify_token(token) is None

    assert str(refused.value).startswith(reason), str(refused.value)
    logged = [r.getMessage() for r in caplog.records if r.name.endswith("auth.tokens")]
    assert logged == [f"Refused an access token: {refused.value}"]
    assert token not in caplog.text
    signature = token.split(".")[-1]
    assert not signature or signature not in caplog.text


async def test_the_jwks_is_fetched_once_and_reused(issuer: FakeIssuer) -> None:
    verifier = verifier_for(issuer)
    for _ in range(50):
        await verifier.check(issuer.token(RESOURCE, kid="ec-1"))

    assert verifier.keys.fetches == 1
    assert issuer.fetched["/jwks"] == 1
    assert issuer.fetched["/.well-known/oauth-authorization-server"] == 1


async def test_an_unknown_kid_refreshes_the_jwks_at_most_once_a_minute(issuer: FakeIssuer) -> None:
    clock = Clock()
    issuer.published = ["rsa-1"]
    verifier = verifier_for(issuer, clock)
    await verifier.check(issuer.token(RESOURCE, kid="rsa-1"))
    clock.time += 3 * keys_module.REFRESH_INTERVAL
    for _ in range(20):
        with pytest.raises(Refused, match="no key in the issuer's JWKS has this kid"):
            await verifier.check(issuer.token(RESOURCE, headers={"kid": "nobody"}))
    assert issuer.fetched["/jwks"] == 2, "the first unknown kid refetches; the others wait a minute"

    issuer.published = ["rsa-1", "ec-1"]  # the issuer rotates in a new key
    with pytest.raises(Refused, match="kid"):
        await verifier.check(issuer.token(RESOURCE, kid="ec-1"))
    clock.time += keys_module.REFRESH_INTERVAL
    checked = await verifier.check(issuer.token(RESOURCE, kid="ec-1"))

    assert checked.subject == "alice"
    assert issuer.fetched["/jwks"] == 3


async def test_a_key_rotated_in_just_after_the_first_fetch_is_fetched_at_once(issuer: FakeIssuer) -> None:
    """The first fetch (and the hourly one) does not use up the unknown keys' minute: tokens of a key the issuer
    rotates in seconds later are not refused for a minute."""
    clock = Clock()
    issuer.published = ["rsa-1"]
    verifier = verifier_for(issuer, clock)
    await verifier.check(issuer.token(RESOURCE, kid="rsa-1"))
    issuer.published = ["rsa-1", "ec-1"]

    checked = await verifier.check(issuer.token(RESOURCE, kid="ec-1"))
    assert checked.subject == "alice"
    for _ in range(5):
        with pytest.raises(Refused, match="kid"):
            await verifier.check(issuer.token(RESOURCE, headers={"kid": "nobody"}))
    assert issuer.fetched["/jwks"] == 2, "that refetch was an unknown key's: the next waits a minute"


async def test_keys_are_refetched_after_an_hour_so_a_withdrawn_key_stops_working(issuer: FakeIssuer) -> None:
    clock = Clock()
    verifier = verifier_for(issuer, clock)
    await verifier.check(issuer.token(RESOURCE, kid="ed-1"))
    issuer.published = ["rsa-1"]
    clock.time += keys_module.MAX_AGE

    with pytest.raises(Refused, match="kid"):
        await verifier.check(issuer.token(RESOURCE, kid="ed-1"))
    assert issuer.fetched["/jwks"] == 2


async def test_an_issuer_that_cannot_be_reached_refuses_tokens_and_retries_after_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    issuer = FakeIssuer(path="/realms/team", base_url=BASE)
    calls: list[str] = []

    def down(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        raise httpx2.ConnectError("refused")

    config = OAuthConfig(issuer=issuer.issuer, resource=RESOURCE, scopes=())
    keys = IssuerKeys(
        issuer.issuer, client=lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(down)), clock=clock
    )
    verifier = JwtVerifier(config, keys)
    token = issuer.token(RESOURCE)

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            with pytest.raises(Refused, match="could not be fetched"):
                await verifier.check(token)
    assert len(calls) == 3, "one attempt per discovery URL, then none until a minute has passed"
    assert "Could not fetch the signing keys" in caplog.text
    clock.time += keys_module.REFRESH_INTERVAL
    with pytest.raises(Refused):
        await verifier.check(token)
    assert len(calls) == 6


@pytest.mark.parametrize(
    ("path", "discovery", "found_at"),
    [
        ("", "oauth", "/.well-known/oauth-authorization-server"),
        ("/realms/team", "oauth", "/.well-known/oauth-authorization-server/realms/team"),
        ("/realms/team", "openid", "/realms/team/.well-known/openid-configuration"),
    ],
)
async def test_discovery_finds_the_metadata_of_an_issuer_with_or_without_a_path(
    path: str, discovery: str, found_at: str
) -> None:
    issuer = FakeIssuer(path=path, discovery=discovery, base_url=BASE)
    verifier = verifier_for(issuer)

    assert (await verifier.check(issuer.token(RESOURCE))).issuer == BASE + path
    assert issuer.fetched[found_at] == 1
    assert BASE + found_at in discovery_urls(BASE + path)


async def test_metadata_naming_another_issuer_is_not_trusted() -> None:
    issuer = FakeIssuer(names="https://evil.example.com", base_url=BASE)
    verifier = verifier_for(issuer)

    with pytest.raises(Refused, match="could not be fetched"):
        await verifier.check(issuer.token(RESOURCE))
    assert issuer.fetched["/jwks"] == 0


def test_discovery_urls_follow_rfc_8414_then_openid_connect() -> None:
    assert discovery_urls("https://idp.example.com/tenant/v2.0") == [
        "https://idp.example.com/.well-known/oauth-authorization-server/tenant/v2.0",
        "https://idp.example.com/.well-known/openid-configuration/tenant/v2.0",
        "https://idp.example.com/tenant/v2.0/.well-known/openid-configuration",
    ]
    assert discovery_urls("https://tenant.auth0.com/") == [
        "https://tenant.auth0.com/.well-known/oauth-authorization-server",
        "https://tenant.auth0.com/.well-known/openid-configuration",
    ]
