"""What the front door answers in OAuth mode: the Protected Resource Metadata (RFC 9728, built with the SDK's model),
the challenges (401 with `resource_metadata`, 403 `insufficient_scope`), and an admitted person put in the request's
scope as the SDK's AuthenticatedUser, where the server reads who is calling."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.shared.auth import ProtectedResourceMetadata
from starlette.authentication import AuthCredentials

from ..auth.rules import OAuthConfig
from ..auth.tokens import JwtVerifier

Headers = tuple[tuple[bytes, bytes], ...]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """A response the door gives instead of passing the request on."""

    status: int
    payload: dict[str, Any]
    headers: Headers = ()


class OAuthDoor:
    """OAuth mode's part of the guard: one per server process (it holds the issuer's key cache)."""

    def __init__(self, config: OAuthConfig, verifier: JwtVerifier | None = None) -> None:
        self.config = config
        self.verifier = verifier or JwtVerifier(config)
        described = {
            "resource": config.resource,
            "authorization_servers": [config.issuer],
            "scopes_supported": list(config.scopes) or None,
            "bearer_methods_supported": ["header"],
            "resource_name": "aigc-image-mcp",
        }
        self._metadata = ProtectedResourceMetadata.model_validate(described).model_dump(mode="json", exclude_none=True)

    def metadata(self, path: str, method: str) -> Answer | None:
        """The Protected Resource Metadata when `path` is one of its paths (GET only, no auth); else None."""
        if path not in self.config.metadata_paths:
            return None
        if method != "GET":
            return Answer(405, _error("The resource metadata is read with GET."), ((b"allow", b"GET"),))
        cache = ((b"cache-control", b"public, max-age=3600"), (b"access-control-allow-origin", b"*"))
        return Answer(200, self._metadata, cache)

    async def admit(
        self, scope: MutableMapping[str, Any], token: str | None, *, machine: bool = False
    ) -> Answer | None:
        """None when the request may go on (a person is then in `scope["user"]`), else the challenge. `machine`: the
        token is one of AIGC_IMAGE_HTTP_TOKENS, already checked by the guard."""
        if _in_query(scope.get("query_string", b"")):
            logger.debug("Refused a request with an access token in its query string (not read, not logged)")
            return self._challenge(401, "invalid_request", "Send the access token in the Authorization header only.")
        if machine:
            return None
        if token is None:
            return self._challenge(401, None, "This server needs you to sign in: send an OAuth access token.")
        access = await self.verifier.verify_token(token)
        if access is None:
            return self._challenge(401, "invalid_token", "The access token is not valid for this server.")
        missing = [name for name in self.config.scopes if name not in access.scopes]
        if missing:
            logger.debug("Refused an access token without the scope %s", " ".join(missing))
            return self._challenge(403, "insufficient_scope", f"The access token lacks the scope {' '.join(missing)}.")
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(access.scopes)
        return None

    def _challenge(self, status: int, error: str | None, message: str) -> Answer:
        parts = [f'resource_metadata="{self.config.metadata_url}"']
        if error is not None:
            parts.append(f'error="{error}"')
        if self.config.scopes and error != "invalid_request":
            parts.append(f'scope="{" ".join(self.config.scopes)}"')
        challenge = "Bearer " + ", ".join(parts)
        return Answer(status, _error(message), ((b"www-authenticate", challenge.encode()),))


def _in_query(query: bytes) -> bool:
    return any(name == "access_token" for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))


def _error(message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
