"""Access tokens as JWTs (RFC 9068), checked with PyJWT against the issuer's keys: an asymmetric signature (never
`none`, never an HMAC keyed with a public key), `iss` equal to the issuer, `aud` naming the public URL (RFC 8707),
`exp` to come and `nbf`/`iat` past, 60 s of clock skew allowed. A refused token's reason is logged at debug level;
the token never is. Implements the MCP SDK's TokenVerifier protocol."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)
from mcp.server.auth.provider import AccessToken, TokenVerifier

from .keys import IssuerKeys, KeyUnavailableError
from .rules import OAuthConfig

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
"""The signature algorithms accepted: asymmetric ones only."""
LEEWAY = 60
"""Seconds of clock difference allowed on exp, nbf and iat."""
_REQUIRED = ["iss", "sub", "aud", "exp"]

logger = logging.getLogger(__name__)


class Refused(Exception):
    """Why a token was not accepted, in words fit for a debug log: never the token, nor a key."""


@dataclass(frozen=True)
class Checked:
    """A token that passed, and what the server keeps of it."""

    issuer: str
    subject: str
    scopes: tuple[str, ...]
    client_id: str
    expires_at: int


class JwtVerifier(TokenVerifier):
    """Checks access tokens of one issuer for one resource."""

    def __init__(self, config: OAuthConfig, keys: IssuerKeys | None = None) -> None:
        self.config = config
        self.keys = keys or IssuerKeys(config.issuer)
        self._cache: dict[tuple[str, str], tuple[dict[str, Any], jwt.PyJWK]] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's TokenVerifier: the token's AccessToken, or None (the reason is logged at debug level)."""
        try:
            checked = await self.check(token)
        except Refused as exc:
            logger.debug("Refused an access token: %s", exc)
            return None
        return AccessToken(
            token=token,
            client_id=checked.client_id,
            scopes=list(checked.scopes),
            expires_at=checked.expires_at,
            resource=self.config.resource,
            subject=checked.subject,
            claims={"iss": checked.issuer},
        )

    async def check(self, token: str) -> Checked:
        """The checked token; Refused saying why not."""
        header = _header(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise Refused(f"algorithm: {str(alg)[:20]!r} is not one of {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        try:
            jwk = await self.keys.jwk(kid if isinstance(kid, str) else None)
        except KeyUnavailableError as exc:
            raise Refused(f"key: {exc}") from None
        claims = self._decode(token, self._loaded(jwk, alg), alg)
        subject, client = claims.get("sub"), claims.get("client_id", claims.get("azp", ""))
        if not isinstance(subject, str) or not subject:
            raise Refused("subject: the sub claim is not a non-empty string")
        return Checked(
            issuer=self.config.issuer,
            subject=subject,
            scopes=_scopes(claims),
            client_id=str(client)[:200],
            expires_at=int(claims["exp"]),
        )

    def _loaded(self, jwk: dict[str, Any], alg: str) -> jwt.PyJWK:
        """The JWK as a key for `alg` (its own `alg` if it names one), loaded once per JWKS fetch: loading an RSA key
        costs more than checking a signature with it."""
        cached = self._cache.get((str(jwk.get("kid", "")), alg))
        if cached is not None and cached[0] is jwk:
            return cached[1]
        try:
            key = jwt.PyJWK(jwk, algorithm=jwk.get("alg", alg))
        except PyJWTError:
            raise Refused(
                f"key: the issuer's key {str(jwk.get('kid'))[:64]!r} does not fit the algorithm {alg}"
            ) from None
        self._cache[str(jwk.get("kid", "")), alg] = (jwk, key)
        return key

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.config.resource,
                issuer=self.config.issuer,
                leeway=LEEWAY,
                options={"require": _REQUIRED, "strict_aud": False},
            )
        except ExpiredSignatureError:
            raise Refused("expired: exp is past") from None
        except ImmatureSignatureError:
            raise Refused("not yet valid: nbf or iat is in the future") from None
        except InvalidAudienceError:
            raise Refused(f"audience: aud does not name {self.config.resource}{_claim(token, 'aud')}") from None
        except InvalidIssuerError:
            raise Refused(f"issuer: iss is not {self.config.issuer}{_claim(token, 'iss')}") from None
        except MissingRequiredClaimError as exc:
            raise Refused(f"missing claim: {exc.claim}") from None
        except InvalidSignatureError:
            raise Refused("signature: it does not verify with the issuer's key") from None
        except InvalidAlgorithmError:
            raise Refused(f"algorithm: {alg} is not the algorithm of the issuer's key") from None
        except PyJWTError as exc:
            raise Refused(f"malformed: {type(exc).__name__}") from None


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to pick the key and algorithm; PyJWT reads the whole token strictly afterwards.
    (Its own get_unverified_header decodes every part, which would double its cost per request.)"""
    head = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError, RecursionError):
        raise Refused("malformed: not a signed JWT") from None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise Refused("malformed: not a signed JWT")
    return cast(dict[str, Any], header)


def _scopes(claims: dict[str, Any]) -> tuple[str, ...]:
    """The token's scopes: `scope` (RFC 9068, space-separated), or `scp` (a string or a list, as Entra ID and Okta
    write it)."""
    value = claims.get("scope", claims.get("scp", ""))
    if isinstance(value, list):
        return tuple(str(item) for item in cast(list[Any], value))
    return tuple(str(value).split())


def _claim(token: str, name: str) -> str:
    """`, the token says <value>` for a log line: a claim of a token whose signature verified, shortened."""
    try:
        value = jwt.decode(token, options={"verify_signature": False}).get(name)
    except PyJWTError:
        return ""
    return f"; the token says {str(value)[:200]!r}"
