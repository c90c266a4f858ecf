"""Who is calling: whose key pays for a call and whose history its tasks go in. The one rule, for both transports.

* stdio, or HTTP with the server's key and no tokens (loopback only): the server's key pays; one history, filed
  under the key's fingerprint.
* HTTP with the server's key guarded by tokens (AIGC_IMAGE_HTTP_TOKENS): the server's key pays; each token is a
  history of its own, so token holders never see each other's tasks.
* HTTP pass-through (no server key): each caller's bearer token is its relay key; it pays, and its fingerprint is
  the history.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from .backends.base import Caller
from .backends.profiles import profile_of
from .config import Settings
from .errors import ConfigError

_KEY_LABEL = b"aigc-image-mcp task history v1"
_TOKEN_LABEL = b"aigc-image-mcp token history v1"


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = (headers or {}).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def caller_of(settings: Settings, headers: Mapping[str, str] | None, *, remote: bool) -> Caller:
    """The caller of a request with `headers`; ConfigError when no credential applies."""
    token = bearer_token(headers) if remote else None
    profile = profile_of(settings)
    own = profile.credentials(settings)
    if own is not None:
        if token is not None and settings.http_tokens:
            return Caller(own.pays, _shared_token_namespace(settings, token), remote, shared=True)
        return Caller(own.pays, fingerprint(own.names), remote)
    if token is None or not profile.passes_bearer:
        raise ConfigError(profile.missing(settings))
    if not token.isascii() or not token.isprintable():
        raise ConfigError(
            "The bearer token is not a QuickRouter API key: a key is printable ASCII. Send your key as "
            "Authorization: Bearer."
        )
    key = SecretStr(token)
    return Caller(key, fingerprint(key), remote)


def fingerprint(secret: SecretStr, label: bytes = _KEY_LABEL) -> str:
    """An HMAC-SHA256 of `secret` under a fixed label, 32 hex digits: it names an owner; the secret cannot be read
    back. Keys keep the label histories were first filed under."""
    return hmac.new(label, secret.get_secret_value().encode(), hashlib.sha256).hexdigest()[:32]


def _shared_token_namespace(settings: Settings, token: str) -> str:
    # The guard admitted only configured tokens; checked again, so a caller built without the guard cannot pick
    # another token holder's history.
    known = [t for t in settings.http_tokens if hmac.compare_digest(t.get_secret_value().encode(), token.encode())]
    if not known:
        raise ConfigError("The bearer token is not one this server accepts.")
    return fingerprint(known[0], _TOKEN_LABEL)
