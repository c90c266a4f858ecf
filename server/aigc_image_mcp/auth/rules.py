"""The OAuth settings as one checked whole: AIGC_IMAGE_OAUTH_ISSUER, AIGC_IMAGE_PUBLIC_URL, AIGC_IMAGE_OAUTH_SCOPE.
A combination that cannot work stops the server at start, naming the variable to change."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from mcp.server.auth.routes import build_resource_metadata_url
from pydantic import AnyHttpUrl

from ..backends.profiles import holds_credential
from ..config import Settings
from ..errors import ConfigError

ISSUER = "AIGC_IMAGE_OAUTH_ISSUER"
PUBLIC_URL = "AIGC_IMAGE_PUBLIC_URL"
SCOPE = "AIGC_IMAGE_OAUTH_SCOPE"
WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class OAuthConfig:
    """What OAuth mode needs, read once from checked settings."""

    issuer: str
    """Exactly as configured: a token's `iss` must equal it, character for character."""
    resource: str
    """The public URL of the MCP endpoint: the PRM `resource` and the audience every token must name."""
    scopes: tuple[str, ...]
    """Each must be in a token's scope."""

    @property
    def host(self) -> str:
        """The public URL's host name, for the Host allow-list (a name there takes any port: behind a proxy the
        Host header may carry the URL's port, or leave out a default one)."""
        name = (urlsplit(self.resource).hostname or "").lower()
        return f"[{name}]" if ":" in name else name

    @property
    def metadata_paths(self) -> tuple[str, ...]:
        """Where the Protected Resource Metadata is served: RFC 9728's path-inserted one first, then the bare one."""
        path = urlsplit(self.resource).path.rstrip("/")
        return (WELL_KNOWN + path, WELL_KNOWN) if path else (WELL_KNOWN,)

    @property
    def metadata_url(self) -> str:
        """The `resource_metadata` of every challenge: the SDK's RFC 9728 path insertion, as its clients expect."""
        return str(build_resource_metadata_url(AnyHttpUrl(self.resource)))


def oauth_config(settings: Settings) -> OAuthConfig | None:
    """The checked OAuth configuration, or None when OAuth is off; ConfigError naming the variable otherwise."""
    issuer, public_url, scope = settings.oauth_issuer, settings.public_url, settings.oauth_scope.split()
    if issuer is None:
        if public_url is not None or scope:
            named = PUBLIC_URL if public_url is not None else SCOPE
            raise ConfigError(f"{named} is set but {ISSUER} is not: OAuth needs the issuer of its access tokens.")
        return None
    if public_url is None:
        raise ConfigError(
            f"{ISSUER} is set but {PUBLIC_URL} is not: set it to the URL clients reach the MCP endpoint at, e.g. "
            "https://images.example.com/mcp; tokens must name it as their audience."
        )
    _check_url(ISSUER, issuer)
    _check_url(PUBLIC_URL, public_url)
    if not holds_credential(settings):
        raise ConfigError(
            f"{ISSUER} is set but the server has no credentials of its own: signed-in people are paid for by the "
            "server, so set QUICKROUTER_API_KEY (or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY)."
        )
    return OAuthConfig(issuer=issuer, resource=public_url, scopes=tuple(dict.fromkeys(scope)))


def _check_url(variable: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{variable} must be an https:// URL, e.g. https://login.example.com/team; got {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ConfigError(
            f"{variable} must use https:// (plain http is allowed only for a loopback host such as 127.0.0.1); "
            f"got {url!r}"
        )
    if parts.query or parts.fragment or "#" in url or parts.username is not None:
        raise ConfigError(f"{variable} must have no query, fragment or user name; got {url!r}")


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
