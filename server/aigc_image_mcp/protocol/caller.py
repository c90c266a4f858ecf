"""Who is calling, from an MCP request: the tools, tasks/* and resources/list all ask here; callers.py has the rule.
Over HTTP in OAuth mode the guard has already checked the token and left the person in the request's scope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from mcp.server.context import ServerRequestContext

if TYPE_CHECKING:
    from ..backends.base import Caller
    from ..callers import Person
    from ..state import AppState


def caller_in(request: ServerRequestContext[AppState, Any]) -> Caller:
    """Who pays for this request and whose history it reads; ConfigError when no credential applies. Only an HTTP
    request carries headers (the SDK's Context.headers reads them the same way), so only it is remote; its peer's
    address tells whether it is the local user."""
    headers = cast("Mapping[str, str] | None", getattr(request.request, "headers", None))
    if headers is None:  # not over HTTP, so no one signed in either: the one local caller
        return request.lifespan_context.local_caller
    from ..callers import caller_of  # with the first call: the rule's modules are not needed to start

    scope = cast("Mapping[str, Any]", getattr(request.request, "scope", {}))
    person = person_of(scope.get("user"))
    client = getattr(request.request, "client", None)  # Starlette's (host, port) of the peer
    peer = cast("str | None", getattr(client, "host", None))
    settings = request.lifespan_context.settings
    return caller_of(settings, headers, remote=True, person=person, peer=peer)


def person_of(user: object) -> Person | None:
    """The person the guard signed in (the SDK's AuthenticatedUser it put in the request's scope), or None."""
    access = getattr(user, "access_token", None)
    if access is None:  # no one signed in (stdio, in memory, token modes): the imports below are not needed
        return None
    from mcp.server.auth.provider import AccessToken

    from ..callers import Person

    if not isinstance(access, AccessToken) or not access.subject or not access.claims:
        return None
    return Person(str(access.claims["iss"]), access.subject)
