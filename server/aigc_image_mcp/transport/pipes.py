"""stdio without threads, where stdin and stdout are pipes or sockets (as every MCP client starts a server).

The SDK's stdio_server reads and writes through anyio's file wrapper: each line read, each write and each flush is a
hop to a worker thread and back, about 0.5 ms of every call (docs/benchmarks.md). Here the event loop reads and writes
the pipes itself, through asyncio's pipe transports, with the same contract as the SDK's:

* one JSON-RPC message per line, decoded as UTF-8 with a replacement character for bytes that are not, each line
  validated as the SDK validates it (what it cannot read goes on the read stream as the exception, for
  stdio.AnsweringReader to answer);
* while serving, fd 0 reads the null device and fd 1 writes to stderr, so a stray print() or a child process never
  touches the wire; both are restored, blocking again, on the way out;
* a write waits while the client is not reading (the pipe is full), without holding up the event loop;
* once stdin ends, the server stops (and the SDK cancels what it is still doing, since the client is gone) only after
  every request read before the end has been answered, or _ANSWER_AFTER_END has passed: a client that writes its
  requests and then closes stdin still reads the answers. (With the SDK's transport this held only by luck: the
  thread's hop at the end of stdin usually outlasted a quick request.)

`pipe_stdio` is None where this does not apply (Windows, a terminal, stdin or stdout a regular file): the caller then
uses the SDK's stdio_server.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Self

import anyio
from anyio.abc import AsyncResource
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCError, JSONRPCRequest, JSONRPCResponse, jsonrpc_message_adapter

LINE_LIMIT = 512 * 1024 * 1024
"""Bytes one message may take: far above any real request (a reference picture is at most 64 MB on disk)."""
_CLOSE_WAIT = 5.0
"""Seconds the last answers may take to reach a client that stopped reading, before the server exits anyway."""
_ANSWER_AFTER_END = 5.0
"""Seconds the requests read before the end of stdin may take to be answered, before the server stops."""

Streams = tuple["Inbound", "Outbound"]


class LineTooLong(Exception):
    """A line over LINE_LIMIT bytes: read to its end and dropped."""


class _Unanswered:
    """The ids of the requests read and not answered yet."""

    def __init__(self) -> None:
        self._ids: set[int | str] = set()
        self._none_left: anyio.Event | None = None

    def asked(self, request_id: int | str) -> None:
        self._ids.add(request_id)

    def answered(self, request_id: int | str | None) -> None:
        if request_id is not None:
            self._ids.discard(request_id)
        if not self._ids and self._none_left is not None:
            self._none_left.set()

    async def wait(self) -> None:
        """Until every request read has been answered."""
        if self._ids:
            self._none_left = anyio.Event()
            await self._none_left.wait()


def pipe_stdio() -> AbstractAsyncContextManager[Streams] | None:
    """The thread-free transport over fd 0 and 1, or None where it does not apply."""
    if sys.platform == "win32" or not (_is_pipe(0) and _is_pipe(1)):
        return None
    return _serve()


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@asynccontextmanager
async def _serve() -> AsyncGenerator[Streams]:
    loop = asyncio.get_running_loop()
    saved = _above_std(0), _above_std(1)  # to point fd 0 and 1 back at the wire on the way out
    # What the transports read and write; a transport closes its file (closing it again does nothing).
    stdin = os.fdopen(_above_std(0), "rb", buffering=0)
    stdout = os.fdopen(_above_std(1), "wb", buffering=0)
    _divert()
    try:
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        read_end, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        write_end, writer = await loop.connect_write_pipe(_Writer, stdout)
        unanswered = _Unanswered()
        inbound, outbound = Inbound(reader, unanswered), Outbound(write_end, writer, unanswered)
        try:
            yield inbound, outbound
        finally:
            read_end.close()
            write_end.close()  # after what is still buffered has been written
            with anyio.move_on_after(_CLOSE_WAIT) as waiting:
                await writer.closed
            if waiting.cancelled_caught:  # a client that stopped reading: what it did not take is dropped
                write_end.abort()
    finally:
        stdin.close()
        stdout.close()
        _restore(saved)


class _Writer(asyncio.Protocol):
    """fd 1's side of the pipe: pauses the writes while the pipe is full, and knows when it is closed."""

    def __init__(self) -> None:
        self.closed = asyncio.get_running_loop().create_future()
        self._resumed: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        self._resumed = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._resumed is not None and not self._resumed.done():
            self._resumed.set_result(None)
        self._resumed = None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self.resume_writing()

    async def drain(self) -> None:
        """Until the pipe takes more; ConnectionError once the client closed its end."""
        if self._resumed is not None:
            await self._resumed
        if self.closed.done():
            raise ConnectionResetError("the client closed the server's stdout")


