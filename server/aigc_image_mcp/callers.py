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
from dataclasses import dataclass

from pydantic import SecretStr

from .config import Settings
from .errors import ConfigError

_KEY_LABEL = b"aigc-image-mcp task history v1"
_TOKEN_LABEL = b"aigc-image-mcp token history v1"
_NO_KEY = (
    "No QuickRouter API key is configured, so no image can be generated. Set the environment variable "
    "QUICKROUTER_API_KEY for this server (in Claude Desktop: the extension's API key setting) and restart it; "
    "over HTTP, a client may instead send its own key as Authorization: Bearer."
)


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    value = (headers or {}).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


@dataclass(frozen=True)
class Caller:
    """Who is calling, decided once per call."""

    key: SecretStr | None
    """The relay key this call pays with; None when the backend's credentials live in the settings."""
    namespace: str
    """The history (and quota) namespace: an HMAC fingerprint, never a secret."""
    remote: bool
    """The call came over HTTP: the server's disk is not the caller's."""
    shared: bool = False
    """The key is shared by several namespaces (token holders): the upstream would answer about any of their tasks,
    so only tasks in this caller's own history are looked up."""


def caller_of(settings: Settings, headers: Mapping[str, str] | None, *, remote: bool) -> Caller:
    """The caller of a request with `headers`; ConfigError when no credential applies."""
    token = bearer_token(headers) if remote else None
    if settings.backend == "tencentcloud":
        return _tencent_caller(settings, token, remote)
    if settings.api_key is not None:
        if token is not None and settings.http_tokens:
            return Caller(settings.api_key, _shared_token_namespace(settings, token), remote, shared=True)
        return Caller(settings.api_key, fingerprint(settings.api_key), remote)
    if token is None:
        raise ConfigError(_NO_KEY)
    if not token.isascii() or not token.isprintable():
        raise ConfigError(
            "The bearer token is not a QuickRouter API key: a key is printable ASCII. Send your key as "
            "Authorization: Bearer."
        )
    key = SecretStr(token)
    return Caller(key, fingerprint(key), remote)


def _tencent_caller(settings: Settings, token: str | None, remote: bool) -> Caller:
    """Tencent Cloud direct: the server's credentials pay; the history is the SecretId's (or, with tokens over HTTP,
    each token's own)."""
    if settings.secret_id is None or settings.secret_key is None:
        raise ConfigError(
            "No Tencent Cloud credentials are configured, so no image can be generated. Set TENCENTCLOUD_SECRET_ID "
            "and TENCENTCLOUD_SECRET_KEY for this server and restart it."
        )
    if token is not None and settings.http_tokens:
        return Caller(None, _shared_token_namespace(settings, token), remote, shared=True)
    return Caller(None, fingerprint(settings.secret_id), remote)


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
