"""Who is calling, from an MCP request: the tools, tasks/* and resources/list all ask here; callers.py has the rule.
Over HTTP in OAuth mode the guard has already checked the token and left the person in the request's scope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext

from ..backends.base import Caller
from ..callers import Person, caller_of

if TYPE_CHECKING:
    from ..state import AppState


def caller_in(request: ServerRequestContext[AppState, Any]) -> Caller:
    """Who pays for this request and whose history it reads; ConfigError when no credential applies. Only an HTTP
    request carries headers (the SDK's Context.headers reads them the same way), so only it is remote."""
    headers = cast("Mapping[str, str] | None", getattr(request.request, "headers", None))
    scope = cast("Mapping[str, Any]", getattr(request.request, "scope", {}))
    person = person_of(scope.get("user"))
    return caller_of(request.lifespan_context.settings, headers, remote=headers is not None, person=person)


def person_of(user: object) -> Person | None:
    """The person the guard signed in (the SDK's AuthenticatedUser it put in the request's scope), or None."""
    access = getattr(user, "access_token", None)
    if not isinstance(access, AccessToken) or not access.subject or not access.claims:
        return None
    return Person(str(access.claims["iss"]), access.subject)