def _above_std(fd: int) -> int:
    """A duplicate of `fd` that is not 0, 1 or 2 (one of those may be closed, and free), and not inherited."""
    import fcntl  # POSIX only, as this transport: Windows never gets here

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)


def _divert() -> None:
    """fd 0 to the null device and fd 1 to stderr (to the null device when there is no stderr); the wire stays on
    the duplicates."""
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY)):
        if fd == 1 and _is_open(2):
            os.dup2(2, 1)
            continue
        null = os.open(os.devnull, mode)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _restore(saved: tuple[int, int]) -> None:
    """fd 0 and 1 back on the wire, blocking again: asyncio made the pipes non-blocking, and another process (the
    one that started this server) may share them."""
    for fd, wire in enumerate(saved):
        with suppress(OSError):
            os.dup2(wire, fd)
            os.set_blocking(fd, True)
        os.close(wire)


class Inbound(AsyncResource):
    """The read stream the server iterates: the next line of stdin is read and parsed when the server asks for it,
    with no task or queue between them."""

    def __init__(self, reader: asyncio.StreamReader, unanswered: _Unanswered) -> None:
        self._reader = reader
        self._unanswered = unanswered
        self._ended = False

    async def receive(self) -> SessionMessage | Exception:
        """The next message, or what made its line unreadable (the SDK's reader passes that on, to be answered);
        EndOfStream once stdin has ended and what was asked before has been answered."""
        if self._ended:
            raise anyio.EndOfStream
        line = await _next_line(self._reader)
        if line is None:
            self._ended = True
            with anyio.move_on_after(_ANSWER_AFTER_END):
                await self._unanswered.wait()
            raise anyio.EndOfStream
        if isinstance(line, Exception):
            return line
        try:
            message = jsonrpc_message_adapter.validate_json(line, by_name=False)
        except ValueError as exc:  # pydantic's ValidationError
            return exc
        if isinstance(message, JSONRPCRequest):
            self._unanswered.asked(message.id)
        return SessionMessage(message)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self._ended = True


class Outbound(AsyncResource):
    """The write stream the server sends on: each message is written to stdout as it is sent (asyncio's transport
    keeps the order of concurrent sends), the sender waiting while the pipe is full."""

    def __init__(self, write_end: asyncio.WriteTransport, writer: _Writer, unanswered: _Unanswered) -> None:
        self._write_end = write_end
        self._writer = writer
        self._unanswered = unanswered
        self._closed = False

    async def send(self, item: SessionMessage, /) -> None:
        """Write `item`; BrokenResourceError once the client has closed its end, ClosedResourceError after aclose."""
        if self._closed:
            raise anyio.ClosedResourceError
        message = item.message
        self._write_end.write(message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
        try:
            await self._writer.drain()
        except ConnectionError:  # the client is gone: nothing more can reach it
            raise anyio.BrokenResourceError from None
        if isinstance(message, JSONRPCResponse | JSONRPCError):
            self._unanswered.answered(message.id)

    async def aclose(self) -> None:
        self._closed = True


async def _next_line(reader: asyncio.StreamReader) -> str | Exception | None:
    """The next line as text, the last one without its newline too; LineTooLong for one over the limit; None at the
    end of stdin."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as end:  # the client closed stdin
        return end.partial.decode("utf-8", "replace") if end.partial else None
    except asyncio.LimitOverrunError:
        await _skip_line(reader)
        return LineTooLong(f"a line of more than {LINE_LIMIT // 1_048_576} MB")
    return line.decode("utf-8", "replace")


async def _skip_line(reader: asyncio.StreamReader) -> None:
    """Drop the rest of a line over the limit, up to and with its newline (or to the end of stdin)."""
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as over:
            await reader.readexactly(over.consumed)
        except asyncio.IncompleteReadError:
            return
