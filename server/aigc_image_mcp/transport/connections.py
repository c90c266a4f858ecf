"""HTTP connections that cannot be hoarded: uvicorn's HTTP/1.1 protocol (h11) with one rule for a connection that
is waiting on its client, for a request's headers (new or kept alive between requests) or for the rest of its body.

- It has `timeout_keep_alive` seconds to deliver the request's headers, counted from when it began waiting and not
  reset by each byte that arrives, so neither silence nor one header line every few seconds holds it open. The body
  then has the guard's bounds, in all and in rate (bodies.py).
- At the connection cap (`limit_concurrency`), a new connection closes the one that has been waiting on its client
  longest, so a flood of idle connections or of bodies sent a byte at a time cannot lock out a client that sends its
  request. Only when every connection has its request in full does uvicorn answer 503.
- One client address holds at most `per_client` connections (see limit_per_client): past it, a new one closes that
  address's longest waiting, or is itself closed when all of them have their requests in.

A connection whose request is in full (the app's answer, a long tool call streaming progress) is left alone: the
tools bound their own time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

logger = logging.getLogger(__name__)


def limit_per_client(count: int) -> None:
    """Set, for this process, the connections one client address may hold (0: no cap). Set before serving: uvicorn
    builds the protocol itself, and worker processes each call this as they start."""
    GuardedH11Protocol.per_client = count


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, an eviction at the cap and a cap per client address; see the
    module docstring."""

    per_client: ClassVar[int] = 0
    _waiting_since: float | None = None
    """The loop time this connection began waiting on its client; None while the server answers its request."""
    _deadline: asyncio.TimerHandle | None = None
    """The header deadline, while the request's headers are awaited."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        super().connection_made(transport)
        if self._share_address():
            self._make_room()
            self._wait_for_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        cycle = cast("RequestResponseCycle | None", self.cycle)  # None until the first request, whatever its type says
        if cycle is not None and not cycle.response_complete:
            self._cancel_deadline()  # the headers are in
            if self.conn.their_state is not h11.SEND_BODY:
                self._waiting_since = None  # and the body too: the server's turn

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
        self._cancel_deadline()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        logger.debug("Closed a connection that sent no complete request in %g s", self.timeout_keep_alive)
        self._close()

    def _make_room(self) -> None:
        limit = self.limit_concurrency
        if limit is not None and len(self.connections) >= limit:
            self._close_longest_waiting(self._others(), f"At the cap of {limit} connections")

    def _share_address(self) -> bool:
        """Whether this connection may stay: at its address's cap, that address's longest waiting makes room."""
        if not self.per_client or self.client is None:
            return True
        address = self.client[0]
        same = [other for other in self._others() if other.client is not None and other.client[0] == address]
        if len(same) < self.per_client:
            return True
        if self._close_longest_waiting(same, f"At the cap of {self.per_client} connections from one address"):
            return True
        logger.warning("Closed a new connection: %s holds %d connections, all busy", address, len(same))
        self._close()
        return False

    def _others(self) -> list[GuardedH11Protocol]:
        # uvicorn types its set loosely; ours are all of this class.
        return [other for other in self.connections if isinstance(other, GuardedH11Protocol) and other is not self]

    @staticmethod
    def _close_longest_waiting(candidates: list[GuardedH11Protocol], why: str) -> bool:
        waiting = [(other._waiting_since, other) for other in candidates if other._waiting_since is not None]
        if not waiting:
            return False
        _, oldest = min(waiting, key=lambda pair: pair[0])
        logger.debug("%s: closed the one waiting longest on its client", why)
        oldest._close()
        return True

    def _close(self) -> None:
        self._stop_waiting()
        # Out of the count at once: uvicorn's cap check may run before the loop reports the connection lost.
        self.connections.discard(self)
        self.transport.close()
