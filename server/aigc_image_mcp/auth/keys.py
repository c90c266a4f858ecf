"""The issuer's signing keys: its metadata found by discovery (RFC 8414's /.well-known/oauth-authorization-server,
then OpenID Connect's /.well-known/openid-configuration), its JWKS fetched with httpx2 and cached. A token signed with
a key the cache does not hold makes one refetch, at most once a minute however many such tokens arrive (the first
fetch and the hourly one do not count: a key rotated in just after either is fetched at once); the whole set is
refetched after an hour in any case, so a key the issuer withdrew stops working."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
import httpx2
from jwt import PyJWK
from jwt.exceptions import PyJWTError

logger = logging.getLogger(__name__)

REFRESH_INTERVAL = 60.0
"""Seconds between two fetches of the JWKS asked for by unknown keys (or after a failed fetch)."""
MAX_AGE = 3600.0
"""Seconds a fetched JWKS is used before it is fetched again."""
TIMEOUT = httpx2.Timeout(10.0, connect=5.0)
MAX_DOCUMENT = 512 * 1024
"""Bytes a metadata document or a JWKS may have."""


class KeyUnavailableError(Exception):
    """No key of the issuer can check this token; the message says why (no secret in it)."""


class IssuerKeys:
    """The JWKS of one issuer, found and refreshed as tokens need it. One instance per server process."""

    def __init__(
        self,
        issuer: str,
        *,
        client: Callable[[], httpx2.AsyncClient] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._client = client or (lambda: httpx2.AsyncClient(timeout=TIMEOUT, follow_redirects=False))
        self._clock = clock
        self._lock = anyio.Lock()
        self._jwks_uri: str | None = None
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self.fetches = 0
        """JWKS documents fetched so far (the benchmark and the tests count them)."""

    async def jwk(self, kid: str | None) -> dict[str, Any]:
        """The JWK with this `kid` (with none: the only key there is); KeyUnavailableError saying why otherwise."""
        found = self._pick(kid)
        if found is None or self._stale():
            async with self._lock:
                found = self._pick(kid)
                if (found is None or self._stale()) and self._may_fetch():
                    await self._refresh()
                    found = self._pick(kid)
        if found is None:
            raise KeyUnavailableError(
                "no key in the issuer's JWKS has this kid" if self._keys else "the issuer's JWKS could not be fetched"
            )
        return found

    def _pick(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= MAX_AGE

    def _may_fetch(self) -> bool:
        return self._tried_at is None or self._clock() - self._tried_at >= REFRESH_INTERVAL

    async def fetch(self) -> int:
        """Fetch the JWKS now (finding the metadata first if need be): how many usable signing keys it holds;
        ValueError or httpx2.HTTPError saying what went wrong. doctor calls it; requests go through `jwk`."""
        scheduled = self._stale()  # the first fetch, or the hourly one: not one an unknown key asked for
        self._tried_at = self._clock()
        async with self._client() as client:
            if self._jwks_uri is None:
                self._jwks_uri = await self._discover(client)
            document = await _get_json(client, self._jwks_uri)
            self.fetches += 1
        keys = _usable(document)
        if not keys:
            raise ValueError(f"the JWKS at {self._jwks_uri} holds no usable signing key (RSA, EC or OKP, use sig)")
        self._keys, self._fetched_at = keys, self._clock()
        if scheduled:  # a key rotated in just after it is still fetched at once, not a minute later
            self._tried_at = None
        logger.debug("Fetched %d signing keys of %s", len(keys), self.issuer)
        return len(keys)

    async def _refresh(self) -> None:
        try:
            await self.fetch()
        except (httpx2.HTTPError, ValueError) as exc:
            logger.warning("Could not fetch the signing keys of %s: %s", self.issuer, exc)

    async def _discover(self, client: httpx2.AsyncClient) -> str:
        """The issuer's jwks_uri, from the first metadata document that answers and names this issuer."""
        problems: list[str] = []
        for url in discovery_urls(self.issuer):
            try:
                metadata = await _get_json(client, url)
            except (httpx2.HTTPError, ValueError) as exc:
                problems.append(f"{url}: {exc}")
                continue
            if metadata.get("issuer") != self.issuer:
                problems.append(f"{url}: names the issuer {str(metadata.get('issuer'))[:200]!r}")
                continue
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme not in ("https", "http"):
                problems.append(f"{url}: no jwks_uri")
                continue
            return jwks_uri
        raise ValueError("no metadata of the issuer was found: " + "; ".join(problems))


def discovery_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may be, in the order the MCP authorization spec asks clients to try: RFC 8414 and
    OpenID Connect with the well-known part inserted before the issuer's path, then OpenID Connect's appended."""
    parts = urlsplit(issuer)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    urls = [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
    ]
    if path:
        urls.append(f"{origin}{path}/.well-known/openid-configuration")
    return urls


async def _get_json(client: httpx2.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT:
        raise ValueError(f"over {MAX_DOCUMENT} bytes")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return cast(dict[str, Any], document)


def _usable(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The JWKS's signing keys by kid: public keys PyJWT can load, not marked for encryption. A key without kid is
    kept under "" (used only when it is the only one)."""
    found: dict[str, dict[str, Any]] = {}
    keys = document.get("keys")
    for jwk in cast(list[Any], keys) if isinstance(keys, list) else []:
        if not isinstance(jwk, dict):
            continue
        jwk = cast(dict[str, Any], jwk)
        if jwk.get("use", "sig") != "sig" or jwk.get("kty") not in ("RSA", "EC", "OKP") or "d" in jwk:
            continue
        try:
            PyJWK(jwk)
        except PyJWTError:
            continue
        found[str(jwk.get("kid", ""))] = jwk
    return found
