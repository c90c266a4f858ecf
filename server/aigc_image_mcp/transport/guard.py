"""The HTTP front door, checked before any MCP processing: the Host/Origin allow-list against DNS rebinding,
bearer authentication (in OAuth mode, with oauth.py), and a request body bounded in size and in time (bodies.py).
Pure ASGI; it knows nothing of MCP."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Literal

from ..auth.rules import oauth_config
from ..backends.profiles import holds_credential
from ..callers import bearer_token
from ..config import Settings
from .asgi import ASGIApp, ExtraHeaders, HttpMiddleware, Receive, Scope, Send, refuse, respond
from .bodies import BodyLimits, Refused, read_body, replay
from .oauth import OAuthDoor

HEALTH_PATH = "/healthz"
REALM = 'Bearer realm="aigc-image-mcp"'
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
AuthMode = Literal["pass-through", "tokens", "open", "oauth"]
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
_AUTHORITY = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]{1,5})?"
_HOST = re.compile(_AUTHORITY)
"""A Host header: a name or an address, and perhaps a port; nothing else (no userinfo `@`, path, or space)."""
_ORIGIN = re.compile(rf"[A-Za-z][A-Za-z0-9+.-]*://{_AUTHORITY}/?")

logger = logging.getLogger(__name__)


def auth_mode(settings: Settings) -> AuthMode:
    """pass-through: each caller pays with its own key; tokens: callers prove they may use the server's key; oauth:
    people sign in with the team's identity provider (and machines may still present tokens)."""
    if settings.oauth_issuer is not None:
        return "oauth"
    if not holds_credential(settings):
        return "pass-through"
    return "tokens" if settings.http_tokens else "open"


