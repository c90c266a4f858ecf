"""What every tool call shares for the life of the process: the settings, the catalog, and (made with the first
call that needs them) the one HTTP client, the backend and the tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import NAME, __version__
from .catalog.models import Catalog
from .config import Settings
from .core.polling import RealClock
from .core.prices import Prices

if TYPE_CHECKING:
    import httpx2

    from .backends.base import Backend
    from .core.polling import Clock
    from .core.tracker import Tracker


@dataclass
class AppState:
    """What every tool call shares for the life of the process."""

    settings: Settings
    catalog: Catalog
    transport: httpx2.AsyncBaseTransport | None = None
    clock: Clock | None = None
    prices: Prices | None = None
    """The operator's prices (AIGC_IMAGE_PRICES), read and checked at start; None: nothing mentions money."""
    _http: httpx2.AsyncClient | None = field(default=None, init=False)
    _backend: Backend | None = field(default=None, init=False)
    _tracker: Tracker | None = field(default=None, init=False)

    @property
    def tracker(self) -> Tracker:
        """Built on the first call that needs it, with the process's one HTTP client: its modules (the backend, the
        history) and the client's TLS set-up (~80 ms for the CA bundle) stay off the cold start."""
        if self._tracker is None:
            from .backends import open_backend
            from .core.tracker import Tracker

            self._http = http_client(self.settings, self.transport)
            self._backend = open_backend(self.settings, self._http)
            clock = self.clock or RealClock()
            self._tracker = Tracker(self.settings, self.catalog, self._backend, self._http, clock, self.prices)
        return self._tracker

    async def aclose(self) -> None:
        """Close what a call opened: the backend, the HTTP client and the history's connection."""
        if self._tracker is not None:
            await self._tracker.aclose()
        if self._backend is not None:
            await self._backend.aclose()
        if self._http is not None:
            await self._http.aclose()


def http_client(
    settings: Settings, transport: httpx2.AsyncBaseTransport | None, *, agent: str = ""
) -> httpx2.AsyncClient:
    """The one client of the process: connection reuse across calls, the configured timeouts. Over HTTP many calls
    share it: it keeps a connection per concurrent call rather than httpx2's 20, so a busy server does not open (and
    TLS-handshake) a new relay connection for most calls. Made with the first call: its TLS set-up costs ~80 ms.
    `agent` is added to the User-Agent (doctor's own client says so)."""
    import httpx2

    return httpx2.AsyncClient(
        base_url=settings.base_url,
        timeout=httpx2.Timeout(settings.timeout, connect=settings.connect_timeout),
        headers={"User-Agent": f"{NAME}/{__version__}{agent and ' ' + agent}", "Accept": "application/json"},
        transport=transport,
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100),
    )
