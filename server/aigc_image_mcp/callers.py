"""Who is calling: whose key pays for a call and whose history its tasks go in. The one rule, for both transports.

* stdio, or HTTP with the server's key and no tokens (loopback only): the server's key pays; one history, filed
  under the key's fingerprint.
* HTTP with the server's key guarded by tokens (AIGC_IMAGE_HTTP_TOKENS): the server's key pays; each token is a
  history of its own, so token holders never see each other's tasks.
* HTTP pass-through (no server key): each caller's bearer token is its relay key; it pays, and its fingerprint is
  the history.
* HTTP with OAuth (AIGC_IMAGE_OAUTH_ISSUER): the server's key pays; each signed-in person, (iss, sub), is a history
  of their own, fingerprinted as keys and tokens are; AIGC_IMAGE_HTTP_TOKENS beside it still name machines.

The local user is the one at the server's own machine: on stdio, or over HTTP from a loopback address, directly (no
proxy's forwarding header) and neither as the holder of a token of a shared key nor as a signed-in person. Only they
may see the figures of the account the server's own credentials belong to (get_image_usage); everyone else sees their
own history only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from .backends.base import Caller
from .backends.profiles import profile_of
from .config import Settings
from .errors import ConfigError

_KEY_LABEL = b"aigc-image-mcp task history v1"
_TOKEN_LABEL = b"aigc-image-mcp token history v1"
_PERSON_LABEL = b"aigc-image-mcp person history v1"


@dataclass(frozen=True)
class Person:
    """Someone signed in through the identity provider: `sub` is unique only within its issuer."""

    issuer: str
    subject: str

    @property
    def fingerprint(self) -> str:
        # A NUL cannot occur in a URL, so no two (iss, sub) pairs share the joined form.
        return fingerprint(SecretStr(f"{self.issuer}\0{self.subject}"), _PERSON_LABEL)


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = (headers or {}).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def caller_of(
    settings: Settings,
    headers: Mapping[str, str] | None,
    *,
    remote: bool,
    person: Person | None = None,
    peer: str | None = None,
) -> Caller:
    """The caller of a request with `headers` (and `person`, signed in by the guard in OAuth mode) from the address
    `peer` (HTTP only); ConfigError when no credential applies."""
    token = bearer_token(headers) if remote else None
    profile = profile_of(settings)
    own = profile.credentials(settings)
    local = not remote or (_loopback(peer) and not _forwarded(headers))
    if own is not None:
        if remote and person is not None:
            return Caller(own.pays, person.fingerprint, remote, shared=True)
        if token is not None and settings.http_tokens:
            return Caller(own.pays, _shared_token_namespace(settings, token), remote, shared=True)
        if remote and settings.oauth_issuer is not None:
            # Past the guard every remote caller is a person or a token holder: nobody gets the server's history.
            raise ConfigError("This server needs you to sign in: send an OAuth access token.")
        return Caller(own.pays, fingerprint(own.names), remote, local=local)
    if token is None or not profile.passes_bearer:
        raise ConfigError(profile.missing(settings))
    if not token.isascii() or not token.isprintable():
        raise ConfigError(
            "The bearer token is not a QuickRouter API key: a key is printable ASCII. Send your key as "
            "Authorization: Bearer."
        )
    key = SecretStr(token)
    return Caller(key, fingerprint(key), remote, local=local)


def fingerprint(secret: SecretStr, label: bytes = _KEY_LABEL) -> str:
    """An HMAC-SHA256 of `secret` under a fixed label, 32 hex digits: it names an owner; the secret cannot be read
    back. Keys keep the label histories were first filed under."""
    return hmac.new(label, secret.get_secret_value().encode(), hashlib.sha256).hexdigest()[:32]


def _loopback(peer: str | None) -> bool:
    try:
        return peer is not None and ipaddress.ip_address(peer.strip("[]")).is_loopback
    except ValueError:
        return False


def _forwarded(headers: Mapping[str, str] | None) -> bool:
    """Whether a proxy says it forwarded the request: then the loopback peer is the proxy, not the user."""
    return any(name in (headers or {}) for name in ("forwarded", "x-forwarded-for", "x-real-ip"))


def _shared_token_namespace(settings: Settings, token: str) -> str:
    # The guard admitted only configured tokens; checked again, so a caller built without the guard cannot pick
    # another token holder's history.
    known = [t for t in settings.http_tokens if hmac.compare_digest(t.get_secret_value().encode(), token.encode())]
    if not known:
        raise ConfigError("The bearer token is not one this server accepts.")
    return fingerprint(known[0], _TOKEN_LABEL)