def is_loopback(host: str) -> bool:
    """Whether `host` (a bind address or a name) only ever reaches this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Policy:
    """What the guard lets through, decided once at start from the settings."""

    mode: AuthMode
    tokens: tuple[bytes, ...]
    hosts: frozenset[str]
    origins: frozenset[str]
    body: BodyLimits
    oauth: OAuthDoor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        hosts = {*LOOPBACK_NAMES, *(host.removesuffix(":*") for host in settings.allowed_hosts)}
        if _is_ip_literal(settings.host) and not ipaddress.ip_address(settings.host.strip("[]")).is_unspecified:
            hosts.add(_bracketed(settings.host))  # an IP literal cannot be rebound: the name is the address
        origins = {f"{scheme}://{name}" for scheme in ("http", "https") for name in LOOPBACK_NAMES}
        oauth = oauth_config(settings)
        if oauth is not None:
            hosts.add(oauth.host)  # clients reach the server at its public URL
        return cls(
            mode=auth_mode(settings),
            tokens=tuple(token.get_secret_value().encode() for token in settings.http_tokens),
            hosts=frozenset(host.lower() for host in hosts),
            origins=frozenset(
                origin.lower().rstrip("/").removesuffix(":*") for origin in {*origins, *settings.allowed_origins}
            ),
            # The body's grace is the headers' deadline: a connection waiting on its client gets as long either way.
            body=BodyLimits(
                settings.max_body_bytes, settings.body_timeout, settings.body_min_rate, settings.header_timeout
            ),
            oauth=None if oauth is None else OAuthDoor(oauth),
        )


class Guard(HttpMiddleware):
    """ASGI middleware in front of the MCP app; /healthz answers here, without auth."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        super().__init__(app)
        self.policy = policy

    async def handle(self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send) -> None:
        framing = _ambiguous(scope["headers"])
        if framing is not None:
            await refuse(send, 400, framing, ((b"connection", b"close"),))
            return
        if scope["path"] == HEALTH_PATH:
            await respond(send, 200, {"status": "ok"})
            return
        refused = self._check_headers(headers, _count(scope["headers"], b"origin"))
        if refused is None and self.policy.oauth is not None:
            answer = self.policy.oauth.metadata(scope["path"], scope["method"])
            if answer is None:
                answer = await self.policy.oauth.admit(scope, bearer_token(headers), machine=self._known_token(headers))
            if answer is not None:
                await respond(send, answer.status, answer.payload, answer.headers)
                return
        elif refused is None:
            refused = self._authorize(headers)
        if refused is not None:
            await refuse(send, *refused)
            return
        body = await read_body(headers.get("content-length", ""), self.policy.body, receive)
        if isinstance(body, Refused):  # a slow client's connection is not kept for another request
            await refuse(send, body.status, body.message, ((b"connection", b"close"),) * (body.status == 408))
        elif body is not None:
            await self.app(scope, replay(body, receive), send)

    def _check_headers(self, headers: dict[str, str], origins: int) -> _Refusal | None:
        host = headers.get("host", "")
        if not _HOST.fullmatch(host) or not _matches(host, self.policy.hosts):
            logger.warning("Refused a request for Host %r: not in the allow-list", host[:100])
            return 421, "This server does not answer for that Host; see AIGC_IMAGE_ALLOWED_HOSTS.", ()
        if origins > 1:
            logger.warning("Refused a request with %d Origin headers", origins)
            return 403, "A request may carry one Origin header, not several.", ()
        origin = headers.get("origin")
        if origin is not None and not (_ORIGIN.fullmatch(origin) and _matches(origin.rstrip("/"), self.policy.origins)):
            logger.warning("Refused a request from Origin %r: not in the allow-list", origin[:100])
            return 403, "Requests from this Origin are not allowed; see AIGC_IMAGE_ALLOWED_ORIGINS.", ()
        return None

    def _authorize(self, headers: dict[str, str]) -> _Refusal | None:
        if self.policy.mode == "open":
            return None
        token = bearer_token(headers)
        if token is None:
            if self.policy.mode == "pass-through":
                message = "This server uses each caller's own QuickRouter API key: send it as Authorization: Bearer."
            else:
                message = "This server needs a token: send Authorization: Bearer with one its operator gave you."
            return 401, message, ((b"www-authenticate", REALM.encode()),)
        invalid = ((b"www-authenticate", f'{REALM}, error="invalid_token"'.encode()),)
        if not _PRINTABLE_ASCII.fullmatch(token):
            # Such a token cannot be sent on to the relay (HTTP headers are ASCII), nor match a configured one.
            return 401, "The bearer token holds characters other than printable ASCII: send the key as issued.", invalid
        if self.policy.mode == "tokens" and not self._known(token.encode("latin-1")):
            return 401, "The bearer token is not one this server accepts.", invalid
        return None

    def _known_token(self, headers: dict[str, str]) -> bool:
        """In OAuth mode: whether the request carries one of AIGC_IMAGE_HTTP_TOKENS (a machine, not a person)."""
        token = bearer_token(headers)
        return token is not None and token.isascii() and self._known(token.encode("latin-1"))

    def _known(self, token: bytes) -> bool:
        # Every known token is compared, each in constant time: timing says nothing of which or how close.
        matches = [hmac.compare_digest(token, known) for known in self.policy.tokens]
        return any(matches)


_Refusal = tuple[int, str, ExtraHeaders]


def _ambiguous(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why the request's Host or body framing could be read two ways (a proxy in front may read it the other way
    and pass a second request inside the body), or None. HTTP/1.1 requires a 400 for both."""
    if _count(headers, b"host") > 1:
        return "A request may carry one Host header, not several."
    if _count(headers, b"transfer-encoding") and _count(headers, b"content-length"):
        return "A request may give Content-Length or Transfer-Encoding, not both: send one of them."
    return None


def _count(headers: list[tuple[bytes, bytes]], name: bytes) -> int:
    return sum(1 for key, _ in headers if key.lower() == name)


def _matches(value: str, allowed: frozenset[str]) -> bool:
    """`value` is allowed as is, or its name is allowed with any port; `*` allows everything."""
    value = value.lower()
    return "*" in allowed or value in allowed or _without_port(value) in allowed


def _without_port(value: str) -> str:
    scheme, sep, authority = value.rpartition("://")
    name = authority[: authority.find("]") + 1] if authority.startswith("[") else authority.partition(":")[0]
    return f"{scheme}{sep}{name}"


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _bracketed(host: str) -> str:
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare
