"""Remote use: the MCP server over stateless Streamable HTTP at /mcp, behind the guard, served by uvicorn.

Imported only when the transport is http, so the stdio start never loads uvicorn. Stateless means any worker of
any process can answer any request: scale out with --workers or more processes behind a load balancer."""

from __future__ import annotations

import gc
import importlib
import logging
import math
import os
import sys
from contextlib import suppress
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from sse_starlette.sse import AppStatus

from ..auth.rules import oauth_config
from ..backends.profiles import holds_credential, profile_of
from ..config import Settings
from ..errors import ConfigError
from ..server import build_server
from .asgi import ASGIApp
from .connections import GuardedH11Protocol, limit_per_client
from .guard import Guard, Policy, auth_mode, is_loopback
from .ratelimit import rate_limited

MCP_PATH = "/mcp"
_FORWARDED_SETTINGS = {
    "host": "AIGC_IMAGE_HOST",
    "port": "AIGC_IMAGE_PORT",
    "transport": "AIGC_IMAGE_TRANSPORT",
    "workers": "AIGC_IMAGE_WORKERS",  # the rate limit is counted in the store when there are several
}

logger = logging.getLogger(__name__)


def http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    """`server` at /mcp (stateless, SSE responses so progress reaches the client), behind the guard."""
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=False,
        max_request_body_size=settings.max_body_bytes,
        # The guard checks Host and Origin, before authentication; the SDK's copy of that check is turned off.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return Guard(rate_limited(app, settings), Policy.from_settings(settings))


def check_exposure(settings: Settings) -> None:
    """Refuse a configuration that would let strangers spend the server's key, saying what to change."""
    oauth_config(settings)  # OAuth's own rules: each refusal names its variable
    if settings.http_tokens and not holds_credential(settings):
        raise ConfigError(
            "AIGC_IMAGE_HTTP_TOKENS is set but QUICKROUTER_API_KEY is not. Tokens guard a key the server holds: "
            "set QUICKROUTER_API_KEY to share it, or unset AIGC_IMAGE_HTTP_TOKENS so that each client sends its "
            "own QuickRouter key (pass-through)."
        )
    if auth_mode(settings) == "open" and not is_loopback(settings.host):
        raise ConfigError(
            f"Refusing to listen on {settings.host} with QUICKROUTER_API_KEY (or Tencent Cloud credentials) set and no "
            "AIGC_IMAGE_HTTP_TOKENS: "
            "anyone who reaches the port could spend that key's balance. Set AIGC_IMAGE_HTTP_TOKENS (clients then "
            "send one as Authorization: Bearer), listen on 127.0.0.1, or unset QUICKROUTER_API_KEY so that each "
            "client pays with its own key."
        )


class _NoQueryStrings(logging.Filter):
    """uvicorn's access log line without the query string: a client may put a key there."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path?query, version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(target := args[2], str):
            record.args = (*args[:2], target.partition("?")[0], *args[3:])
        return True


def _quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(known, _NoQueryStrings) for known in access.filters):
        access.addFilter(_NoQueryStrings())


def serve(settings: Settings, server: MCPServer[Any] | None = None) -> None:
    """Run until SIGINT/SIGTERM; in-flight calls get `shutdown_timeout` seconds to finish."""
    check_exposure(settings)
    _quiet_access_log()
    _log_start(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # our logging setup (stderr) applies to uvicorn's loggers too
        "ws": "none",
        "server_header": False,
        # One rule for waiting connections, new or kept alive: see connections.py.
        "http": GuardedH11Protocol,
        "timeout_keep_alive": settings.header_timeout,
        "limit_concurrency": settings.max_connections,
        "timeout_graceful_shutdown": math.ceil(settings.shutdown_timeout),
        # A worker answers health checks only once it has imported everything; on a small machine starting
        # several at once, uvicorn's default 5 s would kill and respawn them in a loop.
        "timeout_worker_healthcheck": 60,
    }
    let_calls_finish()
    if settings.workers == 1:
        app = http_app(server or build_server(settings), settings)
        limit_per_client(settings.max_connections_per_client)
        warm_up(settings)
        uvicorn.run(app, **options)
        return
    if server is not None:
        raise ConfigError("Several workers each build their own server: pass no server, or use one worker.")
    # Workers are new processes that read the environment: hand them what came from the command line.
    os.environ.update({env: str(getattr(settings, name)) for name, env in _FORWARDED_SETTINGS.items()})
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=settings.workers, **options)


def app_from_environment() -> ASGIApp:
    """The app of one worker process (uvicorn --workers): settings from the environment, as the parent's."""
    settings = Settings()
    logging.basicConfig(stream=sys.stderr, level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    _quiet_access_log()
    let_calls_finish()
    app = http_app(build_server(settings), settings)
    limit_per_client(settings.max_connections_per_client)
    warm_up(settings)
    return app


def let_calls_finish() -> None:
    """Keep a call's answer stream open through a shutdown: sse-starlette (the SDK's SSE responses) ends every stream
    within half a second of SIGTERM, which would lose a paid task's TaskId; uvicorn's graceful timeout
    (`shutdown_timeout`) bounds the wait instead. A stateless server holds no stream longer than its call."""
    AppStatus.disable_automatic_graceful_drain()


def warm_up(settings: Settings) -> None:
    """Ready a long-running server: import now what its first call would import (kept off the stdio start), then
    freeze the garbage collector's view of everything so far. The SDK's and pydantic's validators live as long as
    the process; left in the collected heap, each full collection walks them all again (~80 ms here, every few
    hundred calls under load)."""
    store = "history.postgres" if settings.database_url else "history.sqlite"
    package = __name__.split(".")[0]
    for module in ("core.tracker", f"backends.{profile_of(settings).module}", store):
        with suppress(ImportError):  # a missing driver: the first call says what to install
            importlib.import_module(f"{package}.{module}")
    gc.collect()
    gc.freeze()


def _log_start(settings: Settings) -> None:
    mode = auth_mode(settings)
    described = {
        "pass-through": "each client sends its own QuickRouter key as a bearer token",
        "tokens": f"clients present one of {len(settings.http_tokens)} configured tokens",
        "open": "no client authentication (loopback only)",
        "oauth": f"people sign in with {settings.oauth_issuer} (OAuth) for {settings.public_url}"
        + (f"; machines may present one of {len(settings.http_tokens)} tokens" if settings.http_tokens else ""),
    }[mode]
    logger.info("Serving MCP at %s over Streamable HTTP (stateless); %s", MCP_PATH, described)
    if mode != "open" and not is_loopback(settings.host):
        logger.warning("Bearer tokens travel in clear over plain HTTP: put a TLS-terminating proxy in front.")
