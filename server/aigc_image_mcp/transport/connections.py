"""HTTP connections that cannot be hoarded: uvicorn's HTTP/1.1 protocol (h11) with one rule for a connection that
is waiting for a request, whether new or kept alive between requests.

- It has `timeout_keep_alive` seconds to deliver the request's headers, counted from when it began waiting and not
  reset by each byte that arrives, so neither silence nor one header line every few seconds holds it open.
- At the connection cap (`limit_concurrency`), a new connection closes the one that has been waiting longest, so a
  flood of idle connections cannot lock out a client that sends its request. Only when every connection is busy
  with a request does uvicorn answer 503.

A connection busy with a request (its body, the app's answer, a long tool call streaming progress) is left alone:
the guard bounds the body's arrival, and the tools bound their own time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

logger = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline and an eviction at the cap; see the module docstring."""

    _waiting_since: float | None = None
    """The loop time this connection began waiting for a request; None while a request is in progress."""
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        super().connection_made(transport)
        self._make_room()
        self._wait_for_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        cycle = cast("RequestResponseCycle | None", self.cycle)  # None until the first request, whatever its type says
        if cycle is not None and not cycle.response_complete:
            self._stop_waiting()  # a request arrived: its body and answer have their own bounds

    def on_response_complete(self) -> None:
        # Armed before the parent handles any pipelined request, which then stops the wait again.
        if not self.transport.is_closing():
            self._wait_for_request()
        super().on_response_complete()

    def _wait_for_request(self) -> None:
        self._stop_waiting()
        self._waiting_since = self.loop.time()
        self._deadline = self.loop.call_later(self.timeout_keep_alive, self._expire)

    def _stop_waiting(self) -> None:
        self._waiting_since = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._waiting_since is not None:
            logger.debug("Closed a connection that sent no complete request in %g s", self.timeout_keep_alive)
            self._close()

    def _make_room(self) -> None:
        limit = self.limit_concurrency
        if limit is None or len(self.connections) < limit:
            return
        waiting: list[tuple[float, GuardedH11Protocol]] = []
        for other in self.connections:
            since = getattr(other, "_waiting_since", None)  # uvicorn types its set loosely; ours all have it
            if isinstance(other, GuardedH11Protocol) and other is not self and isinstance(since, float):
                waiting.append((since, other))
        if waiting:
            _, oldest = min(waiting, key=lambda pair: pair[0])
            logger.debug("At the cap of %d connections: closed the one idle the longest", limit)
            oldest._close()

    def _close(self) -> None:
        self._stop_waiting()
        # Out of the count at once: uvicorn's cap check may run before the loop reports the connection lost.
        self.connections.discard(self)
        self.transport.close()
