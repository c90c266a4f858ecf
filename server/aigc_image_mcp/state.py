"""What every tool call shares for the life of the process, and where it is wired: the settings and the catalog from
the start; the HTTP client, the backend, the history, the image keeper and the tracker all made in one place
(`AppState.tracker`), by the first call that needs them, and closed by the server's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import NAME, __version__
from .catalog.models import Catalog
from .config import Settings

if TYPE_CHECKING:
    import httpx2

    from .backends.base import Backend, Caller
    from .core.polling import Clock
    from .core.prices import Prices
    from .core.tracker import Tracker
    from .history.base import HistoryStore


@dataclass
class AppState:
    """What every tool call shares for the life of the process."""

    settings: Settings
    catalog: Catalog
    transport: httpx2.AsyncBaseTransport | None = None
    clock: Clock | None = None
    prices: Prices | None = None
    """The operator's prices (AIGC_IMAGE_PRICES), read and checked at start; None: nothing mentions money."""
    _history: HistoryStore | None = field(default=None, init=False)
    _upstream: Upstream | None = field(default=None, init=False)
    _tracker: Tracker | None = field(default=None, init=False)
    _local: Caller | None = field(default=None, init=False)

    @property
    def local_caller(self) -> Caller:
        """The caller of a request that carries no headers and no one signed in (stdio, in memory): it depends on
        the settings alone, so it is worked out once (an HMAC and the credentials' rule), not on every call.
        ConfigError, and nothing kept, when no credential applies."""
        if self._local is None:
            from .callers import caller_of

            self._local = caller_of(self.settings, None, remote=False)
        return self._local

    @property
    def tracker(self) -> Tracker:
        """The tracker and what it works with, wired here on the first call that needs them: lazily, since their
        modules (the backend, the history's driver, the poller) and the HTTP client's TLS set-up are not needed to
        answer initialize (docs/benchmarks.md)."""
        if self._tracker is None:
            from .core.delivery import Keeper
            from .core.polling import RealClock
            from .core.quota import Quota
            from .core.tracker import Tracker
            from .history.opener import open_history

            history = self._history = open_history(self.settings)  # first: it may refuse (a missing driver)
            upstream = self._upstream = Upstream.open(self.settings, self.transport)
            self._tracker = Tracker(
                self.settings,
                self.catalog,
                backend=upstream.backend,
                history=history,
                quota=Quota(history, self.settings.daily_task_limit, self.settings.daily_image_limit),
                keeper=Keeper(self.settings, upstream.http),
                clock=self.clock or RealClock(),
                prices=self.prices,
            )
        return self._tracker

    async def aclose(self) -> None:
        """Close what the first call opened: the history's connections, the backend and the HTTP client."""
        if self._history is not None:
            await self._history.aclose()
        if self._upstream is not None:
            await self._upstream.aclose()


@dataclass(frozen=True)
class Upstream:
    """The process's one HTTP client and the backend that speaks over it (doctor opens its own, the same way)."""

    http: httpx2.AsyncClient
    backend: Backend

    @classmethod
    def open(cls, settings: Settings, transport: httpx2.AsyncBaseTransport | None, *, agent: str = "") -> Upstream:
        """The backend `settings.backend` names, over a new client; `agent` is added to the User-Agent."""
        from .backends import open_backend

        http = http_client(settings, transport, agent=agent)
        return cls(http, open_backend(settings, http))

    async def aclose(self) -> None:
        await self.backend.aclose()
        await self.http.aclose()


def http_client(
    settings: Settings, transport: httpx2.AsyncBaseTransport | None, *, agent: str = ""
) -> httpx2.AsyncClient:
    """The one client of the process: connection reuse across calls, the configured timeouts. Over HTTP many calls
    share it: it keeps a connection per concurrent call rather than httpx2's 20, so a busy server does not open (and
    TLS-handshake) a new relay connection for most calls. Made with the first call: its TLS set-up (the CA bundle)
    takes tens of milliseconds. `agent` is added to the User-Agent (doctor's own client says so)."""
    import httpx2

    return httpx2.AsyncClient(
        base_url=settings.base_url,
        timeout=httpx2.Timeout(settings.timeout, connect=settings.connect_timeout),
        headers={"User-Agent": f"{NAME}/{__version__}{agent and ' ' + agent}", "Accept": "application/json"},
        transport=transport,
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
    )
