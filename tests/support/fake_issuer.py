"""A fake OAuth authorization server: it has signing keys of its own (RSA, EC P-256, Ed25519, made fresh per
instance), publishes its metadata and JWKS like a real one (RFC 8414 or OpenID discovery), counts who fetched what,
and mints access tokens with PyJWT. A handler served over real HTTP on 127.0.0.1 with fake_relay.serve."""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@functools.cache
def make_key(kid: str, alg: str) -> SigningKey:
    """A key for `alg` (RS256 and PS256: RSA 2048; ES256: P-256; EdDSA: Ed25519), made once per run for each kid."""
    private: PrivateKey
    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return SigningKey(kid, alg, private)


@dataclass
class FakeIssuer:
    """The issuer at `base_url` (set once served; a path such as /realms/team makes an issuer with a path)."""

    path: str = ""
    discovery: str = "oauth"
    """Which well-known document it serves: "oauth" (RFC 8414) or "openid" (OpenID Connect, appended for a path)."""
    keys: list[SigningKey] = field(default_factory=lambda: [make_key("rsa-1", "RS256")])
    published: list[str] | None = None
    """The kids the JWKS holds (None: all of `keys`): a key not yet published stands for a rotation to come."""
    base_url: str = "http://127.0.0.1:1"
    fetched: Counter[str] = field(default_factory=lambda: Counter[str]())
    names: str | None = None
    """The issuer its metadata names (None: its own): another one is a document that must not be trusted."""

    @property
    def issuer(self) -> str:
        return self.base_url + self.path

    def key(self, kid: str) -> SigningKey:
        return next(key for key in self.keys if key.kid == kid)

    def token(
        self,
        resource: str,
        *,
        kid: str | None = None,
        lifetime: int = 300,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """An access token for `resource` signed with key `kid` (default: the first); `claims` override or add
        (a claim given as None is left out)."""
        key = self.key(kid) if kid is not None else self.keys[0]
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "sub": "alice",
            "aud": resource,
            "iat": now,
            "exp": now + lifetime,
            "client_id": "test-client",
            "scope": "images",
        }
        body = {name: value for name, value in {**body, **claims}.items() if value is not None}
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        self.fetched[path] += 1
        if path == "/jwks":
            shown = [key for key in self.keys if self.published is None or key.kid in self.published]
            return _json({"keys": [key.public_jwk() for key in shown]})
        if path == self._metadata_path():
            return _json(
                {
                    "issuer": self.names or self.issuer,
                    "authorization_endpoint": f"{self.base_url}/authorize",
                    "token_endpoint": f"{self.base_url}/token",
                    "jwks_uri": f"{self.base_url}/jwks",
                    "response_types_supported": ["code"],
                }
            )
        return httpx2.Response(404, json={"error": "not_found"})

    def _metadata_path(self) -> str:
        if self.discovery == "oauth":
            return "/.well-known/oauth-authorization-server" + self.path
        return self.path + "/.well-known/openid-configuration"


def _json(document: dict[str, Any]) -> httpx2.Response:
    return httpx2.Response(200, content=json.dumps(document).encode(), headers={"content-type": "application/json"})
