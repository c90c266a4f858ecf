"""A request body read in full before the app sees it, bounded in size and in time: in all (`timeout`), and in rate
(after a `grace` of seconds, at least `min_rate` bytes a second), so that a body dripped a byte at a time holds its
connection for seconds, not for the whole timeout. Pure ASGI; the guard answers the refusals."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from .asgi import Message, Receive


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    timeout: float
    min_rate: int
    grace: float

    def allowed(self, received: int) -> float:
        """Seconds from the start the body may take, `received` bytes into it."""
        return min(self.timeout, self.grace + received / self.min_rate)

    def too_slow(self, allowed: float) -> str:
        if allowed >= self.timeout:
            return f"The request body did not arrive within {self.timeout:g} s."
        return (
            f"The request body arrived too slowly: after {self.grace:g} s it must come at least {self.min_rate} "
            "bytes per second."
        )


@dataclass(frozen=True)
class Refused:
    """Why the body was not read: HTTP `status` and a sentence."""

    status: int
    message: str


async def read_body(declared: str, limits: BodyLimits, receive: Receive) -> bytes | Refused | None:
    """The whole body; Refused when it is too large or too slow; None when the client left. `declared`: the
    Content-Length header, if any."""
    too_large = Refused(413, f"The request body is over {limits.max_bytes} bytes.")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        return too_large
    chunks: list[bytes] = []
    size, started = 0, anyio.current_time()
    while True:
        allowed = limits.allowed(size)
        message: Message | None = None
        with anyio.move_on_after(started + allowed - anyio.current_time()):
            message = await receive()
        if message is None:
            return Refused(408, limits.too_slow(allowed))
        if message["type"] != "http.request":
            return None  # the client disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limits.max_bytes:
            return too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then what the client sends next (a disconnect)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
