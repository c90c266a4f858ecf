"""Who is calling: whose key pays for a call and whose history its tasks go in. The one rule, for both transports.

* stdio, or HTTP with the server's key and no tokens (loopback only): the server's key pays; one history, filed
  under the key's fingerprint.
* HTTP with the server's key guarded by tokens (AIGC_IMAGE_HTTP_TOKENS): the server's key pays; each token is a
  history of its own, so token holders never see each other's tasks.
* HTTP pass-through (no server key): each caller's bearer token is its relay key; it pays, and its fingerprint is
  the history.

The local user is the one at the server's own machine: on stdio, or over HTTP from a loopback address, directly (no
proxy's forwarding header) and not as the holder of a token of a shared key. Only they may see the figures of the
account the server's own credentials belong to (get_image_usage); everyone else sees their own history only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
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


def caller_of(
    settings: Settings, headers: Mapping[str, str] | None, *, remote: bool, peer: str | None = None
) -> Caller:
    """The caller of a request with `headers` from the address `peer` (HTTP only); ConfigError when no credential
    applies."""
    token = bearer_token(headers) if remote else None
    profile = profile_of(settings)
    own = profile.credentials(settings)
    local = not remote or (_loopback(peer) and not _forwarded(headers))
    if own is not None:
        if token is not None and settings.http_tokens:
            return Caller(own.pays, _shared_token_namespace(settings, token), remote, shared=True)
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
