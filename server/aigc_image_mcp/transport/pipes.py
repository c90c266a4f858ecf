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
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCError, JSONRPCRequest, JSONRPCResponse, jsonrpc_message_adapter

LINE_LIMIT = 512 * 1024 * 1024
"""Bytes one message may take: far above any real request (a reference picture is at most 64 MB on disk)."""
_CLOSE_WAIT = 5.0
"""Seconds the last answers may take to reach a client that stopped reading, before the server exits anyway."""
_ANSWER_AFTER_END = 5.0
"""Seconds the requests read before the end of stdin may take to be answered, before the server stops."""

Streams = tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage]]


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
        to_server, from_stdin = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        to_stdout, from_server = anyio.create_memory_object_stream[SessionMessage](0)
        try:
            async with anyio.create_task_group() as tasks:
                unanswered = _Unanswered()
                tasks.start_soon(_read, reader, to_server, unanswered)
                tasks.start_soon(_write, from_server, write_end, writer, unanswered)
                yield from_stdin, to_stdout
                tasks.cancel_scope.cancel()  # the server is done: stop waiting for more lines
        finally:
            from_stdin.close()  # the server's ends, should it not have closed them itself
            to_stdout.close()
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


async def _read(
    reader: asyncio.StreamReader,
    to_server: MemoryObjectSendStream[SessionMessage | Exception],
    unanswered: _Unanswered,
) -> None:
    async with to_server:
        async for line in _lines(reader):
            if isinstance(line, Exception):
                await to_server.send(line)
                continue
            try:
                message = jsonrpc_message_adapter.validate_json(line, by_name=False)
            except ValueError as exc:  # pydantic's ValidationError: passed on, as the SDK's reader does, to be answered
                await to_server.send(exc)
                continue
            if isinstance(message, JSONRPCRequest):
                unanswered.asked(message.id)
            await to_server.send(SessionMessage(message))
        with anyio.move_on_after(_ANSWER_AFTER_END):
            await unanswered.wait()


async def _lines(reader: asyncio.StreamReader) -> AsyncIterator[str | Exception]:
    """Each line as text, the last one without its newline too; LineTooLong for one over the limit."""
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as end:  # the client closed stdin
            if end.partial:
                yield end.partial.decode("utf-8", "replace")
            return
        except asyncio.LimitOverrunError:
            await _skip_line(reader)
            yield LineTooLong(f"a line of more than {LINE_LIMIT // 1_048_576} MB")
            continue
        yield line.decode("utf-8", "replace")


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


async def _write(
    from_server: MemoryObjectReceiveStream[SessionMessage],
    write_end: asyncio.WriteTransport,
    writer: _Writer,
    unanswered: _Unanswered,
) -> None:
    async with from_server:
        async for item in from_server:
            message = item.message
            write_end.write(message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
            try:
                await writer.drain()
            except ConnectionError:  # the client is gone: nothing more can reach it
                return
            if isinstance(message, JSONRPCResponse | JSONRPCError):
                unanswered.answered(message.id)
